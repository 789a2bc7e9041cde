"""Runtime state of one instance: its variables, tasks and timers, and the records of a change.

These are plain data the pure runtime produces and the store persists; ``to_json``/``from_json``
keep dates and datetimes typed (``{"$date": ...}``) so a date variable stays a date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

Due = dt.date | dt.datetime
_T = TypeVar("_T")


@dataclass(slots=True)
class TaskOccurrence:
    """One occurrence of a task; ``id`` is what ``frontdesk done`` takes."""

    id: str
    instance: str
    task: str
    state: str
    title: str
    role: str | None
    due: Due | None
    due_date: dt.date | None = None  # practice-local date of ``due`` (what "today" compares)
    status: str = "open"  # open | done | cancelled
    assignee: str | None = None
    created_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    recurring: bool = False
    anchor: Due | None = None  # series start of a recurring task
    index: int = 0  # k of a recurring task's occurrence (due = anchor + k * every)
    seq: int | None = field(default=None, compare=False)  # its row's place; None until stored

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class TaskOwner:
    """The instance a listed task belongs to, as much as a task list shows of it: its id,
    playbook and subject (a list of tasks never reads its instances' variables)."""

    id: str
    playbook: str
    subject: str | None = None


@dataclass(slots=True)
class TimerState:
    """An armed (or fired / cancelled) timer of an instance."""

    id: str
    instance: str
    state: str
    event: str
    due: Due
    due_date: dt.date  # practice-local date of ``due``
    status: str = "armed"  # armed | fired | cancelled
    error: str | None = None  # why it cannot fire as the playbook stands (kept armed)
    seq: int | None = field(default=None, compare=False)  # its row's place; None until stored


class TaskHistory(Protocol):
    """What a working set can still ask of its instance's stored task rows."""

    def latest(self, task: str) -> TaskOccurrence | None:
        """The latest stored occurrence of ``task``, or None when it has none."""
        ...


@dataclass(slots=True)
class Instance:
    """One run of a playbook for one subject.

    Loaded whole (every task occurrence and timer it ever had: what shows or checks its
    history) or as a *working set* (``working_set``: what a step reads and changes, so that
    the cost of an event does not grow with the instance's history): its open task
    occurrences, any occurrence the command names, and its armed timers; ``history`` answers
    what else a step asks (:meth:`latest_task`). The rows a working set leaves out are counted
    (``tasks_left_out``, ``timers_left_out``), so new rows are numbered as if the lists were
    whole. A reader of history calls :meth:`require_whole`.
    """

    id: str
    playbook: str
    version: int
    digest: str  # content hash of the playbook source it started with
    state: str
    status: str = "open"  # open | closed
    outcome: str | None = None
    subject: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskOccurrence] = field(default_factory=list)
    timers: list[TimerState] = field(default_factory=list)
    started_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    entered_at: dt.datetime | None = None  # when the current state was entered
    revision: int = 0  # bumped by every committed change; checked by the store's UPDATE
    parent: str | None = None
    task_counter: int = 0
    dirty: set[str] = field(default_factory=set, compare=False)  # task/timer ids changed
    working_set: bool = field(default=False, compare=False)  # not every task and timer
    tasks_left_out: int = field(default=0, compare=False)  # stored rows not in ``tasks``
    timers_left_out: int = field(default=0, compare=False)  # stored rows not in ``timers``
    history: TaskHistory | None = field(default=None, compare=False, repr=False)

    def working_copy(self) -> Instance:
        """A copy the runtime may change without touching this one: tasks and timers are
        shared until changed (copy-on-write), so the cost of a step does not grow with the
        instance's history. The variables are a new dict whose values are shared: a step only
        ever replaces a variable (``vars.update``), and the sandbox cannot change a list or
        dict in place (``ImmutableSandboxedEnvironment``), so a value is never changed under
        the instance it came from."""
        mine = _shallow(self)
        mine.vars = dict(self.vars)
        mine.tasks = list(self.tasks)
        mine.timers = list(self.timers)
        mine.dirty = set(self.dirty)
        return mine

    def require_whole(self, what: str) -> None:
        """Refuse (a bug, never a user's error) to show or check the history of an instance
        loaded as a working set: ``what`` needs every task and timer it ever had."""
        if self.working_set:
            raise RuntimeError(f"{what} needs the whole instance '{self.id}', not the working "
                               "set a step loads")

    def latest_task(self, task: str) -> TaskOccurrence | None:
        """The latest occurrence of ``task`` as this instance now has it (what ``done()``
        reads). Of a working set: one made since it was loaded (it has no ``seq`` yet), else
        the latest stored one, in the state this instance holds it if it loaded it."""
        mine = [t for t in self.tasks if t.task == task]
        if not self.working_set or self.history is None or (mine and mine[-1].seq is None):
            return mine[-1] if mine else None
        stored = self.history.latest(task)
        if stored is None:
            return None
        return next((t for t in mine if t.id == stored.id), stored)

    @property
    def timers_ever(self) -> int:
        """How many timers the instance has had, its working set's left-out ones included
        (the next timer's id is numbered after them)."""
        return len(self.timers) + self.timers_left_out

    def own_task(self, task: TaskOccurrence) -> TaskOccurrence:
        """This instance's private copy of ``task``, marked as changed."""
        index = self.tasks.index(task)
        mine = self.tasks[index] = _shallow(task)
        self.dirty.add(mine.id)
        return mine

    def own_timer(self, timer: TimerState) -> TimerState:
        """This instance's private copy of ``timer``, marked as changed."""
        index = self.timers.index(timer)
        mine = self.timers[index] = _shallow(timer)
        self.dirty.add(mine.id)
        return mine

    def open_tasks(self, state: str | None = None) -> list[TaskOccurrence]:
        """Open task occurrences (of ``state`` when given)."""
        return [t for t in self.tasks if t.is_open and (state is None or t.state == state)]

    def armed_timers(self) -> list[TimerState]:
        return [t for t in self.timers if t.status == "armed"]

    def problems(self) -> list[TimerState]:
        """The armed timers that cannot fire as the playbook stands (``tick`` marked each with
        its error): the instance is stuck until the playbook is fixed or it is cancelled."""
        return [t for t in self.timers if t.status == "armed" and t.error]


