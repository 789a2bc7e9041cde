"""The playbook model: frozen dataclasses built only from a validated document.

Nothing here parses, validates or runs anything; ``engine.loading.build`` creates these and the
runtime compiles them. This module imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ALL_TASKS_DONE = "all_tasks_done"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A typed variable an input, an event or a task completion supplies."""

    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str | None = None
    has_default: bool = False


@dataclass(frozen=True, slots=True)
class Offset:
    """A moment relative to entering a state or to a date variable.

    ``duration`` is ``N unit`` text, possibly with a ``{{ settings.x }}`` template for N.
    ``direction`` is ``after`` or ``before``; ``from_var`` None means "when the state was entered".
    """

    duration: str
    direction: str = "after"
    from_var: str | None = None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """Human work created when an instance enters a state."""

    id: str
    title: str
    role: str | None = None
    due: Offset | None = None
    every: str | None = None
    checklist: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    done: str | None = None
    description: str | None = None
    assign: str | None = None  # template giving the assignee's person id


@dataclass(frozen=True, slots=True)
class Timer:
    """Fires ``event`` as actor ``system`` once, on the first tick at or after its due time."""

    event: str
    offset: Offset


@dataclass(frozen=True, slots=True)
class SetAction:
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TaskAction:
    task: TaskSpec


@dataclass(frozen=True, slots=True)
class StartAction:
    playbook: str
    with_: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageAction:
    to: str
    subject: str
    body: str = ""


MAX_SIGNAL_LIMIT = 50  # the most instances one signal action may reach
DEFAULT_SIGNAL_LIMIT = 10


@dataclass(frozen=True, slots=True)
class SignalAction:
    """Fire ``event`` at the open instances of ``playbook`` whose variables equal ``match``
    (values are templates), with ``with_`` as the event's fields; more than ``limit`` matching
    is refused."""

    playbook: str
    event: str
    match: Mapping[str, Any]
    with_: Mapping[str, Any] = field(default_factory=dict)
    limit: int = DEFAULT_SIGNAL_LIMIT


Action = SetAction | TaskAction | StartAction | MessageAction | SignalAction


@dataclass(frozen=True, slots=True)
class Schedule:
    """Instances of ``playbook`` started by ``tick`` on a calendar: one per subject (a person
    of the practice, optionally of ``role``, or a row of ``roster``) and period (``starting``
    plus k times ``every``, moved to a business day when ``business_day`` says so)."""

    id: str  # what its runs are recorded under: the playbook id, or the practice's name
    playbook: str
    every: str  # ``N months`` or ``N years``
    starting: Any  # datetime.date (model imports nothing it need not)
    subjects: str  # ``people`` or ``roster``
    with_: Mapping[str, Any] = field(default_factory=dict)
    role: str | None = None
    roster: str | None = None
    key: str | None = None  # template giving a subject's identity
    business_day: str | None = None  # ``next``, ``previous`` or None


