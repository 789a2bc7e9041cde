"""``frontdesk upgrade``: print what moving a playbook's open instances did (or would do)."""

from __future__ import annotations

import click

from ..errors import ExitCode
from ..report import to_json
from ..runtime.upgrade import UpgradePlan
from ..service import Engine
from ..upgrade import UpgradeReport, run_upgrade


def _name(plan: UpgradePlan) -> str:
    return plan.instance + (f" ({plan.subject})" if plan.subject else "")


def _moved_line(plan: UpgradePlan, verb: str) -> str:
    line = (f"{verb} {_name(plan)}: state '{plan.state}', version {plan.from_version} -> "
            f"{plan.to_version}")
    if plan.cancelled_tasks:
        line += "; cancels task " + ", ".join(f"'{task}'" for _, task in plan.cancelled_tasks)
    if plan.cancelled_timers:
        line += "; disarms timer " + ", ".join(f"'{event}'" for event in plan.cancelled_timers)
    if plan.defaults:
        line += "; sets " + ", ".join(f"'{name}'" for name in plan.defaults) + " to its default"
    return line


def _json(report: UpgradeReport) -> str:
    return to_json({
        "playbook": report.playbook, "to_version": report.to_version,
        "dry_run": report.dry_run,
        "moved": [{"id": p.instance, "state": p.state, "from_version": p.from_version,
                   "to_version": p.to_version,
                   "cancelled_tasks": [occurrence for occurrence, _ in p.cancelled_tasks],
                   "cancelled_timers": p.cancelled_timers, "defaults": p.defaults}
                  for p in report.moved],
        "not_moved": [{"id": p.instance, "state": p.state, "version": p.from_version,
                       "reason": p.reason} for p in report.not_moved],
        "current": [p.instance for p in report.current],
        "conflicts": report.conflicts,
    })


def run_upgrade_command(engine: Engine, *, playbook: str, to_version: int, dry_run: bool,
                        actor: str, as_json: bool) -> int:
    """Move (or with ``dry_run`` list) the open instances; exit 6 if one changed meanwhile."""
    report = run_upgrade(engine, playbook, to_version, actor, dry_run)
    if as_json:
        click.echo(_json(report))
    else:
        verb = "would move" if dry_run else "moved"
        for plan in report.plans:
            if plan.movable:
                click.echo(_moved_line(plan, verb))
            elif plan.reason is not None:
                click.echo(f"cannot move {_name(plan)}: {plan.reason}")
        for instance_id in report.conflicts:
            click.echo(f"not moved {instance_id}: changed by someone else meanwhile; run "
                       "upgrade again")
        summary = (f"{verb} {len(report.moved)}, cannot move {len(report.not_moved)}, "
                   f"already on version {to_version}: {len(report.current)}")
        if report.conflicts:
            summary += f", changed meanwhile: {len(report.conflicts)}"
        click.echo(f"dry run: {summary} (nothing changed)" if dry_run else summary)
    return ExitCode.CONFLICT if report.conflicts else ExitCode.OK
