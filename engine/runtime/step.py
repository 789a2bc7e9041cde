"""The pure runtime: (instance, event, actor, fields, now) -> (new instance, change).

No I/O: the caller loads the instance and compiled playbook, passes the clock reading and the
practice, and commits the returned ``Change`` (instance rows, audit drafts, outbox messages) in
one transaction. Every refusal is a ``RefusedError`` raised before anything is returned, so a
refused command writes nothing. ``start`` actions come back as ``StartRequest``s for the caller
to run in the same transaction.

The compiled playbook's machine decides which transition an event takes and in what order its
parts run (``runtime.compiled``); a step is the model it moves, and its callbacks here say
what each part does to the instance: records, variables, tasks, timers, actions. The practice's
tailoring (settings, role names, task overrides) arrives as data in ``RunContext.practice``.

Each public step runs under one work budget shared by every template and guard it evaluates
(``engine.limits``). What keeps a step bounded in time whatever the playbook says: a recurring
task's next occurrence is computed, not stepped to (``durations.series_index_after``), and a
period of zero is refused; ``fire_timers`` refuses a firing that would arm an already fired
timer again already due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec

from jinja2.exceptions import SecurityError, TemplateError

from .. import limits, sandbox
from ..errors import PlaybookFaultError, RefusedError
from ..model import (
    ALL_TASKS_DONE,
    Action,
    ChoiceRule,
    FieldSpec,
    MessageAction,
    Offset,
    Practice,
    SetAction,
    SignalAction,
    StartAction,
    TaskAction,
    TaskSpec,
    Timer,
    Transition,
)
from ..values import convert
from .calendar import BusinessCalendar
from .compiled import UNSTARTED, CompiledPlaybook
from .durations import (
    Duration,
    DurationError,
    add,
    off_closed_day,
    parse_duration,
    series_index_after,
)
from .instance import AuditDraft, Change, Due, Instance, Message, TaskOccurrence, TimerState
from .payers import as_date as _as_date
from .payers import builtins as payer_builtins

SYSTEM = "system"
MAX_CHOICE_CHAIN = 100


@dataclass(slots=True)
class RunContext:
    """Everything outside the instance a step needs, injected (no I/O, no real clock)."""

    now: dt.datetime
    tz: dt.tzinfo
    calendar: BusinessCalendar
    practice: Practice
    actor: str
    new_id: Callable[[], str]
    omnipotent: frozenset[str] = frozenset()  # actors holding every role (scenario tests)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    def local_date(self, due: Due) -> dt.date:
        return due.astimezone(self.tz).date() if isinstance(due, dt.datetime) else due

    def actor_roles(self, actor: str) -> set[str] | None:
        """The practice roles of ``actor``; None means every role (no people configured)."""
        if not self.practice.people or actor == SYSTEM or actor in self.omnipotent:
            return None
        person = self.practice.people.get(actor)
        return set(person.roles) if person else set()


@dataclass(slots=True)
class StartRequest:
    """A ``start`` action: start ``playbook`` with ``inputs`` in the same transaction."""

    playbook: str
    inputs: dict[str, Any]
    parent: str


@dataclass(slots=True)
class SignalRequest:
    """A ``signal`` action: fire ``event`` with ``fields`` at the open instances of
    ``playbook`` whose variables equal ``match``, in the same transaction (``engine.signals``
    finds them and fills in ``record``, the source's ``signal`` audit record)."""

    playbook: str
    event: str
    match: dict[str, Any]
    fields: dict[str, Any]
    limit: int
    source: str
    record: AuditDraft


@dataclass(slots=True)
class Outcome:
    """What a step produced."""

    instance: Instance
    change: Change
    starts: list[StartRequest] = field(default_factory=list)
    fired: bool = True  # for timers: whether the event moved the instance
    signals: list[SignalRequest] = field(default_factory=list)
    faults: list[TimerFault] = field(default_factory=list)  # timers that cannot fire


@dataclass(frozen=True, slots=True)
class TimerFault:
    """A due timer that cannot fire as the playbook stands (``PlaybookFaultError``): it stays
    armed, marked with ``reason`` (no variable values), and ``tick`` reports it."""

    instance: str
    timer: str
    event: str
    reason: str


class _Step:
    """One step's working copy of an instance and what it records.

    It is also the model the compiled playbook's machine moves (``compiled.StepModel``): the
    machine reads and sets ``state`` (the instance's state) and calls back ``offer``,
    ``fields_fit``, ``holds``, ``take``, ``take_choice``, ``leave``, ``enter``, ``close`` and
    ``run_actions`` as it takes a transition.
    """

    def __init__(self, cp: CompiledPlaybook, instance: Instance, rc: RunContext,
                 actor: str) -> None:
        self.cp = cp
        self.pb = cp.playbook
        self.inst = instance
        self.rc = rc
        self.actor = actor
        self.change = Change()
        self.starts: list[StartRequest] = []
        self.signals: list[SignalRequest] = []
        self.event: str | None = None
        self.fields: dict[str, Any] = {}
        self.given: Mapping[str, Any] = {}  # the fields the actor gave with the event
        self.note: str | None = None
        self.offered: dict[str, Any] | None = None  # fields of the transition last offered
        self.field_error: RefusedError | None = None  # why the first unfit one did not fit
        self.choices = 0  # choice rules taken in a row
        tailoring = rc.practice.tailoring(self.pb.id)
        self.tailoring = tailoring
        self.settings = {**self.pb.settings, **tailoring.settings}

    @property
    def state(self) -> str:
        """The instance's state: the machine's model attribute."""
        return self.inst.state

    @state.setter
    def state(self, name: str) -> None:
        self.inst.state = name

    # -- records -----------------------------------------------------------------------
    def record(self, action: str, *, event: str | None = None, from_state: str | None = None,
               to_state: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.change.audit.append(AuditDraft(
            at=self.rc.now, instance=self.inst.id, playbook=self.pb.id, version=self.pb.version,
            actor=self.actor, action=action, event=event, from_state=from_state,
            to_state=to_state, data=data or {}))

    def refuse(self, reason: str) -> RefusedError:
        return RefusedError(reason, instance=self.inst.id, event=self.event)

    def fault(self, reason: str) -> PlaybookFaultError:
        """A refusal that is the playbook's fault (it fails whenever it is tried)."""
        return PlaybookFaultError(reason, instance=self.inst.id, event=self.event)

    # -- expressions ---------------------------------------------------------------------
    def context(self) -> dict[str, Any]:
        """What expressions and templates see: the variables, this event's fields, then the
        built-in names (which win over a variable of the same name)."""
        inst = self.inst
        return {
            **inst.vars,
            **self.fields,
            **self.builtins,
            "state": inst.state,
            "event": self.event,
            "all_done": not any(t.is_open and t.state == inst.state and not t.recurring
                                for t in inst.tasks),
        }

    @functools.cached_property
    def builtins(self) -> dict[str, Any]:
        """The built-in names that stay the same for the whole step (made once per step)."""
        rc = self.rc

        def done(task_id: str) -> bool:  # reads the instance of the moment
            inst = self.inst  # it reads every occurrence loaded, and a working set's store
            limits.charge(len(inst.tasks) + (1 if inst.working_set else 0))
            latest = inst.latest_task(task_id)
            return latest is not None and latest.status == "done"

        def add_duration(start: Any, duration: str) -> Due:
            return add(_as_date_or_datetime(start), parse_duration(str(duration)),
                       rc.calendar, rc.tz)

        def days_since(day: Any) -> int:
            return (rc.today - _as_date(day)).days

        inst = self.inst
        started = inst.started_at.astimezone(rc.tz).date() if inst.started_at else rc.today
        return {
            "settings": dict(self.settings),
            "today": rc.today,
            "now": rc.now,
            "actor": self.actor,
            "instance": {"id": inst.id, "playbook": inst.playbook, "started_on": started},
            "done": done,
            "add_duration": add_duration,
            "next_business_day": lambda d: rc.calendar.next_business_day(_as_date(d)),
            "business_days_between": lambda a, b: rc.calendar.business_days_between(
                _as_date(a), _as_date(b)),
            "days_since": days_since,
            **payer_builtins(rc.practice.payers, rc.calendar),
        }

    def _guarded(self, what: str, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except RefusedError:
            raise
        except SecurityError as exc:
            raise self.fault(f"{what}: refused by the sandbox: {self.redact(str(exc))}") \
                from None
        except TemplateError as exc:
            raise self.fault(f"{what}: {self.redact(exc.message or type(exc).__name__)}") \
                from None
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
            # An expression given values it cannot work with (1 / 0, a date that is text) is
            # the playbook's refusal. Anything else (a missing module, a store that went away,
            # a MemoryError past a missing limit) is not the playbook's fault and keeps its own
            # exit code.
            raise self.fault(f"{what}: {type(exc).__name__}: {_safe(exc)}") from None

    def redact(self, message: str) -> str:
        """``message`` without the instance's variable values: Jinja2 names a missing key or
        attribute in its errors, and an expression like ``mapping[client]`` makes that key a
        value (PHI) that must not reach an error message."""
        for text in sorted(_texts({**self.inst.vars, **self.fields}), key=len, reverse=True):
            message = message.replace(text, "<value>")
        return message

    def value(self, raw: Any, what: str) -> Any:
        """A ``set``/``with``/message value: native for a lone ``{{ expr }}``, text for a
        template, literal otherwise."""
        if isinstance(raw, str):
            lone = sandbox.lone_expression(raw)
            if lone is not None:
                return self._guarded(what, lambda: _native(self.cp.expression(lone)(
                    self.context())))
            if sandbox.is_template(raw):
                return self.render(raw, what)
            return raw
        if isinstance(raw, list):
            return [self.value(item, what) for item in raw]
        if isinstance(raw, dict):
            return {key: self.value(item, what) for key, item in raw.items()}
        return raw

    def render(self, text: str, what: str) -> str:
        if not sandbox.is_template(text):
            return text
        return str(self._guarded(what, lambda: self.cp.template(text)(self.context())))

    # -- time ----------------------------------------------------------------------------
    def duration(self, text: str, what: str) -> Duration:
        rendered = self.render(text, what)
        try:
            return parse_duration(rendered)
        except DurationError as exc:
            raise self.fault(f"{what}: {exc}") from None

    def due(self, offset: Offset, what: str) -> Due:
        """When ``offset`` falls: its duration after the moment the state was entered, or after
        (``after``) or before (``before``) the date in its ``from`` variable. Not moved off
        closed days (what timers use; a task's due is ``task_due``)."""
        duration = self.duration(offset.duration, what)
        if offset.from_var is None:
            base: Any = self.rc.now  # state tasks and timers are created on entering the state
        else:
            base = {**self.inst.vars, **self.fields}.get(offset.from_var)
            if not isinstance(base, dt.date):
                raise self.fault(f"{what}: variable '{offset.from_var}' holds no date")
        sign = -1 if offset.direction == "before" else 1
        due: Due = self._guarded(what, lambda: add(base, duration, self.rc.calendar,
                                                   self.rc.tz, sign))
        return due

    def task_due(self, offset: Offset, what: str) -> Due:
        """A task's due: ``due``, moved off a day the practice is closed by the practice's
        ``calendar.closed_day_dues`` rule (docs/reference.md, due dates on closed days)."""
        return self.on_business_day(self.due(offset, what), what,
                                    before=offset.direction == "before")

    def on_business_day(self, due: Due, what: str, *, before: bool = False) -> Due:
        """``due``, or when the practice is closed that day the business day the practice's
        rule names (``durations.off_closed_day``): ``default`` the previous one for a
        ``before`` offset and the next one otherwise, ``previous``, ``next``, or ``keep``
        (not moved)."""
        rc = self.rc
        rule = rc.practice.closed_day_dues
        if rule == "keep":
            return due
        backwards = before if rule == "default" else rule == "previous"
        moved: Due = self._guarded(what, lambda: off_closed_day(due, rc.calendar, rc.tz,
                                                                 backwards))
        return moved

    def period(self, every: str, what: str) -> Duration:
        """A recurring task's ``every``; refused when it is zero, a series that would never
        move on to a later occurrence."""
        duration = self.duration(every, what)
        if duration.amount == 0:
            raise self.fault(f"state '{self.inst.state}': {what}: every '{duration}' never "
                              "moves on to a later occurrence; give it a positive period")
        return duration

    def series_due(self, every: Duration, anchor: Due, index: int, what: str) -> Due:
        """The due of occurrence ``index`` of a series from ``anchor``: anchor + index *
        every, moved off a closed day (the series itself is not moved)."""
        rc = self.rc
        due: Due = self._guarded(what, lambda: add(anchor, _times(every, index), rc.calendar,
                                                   rc.tz))
        return self.on_business_day(due, what)

    def next_occurrence(self, spec: TaskSpec, task: TaskOccurrence) -> None:
        """Create the occurrence after ``task``, done now: the first of its series after the
        completion (its moment for minutes and hours, its date for longer units;
        docs/reference.md, recurring tasks), found by arithmetic, not by stepping through the
        occurrences missed."""
        what = f"task '{spec.id}'"
        every = self.period(spec.every or "", what)
        anchor = task.anchor if task.anchor is not None else self.rc.now
        rc = self.rc
        index: int = self._guarded(what, lambda: series_index_after(
            anchor, every, task.index + 1, rc.now, rc.calendar, rc.tz))
        self.create_task(spec, index=index, anchor=anchor)

    # -- tasks ---------------------------------------------------------------------------
    def _task_spec(self, spec: TaskSpec) -> TaskSpec | None:
        """``spec`` as the practice tailors it; None when the practice disabled it."""
        if spec.id in self.tailoring.disabled_tasks:
            return None
        override = self.tailoring.tasks.get(spec.id)
        if override is None:
            return spec
        return dataclasses.replace(spec, title=override.title or spec.title,
                                   due=override.due or spec.due)

    def create_task(self, spec: TaskSpec, index: int = 0, anchor: Due | None = None) -> None:
        effective = self._task_spec(spec)
        if effective is None:
            return
        what = f"task '{spec.id}'"
        inst = self.inst
        due: Due | None
        if effective.every:
            anchor = anchor if anchor is not None else (inst.entered_at or self.rc.now)
            index = index or 1
            due = self.series_due(self.period(effective.every, what), anchor, index, what)
        else:
            due = self.task_due(effective.due, what) if effective.due else None
        inst.task_counter += 1
        role = effective.role
        occurrence = TaskOccurrence(
            id=f"{inst.id}-{inst.task_counter}", instance=inst.id, task=spec.id,
            state=inst.state, title=self.render(effective.title, what),
            role=self.tailoring.roles.get(role, role) if role else None,
            due=due, due_date=self.rc.local_date(due) if due is not None else None,
            created_at=self.rc.now, recurring=bool(effective.every), anchor=anchor,
            index=index)
        data: dict[str, Any] = {"id": occurrence.id, "task": spec.id,
                                "title": occurrence.title, "role": occurrence.role, "due": due}
        if effective.assign:
            occurrence.assignee, why = self.assignee_of(effective.assign, occurrence.role, what)
            data["assignee"] = occurrence.assignee
            if why:
                data["not_assigned"] = why
        inst.tasks.append(occurrence)
        inst.dirty.add(occurrence.id)
        self.record("task_created", to_state=inst.state, data=data)

    def assignee_of(self, template: str, role: str | None,
                    what: str) -> tuple[str | None, str | None]:
        """A new task's assignee from its ``assign`` template, and why it is left unassigned
        when the result names no one who may do it (an empty result: unassigned, no reason).
        Creating the task is never refused for it: the task goes to its role's pool instead."""
        value = self.value(template, f"{what}: assign")
        person = "" if value is None else str(value).strip()
        if not person:
            return None, None
        why = assignment_problem(self.rc.practice, person, role)
        return (None, why) if why else (person, None)

    def close_task(self, task: TaskOccurrence, status: str) -> None:
        task = self.inst.own_task(task)
        task.status = status
        task.closed_at = self.rc.now
        task.closed_by = self.actor
        if status == "cancelled":
            self.record("task_cancelled", from_state=task.state,
                        data={"id": task.id, "task": task.task})

    # -- states (machine callbacks) -------------------------------------------------------
    def leave(self) -> None:
        """Leaving the current state: its open tasks are cancelled, its timers disarmed."""
        inst = self.inst
        for task in inst.open_tasks(inst.state):
            self.close_task(task, "cancelled")
        self.disarm(inst.armed_timers())

    def disarm(self, timers: list[TimerState]) -> None:
        """Cancel ``timers`` (armed ones), each with its ``timer_cancelled`` record."""
        for timer in timers:
            self.inst.own_timer(timer).status = "cancelled"
            self.record("timer_cancelled", event=timer.event, from_state=timer.state,
                        data={"timer": timer.id})

    def enter(self, name: str) -> None:
        """Entering ``name`` (the machine has made it the state): its tasks, its timers, its
        ``enter`` actions. The machine then follows a choice state's rules or closes the
        instance in a final state."""
        self.count_choice(name)
        inst = self.inst
        state = self.pb.states[name]
        inst.entered_at = self.rc.now
        for spec in state.tasks:
            self.create_task(spec)
        for timer in state.timers:
            self.arm(timer, name)
        self.do(state.enter)

    def count_choice(self, name: str) -> None:
        """Refuse entering a choice state after ``MAX_CHOICE_CHAIN`` choice rules in a row
        (validation refuses a cycle of choice states: only a playbook that skipped it can get
        here)."""
        if not self.pb.states[name].is_choice:
            self.choices = 0
        elif self.choices > MAX_CHOICE_CHAIN:
            raise self.fault(f"choice states chain more than {MAX_CHOICE_CHAIN} times")

    def arm(self, timer: Timer, state: str) -> None:
        inst = self.inst
        due = self.due(timer.offset, f"timer '{timer.event}'")
        armed = TimerState(
            id=f"{inst.id}-timer-{inst.timers_ever + 1}", instance=inst.id, state=state,
            event=timer.event, due=due, due_date=self.rc.local_date(due))
        inst.timers.append(armed)
        inst.dirty.add(armed.id)
        self.record("timer_armed", event=timer.event, to_state=state,
                    data={"timer": armed.id, "due": due, "due_date": armed.due_date})

    def close(self, name: str) -> None:
        """``name`` is a final state: the instance is closed with its outcome."""
        self.inst.status = "closed"
        self.inst.outcome = self.pb.states[name].outcome

    def do(self, actions: tuple[Action, ...]) -> None:
        """Run ``actions`` in order."""
        for action in actions:
            if isinstance(action, SetAction):
                self.set_vars(action.values)
            elif isinstance(action, TaskAction):
                self.create_task(action.task)
            elif isinstance(action, StartAction):
                inputs = {k: self.value(v, f"start '{action.playbook}'")
                          for k, v in action.with_.items()}
                self.starts.append(StartRequest(action.playbook, inputs, self.inst.id))
            elif isinstance(action, MessageAction):
                self.message(action)
            elif isinstance(action, SignalAction):
                self.signal(action)

    def message(self, action: MessageAction) -> None:
        """Write a message to the outbox, addressed as ``address`` says; its ``facts`` are
        what ``phi: none`` sends: ids and names of the playbook, never a variable's value."""
        what = "message"
        to, to_kind = self.address(action.to)
        inst = self.inst
        facts = {"playbook": inst.playbook, "version": inst.version, "instance": inst.id,
                 "state": inst.state}
        self.change.messages.append(Message(
            inst.id, self.rc.now, to, self.render(action.subject, what),
            self.render(action.body, what), to_kind=to_kind, facts=facts))

    def address(self, to: str) -> tuple[str, str]:
        """``(name, kind)`` of a message's ``to:``: a declared role (after the practice's
        role mapping), a person id, or a template's result (``name``: a person if one has
        that id when it is sent, else a role, mapped here like a declared one)."""
        if sandbox.is_template(to):
            rendered = self.render(to, "message 'to'").strip()
            if not rendered:
                raise self.refuse("message 'to' gave an empty name")
            return self.tailoring.roles.get(rendered, rendered), "name"
        if to in self.pb.roles:
            return self.tailoring.roles.get(to, to), "role"
        return to, "person"

    def signal(self, action: SignalAction) -> None:
        """A ``signal`` action: its values now, its targets later (``SignalRequest``); the
        source's record names the playbook, event and matched variables (not their values)."""
        what = f"signal '{action.playbook}'"
        match = {k: _storable(self.value(v, what)) for k, v in action.match.items()}
        fields = {k: _storable(self.value(v, what)) for k, v in action.with_.items()}
        self.record("signal", event=self.event, to_state=self.inst.state, data={
            "playbook": action.playbook, "signal_event": action.event,
            "match": sorted(match)})
        self.signals.append(SignalRequest(action.playbook, action.event, match, fields,
                                          action.limit, self.inst.id, self.change.audit[-1]))

    def set_vars(self, values: Mapping[str, Any]) -> None:
        if not values:
            return
        evaluated = {name: self.value(raw, f"set '{name}'") for name, raw in values.items()}
        self.inst.vars.update(evaluated)
        self.record("set", event=self.event, to_state=self.inst.state,
                    data={"vars": evaluated})

    # -- events --------------------------------------------------------------------------
    def fields_for(self, specs: tuple[FieldSpec, ...], given: Mapping[str, Any],
                   owner: str) -> dict[str, Any]:
        names = {spec.name for spec in specs}
        allowed = ", ".join(sorted(names)) or "none"
        unknown = [f"{owner} has no field '{name}' (fields: {allowed})"
                   for name in sorted(set(given) - names)]
        return convert_fields(specs, given, self.rc.tz, lambda m: self.refuse(m), unknown)

    def fire(self, event: str, given: Mapping[str, Any], note: str | None = None) -> None:
        """Fire ``event`` with the actor's fields ``given``: the machine takes the first of the
        event's transitions in this state whose fields fit and whose guard holds."""
        self.event, self.given, self.note = event, given, note
        self.field_error = None
        self.check_allowed(event)
        if self.cp.fire(event, self):
            return
        if self.field_error:
            raise self.field_error
        state = self.inst.state
        conditions = "; ".join(t.when for t in self.pb.states[state].on[event] if t.when)
        raise self.refuse(f"not allowed now in state '{state}': its condition does not hold "
                          f"({conditions})")

    def check_allowed(self, event: str) -> None:
        """Refuse an event at a closed instance or one its state has no transition for."""
        inst = self.inst
        if inst.status == "closed":
            raise self.refuse(f"it is closed ({inst.outcome or inst.state})")
        state = self.pb.states[inst.state]
        if event not in state.on:
            allowed = ", ".join(sorted(state.on)) or "none"
            raise self.refuse(f"not allowed in state '{inst.state}' (allowed: {allowed})")

    # -- transitions (machine callbacks) -------------------------------------------------
    def offer(self, transition: Transition) -> None:
        """Convert the given fields for ``transition``; keep the first refusal of a candidate
        whose fields do not fit (it is the answer when no candidate is taken)."""
        try:
            self.offered = self.fields_for(transition.fields, self.given,
                                           f"event '{transition.event}'")
        except RefusedError as exc:
            self.offered = None
            self.field_error = self.field_error or exc
            return
        self.fields = self.offered

    def fields_fit(self) -> bool:
        """Whether the fields of the transition last offered fit (its first condition)."""
        return self.offered is not None

    def holds(self, guard: Callable[[dict[str, Any]], Any],
              rule: Transition | ChoiceRule) -> bool:
        """Whether ``guard`` holds on what expressions see now."""
        what = "guard 'when'" if isinstance(rule, Transition) else f"state '{self.inst.state}'"
        return bool(self._guarded(what, lambda: guard(self.context())))

    def take(self, transition: Transition) -> None:
        """The chosen transition, before the state changes: the actor's role, the transition
        record (with the fields, which become variables, and the note), then ``set``."""
        self.check_role(transition)
        source = self.inst.state
        data: dict[str, Any] = {}
        if self.fields:
            data["fields"] = dict(self.fields)
            self.inst.vars.update(self.fields)
        if self.note:
            data["note"] = self.note
        if transition.note:
            data["note_text"] = self.render(transition.note, "note")
        self.record("transition", event=self.event, from_state=source,
                    to_state=transition.to or source, data=data)
        self.set_vars(transition.set)

    def take_choice(self, rule: ChoiceRule) -> None:
        """A choice rule taken, before the state changes: its record."""
        self.choices += 1
        self.record("transition", from_state=self.inst.state, to_state=rule.to,
                    data={"choice": True})

    def run_actions(self, transition: Transition) -> None:
        """After the transition (the target entered): its ``do`` actions."""
        self.do(transition.do)

    def check_role(self, transition: Transition) -> None:
        if not transition.by:
            return
        roles = self.rc.actor_roles(self.actor)
        if roles is None:
            return
        wanted = {self.tailoring.roles.get(r, r) for r in transition.by}
        if not roles & wanted:
            raise self.refuse(f"'{self.actor}' does not hold the role it needs ("
                              + " or ".join(sorted(wanted)) + ")")

    def finish(self) -> Outcome:
        inst = self.inst
        inst.updated_at = self.rc.now
        if self.pb.subject:
            inst.subject = self.render(self.pb.subject, "subject")
        self.change.instances.append(inst)
        self.change.sources[self.cp.digest] = self.cp.text
        return Outcome(inst, self.change, self.starts, signals=self.signals)


def assignment_problem(practice: Practice, person: str, role: str | None) -> str | None:
    """Why ``person`` may not be given a task of ``role`` (None when they may): they must be
    a person of the practice holding the role (after the role mapping). A practice without
    ``people`` lets anyone do anything."""
    if not practice.people:
        return None
    holder = practice.people.get(person)
    if holder is None:
        return f"'{person}' is not a person of the practice"
    if role and role not in holder.roles:
        return f"'{person}' does not hold the task's role '{role}'"
    return None


class FieldProblem(ValueError):
    """Why one field's value is refused, worded as the refusal says it."""


_ABSENT = object()


def _field_value(spec: FieldSpec, given: Mapping[str, Any], tz: dt.tzinfo) -> Any:
    """The typed value of one field (its default when not given; ``_ABSENT`` when it has
    none); ``FieldProblem`` when it does not fit or a required one is missing."""
    if spec.name in given and given[spec.name] is not None:
        try:
            return convert(spec, given[spec.name], tz=tz)
        except ValueError as exc:
            raise FieldProblem(f"field '{spec.name}': {exc}") from None
    if spec.has_default:
        return convert(spec, spec.default, tz=tz)
    if spec.required:
        raise FieldProblem(f"missing required field '{spec.name}'")
    return _ABSENT


def convert_fields(specs: tuple[FieldSpec, ...] | list[FieldSpec], given: Mapping[str, Any],
                   tz: dt.tzinfo, refuse: Callable[[str], Exception],
                   unknown: Sequence[str] = ()) -> dict[str, Any]:
    """Typed values for ``specs`` from ``given`` (defaults applied, required enforced).

    Every problem is reported at once, ``unknown`` (names that are no field) first, then one
    line per field: a single problem as it is, several as a block of one line each."""
    values: dict[str, Any] = {}
    problems = list(unknown)
    for spec in specs:
        try:
            value = _field_value(spec, given, tz)
        except FieldProblem as exc:
            problems.append(str(exc))
            continue
        if value is not _ABSENT:
            values[spec.name] = value
    if len(problems) == 1:
        raise refuse(problems[0])
    if problems:
        raise refuse(f"{len(problems)} problems with the values given:\n"
                     + "\n".join(f"  {problem}" for problem in problems))
    return values


def field_problems(specs: tuple[FieldSpec, ...] | list[FieldSpec], given: Mapping[str, Any],
                   tz: dt.tzinfo) -> dict[str, str]:
    """Every field of ``specs`` whose value ``convert_fields`` would refuse, with the words
    of its refusal (a form shows them all at once, each beside its field)."""
    problems: dict[str, str] = {}
    for spec in specs:
        try:
            _field_value(spec, given, tz)
        except FieldProblem as exc:
            problems[spec.name] = str(exc)
    return problems


def _times(duration: Duration, k: int) -> Duration:
    return Duration(duration.amount * k, duration.unit)


def _as_date_or_datetime(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    raise TypeError("expected a date")


def _native(value: Any) -> Any:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        str(value)  # raises UndefinedError with the missing name
    return _storable(value)


def _storable(value: Any) -> Any:
    """``value`` as data a variable can hold (text, numbers, booleans, dates, lists and
    mappings of them); anything else (a function, a range, a template object) is refused."""
    if value is None or isinstance(value, bool | int | dt.date):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("the expression gives a number that is not finite")
        return value
    if isinstance(value, str):
        return str(value)  # a Markup becomes plain text
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _storable(item) for key, item in value.items()}
    raise TypeError(f"the expression gives a {type(value).__name__}, not a value to store")


def _texts(value: Any) -> set[str]:
    """Every string of three characters or more in ``value`` (nested lists and mappings too),
    and the texts of its dates (a date of birth is PHI too)."""
    if isinstance(value, str):
        return {value} if len(value) >= 3 else set()
    if isinstance(value, dt.date):
        return {str(value), repr(value), value.isoformat()}
    if isinstance(value, dict):
        return set().union(*(_texts(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_texts(v) for v in value)) if value else set()
    return set()


def _safe(exc: BaseException) -> str:
    """An exception message that cannot echo a variable's value (PHI) back."""
    text = str(exc)
    return text if len(text) <= 120 and "'" not in text else "invalid value"


# -- public steps ------------------------------------------------------------------------
_P = ParamSpec("_P")


def _budgeted(function: Callable[_P, Outcome]) -> Callable[_P, Outcome]:
    """``function`` under one work budget that every template and guard it evaluates shares
    (``engine.limits``): a playbook with many templates gets no more work per change than one
    with a single template."""

    @functools.wraps(function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> Outcome:
        outcome: Outcome = limits.with_budget(lambda: function(*args, **kwargs))
        return outcome

    return run


@_budgeted
def start(cp: CompiledPlaybook, inputs: Mapping[str, Any], rc: RunContext, *,
          parent: str | None = None) -> Outcome:
    """Create an instance in the initial state and enter it."""
    pb = cp.playbook
    instance = Instance(id=rc.new_id(), playbook=pb.id, version=pb.version, digest=cp.digest,
                        state=UNSTARTED, started_at=rc.now, entered_at=rc.now, parent=parent)
    step = _Step(cp, instance, rc, rc.actor)
    allowed = ", ".join(sorted(pb.inputs)) or "none"
    unknown = [f"playbook '{pb.id}' has no input '{name}' (inputs: {allowed})"
               for name in sorted(set(inputs) - set(pb.inputs))]
    instance.vars = convert_fields(list(pb.inputs.values()), inputs, rc.tz,
                                   lambda m: RefusedError(m, playbook=pb.id), unknown)
    data: dict[str, Any] = {"inputs": dict(instance.vars), "digest": cp.digest,
                            "timer_records": True}
    if parent:
        data["parent"] = parent
    step.record("start", to_state=pb.initial, data=data)
    cp.start(step)
    outcome = step.finish()
    outcome.change.new_instances.add(instance.id)
    return outcome


@_budgeted
def fire(cp: CompiledPlaybook, instance: Instance, event: str, fields: Mapping[str, Any],
         rc: RunContext, note: str | None = None) -> Outcome:
    """Fire ``event`` at ``instance`` as ``rc.actor``."""
    if event == ALL_TASKS_DONE:
        raise RefusedError("reserved; the engine fires it when the last task of the state is "
                           "done", instance=instance.id, event=event)
    step = _Step(cp, instance.working_copy(), rc, rc.actor)
    step.fire(event, fields, note)
    return step.finish()


def task_of(inst: Instance, task_id: str) -> TaskOccurrence:
    """The task occurrence ``task_id`` of ``inst``; refused when it has none."""
    task = next((t for t in inst.tasks if t.id == task_id), None)
    if task is None:
        raise RefusedError(f"instance '{inst.id}' has no task '{task_id}'")
    return task


@_budgeted
def complete(cp: CompiledPlaybook, instance: Instance, task_id: str, fields: Mapping[str, Any],
             rc: RunContext) -> Outcome:
    """Complete one open task occurrence, then its ``done`` event and ``all_tasks_done``."""
    step = _Step(cp, instance.working_copy(), rc, rc.actor)
    inst = step.inst
    task = task_of(inst, task_id)
    if not task.is_open:
        raise step.refuse(f"task '{task_id}' is already {task.status}")
    spec = cp.playbook.task(task.task)
    specs = spec.fields if spec else ()
    values = step.fields_for(specs, fields, f"task '{task.task}'")
    step.close_task(task, "done")
    step.record("task_done", from_state=task.state, data={
        "id": task.id, "task": task.task, "fields": dict(values)})
    if values:
        inst.vars.update(values)
    if task.recurring and spec is not None and spec.every:
        step.next_occurrence(spec, task)
    state_before = inst.state
    if spec is not None and spec.done:
        try:
            step.fire(spec.done, {})
        except RefusedError as exc:
            raise RefusedError(f"cannot be done yet: completing it fires '{spec.done}', which "
                               f"is refused: {exc.reason}",
                               instance=inst.id, task=task.task) from None
    state = cp.playbook.states[inst.state]
    if (inst.status == "open" and inst.state == state_before and ALL_TASKS_DONE in state.on
            and not [t for t in inst.open_tasks(inst.state) if not t.recurring]):
        _try_all_tasks_done(step)
    return step.finish()


def _try_all_tasks_done(step: _Step) -> None:
    snapshot = step.inst.working_copy(), len(step.change.audit), len(step.change.messages), \
        len(step.starts), len(step.signals)
    try:
        step.fire(ALL_TASKS_DONE, {})
    except RefusedError:
        inst, audit_len, msg_len, starts_len, signals_len = snapshot
        step.inst = inst
        del step.change.audit[audit_len:]
        del step.change.messages[msg_len:]
        del step.starts[starts_len:]
        del step.signals[signals_len:]


def _is_due(timer: TimerState, rc: RunContext) -> bool:
    return timer.due <= rc.now if isinstance(timer.due, dt.datetime) else timer.due <= rc.today


def due_timers(instance: Instance, rc: RunContext) -> list[TimerState]:
    """Armed timers of the current state that are due at ``rc.now``, earliest first."""
    due = [t for t in instance.armed_timers() if t.state == instance.state and _is_due(t, rc)]
    return sorted(due, key=lambda t: (t.due_date, t.id))


@_budgeted
def fire_timers(cp: CompiledPlaybook, instance: Instance, rc: RunContext) -> Outcome:
    """Fire every due timer of ``instance`` as ``system``; each fires once.

    Within one call (one ``tick`` of one instance) a timer of the playbook, a state's timer for
    an event, is not armed again already due once it has fired: the firing that would do so
    is refused, recorded ``applied: false`` with the reason, and its timer is spent (a timer of
    no length, or counted from a date already past, that leads back to its own state would
    otherwise fire again and again at the same clock). So one call fires at most the timers
    that were due when it began plus one per timer of the playbook, and ``tick`` stays
    idempotent (docs/reference.md, timers and ``tick``).
    """
    current = instance.working_copy()
    change = Change()
    starts: list[StartRequest] = []
    signals: list[SignalRequest] = []
    faults: list[TimerFault] = []
    system_rc = dataclasses.replace(rc, actor=SYSTEM)
    fired: set[tuple[str, str]] = set()
    while True:
        failed = {fault.timer for fault in faults}
        pending = [t for t in due_timers(current, rc) if t.id not in failed]
        if not pending or current.status != "open":
            break
        fired.add((pending[0].state, pending[0].event))
        result = _fire_timer(cp, current, pending[0], system_rc, fired)
        current = result.instance
        change.audit.extend(result.change.audit)
        change.messages.extend(result.change.messages)
        change.sources.update(result.change.sources)
        starts.extend(result.starts)
        signals.extend(result.signals)
        faults.extend(result.faults)
    if change.audit:  # else only faults already marked: nothing to write
        change.instances.append(current)
    return Outcome(current, change, starts, faults=faults, signals=signals)


def _fire_timer(cp: CompiledPlaybook, current: Instance, timer: TimerState, rc: RunContext,
                fired: set[tuple[str, str]]) -> Outcome:
    """Fire one due ``timer``: it is spent unless the playbook is at fault; its event is
    applied unless refused, or unless applying it would arm one of the ``fired`` timers again
    already due."""
    attempt = _Step(cp, _spent(current, timer), rc, SYSTEM)
    armed_before = {t.id for t in attempt.inst.timers}
    try:
        attempt.record("timer_fired", event=timer.event, from_state=timer.state,
                       data={"timer": timer.id, "due": timer.due, "applied": True})
        attempt.fire(timer.event, {})
        for again in attempt.inst.armed_timers():
            if again.id not in armed_before and (again.state, again.event) in fired and (
                    _is_due(again, rc)):
                raise attempt.refuse(
                    f"state '{again.state}': timer '{again.event}' would be armed again already "
                    "due and fire again at once, forever (its due time does not move on); "
                    "give it a positive duration or a later 'from' date")
        outcome = attempt.finish()
    except PlaybookFaultError as exc:
        return _timer_fault(cp, current, timer, rc, exc.reason)
    except RefusedError as exc:  # the timer is spent all the same, its event not applied
        step = _Step(cp, _spent(current, timer), rc, SYSTEM)
        step.record("timer_fired", event=timer.event, from_state=timer.state,
                    data={"timer": timer.id, "due": timer.due, "applied": False,
                          "reason": exc.reason})
        outcome = step.finish()
    return outcome


def _spent(current: Instance, timer: TimerState) -> Instance:
    """A working copy of ``current`` with ``timer`` fired."""
    inst = current.working_copy()
    inst.own_timer(next(t for t in inst.timers if t.id == timer.id)).status = "fired"
    return inst


def _timer_fault(cp: CompiledPlaybook, current: Instance, timer: TimerState, rc: RunContext,
                 reason: str) -> Outcome:
    """``timer`` cannot fire as the playbook stands: it stays armed, marked with ``reason``;
    the first time (or when the reason changes) a ``timer_failed`` record says so."""
    fault = TimerFault(current.id, timer.id, timer.event, reason)
    if timer.error == reason:
        return Outcome(current, Change(), fired=False, faults=[fault])
    step = _Step(cp, current.working_copy(), rc, SYSTEM)
    step.inst.own_timer(next(t for t in step.inst.timers if t.id == timer.id)).error = reason
    step.record("timer_failed", event=timer.event, from_state=timer.state,
                data={"timer": timer.id, "due": timer.due, "reason": reason})
    step.inst.updated_at = rc.now
    step.change.instances.append(step.inst)
    return Outcome(step.inst, step.change, fired=False, faults=[fault])


@_budgeted
def expire_timers(cp: CompiledPlaybook, instance: Instance, rc: RunContext,
                  reason: str) -> Outcome:
    """Mark every due timer fired but not applied (its effects were refused), so one broken
    instance never blocks ``tick`` for the others and the timer still fires only once."""
    current = instance.working_copy()
    step = _Step(cp, current, dataclasses.replace(rc, actor=SYSTEM), SYSTEM)
    for timer in due_timers(current, rc):
        current.own_timer(timer).status = "fired"
        step.record("timer_fired", event=timer.event, from_state=timer.state,
                    data={"timer": timer.id, "due": timer.due, "applied": False,
                          "reason": reason})
    step.change.instances.append(current)
    return Outcome(current, step.change)
