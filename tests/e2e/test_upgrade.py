"""``frontdesk upgrade PLAYBOOK --to VERSION [--dry-run]`` through the CLI on each store: one
movable and one unmovable instance, the audit records of the move, the dry run that changes
nothing, and the refusals."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

PACKS = Path(__file__).resolve().parents[1] / "playbooks" / "packs"


@pytest.fixture
def two_claims(frontdesk: Frontdesk) -> tuple[Frontdesk, str, str]:
    """Two open up-claim v1 instances, A in 'review' and B in 'on_hold', then version 2 of the
    playbook put on the search path (it drops 'on_hold', 'fax_copy' and the 'nudge' timer)."""
    fd = frontdesk
    path = fd.playbooks / "up-claim.yaml"
    shutil.copy(PACKS / "upgrade-v1.yaml", path)
    a = fd.ok("start", "up-claim", "--set", "claim_id=A1").strip()
    b = fd.ok("start", "up-claim", "--set", "claim_id=B2").strip()
    fd.ok("fire", b, "hold")
    shutil.copy(PACKS / "upgrade-v2.yaml", path)
    return fd, a, b


def _records(fd: Frontdesk, instance: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            fd.ok("audit", "export", "--instance", instance).splitlines()]


def test_dry_run_lists_both_and_changes_nothing(two_claims: tuple[Frontdesk, str, str]) -> None:
    """``--dry-run`` says what would move and why the other cannot; the store is untouched."""
    fd, a, b = two_claims
    before = fd.dump()
    result = fd.run("upgrade", "up-claim", "--to", "2", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"would move {a} (Claim A1): state 'review', version 1 -> 2; cancels task 'fax_copy'; "
        "disarms timer 'nudge'; sets 'payer' to its default",
        f"cannot move {b} (Claim B2): state 'on_hold' does not exist in version 2",
        "dry run: would move 1, cannot move 1, already on version 2: 0 (nothing changed)",
    ]
    assert fd.dump() == before


def test_upgrade_moves_one_and_refuses_the_other(two_claims: tuple[Frontdesk, str, str]) -> None:
    """A moves to v2 with one ``upgraded`` record (then the cancelled task's record), keeps its
    task and timer that v2 still has, drops those v2 no longer has; B stays on v1 untouched."""
    fd, a, b = two_claims
    b_before = fd.json("show", b)
    seq_before = int(fd.ok("audit", "head").split()[0])
    result = fd.run("upgrade", "up-claim", "--to", "2", "--as", "maria")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"cannot move {b} (Claim B2): state 'on_hold' does not exist in version 2",
        "moved 1, cannot move 1, already on version 2: 0",
    ]
    assert result.stdout.startswith(f"moved {a} (Claim A1): state 'review', version 1 -> 2")

    moved = fd.json("show", a)
    assert (moved["version"], moved["state"], moved["subject"]) == (2, "review",
                                                                    "Claim A1 (commercial)")
    assert moved["vars"] == {"claim_id": "A1", "payer": "commercial"}
    assert [(t["task"], t["status"], t["due"]) for t in moved["tasks"]] == [
        ("check_codes", "open", "2026-01-07"),  # kept as it was (call_payer is not created)
        ("fax_copy", "cancelled", "2026-01-06")]
    assert [(t["event"], t["status"]) for t in moved["timers"]] == [
        ("nudge", "cancelled"), ("give_up", "armed")]
    assert fd.json("show", b) == b_before  # same version, state, tasks and history

    new = [r for r in _records(fd, a) if r["seq"] > seq_before]
    assert [(r["action"], r["version"], r["actor"], r["from"], r["to"]) for r in new] == [
        ("upgraded", 2, "maria", "review", "review"),
        ("task_cancelled", 2, "maria", "review", None),
        ("timer_cancelled", 2, "maria", "review", None)]
    data = new[0]["data"]
    assert (data["from_version"], data["to_version"]) == (1, 2)
    assert data["cancelled_tasks"] == ["fax_copy"] and data["cancelled_timers"] == ["nudge"]
    assert data["vars"] == {"payer": "commercial"}
    [(digest, stored)] = fd.query(
        "SELECT i.digest, s.version FROM instances i JOIN sources s USING (digest) "
        "WHERE i.id = ?", (a,))
    assert (digest, stored) == (data["to_digest"], 2)  # the v2 source is stored with the row
    assert fd.ok("audit", "verify").startswith("audit log ok")

    # A now runs version 2: v1's 'hold' is gone, v2's timer still fires on its old due date
    refused = fd.run("fire", a, "hold")
    assert refused.returncode == 5 and "not allowed in state 'review'" in refused.stderr
    assert fd.json("tick", now="2026-02-04T09:00")["fired"] == [
        {"instance": a, "event": "give_up"}]


def test_upgrade_again_finds_nothing_to_do(two_claims: tuple[Frontdesk, str, str]) -> None:
    """A second run counts A as already on version 2 and still cannot move B (JSON shape)."""
    fd, a, b = two_claims
    fd.ok("upgrade", "up-claim", "--to", "2")
    again = fd.json("upgrade", "up-claim", "--to", "2")
    assert again == {"playbook": "up-claim", "to_version": 2, "dry_run": False, "moved": [],
                     "not_moved": [{"id": b, "state": "on_hold", "version": 1,
                                    "reason": "state 'on_hold' does not exist in version 2"}],
                     "current": [a], "conflicts": []}


def test_upgrade_refuses_a_version_the_search_path_does_not_offer(
        two_claims: tuple[Frontdesk, str, str]) -> None:
    """``--to`` must be the version on the search path (exit 4, nothing written); a shadowed
    copy of that version is named; an unknown playbook is exit 4 with a did-you-mean."""
    fd, _, _ = two_claims
    before = fd.dump()
    wrong = fd.run("upgrade", "up-claim", "--to", "3")
    assert wrong.returncode == 4
    assert wrong.stderr == ("frontdesk: error: playbook 'up-claim' version 3 is not on the "
                            "search path: it offers version 2 "
                            f"(--playbooks: {fd.playbooks}/up-claim.yaml)\n")
    home = fd.home / "playbooks"
    home.mkdir()
    shutil.copy(PACKS / "upgrade-v1.yaml", home / "up-claim.yaml")
    shadowed = fd.run("upgrade", "up-claim", "--to", "1")
    assert shadowed.returncode == 4
    assert f"version 1 is in home: {home}/up-claim.yaml, shadowed by --playbooks" in \
        shadowed.stderr
    unknown = fd.run("upgrade", "up-clam", "--to", "2")
    assert unknown.returncode == 4 and "did you mean 'up-claim'?" in unknown.stderr
    assert fd.dump() == before


def test_missing_required_input_and_unknown_actor_refuse(
        two_claims: tuple[Frontdesk, str, str], make_frontdesk: Callable[..., Frontdesk],
        tmp_path: Path) -> None:
    """A new required input the instance lacks keeps it where it is; a practice with people
    refuses an unknown actor (exit 5) before anything moves, but a dry run needs no actor."""
    fd, a, b = two_claims
    path = fd.playbooks / "up-claim.yaml"
    path.write_text(path.read_text("utf-8").replace(
        "payer: {type: string, default: commercial}", "payer: {type: string, required: true}"),
        "utf-8")
    result = fd.json("upgrade", "up-claim", "--to", "2")
    assert [(r["id"], r["reason"]) for r in result["not_moved"]] == [
        (a, "version 2 requires input 'payer', which it does not have"),
        (b, "state 'on_hold' does not exist in version 2")]
    (fd.home / "practice.yaml").write_text(
        "timezone: America/New_York\npeople:\n  drlee: {roles: [biller]}\n", "utf-8")
    before = fd.dump()
    refused = fd.run("upgrade", "up-claim", "--to", "2", "--as", "nobody")
    assert refused.returncode == 5 and "unknown person 'nobody'" in refused.stderr
    assert fd.run("upgrade", "up-claim", "--to", "2", "--dry-run", "--as",
                  "nobody").returncode == 0
    assert fd.dump() == before


def test_new_subject_that_cannot_render_keeps_the_instance(
        two_claims: tuple[Frontdesk, str, str]) -> None:
    """A version whose subject needs a variable this instance does not have yet would refuse
    every later step, so the instance is not moved; the reason names the template."""
    fd, a, _ = two_claims
    path = fd.playbooks / "up-claim.yaml"
    path.write_text(path.read_text("utf-8")
                    .replace('subject: "Claim {{ claim_id }} ({{ payer }})"',
                             'subject: "Claim {{ claim_id }} (closed {{ closed_on }})"')
                    .replace("give_up: {to: dropped}",
                             'give_up: {to: dropped, set: {closed_on: "{{ today }}"}}'), "utf-8")
    before = fd.dump()
    result = fd.json("upgrade", "up-claim", "--to", "2")
    assert result["moved"] == []
    assert result["not_moved"][0] == {"id": a, "state": "review", "version": 1,
                                      "reason": "version 2: subject: 'closed_on' is undefined"}
    assert fd.dump() == before
