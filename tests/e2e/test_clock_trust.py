"""The store's clock kind (docs/reference.md, "Identity, clock and trust"): a store created
without a clock override keeps real time and refuses writes under ``--now`` (exit 2, nothing
written) while reads accept it; a simulated store refuses a write whose clock is behind its
last record (exit 5); a real store whose system clock stepped back records the last time;
every record carries the principal; ``db status`` and ``audit verify`` name the clock kind."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from frontdesk.runtime.instance import AuditDraft, Change
from frontdesk.store import open_store
from frontdesk.store.sqlite import os_account
from frontdesk_testing import RUNTIME_PLAYBOOKS, Frontdesk, frontdesk_argv


def _run(home: Path, *args: str, now: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(FRONTDESK_HOME=str(home), FRONTDESK_USER="maria")
    globals_ = ["--playbooks", str(RUNTIME_PLAYBOOKS), *(["--now", now] if now else [])]
    return subprocess.run([*frontdesk_argv(), *globals_, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_real_store_refuses_writes_under_a_clock_override(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = _run(home, "start", "rt-intake", "--set", "client=Ann")
    assert started.returncode == 0, started.stderr
    head = _run(home, "audit", "head").stdout
    for args in (("start", "rt-intake", "--set", "client=Bo"),
                 ("fire", started.stdout.strip(), "label"), ("tick",)):
        refused = _run(home, *args, now="2027-01-01T09:00")
        assert refused.returncode == 2, (args, refused.stderr)
        assert "keeps real time" in refused.stderr
    assert _run(home, "audit", "head").stdout == head
    ahead = _run(home, "today", "--everyone", "--days", "7", now="2027-01-01T09:00")
    assert ahead.returncode == 0, ahead.stderr
    status = _run(home, "db", "status")
    assert status.returncode == 0 and "clock: real" in status.stdout
    verified = _run(home, "audit", "verify")
    assert verified.returncode == 0 and "clock: real" in verified.stdout


def test_a_simulated_store_refuses_a_clock_behind_its_log(frontdesk: Frontdesk) -> None:
    """The test homes are created under ``--now``: simulated. Moving forward works; a write
    dated before the last record is exit 5 and writes nothing."""
    fd = frontdesk
    instance = fd.ok("start", "rt-intake", "--set", "client=Ann", "--set",
                     "referred_on=2026-01-02").strip()
    fd.ok("fire", instance, "label", now="2026-01-07T09:00")
    head = fd.ok("audit", "head")
    behind = fd.run("fire", instance, "label", now="2026-01-06T09:00")
    assert behind.returncode == 5 and "earlier than the audit log" in behind.stderr
    assert fd.ok("audit", "head") == head
    assert "clock: simulated" in fd.ok("audit", "verify")


def test_a_real_clock_that_stepped_back_records_the_last_time(tmp_path: Path) -> None:
    """On a real store the record keeps ``at`` from decreasing: a draft stamped before the head
    is recorded at the head's time (and stamped with the OS account as principal)."""
    path = tmp_path / "frontdesk.db"
    later = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    earlier = later - dt.timedelta(hours=1)

    def draft(at: dt.datetime) -> AuditDraft:
        return AuditDraft(at=at, instance="i1", playbook="p", version=1, actor="maria",
                          action="set", event=None, from_state=None, to_state="s",
                          data={"vars": {}})

    with open_store(f"sqlite:///{path}") as store:
        assert store.clock_kind() == "real"
        with store.transaction() as txn:
            txn.apply(Change(audit=[draft(later)]))
        with store.transaction() as txn:
            txn.apply(Change(audit=[draft(earlier)]))
        records = list(store.audit_records())
    assert [r["at"] for r in records] == ["2026-03-02T15:00:00.000000Z"] * 2
    assert {r["principal"] for r in records} == {os_account()}


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_postgresql_records_the_session_user(frontdesk: Frontdesk) -> None:
    fd = frontdesk
    fd.ok("start", "rt-intake", "--set", "client=Ann")
    principals = {row[0] for row in fd.query("SELECT principal FROM audit_log")}
    assert principals == {"postgres"}
