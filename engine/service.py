"""The engine: runs the commands on instances against the store, and answers the reads.

``Engine`` is what the CLI commands, the demo and the scenario runner call. A change goes the
same way whatever asks for it: the workspace (``workspace``) gives the practice, clock and
calendar; the registry (``registry``) gives the compiled playbook; the pure step functions
(``runtime.step``) compute the new instance and its audit records; the store commits them in
one transaction, with the instances that ``start`` actions began.

Read as a story, ``fire`` is: check the actor, open a write transaction, load the instance,
get the playbook it started with, run the step, apply the change. ``tick`` and ``fire --all``
do the same for many instances, ``BATCH`` per transaction and a savepoint each.

Use it as a context manager (``with Engine(options) as engine:``): leaving the block closes
the store. ``jinja2`` and ``transitions`` are imported only by the commands that run a step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

from .errors import ConflictError, NotFoundError, RefusedError, UsageError
from .model import Playbook
from .outbox import OutboxEntry
from .registry import PlaybookRegistry
from .runtime.clock import Clock
from .runtime.instance import Change, Instance, TaskOccurrence, TaskOwner
from .settings import Options
from .store import Store, Txn, open_store
from .workspace import Workspace

if TYPE_CHECKING:  # the runtime imports jinja2 and transitions: only commands that step
    from .delivery.sender import SendReport
    from .runtime import step
    from .schedules import ScheduleResult
    from .signals import Delivery
    from .verification import Anchor, Proof

MAX_START_DEPTH = 10
BATCH = 200  # instances per transaction in ``tick`` and ``fire --all``


def new_instance_id() -> str:
    """An opaque, short, random instance id."""
    import secrets  # only commands that start instances

    return secrets.token_hex(5)


@dataclass(slots=True)
class TickResult:
    """What one ``tick`` did."""

    fired: list[tuple[str, str]] = field(default_factory=list)  # (instance, event)
    not_applied: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # instances left for the next tick
    damaged: list[str] = field(default_factory=list)  # instances whose rows cannot be read
    scheduled: ScheduleResult | None = None  # what the schedules started (``schedules``)
    faults: list[step.TimerFault] = field(default_factory=list)  # timers that cannot fire


@dataclass(slots=True)
class Preview:
    """What ``fire --all --dry-run`` found for one instance: the instance as it is, and
    either the instance as the event would leave it or why the event would be refused."""

    instance: Instance
    after: Instance | None = None
    reason: str | None = None


@dataclass(slots=True)
class FireAllResult:
    """What one ``fire --all`` did."""

    fired: list[str] = field(default_factory=list)
    not_allowed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # changed meanwhile: retry
    damaged: list[str] = field(default_factory=list)  # instances whose rows cannot be read


StoreAccess = Literal["create", "write", "read"]


class Engine:
    """One command's view of a practice: its workspace, its playbooks and its store."""

    def __init__(self, options: Options, *, practice_text: str | None = None,
                 clock: Clock | None = None, omnipotent: frozenset[str] = frozenset(),
                 access: StoreAccess = "create") -> None:
        """``practice_text``, ``clock`` and ``omnipotent``: see ``workspace.Workspace``.
        ``access``: how the command uses the store: ``create`` it when missing (``start``,
        the demo, scenarios), ``write`` to an existing one (a missing store is exit 8 and
        nothing is created), or only ``read`` it (opened read-only, never migrated)."""
        self.workspace = Workspace(options, practice_text=practice_text, clock=clock,
                                   omnipotent=omnipotent)
        self.playbooks = PlaybookRegistry(self.workspace)
        self.access = access
        self._store: Store | None = None
        self._starts = 0  # instances begun by 'start' actions in this command (bounded)
        self._models: dict[str, Playbook] = {}  # playbook models by digest (playbook_of)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def store(self) -> Store:
        """The store, opened on first use. Commands read through the methods below; the
        engine's own steps (here and in ``upgrade``) and tests use the store itself."""
        if self._store is None:
            self._store = open_store(self.workspace.options.db_url,
                                     create=self.access == "create",
                                     read_only=self.access == "read",
                                     clock_override=self.workspace.simulated)
        return self._store

    def close(self) -> None:
        """Close the store (if it was opened)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def sign_in(self, person: str) -> None:
        """Act for ``person``, who logged in to the web board: they are the only actor, and
        every audit record names the principal ``web:<person>`` (docs/reference.md,
        "Identity, clock and trust")."""
        self.workspace.web_person = person
        self.store.principal = f"web:{person}"

    def run_context(self, actor: str) -> step.RunContext:
        """What a step needs besides the instance: the clock's reading, the practice, the
        calendar and the acting person."""
        from .runtime import step

        ws = self.workspace
        return step.RunContext(ws.clock.now(), ws.tz, ws.calendar, ws.practice, actor,
                               new_instance_id, ws.omnipotent)

    # -- commands that change instances ----------------------------------------------------
    def start(self, playbook_id: str, inputs: Mapping[str, Any], actor: str, *,
              allow_duplicate: bool = False) -> Instance:
        """Start an instance of ``playbook_id``; refused (exit 5) when the playbook's
        ``unique`` inputs have the values of an open instance, unless ``allow_duplicate``."""
        from .runtime import step

        actor = self.acting(actor)
        compiled = self.playbooks.current(playbook_id)
        outcome = step.start(compiled, inputs, self.run_context(actor))
        with self.store.transaction() as txn:
            change = self._with_starts(outcome, actor, delivery=_delivery(txn))
            if compiled.playbook.unique and not allow_duplicate:
                _refuse_duplicate(txn, outcome.instance, compiled.playbook.unique)
            txn.apply(change)
        return outcome.instance

    def fire(self, instance_id: str, event: str, fields: Mapping[str, Any], actor: str,
             note: str | None = None, *, whole: bool = False) -> Instance:
        """Fire ``event`` at one instance. The instance after it is the working set the step
        read (``Instance.working_set``) unless ``whole`` (every task and timer: what
        ``--json`` prints); so are those of ``done``, ``cancel``, ``correct`` and ``assign``."""
        from .runtime import step

        actor = self.acting(actor)
        with self.store.transaction() as txn:
            instance = _load(txn, instance_id, whole)
            compiled = self.playbooks.of_instance(instance, txn.get_source)
            outcome = step.fire(compiled, instance, event, fields, self.run_context(actor), note)
            txn.apply(self._with_starts(outcome, actor, delivery=_delivery(txn)))
        return outcome.instance

    def done(self, task_id: str, fields: Mapping[str, Any], actor: str, *,
             whole: bool = False) -> Instance:
        """Complete one task occurrence."""
        from .runtime import step

        actor = self.acting(actor)
        with self.store.transaction() as txn:
            instance = _load(txn, txn.instance_of_task(task_id), whole, task_id)
            self.check_task_holder(instance, task_id, actor)
            compiled = self.playbooks.of_instance(instance, txn.get_source)
            outcome = step.complete(compiled, instance, task_id, fields,
                                    self.run_context(actor))
            txn.apply(self._with_starts(outcome, actor, delivery=_delivery(txn)))
        return outcome.instance

    def cancel(self, instance_id: str, reason: str, actor: str, *,
               whole: bool = False) -> Instance:
        """Close an open instance as outcome ``cancelled`` (administrators only)."""
        from .runtime import corrections

        actor = self._administrator(actor, "cancel")
        reason = required_reason(reason)
        with self.store.transaction() as txn:
            instance = _load(txn, instance_id, whole)
            compiled = self.playbooks.of_instance(instance, txn.get_source)
            outcome = corrections.cancel(compiled, instance, reason, self.run_context(actor))
            txn.apply(outcome.change)
        return outcome.instance

    def correct(self, instance_id: str, values: Mapping[str, Any], reason: str,
                actor: str, *, whole: bool = False) -> Instance:
        """Correct variables of an open instance without moving it (administrators only)."""
        from .runtime import corrections

        actor = self._administrator(actor, "correct")
        reason = required_reason(reason)
        with self.store.transaction() as txn:
            instance = _load(txn, instance_id, whole)
            compiled = self.playbooks.of_instance(instance, txn.get_source)
            outcome = corrections.correct(compiled, instance, values, reason,
                                          self.run_context(actor))
            txn.apply(outcome.change)
        return outcome.instance

    def assign(self, task_id: str, person: str | None, actor: str, *,
               whole: bool = False) -> Instance:
        """Give an open task to ``person`` (None: unassign it); any known person may."""
        from .runtime import corrections

        actor = self.acting(actor)
        with self.store.transaction() as txn:
            instance = _load(txn, txn.instance_of_task(task_id), whole, task_id)
            compiled = self.playbooks.of_instance(instance, txn.get_source)
            outcome = corrections.assign(compiled, instance, task_id, person,
                                         self.run_context(actor))
            txn.apply(outcome.change)
        return outcome.instance

    @property
    def starts_so_far(self) -> int:
        """Instances ``start`` actions have begun in this command (``limits``)."""
        return self._starts

    def _administrator(self, actor: str, what: str) -> str:
        """The acting person, refused (exit 5) unless one of the practice's administrators."""
        actor = self.acting(actor)
        self.workspace.require_administrator(actor, what)
        return actor

    def acting(self, name: str) -> str:
        """The person a writing command acts as (``Workspace.resolve_actor``, with the
        store's authenticated principal)."""
        return self.workspace.resolve_actor(name, self.store.principal)

    def check_task_holder(self, instance: Instance, task_id: str, actor: str) -> None:
        """Refuse (exit 5) completing a task that is not ``actor``'s: an assigned task is its
        assignee's alone; an unassigned one needs its role (as the practice maps it)."""
        task = next((t for t in instance.tasks if t.id == task_id), None)
        if task is None or actor in self.workspace.omnipotent:
            return
        if task.assignee is not None:
            if task.assignee != actor:
                raise RefusedError(f"it is assigned to {task.assignee}", instance=instance.id,
                                   task=task.task)
            return
        people = self.workspace.practice.people
        if task.role and people and task.role not in (
                people[actor].roles if actor in people else ()):
            raise RefusedError(f"'{actor}' does not hold its role '{task.role}'",
                               instance=instance.id, task=task.task)

    def _with_starts(self, outcome: step.Outcome, actor: str, depth: int = 0,
                     delivery: Delivery | None = None) -> Change:
        """The outcome's change, with the instances its ``start`` actions begin (and theirs)
        and what its ``signal`` actions change (``signals``; ``delivery`` says where their
        targets are read)."""
        from .runtime import step

        change = outcome.change
        for request in outcome.starts:
            if depth >= MAX_START_DEPTH:
                raise RefusedError(f"'start' actions nest deeper than {MAX_START_DEPTH}")
            self._starts += 1
            limit = self.workspace.practice.starts_per_command
            if self._starts > limit:
                raise RefusedError(f"'start' actions would begin more than {limit} instances "
                                   "in one command (practice.yaml limits.starts_per_command)",
                                   instance=request.parent)
            try:
                compiled = self.playbooks.current(request.playbook)
            except NotFoundError as exc:
                raise RefusedError(f"cannot start: {exc.message}",
                                   instance=request.parent) from None
            child = step.start(compiled, request.inputs, self.run_context(actor),
                               parent=request.parent)
            change.merge(self._with_starts(child, actor, depth + 1, delivery))
        if outcome.signals:
            from .signals import deliver

            if delivery is None:
                raise RefusedError("'signal' actions need the store to find their targets",
                                   instance=outcome.instance.id)
            change.merge(deliver(self, outcome, actor, depth, delivery))
        return change

    # -- batches: many instances, BATCH per transaction, a savepoint each ------------------
    def fire_all(self, playbook_id: str, event: str, actor: str,
                 fields: Mapping[str, Any] | None = None) -> FireAllResult:
        """Fire ``event`` at every open instance of a playbook where it is allowed.

        Each instance's change and its audit records commit or fail together (a savepoint);
        a batch pays one commit. An instance whose write conflicts is left for a retry.
        """
        actor = self.acting(actor)
        self.playbooks.require(playbook_id)  # an unknown playbook is exit 4
        rc = self.run_context(actor)
        with self.store.transaction() as txn:
            ids = txn.open_instance_ids(playbook_id)
        result = FireAllResult()
        for batch in _batches(ids):
            with self.store.transaction() as txn:
                for instance in txn.load_working_sets(batch, result.damaged):
                    if instance.status == "open":  # else closed since the ids were read
                        self._fire_one(txn, instance, event, fields or {}, rc, result)
        return result

    def preview_fire_all(self, playbook_id: str, event: str, actor: str,
                         fields: Mapping[str, Any] | None = None,
                         damaged: list[str] | None = None) -> list[Preview]:
        """What ``fire_all`` would do to each open instance, computed in memory and applied
        to nothing (``fire --all --dry-run``, and the question ``fire --all`` asks first).
        Reads only, so it runs on a store opened read-only."""
        from .runtime import step

        actor = self.acting(actor)
        self.playbooks.require(playbook_id)
        rc = self.run_context(actor)
        starts = self._starts  # the dry run's 'start' actions do not count against the real run
        previews = []
        try:
            for instance in self.list_instances(playbook=playbook_id, status="open",
                                                damaged=damaged):
                compiled = self.playbooks.of_instance(instance, self.store.get_source)
                try:
                    outcome = step.fire(compiled, instance, event, fields or {}, rc)
                    self._with_starts(outcome, actor, delivery=_store_delivery(self.store))
                except RefusedError as exc:
                    previews.append(Preview(instance, reason=exc.reason))
                    continue
                previews.append(Preview(instance, after=outcome.instance))
        finally:
            self._starts = starts
        return previews

    def _fire_one(self, txn: Txn, instance: Instance, event: str, fields: Mapping[str, Any],
                  rc: step.RunContext, result: FireAllResult) -> None:
        from .runtime import step

        compiled = self.playbooks.of_instance(instance, txn.get_source)
        try:
            outcome = step.fire(compiled, instance, event, fields, rc)
            change = self._with_starts(outcome, rc.actor, delivery=_delivery(txn))
        except RefusedError:
            result.not_allowed.append(instance.id)
            return
        if _apply_one(txn, change):
            result.fired.append(instance.id)
        else:
            result.conflicts.append(instance.id)

    def tick(self) -> TickResult:
        """Fire every due timer; idempotent. A timer whose event is refused still fires once
        (recorded as not applied), so one broken instance never blocks the others."""
        from .runtime import step
        from .schedules import run_schedules

        rc = self.run_context(step.SYSTEM)
        result = TickResult(scheduled=run_schedules(self))
        with self.store.transaction() as txn:
            ids = txn.due_timer_instance_ids(rc.today, rc.now)
        for batch in _batches(ids):
            with self.store.transaction() as txn:
                for instance in txn.load_working_sets(batch, result.damaged):
                    if step.due_timers(instance, rc):  # else fired or closed meanwhile
                        self._tick_one(txn, instance, rc, result)
        return result

    def _tick_one(self, txn: Txn, instance: Instance, rc: step.RunContext,
                  result: TickResult) -> None:
        from .runtime import step

        compiled = self.playbooks.of_instance(instance, txn.get_source)
        try:
            outcome = step.fire_timers(compiled, instance, rc)
            change = self._with_starts(outcome, step.SYSTEM, delivery=_delivery(txn))
            result.faults.extend(outcome.faults)
        except RefusedError as exc:
            change = step.expire_timers(compiled, instance, rc, exc.reason).change
        if not change.audit:
            return  # only faults already marked on their timers
        if not _apply_one(txn, change):
            result.conflicts.append(instance.id)
            return
        for record in change.audit:
            if record.action == "timer_fired" and record.event:
                fired = result.fired if record.data.get("applied") else result.not_applied
                fired.append((record.instance, record.event))

    # -- reads -----------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> Instance:
        """One instance with its tasks and timers (exit 4 if unknown)."""
        return self.store.get_instance(instance_id)

    def find(self, instance_or_task: str) -> tuple[Instance, str | None]:
        """The instance of this id, or the instance of the task occurrence of this id with
        that task's id; ``NotFoundError`` (exit 4) when it is neither."""
        try:
            return self.store.get_instance(instance_or_task), None
        except NotFoundError:
            pass
        # A task occurrence's id is its instance's id and a counter (``runtime.step``); the
        # task must be among that instance's, so another id scheme finds nothing, never the
        # wrong instance.
        owner, _, _ = instance_or_task.rpartition("-")
        try:
            instance = self.store.get_instance(owner) if owner else None
        except NotFoundError:
            instance = None
        if instance is None or not any(t.id == instance_or_task for t in instance.tasks):
            raise NotFoundError(f"no instance or task '{instance_or_task}'")
        return instance, instance_or_task

    def playbook_of(self, instance: Instance) -> Playbook:
        """The playbook model ``instance`` started with, not compiled: from the disk cache by
        its content hash, else parsed from the source the store keeps."""
        known = self._models.get(instance.digest)
        if known is not None:  # a long-lived engine (the web board) asks again and again
            return known
        model = self.workspace.cache.load("playbook", instance.digest)
        if isinstance(model, Playbook):
            self._models[instance.digest] = model
            return model
        from .loading.loader import load_playbook_text

        loaded = load_playbook_text(self.store.get_source(instance.digest),
                                    f"<stored {instance.playbook} v{instance.version}>")
        model = loaded.require()
        self.workspace.cache.save("playbook", instance.digest, model)
        self._models[instance.digest] = model
        return model

    def list_instances(self, playbook: str | None = None, state: str | None = None,
                       status: str | None = None,
                       damaged: list[str] | None = None) -> list[Instance]:
        """Instances, oldest first, optionally of one playbook, state or status; with a
        ``damaged`` list, unreadable ones are named there instead of stopping the rest."""
        return self.store.list_instances(playbook=playbook, state=state, status=status,
                                         damaged=damaged)

    def open_tasks(self, until: dt.date | None = None, roles: Collection[str] | None = None,
                   person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """Open task occurrences due by ``until`` (all when None) of ``roles`` (all when
        None), each with its instance; with ``person``, only theirs and the unassigned ones
        of ``roles`` (never a task assigned to someone else)."""
        return self.store.open_tasks(until=until, roles=roles, person=person)

    def stuck_instances(self) -> list[Instance]:
        """Open instances that need attention: an armed timer that cannot fire as the playbook
        stands (``tick`` marked it with its error)."""
        return self.store.stuck_instances()

    def finished_tasks(self, since: dt.date, roles: Collection[str] | None = None,
                       person: str | None = None) -> list[tuple[TaskOccurrence, TaskOwner]]:
        """Done and cancelled task occurrences closed from about ``since`` (a day early:
        compare ``closed_at``), with the role and person rules of ``open_tasks``."""
        return self.store.finished_tasks(since, roles=roles, person=person)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The audit records of one instance, in ``seq`` order."""
        return list(self.store.audit_records(instance=instance_id))

    def send(self, *, honour_backoff: bool, retry_failed: bool = False) -> SendReport:
        """Deliver pending outbox messages as ``system`` (the store records the principal):
        every one (``send``) or those whose backoff has run out (``tick``); with
        ``retry_failed``, failed messages are made pending first."""
        from .delivery.sender import SendReport, deliver

        if honour_backoff and not self.workspace.practice.delivery.configured:
            return SendReport(not_configured=True)  # tick in a practice that sends nothing
        if retry_failed:
            self.check_delivery()  # a refused secret file: nothing requeued
            self.store.requeue_failed()
        return deliver(self.store, self.workspace.practice, self.workspace.clock.now(),
                       self.store.principal, honour_backoff=honour_backoff)

    def check_delivery(self) -> None:
        """Refuse (exit 3) before anything is written when the channels' secrets cannot be
        read as ``send`` would read them."""
        from .delivery.sender import check_secrets

        check_secrets(self.workspace.practice)

    def outbox(self) -> list[OutboxEntry]:
        """Every outbox message with its delivery state, oldest first."""
        return self.store.outbox()

    def audit_records(self, instance: str | None = None, since: dt.date | None = None,
                      ) -> Iterator[dict[str, Any]]:
        """The audit log in ``seq`` order (streamed), of one instance or from a date."""
        return self.store.audit_records(instance=instance, since=since)

    def audit_head(self) -> tuple[int, str]:
        """The last record's ``seq`` and ``hash``."""
        return self.store.audit_head()

    def prove(self, anchor: Anchor | None = None) -> Proof:
        """Everything ``audit verify`` proves of the store (exit 7 at the first fault)."""
        from .verification import prove

        return prove(self.store, anchor)


def _load(txn: Txn, instance_id: str, whole: bool, task: str | None = None) -> Instance:
    """The instance a step changes: whole, or its working set (with the occurrence ``task``
    the command names, open or not)."""
    if whole:
        return txn.load_instance(instance_id)
    return txn.load_working_set(instance_id, task)


def _refuse_duplicate(txn: Txn, new: Instance, unique: tuple[str, ...]) -> None:
    """Refuse (exit 5) starting ``new`` when an open instance of its playbook has the same
    converted values of the ``unique`` inputs; the refusal names that instance, never the
    values (PHI)."""
    from .runtime.instance import plain

    wanted = [plain(new.vars.get(name)) for name in unique]
    for other in txn.open_instance_heads(new.playbook):
        if [plain(other.vars.get(name)) for name in unique] == wanted:
            raise RefusedError(
                f"an open instance '{other.id}' has the same {', '.join(unique)}"
                + (f" ({other.subject})" if other.subject else "")
                + "; pass --allow-duplicate to start another", playbook=new.playbook)


def _delivery(txn: Txn) -> Delivery:
    """Where one change's ``signal`` actions find their targets: its transaction."""
    from .signals import Delivery

    return Delivery(txn)


def _store_delivery(store: Store) -> Delivery:
    """Signal targets read from the store itself (dry runs, which write nothing)."""
    from .signals import Delivery, StoreTargets

    return Delivery(StoreTargets(store))


def _apply_one(txn: Txn, change: Change) -> bool:
    """Apply one instance's change; False if it conflicted (and nothing of it was written).

    A change of one instance needs no savepoint: its conflict is found by the first write of
    the instance row, before anything else of it is written (a playbook source it stored is
    kept, as any stored source is). A change that also starts or signals others is applied
    under a savepoint, undone as a whole when any of its instances conflicts."""
    try:
        if len(change.instances) <= 1:
            txn.apply(change)
        else:
            with txn.savepoint():
                txn.apply(change)
    except ConflictError:
        return False
    return True


def _batches(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def required_reason(reason: str) -> str:
    """The reason of a ``cancel`` or ``correct``, stripped; an empty one is a usage error
    (exit 2): it is kept in the audit log as the why of the change."""
    if not reason.strip():
        raise UsageError("--reason must say why (it is kept in the audit log)")
    return reason.strip()
