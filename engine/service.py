"""The engine facade: load -> validate -> compile -> run -> store + audit, for one command.

The CLI and the scenario runner call this; it opens the practice config, the store and the
playbook catalog lazily, builds the run context from the clock, runs the pure step functions and
commits each change with its audit records in one transaction. ``start`` actions become
instances in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import InvalidError, NotFoundError, RefusedError
from .loading.loader import LoadedPlaybook, load_playbook_text
from .model import Playbook, Practice
from .runtime import step
from .runtime.calendar import BusinessCalendar, package_holidays
from .runtime.clock import Clock, make_clock
from .runtime.compiled import CompiledPlaybook, compile_playbook
from .runtime.instance import Change, Instance
from .settings import Options
from .store import Store, open_store

MAX_START_DEPTH = 10


def new_instance_id() -> str:
    """An opaque, short, random instance id."""
    return secrets.token_hex(5)


@dataclass
class TickResult:
    """What one ``tick`` did."""

    fired: list[tuple[str, str]] = field(default_factory=list)  # (instance, event)
    not_applied: list[tuple[str, str]] = field(default_factory=list)


class Engine:
    """One command's view of a practice: config, clock, store and playbooks."""

    def __init__(self, options: Options, *, practice_text: str | None = None,
                 clock: Clock | None = None, store: Store | None = None) -> None:
        self.options = options
        self._practice_text = practice_text
        self._clock = clock
        self._store = store
        self._compiled: dict[str, CompiledPlaybook] = {}
        self.omnipotent: frozenset[str] = frozenset()  # actors with every role (scenarios)

    # -- configuration -------------------------------------------------------------------
    @cached_property
    def practice_document(self) -> Any:
        from .loading.practice import parse_practice

        return parse_practice(self.options.practice_path, text=self._practice_text,
                              display=str(self.options.practice_path)
                              if self._practice_text is None else "practice")

    @cached_property
    def practice(self) -> Practice:
        from .loading.practice import build_practice

        data = self.practice_document.data
        return build_practice(data if isinstance(data, dict) else None)

    @cached_property
    def tz(self) -> dt.tzinfo:
        if self.practice.timezone:
            from zoneinfo import ZoneInfo

            return ZoneInfo(self.practice.timezone)
        from dateutil.tz import tzlocal

        return tzlocal()

    @cached_property
    def calendar(self) -> BusinessCalendar:
        closed = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
                  for d in self.practice.closed]
        return BusinessCalendar(package_holidays(self.practice.country,
                                                 self.practice.subdivision), closed)

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = make_clock(self.options.now_text, self.tz)
        return self._clock

    def use_clock(self, clock: Clock) -> None:
        """Drive this engine with ``clock`` (scenario tests and the demo move it forward)."""
        self._clock = clock

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.options.db_url)
        return self._store

    @cached_property
    def catalog(self) -> Any:
        from .loading.catalog import Catalog, search_path

        return Catalog.scan(search_path(self.options.playbooks, self.options.home_path,
                                        self.options.env))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- actors --------------------------------------------------------------------------
    def check_actor(self, actor: str) -> None:
        """Refuse (exit 5) an actor unknown to a practice that lists its people."""
        people = self.practice.people
        if people and actor not in people and actor not in self.omnipotent:
            raise RefusedError(f"unknown person '{actor}': not in practice.yaml people "
                               f"({', '.join(sorted(people))})")

    def run_context(self, actor: str) -> step.RunContext:
        return step.RunContext(self.clock.now(), self.tz, self.calendar, self.practice, actor,
                               new_instance_id, self.omnipotent)

    # -- playbooks -----------------------------------------------------------------------
    def _check_tailoring(self, playbook: Playbook) -> None:
        from .loading.practice import check_tailoring

        issues = check_tailoring(self.practice_document,
                                 lambda pid: playbook if pid == playbook.id else None,
                                 only=playbook.id)
        if issues:
            raise InvalidError(issues)

    def playbook_for_start(self, playbook_id: str) -> CompiledPlaybook:
        """The current version of a playbook from the search path, validated and compiled."""
        loaded: LoadedPlaybook = self.catalog.load(playbook_id)
        playbook = loaded.require()
        self._check_tailoring(playbook)
        assert loaded.text is not None and loaded.digest is not None
        return self._compile(playbook, loaded.digest, loaded.text)

    def playbook_of(self, instance: Instance, source: Callable[[str], str]) -> CompiledPlaybook:
        """The exact playbook source ``instance`` started with (stored by content hash)."""
        cached = self._compiled.get(instance.digest)
        if cached is not None:
            return cached
        text = source(instance.digest)
        loaded = load_playbook_text(text, f"<stored {instance.playbook} v{instance.version}>")
        return self._compile(loaded.require(), instance.digest, text)

    def _compile(self, playbook: Playbook, digest: str, text: str) -> CompiledPlaybook:
        compiled = self._compiled.get(digest)
        if compiled is None:
            compiled = self._compiled[digest] = compile_playbook(playbook, digest, text)
        return compiled

    # -- commands ------------------------------------------------------------------------
    def _with_starts(self, outcome: step.Outcome, actor: str, depth: int = 0) -> Change:
        change = outcome.change
        for request in outcome.starts:
            if depth >= MAX_START_DEPTH:
                raise RefusedError(f"'start' actions nest deeper than {MAX_START_DEPTH}")
            try:
                compiled = self.playbook_for_start(request.playbook)
            except NotFoundError as exc:
                raise RefusedError(f"instance '{request.parent}': cannot start: "
                                   f"{exc.message}") from None
            child = step.start(compiled, request.inputs, self.run_context(actor),
                               parent=request.parent)
            change.merge(self._with_starts(child, actor, depth + 1))
        return change

    def start(self, playbook_id: str, inputs: Mapping[str, Any], actor: str) -> Instance:
        """Start an instance of ``playbook_id``."""
        self.check_actor(actor)
        compiled = self.playbook_for_start(playbook_id)
        outcome = step.start(compiled, inputs, self.run_context(actor))
        change = self._with_starts(outcome, actor)
        with self.store.transaction() as txn:
            txn.apply(change)
        return outcome.instance

    def fire(self, instance_id: str, event: str, fields: Mapping[str, Any], actor: str,
             note: str | None = None) -> Instance:
        """Fire ``event`` at one instance."""
        self.check_actor(actor)
        with self.store.transaction() as txn:
            instance = txn.load_instance(instance_id)
            compiled = self.playbook_of(instance, txn.get_source)
            outcome = step.fire(compiled, instance, event, fields, self.run_context(actor), note)
            txn.apply(self._with_starts(outcome, actor))
        return outcome.instance

    def fire_all(self, playbook_id: str, event: str, actor: str) -> tuple[list[str], list[str]]:
        """Fire ``event`` at every open instance of a playbook, each in its own transaction."""
        self.check_actor(actor)
        self.catalog.find(playbook_id)  # an unknown playbook is exit 4
        with self.store.transaction() as txn:
            ids = txn.open_instance_ids(playbook_id)
        fired: list[str] = []
        refused: list[str] = []
        for instance_id in ids:
            try:
                self.fire(instance_id, event, {}, actor)
                fired.append(instance_id)
            except RefusedError:
                refused.append(instance_id)
        return fired, refused

    def done(self, task_id: str, fields: Mapping[str, Any], actor: str) -> Instance:
        """Complete one task occurrence."""
        self.check_actor(actor)
        with self.store.transaction() as txn:
            instance = txn.load_instance(txn.instance_of_task(task_id))
            compiled = self.playbook_of(instance, txn.get_source)
            outcome = step.complete(compiled, instance, task_id, fields,
                                    self.run_context(actor))
            txn.apply(self._with_starts(outcome, actor))
        return outcome.instance

    def tick(self) -> TickResult:
        """Fire every due timer, one transaction per instance; idempotent."""
        result = TickResult()
        rc = self.run_context(step.SYSTEM)
        with self.store.transaction() as txn:
            ids = txn.due_timer_instance_ids(rc.today, rc.now)
        for instance_id in ids:
            with self.store.transaction() as txn:
                instance = txn.load_instance(instance_id)
                if not step.due_timers(instance, rc):
                    continue
                compiled = self.playbook_of(instance, txn.get_source)
                try:
                    outcome = step.fire_timers(compiled, instance, rc)
                    change = self._with_starts(outcome, step.SYSTEM)
                except RefusedError as exc:
                    outcome = step.expire_timers(compiled, instance, rc,
                                                 exc.message.split(": ", 1)[-1])
                    change = outcome.change
                txn.apply(change)
            for record in outcome.change.audit:
                if record.action == "timer_fired" and record.event:
                    target = result.fired if record.data.get("applied") else result.not_applied
                    target.append((instance_id, record.event))
        return result
