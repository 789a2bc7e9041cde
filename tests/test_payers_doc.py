"""docs/payers.md's tables are the shipped ones: the numbers of each payer kind
(``frontdesk.runtime.payers.KINDS``) and claim-denial's routes and route notes (its settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from frontdesk.runtime.payers import KINDS

REPO = Path(__file__).resolve().parents[1]


def _days(value: Any) -> str:
    return "-" if value is None else str(value)


def kinds_table() -> str:
    """The table of numbers by payer kind, as docs/payers.md shows it."""
    rows = ["| kind | timely filing | corrected claim | appeal level 1 / 2 | receipt | level 2 "
            "| reopening | level 3 (ALJ) | representative | off weekends |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, n in KINDS.items():
        levels = " / ".join(str(d) for d in n["appeal_days"])
        alj = "-" if n["alj_days"] is None else f"{n['alj_days']} (>= ${n['alj_amount']})"
        rows.append(
            f"| `{kind}` | {n['timely_filing_days']} | "
            f"{_days(n['corrected_claim_days']) if n['corrected_claim_days'] else 'filing'} | "
            f"{levels} | {n['receipt_days']} | "
            f"{'automatic' if n['second_level_automatic'] else 'request'} | "
            f"{_days(n['reopening_days'])} | {alj} | "
            f"{'yes' if n['representative'] else 'no'} | "
            f"{'yes' if n['next_business_day'] else 'no'} |")
    return "\n".join(rows) + "\n"


def routes_table() -> str:
    """The table of claim-denial's routes by CARC or CARC:RARC, with their notes."""
    text = (REPO / "playbooks" / "claim-denial.yaml").read_text("utf-8")
    settings = yaml.safe_load(text)["settings"]
    notes = settings["route_notes"]
    keys = sorted({*settings["routes"], *notes},
                  key=lambda k: (k.split(":")[0].zfill(4), k))
    rows = ["| key | route | what the task adds |", "|---|---|---|"]
    for key in keys:
        route = settings["routes"].get(key) or settings["routes"].get(key.split(":")[0], "")
        rows.append(f"| `{key}` | `{route}` | {notes.get(key, '')} |")
    return "\n".join(rows) + "\n"


def test_payers_doc_shows_the_shipped_tables() -> None:
    """Both tables of docs/payers.md match what ships (regenerate them from this test)."""
    doc = (REPO / "docs" / "payers.md").read_text("utf-8")
    assert kinds_table() in doc
    assert routes_table() in doc


def test_payers_doc_example_validates() -> None:
    """The practice.yaml example of docs/payers.md is a valid payers table."""
    from frontdesk.loading.practice import build_practice, parse_practice

    doc = (REPO / "docs" / "payers.md").read_text("utf-8")
    example = doc.split("# practice.yaml\n", 1)[1].split("```", 1)[0]
    practice = build_practice(parse_practice(text=example).data)
    assert sorted(practice.payers) == ["aetna-ppo", "bcbs", "medicare-jl", "state-medicaid"]
