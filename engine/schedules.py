"""Scheduled starts: ``tick`` starts what a schedule says is due, once per period and subject.

A schedule (a playbook's ``schedule``, or an entry of practice.yaml ``schedules``) names a
period (``every`` N months or years from ``starting``, moved to a business day when it says
so) and its subjects (the practice's people, optionally of one role, or the rows of a roster
file). The current period is the latest whose date is on or before today; a period missed
while nothing ticked is not started late once a later one is due (as recurring tasks). For
each subject not yet recorded for that period, the playbook is started as ``system`` with the
schedule's ``with`` inputs, and the run is recorded in ``schedule_runs`` (migration
``0009_schedules``) in the same transaction, so running ``tick`` again starts nothing twice.
A subject an open instance already covers (the playbook's ``unique`` inputs are equal) is
recorded as covered and not started.

Starts count against ``limits.starts_per_command`` with the instances their ``start`` actions
begin (a tick is one command): what is over the cap is deferred to the next tick, never
refused wholesale, so a large roster catches up tick by tick. A subject whose inputs are
refused, a roster that cannot be read and a playbook that is missing or invalid are reported
(``failed``) and left for the next tick; the rest go on.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import FrontdeskError, RefusedError
from .model import Practice, Schedule
from .runtime.instance import Instance, plain

if TYPE_CHECKING:
    from .runtime.calendar import BusinessCalendar
    from .runtime.compiled import CompiledPlaybook
    from .service import Engine
    from .store import Txn

_MONTHS = {"month": 1, "months": 1, "year": 12, "years": 12}


@dataclass(slots=True)
class ScheduledRun:
    """One subject of one schedule's period: started (``instance``) or covered (``by``)."""

    schedule: str
    playbook: str
    period: dt.date
    subject: str
    instance: str | None = None
    by: str | None = None  # the open instance that already covered it


@dataclass(slots=True)
class ScheduleResult:
    """What one ``tick`` did for the schedules."""

    started: list[ScheduledRun] = field(default_factory=list)
    covered: list[ScheduledRun] = field(default_factory=list)
    deferred: int = 0  # subjects left for the next tick by the start cap
    declared: int = 0  # how many schedules there are

    @property
    def anything(self) -> bool:
        """Whether the schedules started, covered, deferred or failed anything."""
        return bool(self.started or self.covered or self.deferred or self.failed)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # schedule, subject, why


def period_months(schedule: Schedule) -> int:
    """The schedule's period in months (``every`` is ``N months`` or ``N years``)."""
    amount, unit = schedule.every.split()
    return int(amount) * _MONTHS[unit.lower()]


def _plus_months(start: dt.date, months: int) -> dt.date:
    """Calendar arithmetic: the same day ``months`` later, clamped to the month's end."""
    import calendar

    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def period_date(schedule: Schedule, k: int, cal: BusinessCalendar) -> tuple[dt.date, dt.date]:
    """Period ``k``: its date (``starting`` + k periods, what it is recorded under) and the
    day it is due (that date moved to a business day when the schedule says so)."""
    day = _plus_months(schedule.starting, k * period_months(schedule))
    if schedule.business_day == "next":
        return day, cal.next_business_day(day)
    if schedule.business_day == "previous":
        return day, cal.previous_business_day(day)
    return day, day