@dataclass(frozen=True, slots=True)
class Transition:
    """One way an event may move an instance; ``to`` None is an internal transition."""

    event: str
    to: str | None = None
    when: str | None = None
    by: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    set: Mapping[str, Any] = field(default_factory=dict)
    do: tuple[Action, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    to: str
    when: str | None = None


@dataclass(frozen=True, slots=True)
class State:
    name: str
    title: str | None = None
    description: str | None = None
    tasks: tuple[TaskSpec, ...] = ()
    on: Mapping[str, tuple[Transition, ...]] = field(default_factory=dict)
    choose: tuple[ChoiceRule, ...] = ()
    timers: tuple[Timer, ...] = ()
    enter: tuple[Action, ...] = ()
    final: bool = False
    outcome: str | None = None

    @property
    def is_choice(self) -> bool:
        return bool(self.choose)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Conditions an instance must meet to count (all of them; empty: every instance)."""

    outcome: tuple[str, ...] = ()
    status: str | None = None
    state: tuple[str, ...] = ()
    has: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    equal: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # (variable, allowed values)
    event: tuple[str, ...] = ()
    done: tuple[str, ...] = ()  # task ids whose first occurrence was done
    on_time: tuple[str, ...] = ()  # ... done by its due date
    before: tuple[str, str] | None = None  # two moments, the first on or before the second
    when: str | None = None  # a guard expression


@dataclass(frozen=True, slots=True)
class Quantity:
    """A numeric variable, or the days between two moments (``started``, ``closed``, a date
    variable, ``task:ID``, ``event:NAME``)."""

    var: str | None = None
    days: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """One figure per table row: ``kind`` is count, sum, median, average or share."""

    name: str
    kind: str
    where: ReportFilter = ReportFilter()
    quantity: Quantity | None = None
    share: ReportFilter | None = None
    title: str | None = None
    format: str = "number"


@dataclass(frozen=True, slots=True)
class RosterColumn:
    """A roster column: a variable, or a titled expression."""

    title: str
    var: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class ReportTable:
    """Grouped measures (``by`` + ``measures``) or, with ``columns``, a roster."""

    title: str
    by: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    chart: str | None = None
    columns: tuple[RosterColumn, ...] = ()
    sort: str | None = None
    where: ReportFilter = ReportFilter()


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """A report a playbook declares; ``dates`` only in a ``deadlines`` report."""

    name: str
    title: str | None = None
    description: str | None = None
    date: str = "started"
    measures: Mapping[str, Measure] = field(default_factory=dict)
    tables: tuple[ReportTable, ...] = ()
    dates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Playbook:
    """One validated playbook: a routine declared as a state machine."""

    id: str
    version: int
    title: str
    roles: tuple[str, ...]
    initial: str
    states: Mapping[str, State]
    description: str | None = None
    subject: str | None = None
    inputs: Mapping[str, FieldSpec] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    unique: tuple[str, ...] = ()  # inputs no two open instances may share
    schedule: Schedule | None = None  # started by ``tick`` on a calendar
    reports: Mapping[str, ReportSpec] = field(default_factory=dict)
    upgrade_set: Mapping[str, Any] = field(default_factory=dict)  # set when upgraded to it

    def task(self, task_id: str) -> TaskSpec | None:
        """The task spec with this id, from any state or task action."""
        return self.all_tasks().get(task_id)

    def all_tasks(self) -> dict[str, TaskSpec]:
        """Every task spec by id: state tasks and tasks created by actions."""
        found: dict[str, TaskSpec] = {}
        for state in self.states.values():
            for task in state.tasks:
                found.setdefault(task.id, task)
            actions = list(state.enter)
            for transitions in state.on.values():
                for transition in transitions:
                    actions.extend(transition.do)
            for action in actions:
                if isinstance(action, TaskAction):
                    found.setdefault(action.task.id, action.task)
        return found

    def variables(self) -> dict[str, FieldSpec | None]:
        """Every variable the playbook declares or sets: its field spec when an input, event
        field or task field declares it (inputs first, then the first declaration), else None
        (a variable only ``set`` writes)."""
        typed: dict[str, FieldSpec] = dict(self.inputs)
        untyped: set[str] = set()
        actions: list[Action] = []
        for state in self.states.values():
            actions.extend(state.enter)
            for transitions in state.on.values():
                for transition in transitions:
                    for spec in transition.fields:
                        typed.setdefault(spec.name, spec)
                    untyped.update(transition.set)
                    actions.extend(transition.do)
        for action in actions:
            if isinstance(action, SetAction):
                untyped.update(action.values)
        for task in self.all_tasks().values():
            for spec in task.fields:
                typed.setdefault(spec.name, spec)
        return {**dict.fromkeys(sorted(untyped)), **typed}


RESERVED_ACTORS = ("system", "scenario")  # actors the engine itself uses; never a person
OWNER_ROLE = "owner"  # without an explicit ``administrators`` list, its holders administer


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who may act: an id from practice.yaml, a display name, roles and the logins
    (operating-system accounts, PostgreSQL roles) that authenticate as this person."""

    id: str
    name: str | None = None
    roles: tuple[str, ...] = ()
    logins: tuple[str, ...] = ()
    email: str | None = None


@dataclass(frozen=True, slots=True)
class TaskOverride:
    """A practice's own ``title`` and ``due`` for one task; None keeps the playbook's."""

    title: str | None = None
    due: Offset | None = None


@dataclass(frozen=True, slots=True)
class Tailoring:
    """A practice's overrides of one playbook, without editing it."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    tasks: Mapping[str, TaskOverride] = field(default_factory=dict)
    disabled_tasks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Board:
    """The web board's settings (practice.yaml ``board``): idle logoff, lockout, how far ahead
    *My day* looks, and the TLS certificate and key it serves with."""

    idle_minutes: float = 15
    lockout_after: int = 5
    lockout_minutes: float = 1
    upcoming_days: int = 7
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """``delivery.smtp`` of practice.yaml (docs/delivery.md); the password is read when
    sending, never kept in the config."""

    host: str
    port: int
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """``delivery.webhook``: where each message is POSTed, and the file of its HMAC secret."""

    url: str
    secret_file: str
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """``delivery.digest``: when ``tick`` sends each person's digest, and overdue escalation
    (docs/reference.md, "Digests")."""

    at: str | None = None  # "HH:MM" practice time; None: only 'digest --send' sends one
    escalate_after: int | None = None  # business days overdue before a task is escalated
    managers: Mapping[str, str] = field(default_factory=dict)  # role -> person id

    @property
    def at_minutes(self) -> int | None:
        """``at`` as minutes after midnight."""
        if self.at is None:
            return None
        hours, minutes = self.at.split(":")
        return int(hours) * 60 + int(minutes)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """``delivery`` of practice.yaml: the channels and what may leave the machine."""

    sender: str | None = None  # ``from``
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    phi: str = "none"  # none | titles
    digest: DigestSettings = field(default_factory=DigestSettings)
    keep_done_days: int = 14  # ``ics.keep_done_days``: finished tasks stay in the ICS feed

    @property
    def configured(self) -> bool:
        """Whether any channel is set up (else nothing can be sent)."""
        return self.smtp is not None or self.webhook is not None


@dataclass(frozen=True, slots=True)
class Practice:
    """The practice config: name, time zone, business calendar, people, administrators and
    tailoring. ``administrators`` is empty when practice.yaml names none."""

    name: str | None = None
    timezone: str | None = None
    country: str = "US"
    subdivision: str | None = None
    closed: tuple[Any, ...] = ()
    people: Mapping[str, Person] = field(default_factory=dict)
    playbooks: Mapping[str, Tailoring] = field(default_factory=dict)
    administrators: tuple[str, ...] = ()
    starts_per_command: int = 200  # instances 'start' actions may begin in one command
    schedules: tuple[Schedule, ...] = ()  # scheduled starts the practice declares
    board: Board = field(default_factory=Board)
    closed_day_dues: str = "default"  # default | previous | next | keep (task dues on closed days)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    payers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> entry

    def tailoring(self, playbook_id: str) -> Tailoring:
        return self.playbooks.get(playbook_id) or Tailoring()

    @property
    def authenticated(self) -> bool:
        """Whether any person has a login: the actor of a writing command is then the person
        whose login holds the principal (docs/reference.md, "Identity, clock and trust");
        otherwise the practice is in trust mode."""
        return any(person.logins for person in self.people.values())

    def persons_for_login(self, principal: str) -> list[str]:
        """The ids of the persons one of whose logins is exactly ``principal``, in the order
        practice.yaml lists them (several for a shared account, none for a stranger)."""
        return [pid for pid, person in self.people.items() if principal in person.logins]

    @property
    def administrator_ids(self) -> tuple[str, ...] | None:
        """Who administers: the ``administrators`` list; else the persons holding the role
        ``owner`` (possibly nobody); else, without ``people``, None, meaning everyone."""
        if self.administrators:
            return self.administrators
        if not self.people:
            return None
        return tuple(pid for pid, person in self.people.items() if OWNER_ROLE in person.roles)

    def is_administrator(self, actor: str) -> bool:
        """Whether ``actor`` may upgrade, cancel and correct (``administrator_ids``)."""
        admins = self.administrator_ids
        return admins is None or actor in admins
