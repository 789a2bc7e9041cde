"""The staff web board in a real browser (docs/reference.md, "The web board"): Debian's
Chromium driven by Playwright against ``frontdesk serve`` started as a subprocess on a free
loopback port, on a simulated store of its own; the CLI checks what the board wrote.

One server and one browser serve the whole module (one xdist group), each test in browser
contexts of its own (a context is a fresh browser profile: its own cookies)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from board_testing import (
    PASSWORD,
    BoardServer,
    browser_missing,
    frontdesk,
    launch,
    set_passwords,
)
from markupsafe import escape

pytestmark = pytest.mark.xdist_group("board")

STARTED = "2026-03-02T09:00"  # a Monday: the instances the CLI starts
NOW = "2026-03-05T10:00"  # the board's clock: each instance's 3-day timer is due
PRACTICE = """practice: Board Test Practice
timezone: America/New_York
administrators: [maria]
people:
  maria: {name: Maria Alvarez, roles: [front_desk, office_manager]}
  sam: {name: Sam Ortiz, roles: [front_desk]}
  drlee: {name: Dr. Lee, roles: [clinician]}
  locky: {name: Lock Test, roles: [front_desk]}
board: {lockout_after: 3, lockout_minutes: 1}
"""
CLIENTS = {"form": "Fiona Form", "refuse": "Rita Refuse", "readonly": "Olga Only",
           "assign": "Asa Assign", "race": "Rae Race", "tick": "Tia Tick", "kept": "Kit Kept"}


class Board:
    """The module's home, server, browser and the instances the CLI started."""

    def __init__(self, home: Path, server: BoardServer, browser: Any,
                 instances: dict[str, str]) -> None:
        self.home, self.server, self.browser, self.instances = home, server, browser, instances

    @property
    def url(self) -> str:
        return self.server.url

    def login(self, person: str, password: str = PASSWORD) -> Any:
        """A page of a new browser context, logged in as ``person``."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(self.url)
        page.get_by_label("Your name").fill(person)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        return page

    def show(self, instance: str) -> dict[str, Any]:
        done = frontdesk(self.home, "show", instance, "--json", now=NOW)
        assert done.returncode == 0, done.stderr
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    def task_id(self, instance: str, task: str) -> str:
        return next(t["id"] for t in self.show(instance)["tasks"] if t["task"] == task)

    def cli_error(self, *args: str) -> str:
        """The message of a refused CLI command (after ``frontdesk: error: ``)."""
        done = frontdesk(self.home, *args, now=NOW)
        assert done.returncode == 5, (done.returncode, done.stderr)
        return done.stderr.strip().removeprefix("frontdesk: error: ")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    missing = browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser tests cannot run: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("board-home")
    (home / "practice.yaml").write_text(PRACTICE)
    instances = {}
    for key, client in CLIENTS.items():
        visits = "7" if key == "refuse" else "1"
        done = frontdesk(home, "start", "board-visit", "--set", f"client={client}", "--set",
                         f"visits={visits}", "--as", "maria", now=STARTED)
        assert done.returncode == 0, done.stderr
        instances[key] = done.stdout.strip()
    set_passwords(home, ["maria", "sam", "drlee", "locky"])
    server = BoardServer.start(home, now=NOW)
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                yield Board(home, server, browser, instances)
            finally:
                browser.close()  # type: ignore[attr-defined]
    finally:
        log = server.stop()
    assert "Traceback" not in log
    for client in CLIENTS.values():  # no patient data in the server's output
        assert client not in log


def test_login_cookie_and_logout(board: Board) -> None:
    page = board.login("sam")
    assert page.get_by_role("heading", name="My day").is_visible()
    assert "Sam Ortiz" in page.locator("header").inner_text()
    for client in CLIENTS.values():
        assert client not in page.title() and client not in page.url
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "frontdesk_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    page.get_by_role("button", name="Log out").click()
    assert "You have logged out." in page.inner_text("main")
    page.goto(board.url)  # the old session is gone on the server
    assert page.url.startswith(board.url + "login")


def test_wrong_password_then_lockout(board: Board) -> None:
    page = board.login("locky", "not the password")
    assert "wrong name or password" in page.inner_text("main")
    page = board.login("nobody-here", "not the password")
    assert "wrong name or password" in page.inner_text("main")  # the same words
    board.login("locky", "not the password either")
    page = board.login("locky", "still not it")
    assert "too many failed logins" in page.inner_text("main")
    page = board.login("locky")  # the right password, but locked out for now
    assert "too many failed logins" in page.inner_text("main")
    assert page.url.endswith("/login")


def test_idle_logoff(board: Board) -> None:
    practice = board.home / "practice.yaml"
    practice.write_text(PRACTICE.replace("board: {", "board: {idle_minutes: 0.02, "))
    try:
        page = board.login("sam")
        assert page.get_by_role("heading", name="My day").is_visible()
        time.sleep(2)  # 0.02 minutes is 1.2 seconds
        page.reload()
        assert page.url.startswith(board.url + "login")
        assert "logged off after 0.02 idle minutes" in page.inner_text("main")
    finally:
        practice.write_text(PRACTICE)


def test_csrf_refused_and_nothing_written(board: Board) -> None:
    page = board.login("maria")
    task = board.task_id(board.instances["assign"], "confirm")
    response = page.request.post(f"{board.url}task/{task}/assign",
                                 form={"csrf": "forged", "person": "sam"})
    assert response.status == 403 and "CSRF" in response.text()
    assert next(t for t in board.show(board.instances["assign"])["tasks"]
                if t["id"] == task)["assignee"] is None
    login = page.context.request.post(f"{board.url}login", form={
        "csrf": "forged", "person": "maria", "password": PASSWORD})
    assert login.status == 403


def test_task_form_errors_then_done(board: Board) -> None:
    instance = board.instances["form"]
    task = board.task_id(instance, "confirm")
    before = board.show(instance)
    page = board.login("sam")
    page.get_by_role("link", name="Confirm the visit with Fiona Form").click()
    page.get_by_role("button", name="Mark done").click()
    errors = page.locator(".error").all_inner_texts()
    assert "missing required field 'channel'" in errors or any("channel" in e for e in errors)
    assert any("confirmed_on" in e for e in errors)
    assert "tick every item of the checklist first" in errors
    assert board.show(instance)["history"] == before["history"]  # nothing written
    page.get_by_label("channel").select_option("phone")
    page.get_by_label("confirmed_on").fill("2026-03-05")
    page.get_by_label("left_message").check()
    page.get_by_label("Called the client").check()
    page.get_by_role("button", name="Mark done").click()
    assert "Done: Confirm the visit with Fiona Form." in page.inner_text("main")
    after = board.show(instance)
    assert next(t for t in after["tasks"] if t["id"] == task)["status"] == "done"
    (record,) = [r for r in after["history"] if r["action"] == "task_done"]
    assert record["actor"] == "sam" and record["principal"] == "web:sam"
    assert record["data"]["fields"] == {"channel": "phone", "confirmed_on": "2026-03-05",
                                        "left_message": True}


def _event_form(page: Any, event: str) -> Any:
    return page.locator("form.event").filter(has=page.locator(f"input[value='{event}']"))


def test_fire_event_and_refused_event(board: Board) -> None:
    instance = board.instances["refuse"]
    page = board.login("sam")
    page.goto(f"{board.url}instance/{instance}")
    _event_form(page, "cancel_visit").get_by_role("button").click()
    expected = board.cli_error("fire", instance, "cancel_visit", "--as", "sam")
    assert f"Refused: {expected}" in page.inner_text("main")
    arrive = _event_form(page, "arrive")
    arrive.get_by_role("button").click()
    assert "field 'room': a value is required" in page.inner_text("main")
    assert board.show(instance)["state"] == "booked"
    arrive = _event_form(page, "arrive")
    arrive.get_by_label("room").fill("2")
    arrive.get_by_role("button").click()
    assert "'arrive' recorded; now seen (closed: seen)." in page.inner_text("main")
    shown = board.show(instance)
    assert shown["outcome"] == "seen" and shown["vars"]["room"] == "2"
    assert shown["history"][-1]["principal"] == "web:sam"


def test_read_only_person(board: Board) -> None:
    instance = board.instances["readonly"]
    task = board.task_id(instance, "confirm")
    page = board.login("drlee")
    page.goto(f"{board.url}task/{task}")
    expected = board.cli_error("done", task, "--as", "drlee")
    assert expected in page.inner_text("main")
    assert page.get_by_role("button", name="Mark done").count() == 0
    csrf = page.locator("form.logout input[name=csrf]").get_attribute("value")
    forged = page.request.post(f"{board.url}task/{task}/done", form={"csrf": csrf})
    assert forged.status == 403 and str(escape(expected)) in forged.text()
    page.goto(f"{board.url}instance/{instance}")
    offered = page.locator("form.event input[name=event]").evaluate_all(
        "inputs => inputs.map(i => i.value)")
    assert "arrive" not in offered and "cancel_visit" in offered  # arrive is front_desk's
    assert board.show(instance)["state"] == "booked"


def test_assign(board: Board) -> None:
    instance = board.instances["assign"]
    task = board.task_id(instance, "confirm")
    page = board.login("maria")
    page.goto(f"{board.url}task/{task}")
    page.get_by_label("Give this task to").select_option("sam")
    page.get_by_role("button", name="Assign").click()
    assert "Assigned to sam." in page.inner_text("main")
    assert "it is assigned to sam" in page.inner_text("main")  # no longer maria's to do
    assert page.get_by_role("button", name="Mark done").count() == 0
    (record,) = [r for r in board.show(instance)["history"] if r["action"] == "assigned"]
    assert record["actor"] == "maria" and record["principal"] == "web:maria"


def test_start_playbook(board: Board) -> None:
    page = board.login("sam")
    page.get_by_role("link", name="Start").click()
    page.get_by_role("link", name="Board test visit").click()
    page.get_by_label("visits").fill("zero")
    page.get_by_role("button", name="Start").click()
    errors = page.locator(".error").all_inner_texts()
    assert "missing required field 'client'" in errors or any("client" in e for e in errors)
    assert any(e.startswith("field 'visits'") for e in errors)
    page.get_by_label("client").fill("Ada Board")
    page.get_by_label("visits").fill("2")
    page.get_by_role("button", name="Start").click()
    assert page.get_by_role("heading", name="Visit Ada Board").is_visible()
    assert "Started." in page.inner_text("main")
    instance = page.url.rstrip("/").rsplit("/", 1)[1]
    assert board.show(instance)["vars"] == {"client": "Ada Board", "visits": 2}


def test_two_browsers_one_instance(board: Board) -> None:
    instance = board.instances["race"]
    pages = [board.login("sam"), board.login("maria")]
    for number, page in enumerate(pages):
        page.goto(f"{board.url}instance/{instance}")
        _event_form(page, "arrive").get_by_label("room").fill(f"room {number}")
    for page in pages:
        _event_form(page, "arrive").get_by_role("button").click(no_wait_after=True)
    texts = []
    for page in pages:
        page.wait_for_load_state()
        page.locator("p.notice, p.refused").first.wait_for()
        texts.append(page.inner_text("main"))
    won = [t for t in texts if "'arrive' recorded" in t]
    lost = [t for t in texts if "Refused:" in t]
    assert len(won) == 1 and len(lost) == 1, texts
    assert "it is closed (seen)" in lost[0] or "retry" in lost[0]
    history = board.show(instance)["history"]
    assert [r["event"] for r in history if r["action"] == "transition"].count("arrive") == 1


def test_my_day_after_tick(board: Board) -> None:
    page = board.login("sam")
    assert "Call Tia Tick again" not in page.inner_text("main")
    ticked = frontdesk(board.home, "tick", now=NOW)
    assert ticked.returncode == 0, ticked.stderr
    page.reload()
    today = page.locator("section", has=page.get_by_role("heading", name="Today"))
    assert "Call Tia Tick again" in today.inner_text()


def test_my_day_follows_changes_made_elsewhere(board: Board) -> None:
    """My day's rows are kept while the store is unchanged: a change the CLI makes (another
    process, another connection) shows at the next load, and so does its undoing."""
    task = board.task_id(board.instances["kept"], "confirm")
    title = "Confirm the visit with Kit Kept"
    page = board.login("sam")  # lands on My day: its rows are kept
    assert title in page.inner_text("main")
    for args, shown in ((("maria",), False), (("--clear",), True)):
        done = frontdesk(board.home, "assign", task, *args, "--as", "maria", now=NOW)
        assert done.returncode == 0, done.stderr
        page.reload()
        assert (title in page.inner_text("main")) is shown


def test_reports_and_outbox_pages(board: Board) -> None:
    """The board lists the reports and draws one as ``report NAME --format html`` does (same
    figures as the CLI's JSON), for administrators only, with a period form that refuses a bad
    date like the CLI; the outbox page shows each message's delivery status."""
    clerk = board.login("sam")  # not an administrator: no link, and the page is refused
    assert clerk.get_by_role("link", name="Reports").count() == 0
    clerk.goto(board.url + "reports/workload")
    assert "administrator" in clerk.inner_text("main")
    page = board.login("maria")
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="workload", exact=True).click()
    assert page.get_by_role("heading", level=1).first.inner_text().startswith("Workload")
    cli = json.loads(frontdesk(board.home, "report", "workload", "--format", "json",
                               now=NOW).stdout)
    first_table = cli["sections"][0]["tables"][0]
    shown = page.locator("section.report table").first.inner_text()
    for row in first_table["rows"]:
        assert str(next(iter(row.values()))) in shown
    page.goto(board.url + "reports/workload?from=2026-13-01")
    assert "is not a date" in page.inner_text("main")
    messages = json.loads(frontdesk(board.home, "outbox", "--json", now=NOW).stdout)
    page.goto(board.url + "outbox")
    text = page.inner_text("main")
    if not messages:
        assert "The outbox is empty." in text
    for message in messages:
        assert message["subject"] in text
        assert f"status {message['status']}" in text
