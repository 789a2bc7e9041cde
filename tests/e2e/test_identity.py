"""Who may act (docs/reference.md, "Identity, clock and trust"): reserved names, task roles at
``done``, administrators for ``upgrade``, and an authenticated practice whose people log in
as operating-system accounts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from frontdesk.store.sqlite import os_account
from frontdesk_testing import Frontdesk

PEOPLE = """\
practice: Test Practice
timezone: America/New_York
people:
  maria: {name: Maria, roles: [front_desk]}
  drlee: {name: Dr. Lee, roles: [clinician, owner]}
"""


def _account(fd: Frontdesk) -> str:
    """The principal of the test's store: the OS account, or the PostgreSQL session user."""
    return "postgres" if fd.store_kind == "postgresql" else os_account()


def _authenticated(*persons: tuple[str, str, list[str]]) -> str:
    lines = ["practice: Test Practice", "timezone: America/New_York", "people:"]
    for pid, roles, logins in persons:
        lines.append(f"  {pid}: {{roles: [{roles}], login: [{', '.join(logins)}]}}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def practice_frontdesk(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]
                     ) -> Callable[[str], Frontdesk]:
    def make(practice: str) -> Frontdesk:
        return make_frontdesk(tmp_path, practice)
    return make


def test_reserved_and_empty_names_cannot_act(frontdesk: Frontdesk) -> None:
    """``--as system`` is refused in trust mode even without people; ``--as ""`` is a usage
    error, not a silent fallback to the account."""
    for name in ("system", "scenario"):
        result = frontdesk.run("start", "rt-intake", "--set", "client=Ann", "--as", name)
        assert result.returncode == 5 and "reserved" in result.stderr, result.stderr
    empty = frontdesk.run("start", "rt-intake", "--set", "client=Ann", "--as", "")
    assert empty.returncode == 2 and "--as" in empty.stderr, empty.stderr


def test_done_needs_the_task_role(practice_frontdesk: Callable[[str], Frontdesk]) -> None:
    """The clinician cannot record the front desk's call (exit 5, nothing written); the front
    desk can."""
    fd = practice_frontdesk(PEOPLE)
    started = fd.json("start", "rt-intake", "--set", "client=Ann", "--as", "maria")
    call = next(t["id"] for t in started["tasks"] if t["task"] == "call_client")
    head = fd.ok("audit", "head")
    refused = fd.run("done", call, "--set", "reached=true", "--as", "drlee")
    assert refused.returncode == 5, refused.stderr
    assert "does not hold its role 'front_desk'" in refused.stderr
    assert fd.ok("audit", "head") == head
    fd.ok("done", call, "--set", "reached=true", "--as", "maria")


def test_upgrade_is_for_administrators(practice_frontdesk: Callable[[str], Frontdesk]) -> None:
    fd = practice_frontdesk(PEOPLE)
    fd.ok("start", "rt-versioned", "--as", "maria")
    refused = fd.run("upgrade", "rt-versioned", "--to", "1", "--as", "maria")
    assert refused.returncode == 5 and "administrators (drlee)" in refused.stderr
    fd.ok("upgrade", "rt-versioned", "--to", "1", "--as", "drlee")


def test_an_authenticated_practice_takes_the_actor_from_the_login(
        practice_frontdesk: Callable[[str], Frontdesk]) -> None:
    """The account's one person acts without ``--as``; naming someone else is refused; the
    record keeps both the person (actor) and the account (principal)."""
    fd = practice_frontdesk("")
    account = _account(fd)
    (fd.home / "practice.yaml").write_text(_authenticated(
        ("maria", "front_desk", [account]), ("drlee", "clinician, owner", ["someone-else"])))
    fd.user = account  # what the account's own name gives without --as
    instance = fd.ok("start", "rt-intake", "--set", "client=Ann").strip()
    impostor = fd.run("fire", instance, "schedule", "--set", "visit_on=2026-01-12",
                      "--as", "drlee")
    assert impostor.returncode == 5 and f"account '{account}'" in impostor.stderr
    actor, principal = fd.query("SELECT actor, principal FROM audit_log ORDER BY seq")[0]
    assert (actor, principal) == ("maria", account)


def test_a_shared_account_must_say_who(practice_frontdesk: Callable[[str], Frontdesk]) -> None:
    fd = practice_frontdesk("")
    account = _account(fd)
    (fd.home / "practice.yaml").write_text(_authenticated(("maria", "front_desk", [account]),
                                                          ("jo", "front_desk", [account])))
    fd.user = account
    unnamed = fd.run("start", "rt-intake", "--set", "client=Ann")
    assert unnamed.returncode == 5 and "maria, jo" in unnamed.stderr, unnamed.stderr
    fd.ok("start", "rt-intake", "--set", "client=Ann", "--as", "jo")


def test_an_account_that_is_nobody_may_read_not_act(
        practice_frontdesk: Callable[[str], Frontdesk]) -> None:
    fd = practice_frontdesk(_authenticated(("maria", "front_desk", ["someone-else"])))
    fd.ok("db", "migrate")
    refused = fd.run("start", "rt-intake", "--set", "client=Ann", "--as", "maria")
    assert refused.returncode == 5 and "no person's login" in refused.stderr
    assert fd.run("list").returncode == 0
    assert fd.run("tick").returncode == 0


def test_an_unknown_role_is_a_usage_error_with_a_hint(
        practice_frontdesk: Callable[[str], Frontdesk]) -> None:
    """``today --role bililng`` would list nothing; with people listed it names the typo."""
    fd = practice_frontdesk(PEOPLE)
    fd.ok("db", "migrate")
    typo = fd.run("today", "--role", "front_dsk")
    assert typo.returncode == 2 and "did you mean 'front_desk'" in typo.stderr, typo.stderr
    assert fd.run("today", "--role", "front_desk").returncode == 0
