"""Digests end to end (docs/reference.md, "Digests"): a simulated week of the demo practice
delivered to a real aiosmtpd server on loopback, on both stores; what a digest lists (overdue,
today, the next 7 days, assigned or of the person's roles), escalation, the audit head for
administrators only, ``phi: none`` against ``titles``, and the ICS feed's finished tasks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from delivery_testing import Received, SmtpServer
from frontdesk.demo import PRACTICE as DEMO_PRACTICE
from frontdesk_testing import REPO, Frontdesk

pytestmark = pytest.mark.xdist_group("digest")

ADDRESSES = {"maria": "maria@riverside.example", "drlee": "drlee@riverside.example",
             "sam": "sam@riverside.example"}
JO = "jo@riverside.example"  # a volunteer: no task is ever theirs
# Monday 23 November 2026; Thanksgiving (Thursday 26) is a holiday in the demo's calendar
WEEK = [dt.date(2026, 11, 23) + dt.timedelta(days=i) for i in range(7)]
BUSINESS_DAYS = [d for d in WEEK if d.weekday() < 5 and d != dt.date(2026, 11, 26)]


def demo_practice(server: SmtpServer, phi: str = "none", escalate: str = "2",
                  managers: str = "{billing: maria}") -> str:
    """The demo's practice.yaml with everyone's email and delivery to ``server``."""
    people = re.sub(r"^  (\w+): \{(.*)\}$", r"  \1: {\2, email: \1@riverside.example}",
                    DEMO_PRACTICE, flags=re.MULTILINE).replace(
        "playbooks:\n", f"  jo: {{name: Jo Park, roles: [volunteer], email: {JO}}}\nplaybooks:\n")
    return (f"{people}delivery:\n  from: frontdesk@riverside.example\n  phi: {phi}\n"
            f"  smtp: {{host: 127.0.0.1, port: {server.port}, security: none, timeout: 5}}\n"
            f"  digest: {{at: \"07:30\", escalate_after: {escalate}, managers: {managers}}}\n")


@pytest.fixture
def demo(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk],
         plain: SmtpServer) -> Callable[..., Frontdesk]:
    """A fresh demo home (the shipped playbooks) of the session's store, delivering to
    ``plain``; ``practice`` keyword arguments go to ``demo_practice``."""
    def make(**practice: str) -> Frontdesk:
        fd = make_frontdesk(tmp_path, demo_practice(plain, **practice))
        return dataclasses.replace(fd, playbooks=REPO / "playbooks", user="maria")

    return make


def at(day: dt.date, time: str) -> str:
    return f"{day.isoformat()}T{time}"


def digests_of(received: list[Received]) -> list[Received]:
    return [r for r in received if str(r.message["Message-ID"]).startswith("<digest.")]


def start_week(fd: Frontdesk) -> dict[str, str]:
    """The demo's instances, started on Monday at 07:00 (before the digests)."""
    now = at(WEEK[0], "07:00")
    start = {
        "claim": ("claim-denial", "claim_id=C-1002", "payer_type=medicare", "group=CO",
                  "carc=50", "amount=340", "denied_on=2026-10-28", "service_date=2026-09-15"),
        "hire": ("onboarding-90-day", "employee=Jordan Kim", "role_title=Front desk",
                 "start_date=2026-11-23", "hired_on=2026-11-02"),
        "refresh": ("hipaa-annual-refresh", "employee=Maria Alvarez",
                    "last_trained_on=2025-11-25"),
        "intake": ("intake", "client_name=Ana Ruiz", "service=PT evaluation",
                   "referral_source=website"),
    }
    ids = {}
    for name, (playbook, *values) in start.items():
        args = [a for v in values for a in ("--set", v)]
        ids[name] = fd.ok("start", playbook, *args, now=now).strip()
    return ids


def test_a_week_of_the_demo_practice(demo: Callable[..., Frontdesk],
                                     plain: SmtpServer) -> None:
    """Ticks every morning (before and after 07:30) and at noon for a week: each person's
    digest arrives once per business day (none at the weekend or on Thanksgiving), every
    playbook message is delivered, and the outbox ends with everything sent."""
    fd = demo()
    start_week(fd)
    for day in WEEK:
        fd.ok("tick", now=at(day, "07:00"))
        assert not [r for r in digests_of(plain.received) if day.isoformat() in
                    r.message_id], "no digest before delivery.digest.at"
        ticked = fd.json("tick", now=at(day, "07:45"))
        assert len(ticked.get("digests", [])) == (3 if day in BUSINESS_DAYS else 0), ticked
        fd.ok("tick", now=at(day, "12:00"))
    outbox = fd.json("outbox")
    assert outbox and all(m["status"] == "sent" for m in outbox), outbox
    got = Counter(r.message_id for r in plain.received)
    assert set(got) == {m["message_id"] for m in outbox}
    assert all(n == 1 for n in got.values()), "each message once"
    playbook_messages = [m for m in outbox if m["kind"] == "message"]
    assert len(playbook_messages) >= 3  # the refresher's notices, the claim's escalation
    days = Counter((r.message_id.split(".")[1], r.recipients[0])
                   for r in digests_of(plain.received))
    # administrators (the owner, drlee) get one every business day: the audit head
    assert {d for d, who in days if who == ADDRESSES["drlee"]} == {
        d.isoformat() for d in BUSINESS_DAYS}
    assert {d for d, _ in days} <= {d.isoformat() for d in BUSINESS_DAYS}
    assert all(n == 1 for n in days.values())
    assert JO not in {who for _, who in days}, "nothing due, no digest"
    for person in ("maria", "sam"):  # both have tasks all week
        assert {d for d, who in days if who == ADDRESSES[person]} == {
            d.isoformat() for d in BUSINESS_DAYS}
    # digest --send the same day sends nothing new
    again = fd.json("digest", "--send", now=at(BUSINESS_DAYS[-1], "13:00"))
    assert again["enqueued"] == [] and "drlee" in again["already_sent_today"]


