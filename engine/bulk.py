"""``start PLAYBOOK --from FILE``: one instance per row of a roster, all or nothing.

Every row is checked the way ``start`` checks its values (the same step runs it in memory)
before anything is written; every bad row is reported with its line, and then nothing is
written (exit 5). A row whose ``unique`` inputs match an open instance, or an earlier row of
the same file, is skipped and named, so importing the same roster again starts nothing twice.
The rows started, with the instances their ``start`` actions begin, count against the
practice's ``limits.starts_per_command``: a roster over it is refused whole. What passes is
written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import RefusedError
from .rows import Row
from .runtime.instance import Change, Instance, plain

if TYPE_CHECKING:
    from .service import Engine


@dataclass(slots=True)
class Started:
    """A row that starts (or, in a dry run, would start) an instance."""

    line: int
    instance: Instance
    change: Change = field(repr=False, default_factory=Change)


@dataclass(slots=True)
class Skipped:
    """A row not started: an open instance (or an earlier row) has its ``unique`` inputs."""

    line: int
    instance: str | None  # the open instance it matches; None for an earlier row
    earlier_line: int | None = None


@dataclass(slots=True)
class BulkResult:
    """What ``start --from`` did (or would do)."""

    started: list[Started] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def start_rows(engine: Engine, playbook_id: str, rows: Sequence[Row], actor: str, *,
               display: str, allow_duplicate: bool = False,
               dry_run: bool = False) -> BulkResult:
    """Start one instance of ``playbook_id`` per row (``dry_run``: compute, write nothing).
    ``display`` names the file in the report of bad rows."""
    from .runtime import step
    from .service import _store_delivery

    actor = engine.acting(actor)
    compiled = engine.playbooks.current(playbook_id)
    unique = () if allow_duplicate else compiled.playbook.unique
    with engine.store.transaction() as txn:
        open_keys = {_key(other, unique): other.id
                     for other in txn.open_instance_heads(playbook_id)} if unique else {}
    result = BulkResult()
    problems: list[str] = []
    seen: dict[tuple[Any, ...], int] = {}
    delivery = _store_delivery(engine.store)  # one command: a target is signalled once
    for row in rows:
        try:
            outcome = step.start(compiled, row.values, engine.run_context(actor))
            change = engine._with_starts(outcome, actor, delivery=delivery)
        except RefusedError as exc:
            problems.append(f"{display}:{row.line}: {exc.reason}")
            continue
        if unique:
            key = _key(outcome.instance, unique)
            if key in open_keys:
                result.skipped.append(Skipped(row.line, open_keys[key]))
                continue
            if key in seen:
                result.skipped.append(Skipped(row.line, None, seen[key]))
                continue
            seen[key] = row.line
        result.started.append(Started(row.line, outcome.instance, change))
    if problems:
        raise RefusedError(f"{len(problems)} of {len(rows)} rows cannot start; nothing was "
                           "started:\n  " + "\n  ".join(problems), playbook=playbook_id)
    _check_cap(engine, result, playbook_id)
    if not dry_run and result.started:
        _write(engine, result, unique)
    return result


def _check_cap(engine: Engine, result: BulkResult, playbook_id: str) -> None:
    """Refuse a roster whose rows and their ``start`` actions begin more instances than the
    practice allows in one command."""
    limit = engine.workspace.practice.starts_per_command
    total = sum(len(s.change.new_instances) for s in result.started)
    if total > limit:
        raise RefusedError(f"the roster would begin {total} instances, more than {limit} in "
                           "one command (practice.yaml limits.starts_per_command); split it",
                           playbook=playbook_id)


def _write(engine: Engine, result: BulkResult, unique: tuple[str, ...]) -> None:
    """Commit every started row in one transaction, checking ``unique`` again inside it (a
    concurrent ``start`` may have begun one meanwhile: then nothing is written)."""
    change = Change()
    for started in result.started:
        change.merge(started.change)
    with engine.store.transaction() as txn:
        if unique:
            taken = {_key(other, unique): other.id
                     for other in txn.open_instance_heads(result.started[0].instance.playbook)}
            for started in result.started:
                other = taken.get(_key(started.instance, unique))
                if other is not None:
                    raise RefusedError(f"an open instance '{other}' was started meanwhile "
                                       "with the same values; run it again",
                                       playbook=started.instance.playbook)
        txn.apply(change)


def _key(instance: Instance, unique: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(repr(plain(instance.vars.get(name))) for name in unique)
