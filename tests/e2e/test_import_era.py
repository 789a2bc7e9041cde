"""``frontdesk import era FILE...`` on each store, with 835 remittances built here the way a
clearinghouse sends them (multiple claims, partial denials, a reversal, PR/CO mixes, claim- and
line-level adjustments): each denial starts once, an invalid file writes nothing, a bad claim
does not stop the others, and the start limit leaves the rest for the next import."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

PRACTICE = """\
practice: Test Practice
timezone: America/New_York
payers:
  acme-ppo: {kind: commercial, name: Acme PPO, era_ids: ["1512345678"], appeal_days: [90]}
"""


def remittance(claims: Sequence[str], *, payer: str = "ACME HEALTH PLAN",
               payer_id: str = "1512345678", paid_on: str = "20260105",
               control: str = "000000101") -> str:
    """An X12 835 (005010X221A1) file: envelope, payer and payee, then ``claims`` (each a
    claim's segments joined by ``~``), with the segment count and control numbers right."""
    body = [f"BPR*I*350*C*CHK************{paid_on}", f"TRN*1*CHK{control[-5:]}*{payer_id}",
            f"DTM*405*{paid_on}", f"N1*PR*{payer}", "N3*PO BOX 1000", "N4*HARTFORD*CT*06101",
            "PER*BL*PROVIDER SERVICES*TE*8005551212", "N1*PE*RIVERSIDE THERAPY*XX*1234567893",
            "LX*1"]
    for claim in claims:
        body += claim.split("~")
    transaction = ["ST*835*0001", *body]
    transaction.append(f"SE*{len(transaction) + 1}*0001")
    isa = ("ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*RIVERSIDE      *260105*1200*"
           f"^*00501*{control}*0*P*:")
    segments = [isa, f"GS*HP*PAYERSENDER*RIVERSIDE*{paid_on}*1200*101*X*005010X221A1",
                *transaction, "GE*1*101", f"IEA*1*{control}"]
    return "~\n".join(segments) + "~\n"


def line(code: str, charge: int, paid: int, day: str, *adjustments: str,
         remarks: Sequence[str] = ()) -> str:
    """One service line (2110): SVC, its date, its CAS segments and LQ remark codes."""
    return "~".join([f"SVC*HC:{code}*{charge}*{paid}**1", f"DTM*472*{day}",
                     *(f"CAS*{a}" for a in adjustments), *(f"LQ*HE*{r}" for r in remarks)])


def claim(number: str, status: str, charge: int, paid: int, *parts: str, filing: str = "12",
          adjustments: Sequence[str] = (), remarks: Sequence[str] = ()) -> str:
    """One claim (2100): CLP, claim-level CAS, patient, MOA remarks, then its lines."""
    head = [f"CLP*{number}*{status}*{charge}*{paid}**{filing}*ICN{number}*11*1",
            *(f"CAS*{a}" for a in adjustments), f"NM1*QC*1*DOE*JANE****MI*W{number}"]
    if remarks:
        head.append("MOA***" + "*".join(remarks))
    return "~".join([*head, *parts])


DENIED = claim("1001", "4", 120, 0, line("97110", 120, 0, "20251220", "CO*16*120",
                                         remarks=["N382"]), remarks=["MA130"])
PARTIAL = claim("1002", "1", 300, 150,
                line("97140", 200, 150, "20251222", "PR*2*30", "CO*45*20"),
                line("97530", 100, 0, "20251222", "CO*50*100", remarks=["N115"]))
REVERSAL = claim("1003", "22", -150, -100, line("97110", -150, -100, "20251201", "CO*45*-50"))
MIXED = claim("1004", "1", 260, 0, line("97112", 260, 0, "20251229"),
              adjustments=["PR*96*60", "CO*97*200"])
RECORDS = claim("1005", "4", 180, 0, line("97161", 180, 0, "20251230", "CO*252*180",
                                          remarks=["M127"]))


def line_of(text: str, segment: str) -> int:
    """The line of ``text`` on which ``segment`` starts."""
    return text[:text.index(segment)].count("\n") + 1


def write(folder: Path, name: str, text: str) -> str:
    """Write ``text`` to ``folder/name``; its path as text."""
    path = folder / name
    path.write_text(text, "utf-8")
    return str(path)


def frontdesk_with_payers(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk],
                          practice: str = PRACTICE) -> Frontdesk:
    """A fresh home whose practice.yaml has a payers table."""
    return make_frontdesk(tmp_path, practice=practice)