def today_json(fd: Frontdesk, *args: str, now: str) -> list[dict[str, Any]]:
    return json.loads(fd.ok("today", *args, "--format", "json", now=now))  # type: ignore[no-any-return]


def week_on(fd: Frontdesk, day: dt.date) -> dict[str, str]:
    """The demo's instances started on Monday, one intake task given to sam, one task done;
    the clock then at 08:00 on ``day`` (no tick: timers need not fire for what is due)."""
    ids = start_week(fd)
    tasks = today_json(fd, "--everyone", "--days", "30", now=at(WEEK[0], "07:10"))
    intake = next(t for t in tasks if t["instance"] == ids["intake"])
    fd.ok("assign", intake["id"], "sam", now=at(WEEK[0], "07:20"))
    ids["assigned"], ids["assigned_kind"] = intake["id"], intake["task"]
    return ids


def test_digest_lists_what_today_lists_with_escalation_and_head(
        demo: Callable[..., Frontdesk]) -> None:
    """``digest`` (read-only) gives each person what ``today --as P --days 7`` lists, split
    into overdue, today and upcoming; a task overdue by 2+ business days is named in its
    role's manager's digest (billing: maria) or else the administrators' (drlee); only the
    administrators' digests carry the audit head; nothing is written."""
    fd = demo()
    ids = week_on(fd, WEEK[0])
    now = at(dt.date(2026, 12, 9), "08:00")  # a Wednesday, two weeks on
    before = fd.dump()
    found = {d["person"]: d for d in fd.json("digest", now=now)}
    assert fd.dump() == before, "digest without --send writes nothing"
    assert set(found) == {"maria", "drlee", "sam", "jo"}
    assert found["jo"] == {"person": "jo", "date": "2026-12-09", "overdue": [], "today": [],
                           "upcoming": [], "escalated": [], "audit_head": None}
    head = fd.ok("audit", "head", now=now).strip()
    today = dt.date(2026, 12, 9)
    for person, digest in found.items():
        listed = today_json(fd, "--as", person, "--days", "7", now=now)
        assert digest["overdue"] + digest["today"] + digest["upcoming"] == listed
        assert all(t["overdue"] for t in digest["overdue"])
        assert all(t["due"][:10] == today.isoformat() for t in digest["today"])
        assert all(today.isoformat() < t["due"][:10] <= "2026-12-16"
                   for t in digest["upcoming"])
        assert digest["audit_head"] == (head if person == "drlee" else None)
    assigned = [t["id"] for d in found.values() for t in d["overdue"] + d["today"]
                + d["upcoming"] if t["id"] == ids["assigned"]]
    assert assigned and ids["assigned"] in {t["id"] for t in found["sam"]["overdue"]
                                            + found["sam"]["today"] + found["sam"]["upcoming"]}
    assert len(assigned) == 1, "an assigned task is in its assignee's digest only"
    escalated = {p: {t["id"]: t for t in d["escalated"]} for p, d in found.items()}
    assert not escalated["sam"]
    assert escalated["maria"] or escalated["drlee"]
    for person, items in escalated.items():
        for task in items.values():
            assert task["business_days_overdue"] >= 2
            assert (task["role"] == "billing") == (person == "maria")
    single = fd.json("digest", "--person", "sam", now=now)
    assert single == [found["sam"]]
    refused = fd.run("digest", "--person", "samm", now=now)
    assert refused.returncode == 2 and "did you mean 'sam'" in refused.stderr


