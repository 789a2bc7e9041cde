"""``frontdesk demo``: a small practice run through weeks of simulated time, told as a story.

Runs in a throwaway home (or an empty ``--home``), never touching ``$FRONTDESK_HOME`` or
``$FRONTDESK_DB``, through the same ``Engine`` the CLI commands use, with a fixed clock that the
story moves forward and a ``tick`` at every stop.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from .errors import ExitCode, UsageError
from .runtime.clock import FixedClock
from .settings import Options

PRACTICE = """\
practice: Riverside Therapy
timezone: America/New_York
calendar:
  country: US
  subdivision: NY
  closed: [2026-12-24]
people:
  maria: {name: Maria Alvarez, roles: [office_manager, billing, privacy_officer, front_desk]}
  drlee: {name: Dr. Lee, roles: [owner, clinician, supervisor]}
  sam: {name: Sam Ortiz, roles: [front_desk, scheduler]}
playbooks:
  claim-denial:
    roles: {biller: billing}
  intake:
    roles: {biller: billing}
"""


class Story:
    """Drives the engine and narrates what happens."""

    def __init__(self, home: Path) -> None:
        from zoneinfo import ZoneInfo

        from .service import Engine

        self.tz = ZoneInfo("America/New_York")
        env = {k: v for k, v in os.environ.items()
               if k not in ("FRONTDESK_HOME", "FRONTDESK_DB", "FRONTDESK_NOW",
                            "FRONTDESK_PLAYBOOKS")}
        self.options = Options(home=str(home), env=env)
        self.clock = FixedClock(dt.datetime(2026, 11, 2, 8, 30, tzinfo=self.tz))
        self.engine = Engine(self.options, clock=self.clock)
        self.names: dict[str, str] = {}

    def say(self, text: str = "") -> None:
        click.echo(text)

    def day(self, when: dt.datetime, headline: str) -> None:
        self.clock.advance_to(when)
        self.say()
        self.say(click.style(f"== {when:%a %d %b %Y}, {headline}", bold=True))
        result = self.engine.tick()
        for run in result.scheduled.started if result.scheduled else ():
            assert run.instance is not None
            self.say(f"   (schedule {run.schedule}) starts {self.label(run.instance)}")
        for instance_id, event in result.fired:
            self.say(f"   (clock) {self.label(instance_id)}: timer '{event}'")

    def label(self, instance_id: str) -> str:
        return self.names.get(instance_id) or self.engine.get_instance(
            instance_id).subject or instance_id

    def start(self, playbook: str, actor: str, **inputs: Any) -> str:
        instance = self.engine.start(playbook, {k: str(v) for k, v in inputs.items()}, actor)
        self.names[instance.id] = instance.subject or instance.id
        self.say(f"   {actor} starts {playbook}: {instance.subject} -> {instance.state}")
        return instance.id

    def done(self, instance_id: str, task: str, actor: str, **fields: Any) -> None:
        instance = self.engine.get_instance(instance_id)
        occurrence = next(t for t in reversed(instance.tasks) if t.task == task and t.is_open)
        after = self.engine.done(occurrence.id, {k: str(v) for k, v in fields.items()}, actor)
        self.say(f"   {actor} completes '{occurrence.title}' ({self.label(instance_id)})"
                 f" -> {after.state}" + (f", closed: {after.outcome}"
                                         if after.status == "closed" else ""))

    def fire(self, instance_id: str, event: str, actor: str, **fields: Any) -> None:
        after = self.engine.fire(instance_id, event, {k: str(v) for k, v in fields.items()},
                                 actor)
        self.say(f"   {actor}: {event} ({self.label(instance_id)}) -> {after.state}"
                 + (f", closed: {after.outcome}" if after.status == "closed" else ""))

    def refused(self, instance_id: str, task: str, actor: str) -> None:
        from .errors import RefusedError

        instance = self.engine.get_instance(instance_id)
        occurrence = next(t for t in instance.tasks if t.task == task and t.is_open)
        try:
            self.engine.done(occurrence.id, {}, actor)
        except RefusedError as exc:
            self.say(f"   {actor} tries '{occurrence.title}': refused ({exc.reason})")

    def today(self, actor: str | None = None, everyone: bool = False, days: int = 0) -> None:
        from .commands.today import collect, table_text
        from .report import terminal_width

        who = " --everyone" if everyone else f" --as {actor}"
        rows = collect(self.engine, actor=actor or "maria", everyone=everyone, days=days)
        self.say(f"   -- frontdesk today{who}{f' --days {days}' if days else ''} --")
        width = terminal_width()
        table = table_text(rows, self.clock.now().date(), self.engine.workspace.tz,
                           None if width is None else width - 3)  # the 3-space indent
        self.say("\n".join("   " + line for line in table.splitlines()))


def _check_home(home: Path | None) -> Path | None:
    if home is None:
        return None
    if home.exists() and any(home.iterdir()):
        raise UsageError(f"--home {home} is not empty; the demo only writes into an empty "
                         "folder (or leave out --home for a temporary one)")
    return home


def run_demo(*, home: Path | None) -> int:
    """Run the story; the home is temporary unless ``home`` names an empty folder."""
    chosen = _check_home(home)
    began = time.perf_counter()
    if chosen is None:
        with tempfile.TemporaryDirectory(prefix="frontdesk-demo-") as tmp:
            _story(Path(tmp))
    else:
        _story(chosen)
    click.echo(f"\n(demo finished in {time.perf_counter() - began:.1f} s"
               + (f"; its store is {chosen / 'frontdesk.db'})" if chosen else
                  "; its temporary home is gone. Keep one with: frontdesk --home DIR demo)"))
    return ExitCode.OK


def _story(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "practice.yaml").write_text(PRACTICE, "utf-8")
    story = Story(home)
    with story.engine:
        _chapters(story)


def _at(day: str, hour: int = 9) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour),
                               ZoneInfo("America/New_York"))


def _chapters(s: Story) -> None:
    s.say(click.style("Riverside Therapy: Maria runs the front office, Dr. Lee owns the "
                      "practice, Sam answers the phones.", bold=True))
    s.day(_at("2026-11-02", 8), "Monday: the remittance brings three denials")
    corrected = s.start("claim-denial", "maria", claim_id="C-1001", payer_type="commercial",
                        group="CO", carc="16", rarc="N382", amount=120,
                        denied_on="2026-10-30", service_date="2026-10-01")
    appealed = s.start("claim-denial", "maria", claim_id="C-1002", payer_type="medicare",
                       group="CO", carc="50", amount=340, denied_on="2026-10-28",
                       service_date="2026-09-15")
    late = s.start("claim-denial", "maria", claim_id="C-1003", payer_type="commercial",
                   group="CO", carc="29", amount=95, denied_on="2026-10-29",
                   service_date="2026-05-04")
    s.say("   Jordan Kim was hired today and starts on Monday 23 November.")
    hire = s.start("onboarding-90-day", "maria", employee="Jordan Kim",
                   role_title="Front desk coordinator", start_date="2026-11-23",
                   hired_on="2026-11-02")
    refresh = s.start("hipaa-annual-refresh", "maria", employee="Maria Alvarez",
                      last_trained_on="2025-12-01")
    s.start("hipaa-annual-refresh", "maria", employee="Dr. Lee",
            last_trained_on="2026-06-15")
    s.say("   Two new clients call.")
    selfpay = s.start("intake", "sam", client_name="Ana Ruiz", service="PT evaluation",
                      referral_source="website")
    insured = s.start("intake", "sam", client_name="Ben Okafor", service="PT evaluation",
                      referral_source="Dr. Patel")
    s.done(selfpay, "screening_call", "sam", payment="self_pay", urgent="false")
    s.done(insured, "screening_call", "sam", payment="insurance", urgent="false")
    s.today("maria", days=7)

    s.day(_at("2026-11-03"), "Tuesday: paperwork, benefits, and a self-pay booking")
    s.done(selfpay, "intake_forms", "sam", privacy_acknowledgment="signed")
    s.say("   Ana books her evaluation 11 business days out (Veterans Day is a holiday): "
          "a good faith estimate is due within 3 business days.")
    s.done(selfpay, "book_first_visit", "sam", appointment_on="2026-11-19",
           estimate_requested="false")
    s.today("sam", days=7)
    s.done(insured, "verify_eligibility", "maria", auth_required="false")
    s.done(insured, "intake_forms", "sam", privacy_acknowledgment="signed")
    s.done(insured, "book_first_visit", "sam", appointment_on="2026-11-10",
           estimate_requested="false")

    s.day(_at("2026-11-04"), "Wednesday: Maria works the list")
    s.done(selfpay, "send_estimate", "sam")
    s.done(corrected, "correct_claim", "maria", resubmitted_on="2026-11-04")
    s.done(appealed, "send_appeal", "maria", appeal_sent_on="2026-11-04")
    s.done(late, "approve_write_off", "drlee")
    s.done(late, "post_adjustment", "maria")

    s.day(_at("2026-11-10"), "Ben's first visit")
    s.fire(insured, "attended", "drlee")

    s.day(_at("2026-11-16"), "two weeks on: the refresher is due soon")
    s.today(everyone=True)
    s.done(refresh, "record_refresher", "maria", trained_on="2026-11-16",
           topics="PHI basics,minimum necessary,phishing,incident reporting",
           signature="Maria Alvarez")

    s.day(_at("2026-11-19"), "Ana does not come to her evaluation")
    s.fire(selfpay, "no_show", "sam")
    s.done(selfpay, "no_show_call", "sam", appointment_on="2026-12-03", scope_changed="false")

    s.day(_at("2026-11-20"), "Friday: getting ready for Jordan")
    s.done(hire, "prepare_workspace", "maria")
    s.done(hire, "new_hire_report", "maria")

    s.day(_at("2026-11-23"), "Jordan's first day (Thanksgiving is Thursday)")
    s.today("maria")
    s.refused(hire, "grant_ehr_access", "maria")
    s.done(hire, "hipaa_training", "maria", hipaa_trained_on="2026-11-23",
           hipaa_topics="PHI basics,safeguards,patient rights", hipaa_signature="Jordan Kim")
    s.done(hire, "grant_ehr_access", "maria")
    for task in ("i9_section1", "collect_w4"):
        s.done(hire, task, "maria")
    s.done(hire, "welcome_orientation", "drlee")

    s.day(_at("2026-11-27"), "Friday after Thanksgiving: I-9 Section 2 is due today")
    s.done(hire, "i9_section2", "maria")

    s.day(_at("2026-11-30"), "a week of shadowing is over; the handoff starts")
    s.done(hire, "shadowing", "drlee")
    s.today("drlee")

    s.day(_at("2026-12-03"), "Ana's rescheduled evaluation")
    s.fire(selfpay, "attended", "drlee")

    s.day(_at("2026-12-07"), "the payer pays the corrected claim; the privacy policy changes")
    s.fire(corrected, "payment_posted", "maria", paid_amount=120)
    fired_all = s.engine.fire_all("hipaa-annual-refresh", "policy_changed", "maria")
    s.say(f"   maria: fire --all hipaa-annual-refresh policy_changed -> fired "
          f"{len(fired_all.fired)}, not allowed {len(fired_all.not_allowed)}")
    s.today("maria", days=30)
    s.day(_at("2027-01-05"), "the Medicare contractor reverses its denial")
    s.fire(appealed, "appeal_won", "maria")
    s.fire(appealed, "payment_posted", "maria", paid_amount=340)
    s.today("drlee")

    s.say()
    s.say(click.style("== The outbox (reminders and escalations the engine wrote)", bold=True))
    for message in s.engine.outbox():
        s.say(f"   [{message.at[:10]}] to {message.to_name}: {message.subject}")
    s.say()
    s.say(click.style("== Where everything stands", bold=True))
    for instance in s.engine.list_instances():
        status = f"closed: {instance.outcome}" if instance.status == "closed" else "open"
        s.say(f"   {instance.subject or instance.id:<34} {instance.state:<22} {status}")
    proof = s.engine.prove()  # raises (exit 7) if anything does not check out
    s.say()
    s.say(click.style(f"== frontdesk audit verify: ok, {proof.records} records, head "
                      f"{proof.head_hash[:16]}...", bold=True))
    for line in proof.lines():
        s.say(f"   {line}")