def current_period(schedule: Schedule, today: dt.date,
                   cal: BusinessCalendar) -> dt.date | None:
    """The date of the latest period due on or before ``today`` (None before the first)."""
    months = period_months(schedule)
    elapsed = (today.year - schedule.starting.year) * 12 + today.month - schedule.starting.month
    for k in range(max(elapsed // months + 1, 0), -1, -1):
        day, due = period_date(schedule, k, cal)
        if due <= today:
            return day
    return None


def all_schedules(engine: Engine) -> list[Schedule]:
    """The schedules of the playbooks on the search path, then the practice's."""
    found: list[Schedule] = []
    for playbook_id in engine.playbooks.scheduled_ids():
        schedule = engine.playbooks.current(playbook_id).playbook.schedule
        if schedule is not None:
            found.append(schedule)
    return found + list(engine.workspace.practice.schedules)


def subjects(schedule: Schedule, practice: Practice, home: Path) -> list[dict[str, Any]]:
    """The names each subject's templates see: ``person`` or ``row``."""
    if schedule.subjects == "people":
        return [{"person": {"id": p.id, "name": p.name or p.id, "roles": list(p.roles)}}
                for p in practice.people.values()
                if schedule.role is None or schedule.role in p.roles]
    from .rows import read_rows

    path = Path(schedule.roster or "")
    return [{"row": row.values} for row in read_rows(path if path.is_absolute() else
                                                      home / path)]


def subject_key(schedule: Schedule, names: dict[str, Any], render: Any) -> str:
    """Who a subject is: the ``key`` template, else the person's id, else the whole row."""
    if schedule.key:
        return str(render(schedule.key, names))
    if "person" in names:
        return str(names["person"]["id"])
    return json.dumps(plain(names["row"]), sort_keys=True, ensure_ascii=False)


def run_schedules(engine: Engine) -> ScheduleResult:
    """Start what every schedule has due today (``tick``)."""
    schedules = all_schedules(engine)
    result = ScheduleResult(declared=len(schedules))
    for schedule in schedules:
        try:
            _run_one(engine, schedule, result)
        except FrontdeskError as exc:  # a missing playbook or roster: the others go on
            result.failed.append((schedule.id, "", exc.message.replace("\n", "; ")))
    return result


def _run_one(engine: Engine, schedule: Schedule, result: ScheduleResult) -> None:
    from .runtime import step

    ws = engine.workspace
    rc = engine.run_context(step.SYSTEM)
    period = current_period(schedule, rc.today, ws.calendar)
    if period is None:
        return
    compiled = engine.playbooks.current(schedule.playbook)
    settings = {**compiled.playbook.settings,
                **ws.practice.tailoring(schedule.playbook).settings}
    people = subjects(schedule, ws.practice, ws.options.home_path)
    with engine.store.transaction() as txn:
        done = txn.schedule_subjects(schedule.id, period.isoformat())
        heads = txn.open_instance_heads(schedule.playbook) if compiled.playbook.unique else []
        builtins = _builtins(rc.today, ws.calendar, ws.tz)
        for names in people:
            names = {**names, **builtins, "period": period, "settings": settings}
            run = ScheduledRun(schedule.id, schedule.playbook, period, "")
            try:
                run.subject = subject_key(schedule, names, _safe_render)
                if run.subject in done:
                    continue
                if len(result.started) + engine.starts_so_far >= \
                        ws.practice.starts_per_command:
                    result.deferred += 1
                    continue
                _start(engine, txn, compiled, schedule, names, run, heads)
            except RefusedError as exc:
                result.failed.append((schedule.id, run.subject, exc.reason))
                continue
            done.add(run.subject)
            (result.started if run.instance else result.covered).append(run)


def _start(engine: Engine, txn: Txn, compiled: CompiledPlaybook, schedule: Schedule,
           names: dict[str, Any], run: ScheduledRun, heads: list[Instance]) -> None:
    """Start the playbook for one subject (or note the open instance that covers it) and
    record the run, under a savepoint."""
    from .runtime import step
    from .service import _delivery

    inputs = {name: _value(value, names) for name, value in schedule.with_.items()}
    outcome = step.start(compiled, inputs, engine.run_context(step.SYSTEM))
    unique = compiled.playbook.unique
    key = [plain(outcome.instance.vars.get(n)) for n in unique]
    run.by = next((h.id for h in heads if unique and
                   [plain(h.vars.get(n)) for n in unique] == key), None)
    at = outcome.instance.started_at.isoformat() if outcome.instance.started_at else ""
    with txn.savepoint():
        if run.by is None:
            change = engine._with_starts(outcome, step.SYSTEM, delivery=_delivery(txn))
            txn.apply(change)
            run.instance = outcome.instance.id
            heads.append(outcome.instance)
        txn.record_schedule_run(schedule.id, run.period.isoformat(), run.subject,
                                run.instance, at)


def _builtins(today: dt.date, cal: BusinessCalendar, tz: dt.tzinfo) -> dict[str, Any]:
    """The date functions a schedule's templates may use, as in a playbook's expressions."""
    from .runtime.durations import add, parse_duration

    return {
        "today": today,
        "add_duration": lambda start, duration: add(start, parse_duration(str(duration)), cal,
                                                    tz),
        "next_business_day": cal.next_business_day,
        "business_days_between": cal.business_days_between,
    }


def to_document(result: ScheduleResult) -> dict[str, Any]:
    """``tick --json``'s ``scheduled``: started, covered, deferred and failed."""
    def run(r: ScheduledRun) -> dict[str, Any]:
        return {"schedule": r.schedule, "playbook": r.playbook, "period": r.period.isoformat(),
                "subject": r.subject, "instance": r.instance or r.by}

    return {"started": [run(r) for r in result.started],
            "covered": [run(r) for r in result.covered], "deferred": result.deferred,
            "failed": [{"schedule": s, "subject": who, "reason": why}
                       for s, who, why in result.failed]}


def _value(raw: Any, names: dict[str, Any]) -> Any:
    """A ``with`` value: native for a lone ``{{ expr }}``, text for a template, else literal."""
    from . import sandbox

    if not isinstance(raw, str):
        return raw
    lone = sandbox.lone_expression(raw)
    try:
        if lone is not None:
            return sandbox.compile_expression(lone)(**names)
        return _render(raw, names) if sandbox.is_template(raw) else raw
    except FrontdeskError:
        raise
    except Exception as exc:  # a template error of the schedule: refused, never a traceback
        raise RefusedError(f"schedule value: {type(exc).__name__}") from None


def _safe_render(text: str, names: dict[str, Any]) -> str:
    """``_render``, a template error of the schedule's key refused (that subject fails, the
    others and the tick go on), never a traceback."""
    try:
        return _render(text, names)
    except FrontdeskError:
        raise
    except Exception as exc:
        raise RefusedError(f"schedule key: {type(exc).__name__}") from None


def _render(text: str, names: dict[str, Any]) -> str:
    from . import sandbox

    return sandbox.compile_template(text)(names)


def print_lines(result: ScheduleResult, at: str) -> None:
    """``tick``'s text lines for the schedules: each start on stdout, the rest on stderr."""
    import click

    for run in result.started:
        click.echo(f"{at} {run.instance}: started by schedule {run.schedule} "
                   f"(period {run.period})")
    for schedule, subject, why in result.failed:
        click.echo(f"{at} schedule {schedule}: {subject or 'not run'}: {why}", err=True)
    if result.started or result.covered or result.deferred:
        click.echo(f"{at} schedules: {len(result.started)} started, {len(result.covered)} "
                   f"already open, {result.deferred} deferred (limits.starts_per_command)",
                   err=True)
