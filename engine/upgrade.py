"""``frontdesk upgrade``: move the open instances of a playbook to the version on the search
path, through the engine's store protocol only (``transaction``, ``open_instance_ids``,
``load_instance``, ``apply``), so it runs unchanged on every store.

One transaction per instance (``fire --all`` and ``tick`` batch theirs; an upgrade is rare and
each move is worth its own commit): each move is decided again on the instance as loaded inside
its own transaction (so a change made meanwhile is seen, and a concurrent writer makes the
store's revision check fail that one instance with a conflict, not the others), and the write
lock is held for one instance at a time, never for the whole practice. The rules for a single
instance are in ``runtime.upgrade``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConflictError, RefusedError
from .runtime.compiled import CompiledPlaybook
from .runtime.instance import Instance
from .runtime.step import Outcome, RunContext
from .runtime.upgrade import UpgradePlan, plan_upgrade, upgrade
from .service import Engine


@dataclass(slots=True)
class UpgradeReport:
    """What ``upgrade`` did (or, with ``dry_run``, would do) to each open instance."""

    playbook: str
    to_version: int
    dry_run: bool
    plans: list[UpgradePlan] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # changed meanwhile; run again

    @property
    def moved(self) -> list[UpgradePlan]:
        return [p for p in self.plans if p.movable]

    @property
    def not_moved(self) -> list[UpgradePlan]:
        return [p for p in self.plans if p.reason is not None]

    @property
    def current(self) -> list[UpgradePlan]:
        return [p for p in self.plans if p.current]


def _decide(compiled: CompiledPlaybook, instance: Instance, rc: RunContext,
            ) -> tuple[UpgradePlan, Outcome | None]:
    plan = plan_upgrade(instance, compiled.playbook, rc.tz)
    if not plan.movable:
        return plan, None
    try:
        return plan, upgrade(compiled, instance, plan, rc)
    except RefusedError as exc:  # the new version cannot run on this instance's variables
        plan.reason = f"version {plan.to_version}: {exc.reason}"
        return plan, None


def run_upgrade(engine: Engine, playbook_id: str, to_version: int, actor: str,
                dry_run: bool = False) -> UpgradeReport:
    """Move every open instance of ``playbook_id`` that can move to ``to_version``.

    Exit 4 when the search path does not offer that version, 3 when it (or practice.yaml's
    tailoring of it) is invalid, 5 for an actor the practice does not know or who is not one of
    its administrators (not checked for a dry run, which changes nothing).
    """
    engine.playbooks.require_version(playbook_id, to_version)
    if not dry_run:
        actor = engine.acting(actor)
        engine.workspace.require_administrator(actor, "upgrade")
    compiled = engine.playbooks.current(playbook_id)  # validated, tailoring checked
    report = UpgradeReport(playbook_id, to_version, dry_run)
    with engine.store.transaction() as txn:
        ids = txn.open_instance_ids(playbook_id)
    rc = engine.run_context(actor)
    for instance_id in ids:
        if dry_run:
            plan, _ = _decide(compiled, engine.store.get_instance(instance_id), rc)
            report.plans.append(plan)
            continue
        try:
            with engine.store.transaction() as txn:
                plan, outcome = _decide(compiled, txn.load_instance(instance_id), rc)
                if outcome is not None:
                    txn.apply(outcome.change)
        except ConflictError:
            report.conflicts.append(instance_id)
            continue
        report.plans.append(plan)
    return report
