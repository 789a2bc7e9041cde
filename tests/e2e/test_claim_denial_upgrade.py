"""``upgrade claim-denial --to 2`` moves running version 1 claims (payer types) to the payers
table: each v1 ``payer_type`` becomes the payer entry of that kind, the deadlines v2 adds are
computed, the work on people's lists stays, and the moved claims go on under v2's rules."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

V1 = Path(__file__).resolve().parents[1] / "playbooks" / "packs" / "claim-denial-v1.yaml"


def start_v1(fd: Frontdesk, claim_id: str, payer_type: str, carc: str) -> str:
    """Start a version 1 claim (denied 2026-01-02, served 2025-12-01); its id."""
    return fd.ok("start", "claim-denial", "--set", f"claim_id={claim_id}", "--set",
                  f"payer_type={payer_type}", "--set", "group=CO", "--set", f"carc={carc}",
                  "--set", "amount=250", "--set", "denied_on=2026-01-02", "--set",
                  "service_date=2025-12-01").strip()


def test_v1_claims_move_to_the_payers_table_and_go_on(frontdesk: Frontdesk) -> None:
    """A Medicare appeal, a commercial claim waiting for the biller's route and an ERISA
    correction move to version 2 with their tasks; then each takes a v2 step that needs the
    new variables, and the audit log still verifies (the replay includes the upgrade's set)."""
    fd = frontdesk
    shutil.copy(V1, fd.playbooks / "claim-denial.yaml")
    appeal = start_v1(fd, "M1", "medicare", "50")
    review = start_v1(fd, "C2", "commercial", "18")
    correct = start_v1(fd, "E3", "erisa", "4")
    before = {i: fd.json("show", i)["tasks"] for i in (appeal, review, correct)}
    (fd.playbooks / "claim-denial.yaml").unlink()  # the shipped version 2 is current now
    result = fd.run("upgrade", "claim-denial", "--to", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "moved 3, cannot move 0, already on version 2: 0"
    moved = fd.json("show", appeal)
    assert (moved["version"], moved["state"], moved["tasks"]) == (2, "appeal", before[appeal])
    terms = moved["vars"]["terms"]
    assert (moved["vars"]["payer"], terms["kind"], terms["known"], terms["appeal_days"]) == (
        "medicare", "medicare", True, [120, 180])
    assert (moved["vars"]["reopening_deadline"], moved["vars"]["appeal_deadline"]) == (
        "2027-01-02", "2026-05-07")
    upgraded = [r for r in moved["history"] if r["action"] == "upgraded"]
    assert upgraded[0]["data"]["vars"]["payer"] == "medicare"
    # v2's level 2 rule on the moved Medicare claim: decision 2026-03-02 + 5 + 180
    fd.ok("done", before[appeal][0]["id"], "--set", "appeal_sent_on=2026-01-05")
    after = fd.json("fire", appeal, "appeal_upheld", "--set", "decision_date=2026-03-02")
    assert (after["state"], after["vars"]["second_appeal_deadline"]) == (
        "second_appeal", "2026-09-03")
    # the commercial claim in review takes a v2 route: a corrected claim by its limit
    fd.ok("done", before[review][0]["id"], "--set", "route=corrected")
    routed = fd.json("show", review)
    assert (routed["state"], routed["vars"]["correction_deadline"]) == ("correct", "2026-03-01")
    # the ERISA correction kept its task and meets v2's guard
    assert fd.json("show", correct)["tasks"] == before[correct]
    fd.ok("done", before[correct][0]["id"], "--set", "resubmitted_on=2026-01-05")
    assert fd.json("show", correct)["state"] == "awaiting_payment"
    assert fd.run("audit", "verify").returncode == 0