def test_each_denial_starts_once(tmp_path: Path,
                                 make_frontdesk: Callable[..., Frontdesk]) -> None:
    """Four denials of four claims start, the reversal and the PR-2/CO-45 shares do not; the
    same file again and an overlapping file start only what is new; the audit verifies."""
    fd = frontdesk_with_payers(tmp_path, make_frontdesk)
    text = remittance([DENIED, PARTIAL, REVERSAL, MIXED])
    first = write(tmp_path, "first.835", text)
    result = fd.run("import", "era", first, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["key"] for s in report["started"]] == [
        "acme-ppo|ICN1001|CO-16", "acme-ppo|ICN1002|CO-50", "acme-ppo|ICN1004|PR-96",
        "acme-ppo|ICN1004|CO-97"]
    reversal = f"{first}:{line_of(text, 'CLP*1003')}"
    assert report["skipped"] == [{"claim": "ICN1003", "file": reversal,
                                  "reason": "a reversal (claim status 22)"}]
    assert result.stderr.endswith("started 4, already imported 0, skipped 1, refused 0, "
                                  "left 0\n")
    denied = fd.json("show", report["started"][0]["id"])
    assert {k: denied["vars"][k] for k in (
        "claim_id", "payer", "group", "carc", "rarc", "amount", "denied_on", "service_date",
        "route", "correction_deadline", "era_key")} == {
        "claim_id": "ICN1001", "payer": "acme-ppo", "group": "CO", "carc": "16",
        "rarc": "MA130 N382", "amount": 120, "denied_on": "2026-01-05",
        "service_date": "2025-12-20", "route": "resubmit", "correction_deadline": "2026-03-20",
        "era_key": "acme-ppo|ICN1001|CO-16"}
    assert denied["state"] == "correct"
    appeal = fd.json("show", report["started"][1]["id"])
    assert (appeal["state"], appeal["vars"]["appeal_deadline"]) == ("appeal", "2026-04-05")
    assert fd.json("show", report["started"][2]["id"])["state"] == "bill_patient"
    again = fd.run("import", "era", first)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "started 0, already imported 4, skipped 1, refused 0, left 0\n"
    text = remittance([PARTIAL, RECORDS], paid_on="20260112", control="000000102")
    overlap = write(tmp_path, "second.835", text)
    result = fd.run("import", "era", overlap, first)
    assert result.returncode == 0, result.stderr
    started = result.stdout.splitlines()
    assert len(started) == 2 and started[0].startswith("started ")
    assert started[0].endswith(f"Claim ICN1005 (CO-252) ({overlap}:{line_of(text, 'CLP*1005')})")
    assert started[1] == "started 1, already imported 5, skipped 1, refused 0, left 0"
    assert len(fd.json("list")) == 5
    assert fd.run("audit", "verify").returncode == 0


def test_an_invalid_file_is_refused_with_its_segment_and_line_and_writes_nothing(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """One valid and two invalid files: exit 3 naming each problem's file, line and segment;
    no instance starts, not even from the valid file."""
    fd = frontdesk_with_payers(tmp_path, make_frontdesk)
    good = write(tmp_path, "good.835", remittance([DENIED]))
    text = remittance([DENIED, "CLP*1009"])
    broken = write(tmp_path, "broken.835", text)
    clp = text[:text.index("CLP*1009")].count("\n") + 1
    junk = write(tmp_path, "junk.835", "Dear provider, your claim was denied.\n")
    result = fd.run("import", "era", good, broken, junk)
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert lines[0] == "frontdesk: error:"
    assert f"  {broken}:{clp}:1: error[x12]: segment CLP: Mandatory data element \"Claim Status " \
           "Code\" (CLP02) is missing" in lines
    assert any(text.startswith(f"  {junk}:1:1: error[x12]: not an X12 file") for text in lines)
    listed = fd.run("list", "--json")  # not even the store was created
    assert listed.returncode == 8 or json.loads(listed.stdout) == [], listed.stderr


def test_a_bad_claim_is_reported_and_the_others_start(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """A claim with no service date cannot start (reported, exit 5); the claim after it
    starts. An unlisted payer is named as the 835 gives it, its kind from CLP06 (MB)."""
    fd = frontdesk_with_payers(tmp_path, make_frontdesk)
    undated = claim("2001", "4", 90, 0, "SVC*HC:97110*90*0**1", adjustments=["CO*16*90"],
                    filing="MB")
    dated = claim("2002", "4", 80, 0, line("97110", 80, 0, "20251215", "CO*236*80"),
                  filing="MB")
    text = remittance([undated, dated], payer="NORIDIAN JL", payer_id="1999999999")
    path = write(tmp_path, "medicare.835", text)
    result = fd.run("import", "era", path)
    assert result.returncode == 5, result.stderr
    assert result.stderr == (
        f"refused NORIDIAN JL|ICN2001|CO-16 ({path}:{line_of(text, 'CLP*2001')}): no service "
        "date (DTM*472 on its lines or DTM*232 on the claim)\n")
    [instance] = fd.json("list")
    shown = fd.json("show", instance["id"])
    assert (shown["state"], shown["vars"]["payer"], shown["vars"]["payer_type"],
            shown["vars"]["reopening_deadline"]) == ("reopening", "NORIDIAN JL", "medicare",
                                                     "2027-01-05")
    assert "is not in the practice's payers table" in shown["tasks"][0]["title"]


def test_the_start_limit_leaves_the_rest_for_the_next_import(
        tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> None:
    """With ``limits.starts_per_command: 2``, three denials start two (exit 6, the rest
    named); the next import starts the third."""
    fd = frontdesk_with_payers(tmp_path, make_frontdesk,
                               PRACTICE + "limits: {starts_per_command: 2}\n")
    path = write(tmp_path, "three.835", remittance([DENIED, PARTIAL, RECORDS]))
    result = fd.run("import", "era", path)
    assert result.returncode == 6
    assert "left 1 for the next import" in result.stderr
    assert result.stdout.splitlines()[-1] == (
        "started 2, already imported 0, skipped 0, refused 0, left 1")
    assert fd.run("import", "era", path).stdout.splitlines()[-1] == (
        "started 1, already imported 2, skipped 0, refused 0, left 0")
