"""``import era FILE...``: start one claim-denial per denied claim adjustment of X12 835 files.

Every file is read and validated first (``engine.era``); one invalid file refuses the command
and nothing is written. Then each denial is keyed by payer, claim and group-CARC (the
instance's ``era_key`` input): a key some claim-denial instance already has, open or closed,
starts nothing, so importing a file twice or files that overlap starts each follow-up once.
Each start is its own transaction: a claim the playbook refuses is reported and the others go
on. At most ``limits.starts_per_command`` instances start per command; the rest are left for
the next import. Exit 0 when every denial started or was already imported, 5 when some claim
was refused, 6 when some were left by the limit (run it again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..era import FILING_KINDS, REVERSAL, Adjustment, Claim, Remittance, read_remittances
from ..errors import ExitCode, InvalidError, Issue, RefusedError
from ..report import to_json
from ..service import Engine

PLAYBOOK = "claim-denial"


@dataclass(slots=True)
class Denial:
    """One denied claim adjustment, as the inputs of a claim-denial start."""

    key: str
    file: str
    inputs: dict[str, Any]


@dataclass(slots=True)
class Outcome:
    """What one import did, for the report."""

    started: list[dict[str, str]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def run_import_era(engine: Engine, *, files: Sequence[str], actor: str, as_json: bool) -> int:
    """Read every file, then start the denials not imported before (see the module)."""
    remittances: list[Remittance] = []
    issues: list[Issue] = []
    for name in files:
        try:
            remittances += read_remittances(Path(name), name)
        except InvalidError as exc:
            issues += exc.issues
    if issues:
        raise InvalidError(issues)
    compiled = engine.playbooks.current(PLAYBOOK).playbook
    settings = {**compiled.settings,
                **engine.workspace.practice.tailoring(PLAYBOOK).settings}
    ignore = set(settings.get("era_ignore") or ())
    outcome = Outcome()
    denials = [d for r in remittances for d in _denials(r, engine, ignore, outcome)]
    _start_all(engine, denials, actor, outcome)
    _report(outcome, as_json)
    if outcome.refused:
        return ExitCode.REFUSED
    return ExitCode.CONFLICT if outcome.left else ExitCode.OK


def _payer(remittance: Remittance, table: Mapping[str, Mapping[str, Any]]) -> str:
    """The payers-table id whose ``era_ids`` name this remittance's payer, else the payer's
    name (or first identifier) as the 835 gives it: an unknown payer to the playbook."""
    names = {*remittance.payer_ids, remittance.payer_name}
    for payer_id, entry in table.items():
        if names & set(entry.get("era_ids") or ()):
            return payer_id
    return remittance.payer_name or next(iter(remittance.payer_ids), "") or "unknown payer"


def _denials(remittance: Remittance, engine: Engine, ignore: set[str],
             outcome: Outcome) -> list[Denial]:
    payer = _payer(remittance, engine.workspace.practice.payers)
    found = []
    for claim in remittance.claims:
        where = f"{remittance.path}:{claim.line}"
        if claim.status == REVERSAL:
            outcome.skipped.append({"claim": claim.claim_id, "file": where,
                                    "reason": "a reversal (claim status 22)"})
            continue
        for adjustment in claim.adjustments.values():
            code = f"{adjustment.group}-{adjustment.carc}"
            if code in ignore or adjustment.amount <= 0:
                continue
            key = f"{payer}|{claim.claim_id}|{code}"
            problem, inputs = _inputs(payer, remittance.date, claim, adjustment, key)
            if problem:
                outcome.refused.append({"key": key, "file": where, "reason": problem})
            else:
                found.append(Denial(key, where, inputs))
    return found


def _inputs(payer: str, notice: dt.date | None, claim: Claim, adjustment: Adjustment,
            key: str) -> tuple[str | None, dict[str, Any]]:
    service = min(adjustment.service_dates, default=None) or claim.statement_date or min(
        claim.line_dates, default=None)
    if service is None:
        return "no service date (DTM*472 on its lines or DTM*232 on the claim)", {}
    if notice is None:
        return "the remittance has no date (BPR16 or DTM*405)", {}
    return None, {
        "claim_id": claim.claim_id, "payer": payer,
        "payer_type": FILING_KINDS.get(claim.filing, "other"),
        "group": adjustment.group, "carc": adjustment.carc, "rarc": " ".join(adjustment.rarcs),
        "amount": round(adjustment.amount, 2), "denied_on": notice.isoformat(),
        "service_date": service.isoformat(), "era_key": key}


def _start_all(engine: Engine, denials: list[Denial], actor: str, outcome: Outcome) -> None:
    """Start each denial whose key no claim-denial instance has yet, up to the limit."""
    known = {str(i.vars.get("era_key")) for i in engine.list_instances(playbook=PLAYBOOK)
             if i.vars.get("era_key")}
    limit = engine.workspace.practice.starts_per_command
    for denial in denials:
        if denial.key in known:
            outcome.already.append(denial.key)
            continue
        if len(outcome.started) >= limit:
            outcome.left.append(denial.key)
            continue
        try:
            instance = engine.start(PLAYBOOK, denial.inputs, actor)
        except RefusedError as exc:
            outcome.refused.append({"key": denial.key, "file": denial.file,
                                    "reason": exc.reason})
            continue
        known.add(denial.key)
        outcome.started.append({"id": instance.id, "key": denial.key, "file": denial.file,
                                "subject": instance.subject or ""})


def _report(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        click.echo(to_json({"started": outcome.started, "already_imported": outcome.already,
                            "skipped": outcome.skipped, "refused": outcome.refused,
                            "left": outcome.left}))
    else:
        for item in outcome.started:
            click.echo(f"started {item['id']}: {item['subject']} ({item['file']})")
    for item in outcome.skipped:
        click.echo(f"skipped claim {item['claim']} ({item['file']}): {item['reason']}",
                   err=True)
    for item in outcome.refused:
        click.echo(f"refused {item['key']} ({item['file']}): {item['reason']}", err=True)
    if outcome.left:
        click.echo(f"left {len(outcome.left)} for the next import: at most "
                   f"{len(outcome.started)} instances start in one command "
                   "(practice.yaml limits.starts_per_command)", err=True)
    summary = (f"started {len(outcome.started)}, already imported {len(outcome.already)}, "
               f"skipped {len(outcome.skipped)}, refused {len(outcome.refused)}, "
               f"left {len(outcome.left)}")
    click.echo(summary, err=as_json)