@dataclass(slots=True)
class AuditDraft:
    """An audit record before the store chains it (``seq``, ``prev``, ``hash`` come later)."""

    at: dt.datetime
    instance: str
    playbook: str
    version: int
    actor: str
    action: str  # start | transition | task_created | task_done | task_cancelled | ...
    event: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def new_message_id() -> str:
    """A fresh ``Message-ID`` (RFC 5322 ``<left@right>``), fixed when a message is written and
    sent unchanged on every attempt, so a resend after a crash is recognisably the same mail."""
    import uuid

    return f"<{uuid.uuid4().hex}@frontdesk.localhost>"


@dataclass(slots=True)
class Message:
    """A rendered message for the outbox (docs/delivery.md).

    ``to`` names who it is for, read by ``to_kind``: ``role`` (every holder of that practice
    role, after the playbook's role mapping), ``person`` (a person id), or ``name`` (a
    template's result: the person with that id if there is one, else that role's holders).
    ``instance`` is None for a message about no instance (a digest). ``facts`` are PHI-free
    facts (ids, counts, kinds: never a variable's value or a rendered title): with ``phi:
    none`` they are all that leaves the machine, in place of ``subject`` and ``body``.
    """

    instance: str | None
    at: dt.datetime
    to: str
    subject: str
    body: str
    to_kind: str = "role"  # role | person | name
    kind: str = "message"  # message | digest
    facts: dict[str, Any] = field(default_factory=dict)
    message_id: str = field(default_factory=new_message_id)


@dataclass(slots=True)
class Change:
    """Everything one command changes, committed by the store in one transaction."""

    instances: list[Instance] = field(default_factory=list)  # new or updated, in order
    new_instances: set[str] = field(default_factory=set)  # ids inserted rather than updated
    audit: list[AuditDraft] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # digest -> playbook source text

    def merge(self, other: Change) -> None:
        """Append another change (e.g. an instance started by a ``start`` action)."""
        self.instances.extend(other.instances)
        self.new_instances |= other.new_instances
        self.audit.extend(other.audit)
        self.messages.extend(other.messages)
        self.sources.update(other.sources)


@functools.cache
def _fields_of(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of every field of the dataclass ``cls``, in ``__init__`` order."""
    getter = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    return lambda obj: tuple(getter(obj))


def _shallow(obj: _T) -> _T:
    """A shallow copy of a dataclass instance (its class called with its fields: a third of
    what ``dataclasses.replace`` costs, which a step pays for every copy it makes)."""
    cls: Any = type(obj)
    copied: _T = cls(*_fields_of(cls)(obj))
    return copied


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: dates and datetimes as ISO-8601 text."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:  # the common case first: a flat dict of text, numbers and dates
        return {k if type(k) is str else str(k): v if type(v) in _SCALARS else plain(v)
                for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        encoded = {str(k): _encode(v) for k, v in value.items()}
        if len(encoded) == 1 and next(iter(encoded)).startswith("$"):
            # a value's own {"$date": ...} must not read back as a tag (or crash the read)
            return {"$dict": encoded}
        return encoded
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$dict" in value:
            return {k: _decode(v) for k, v in value["$dict"].items()}
        if len(value) == 1 and "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        if len(value) == 1 and "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def decoded(value: Any) -> Any:
    """One value of ``json.loads(vars text)`` with its date tags decoded (what reports take
    from an instance's variables without decoding all of them)."""
    return _decode(value) if isinstance(value, dict | list) else value


def to_json(value: Any) -> str:
    """Typed JSON text (dates tagged) for the store."""
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def from_json(text: str) -> Any:
    """The inverse of ``to_json``."""
    return _decode(json.loads(text))


def due_to_text(due: Due | None) -> str | None:
    """A due date as ``YYYY-MM-DD`` or an ISO datetime with offset."""
    return None if due is None else due.isoformat()


def due_from_text(text: str | None) -> Due | None:
    """The inverse of ``due_to_text``."""
    if text is None:
        return None
    return dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