def test_digest_send_phi_none_and_titles_and_the_witnessed_head(
        demo: Callable[..., Frontdesk], plain: SmtpServer) -> None:
    """``digest --send`` under ``phi: none`` sends counts, task kinds and ids, never a title
    or a client's name; the administrator's digest carries the audit head that ``audit
    verify --anchor`` accepts; under ``phi: titles`` the titles go out."""
    fd = demo()
    week_on(fd, WEEK[0])
    now = at(dt.date(2026, 12, 9), "08:00")
    sent = fd.json("digest", "--send", now=now)
    assert len(sent["enqueued"]) == 3 and sent["delivery"]["sent"] == sent["enqueued"]
    mails = {r.recipients[0]: r for r in digests_of(plain.received)}
    assert set(mails) == set(ADDRESSES.values())
    for received in mails.values():
        text = received.message.as_string()
        for name in ("Ana Ruiz", "Jordan Kim", "Alvarez", "C-1002"):
            assert name not in text, (name, text)
        assert received.message["Auto-Submitted"] == "auto-generated"
    body = mails[ADDRESSES["drlee"]].message.get_content()
    head = re.search(r"Audit head this morning: (\d+ [0-9a-f]{64})", body)
    assert head is not None and head.group(1) == fd.ok("audit", "head", now=now).strip()
    later = at(dt.date(2026, 12, 10), "09:00")
    fd.ok("tick", now=later)  # the log grows; the witnessed head stays provable
    assert fd.run("audit", "verify", "--anchor", head.group(1), now=later).returncode == 0
    assert "Audit head" not in mails[ADDRESSES["sam"]].message.get_content()
    assert "onboarding-90-day: " in mails[ADDRESSES["drlee"]].message.get_content()

    plain.handler.received.clear()
    titles = dataclasses.replace(fd, home=fd.home)
    (titles.home / "practice.yaml").write_text(demo_practice(plain, phi="titles"), "utf-8")
    titles.ok("digest", "--send", "--person", "maria", now=at(dt.date(2026, 12, 11), "08:00"))
    [mail] = digests_of(plain.received)
    assert "Alvarez" in mail.message.get_content()  # her HIPAA refresher's title
    assert str(mail.message["Subject"]).startswith("Riverside Therapy digest for Maria Alvarez")


def test_ics_feed_under_phi_keeps_finished_tasks(demo: Callable[..., Frontdesk]) -> None:
    """``today --format ics``: under ``phi: none`` a summary is the task's kind and id;
    a finished task stays ``keep_done_days`` (14) as STATUS:COMPLETED, then leaves the feed;
    under ``phi: titles`` the summary is the title."""
    from icalendar import Calendar

    fd = demo()
    ids = week_on(fd, WEEK[0])
    assert ids["assigned_kind"] == "screening_call"
    fd.ok("done", ids["assigned"], "--as", "sam", "--set", "payment=self_pay", "--set",
          "urgent=false", now=at(WEEK[1], "10:00"))

    def feed(now: str) -> dict[str, dict[str, str]]:
        calendar = Calendar.from_ical(fd.ok("today", "--everyone", "--days", "30",
                                            "--format", "ics", now=now))
        return {str(t["UID"]).split("@")[0]: {k: str(v) for k, v in t.items()}
                for t in calendar.walk("VTODO")}

    todos = feed(at(WEEK[2], "08:00"))
    done = todos[ids["assigned"]]
    assert done["STATUS"] == "COMPLETED" and "COMPLETED" in done
    assert done["SUMMARY"] == f"intake: screening_call (task {ids['assigned']})"
    assert all("Ana Ruiz" not in t["SUMMARY"] and "Jordan" not in t["SUMMARY"]
               for t in todos.values())
    assert {t["STATUS"] for t in todos.values()} == {"COMPLETED", "NEEDS-ACTION"}
    assert ids["assigned"] not in feed(at(WEEK[1] + dt.timedelta(days=15), "08:00"))

    (fd.home / "practice.yaml").write_text(
        demo_practice(SmtpServer(), phi="titles"), "utf-8")
    titled = feed(at(WEEK[1] + dt.timedelta(days=15), "09:00"))
    assert any("Jordan Kim" in t["SUMMARY"] for t in titled.values())


def test_a_manager_must_be_a_person(demo: Callable[..., Frontdesk],
                                    plain: SmtpServer) -> None:
    """``delivery.digest.managers`` names listed people (a located error otherwise, exit 3)."""
    fd = demo(managers="{billing: mariaa}")
    result = fd.run("digest")
    assert result.returncode == 3
    assert "the manager of role 'billing' ('mariaa') is not a person" in result.stderr
    assert "did you mean 'maria'" in result.stderr


def test_digest_send_needs_a_channel(demo: Callable[..., Frontdesk]) -> None:
    """Without delivery.smtp or delivery.webhook ``digest --send`` is exit 2, nothing
    written (the digests would wait in the outbox for a channel that is not there)."""
    fd = demo()
    week_on(fd, WEEK[0])
    text = (fd.home / "practice.yaml").read_text("utf-8")
    (fd.home / "practice.yaml").write_text(re.sub(r"  smtp: .*\n", "", text), "utf-8")
    result = fd.run("digest", "--send", now=at(WEEK[1], "08:00"))
    assert result.returncode == 2 and "needs a channel" in result.stderr
    assert fd.json("outbox", now=at(WEEK[1], "08:00")) == []
