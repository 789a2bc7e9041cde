"""The engine facade: load -> validate -> compile -> run -> store + audit, for one command.

The CLI and the scenario runner call this; it opens the practice config, the store and the
playbook catalog lazily, builds the run context from the clock, runs the pure step functions and
commits each change with its audit records in one transaction. ``start`` actions become
instances in the same transaction.

Validated playbooks and the practice config come from the disk cache (``loading.cache``) when
their exact source was seen before, so a command on an instance imports neither ``yaml`` nor
``jsonschema``; ``jinja2`` and ``transitions`` are imported only by commands that run a step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .errors import ConflictError, FrontdeskError, InvalidError, NotFoundError, RefusedError
from .loading.cache import DiskCache, content_hash
from .model import Playbook, Practice
from .runtime.calendar import BusinessCalendar, calendar_key, package_holidays
from .runtime.clock import Clock, make_clock
from .runtime.instance import Change, Instance
from .settings import Options
from .store import Store, open_store

if TYPE_CHECKING:  # the runtime imports jinja2 and transitions: only commands that step
    from .loading.index import IndexedFile
    from .runtime import step
    from .runtime.compiled import CompiledPlaybook

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


@dataclass(slots=True)
class FireAllResult:
    """What one ``fire --all`` did."""

    fired: list[str] = field(default_factory=list)
    not_allowed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # changed meanwhile: retry


class Engine:
    """One command's view of a practice: config, clock, store and playbooks."""

    def __init__(self, options: Options, *, practice_text: str | None = None,
                 clock: Clock | None = None, store: Store | None = None) -> None:
        self.options = options
        self._practice_text = practice_text
        self._clock = clock
        self._simulated = clock is not None or options.now_text is not None
        self._store = store
        self._compiled: dict[str, CompiledPlaybook] = {}
        self._new_holidays: dict[int, frozenset[dt.date]] = {}
        self.omnipotent: frozenset[str] = frozenset()  # actors with every role (scenarios)

    # -- configuration -------------------------------------------------------------------
    @cached_property
    def cache(self) -> DiskCache:
        """Validated models by content hash, in ``<home>/cache/compiled``."""
        return DiskCache.for_home(self.options.home_path)

    @cached_property
    def practice_document(self) -> Any:
        from .loading.practice import parse_practice

        return parse_practice(self.options.practice_path, text=self._practice_text,
                              display=str(self.options.practice_path)
                              if self._practice_text is None else "practice")

    @cached_property
    def practice_digest(self) -> str | None:
        """The content hash of the practice config; None when there is none (or unreadable)."""
        if self._practice_text is not None:
            return content_hash(self._practice_text)
        try:
            return content_hash(self.options.practice_path.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            return None  # parse_practice reports it (or finds no file)

    @cached_property
    def practice(self) -> Practice:
        digest = self.practice_digest
        if digest is None and self._practice_text is None and (
                not self.options.practice_path.exists()):
            return Practice()  # no practice.yaml: every default
        cached = self.cache.load("practice", digest) if digest else None
        if isinstance(cached, Practice):
            return cached
        from .loading.practice import build_practice

        data = self.practice_document.data
        practice = build_practice(data if isinstance(data, dict) else None)
        if digest:
            self.cache.save("practice", digest, practice)
        return practice

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
        return BusinessCalendar(self._holidays_for_year, closed)

    def _holidays_for_year(self, year: int) -> frozenset[dt.date]:
        """A year's holidays from the store's cache, else from the ``holidays`` package (and
        then cached when the engine closes): ``fire`` and ``done`` do not import it again."""
        key = self._calendar_key
        cached = self.store.cached_holidays(key, year)
        if cached is None:
            cached = self._package_holidays(year)
            self._new_holidays[year] = cached
        return cached

    @cached_property
    def _calendar_key(self) -> str:
        return calendar_key(self.practice.country, self.practice.subdivision)

    @cached_property
    def _package_holidays(self) -> Callable[[int], frozenset[dt.date]]:
        return package_holidays(self.practice.country, self.practice.subdivision)

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = make_clock(self.options.now_text, self.tz)
        return self._clock

    def use_clock(self, clock: Clock) -> None:
        """Drive this engine with ``clock`` (scenario tests and the demo move it forward)."""
        self._clock = clock
        self._simulated = True

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.options.db_url, clock_override=self._simulated)
        return self._store

    @cached_property
    def search_dirs(self) -> list[Any]:
        from .loading.catalog import search_path

        return search_path(self.options.playbooks, self.options.home_path, self.options.env)

    @cached_property
    def catalog(self) -> Any:
        """Every playbook file on the search path, parsed (the slow, fully reported way)."""
        from .loading.catalog import Catalog

        return Catalog.scan(self.search_dirs)

    @cached_property
    def playbook_files(self) -> dict[str, IndexedFile]:
        """The winning file of each playbook id, from the content-keyed index (no parsing of
        files seen before)."""
        from .loading.index import index_files, winners

        return winners(index_files(self.search_dirs, self.cache))

    def close(self) -> None:
        """Close the store."""
        if self._store is not None:
            try:
                self._save_holidays()
            finally:
                self._store.close()
                self._store = None

    def _save_holidays(self) -> None:
        if self._new_holidays and self._store is not None:
            try:
                self._store.cache_holidays(self._calendar_key, self._new_holidays)
            except FrontdeskError:
                pass  # only a cache: the next command computes the year again
            self._new_holidays = {}

    # -- actors --------------------------------------------------------------------------
    def check_actor(self, actor: str) -> None:
        """Refuse (exit 5) an actor unknown to a practice that lists its people."""
        people = self.practice.people
        if people and actor not in people and actor not in self.omnipotent:
            raise RefusedError(f"unknown person '{actor}': not in practice.yaml people "
                               f"({', '.join(sorted(people))})")

    def run_context(self, actor: str) -> step.RunContext:
        from .runtime import step

        return step.RunContext(self.clock.now(), self.tz, self.calendar, self.practice, actor,
                               new_instance_id, self.omnipotent)

    # -- playbooks -----------------------------------------------------------------------
    def _check_tailoring(self, playbook: Playbook, digest: str) -> None:
        """Refuse (exit 3) practice tailoring that does not fit ``playbook``; a pair of practice
        config and playbook source found fine before is not checked again."""
        if playbook.id not in self.practice.playbooks:
            return  # nothing tailored: nothing to check
        key = content_hash(f"{self.practice_digest}:{digest}")
        if self.cache.load("tailoring", key) is True:
            return
        from .loading.practice import check_tailoring

        issues = check_tailoring(self.practice_document,
                                 lambda pid: playbook if pid == playbook.id else None,
                                 only=playbook.id)
        if issues:
            raise InvalidError(issues)
        if self.practice_digest:
            self.cache.save("tailoring", key, True)

    def playbook_for_start(self, playbook_id: str) -> CompiledPlaybook:
        """The current version of a playbook from the search path, validated and compiled."""
        found = self.playbook_files.get(playbook_id)
        if found is not None and found.facts.clean and found.text is not None:
            digest = content_hash(found.text)
            compiled = self._compiled.get(digest)
            known = compiled.playbook if compiled else self.cache.load("playbook", digest)
            if isinstance(known, Playbook):
                from .loading.index import signatures, start_actions_fit

                if start_actions_fit(known, signatures(self.playbook_files)):
                    self._check_tailoring(known, digest)
                    return self._compile(known, digest, found.text)
        # Not seen before, or something to report: parse and validate with located issues.
        loaded = self.catalog.load(playbook_id)
        playbook = loaded.require()
        assert loaded.text is not None and loaded.digest is not None
        self._check_tailoring(playbook, loaded.digest)
        self.cache.save("playbook", loaded.digest, playbook)
        return self._compile(playbook, loaded.digest, loaded.text)

    def playbook_of(self, instance: Instance, source: Callable[[str], str]) -> CompiledPlaybook:
        """The exact playbook source ``instance`` started with (stored by content hash)."""
        cached = self._compiled.get(instance.digest)
        if cached is not None:
            return cached
        text = source(instance.digest)
        playbook = self.cache.load("playbook", instance.digest)
        if not isinstance(playbook, Playbook):
            from .loading.loader import load_playbook_text

            loaded = load_playbook_text(text, f"<stored {instance.playbook} v{instance.version}>")
            playbook = loaded.require()
            self.cache.save("playbook", instance.digest, playbook)
        return self._compile(playbook, instance.digest, text)

    def _compile(self, playbook: Playbook, digest: str, text: str) -> CompiledPlaybook:
        compiled = self._compiled.get(digest)
        if compiled is None:
            from .runtime.compiled import compile_playbook

            compiled = self._compiled[digest] = compile_playbook(playbook, digest, text)
        return compiled

    # -- commands ------------------------------------------------------------------------
    def _with_starts(self, outcome: step.Outcome, actor: str, depth: int = 0) -> Change:
        from .runtime import step

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
        from .runtime import step

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
        from .runtime import step

        self.check_actor(actor)
        with self.store.transaction() as txn:
            instance = txn.load_instance(instance_id)
            compiled = self.playbook_of(instance, txn.get_source)
            outcome = step.fire(compiled, instance, event, fields, self.run_context(actor), note)
            txn.apply(self._with_starts(outcome, actor))
        return outcome.instance

    def fire_all(self, playbook_id: str, event: str, actor: str) -> FireAllResult:
        """Fire ``event`` at every open instance of a playbook where it is allowed.

        The instances go in batches of ``BATCH`` per transaction, each instance's change under
        its own savepoint, so one instance's change and its audit records commit or fail
        together while the batch pays one commit. An instance whose write conflicts is left
        for a retry and reported.
        """
        from .runtime import step

        self.check_actor(actor)
        if playbook_id not in self.playbook_files:
            self.catalog.find(playbook_id)  # an unknown playbook is exit 4
        rc = self.run_context(actor)
        with self.store.transaction() as txn:
            ids = txn.open_instance_ids(playbook_id)
        result = FireAllResult()
        for batch in _batches(ids):
            with self.store.transaction() as txn:
                for instance in txn.load_instances(batch):
                    if instance.status != "open":
                        continue  # closed since the ids were read
                    compiled = self.playbook_of(instance, txn.get_source)
                    try:
                        outcome = step.fire(compiled, instance, event, {}, rc)
                        change = self._with_starts(outcome, actor)
                    except RefusedError:
                        result.not_allowed.append(instance.id)
                        continue
                    if self._apply_one(txn, change):
                        result.fired.append(instance.id)
                    else:
                        result.conflicts.append(instance.id)
        return result

    @staticmethod
    def _apply_one(txn: Any, change: Change) -> bool:
        """Apply one instance's change under a savepoint; False if it conflicted (undone)."""
        try:
            with txn.savepoint():
                txn.apply(change)
        except ConflictError:
            return False
        return True

    def done(self, task_id: str, fields: Mapping[str, Any], actor: str) -> Instance:
        """Complete one task occurrence."""
        from .runtime import step

        self.check_actor(actor)
        with self.store.transaction() as txn:
            instance = txn.load_instance(txn.instance_of_task(task_id))
            compiled = self.playbook_of(instance, txn.get_source)
            outcome = step.complete(compiled, instance, task_id, fields,
                                    self.run_context(actor))
            txn.apply(self._with_starts(outcome, actor))
        return outcome.instance

    def tick(self) -> TickResult:
        """Fire every due timer; idempotent. Batched like ``fire_all``: one transaction per
        ``BATCH`` instances, one savepoint per instance."""
        from .runtime import step

        result = TickResult()
        rc = self.run_context(step.SYSTEM)
        with self.store.transaction() as txn:
            ids = txn.due_timer_instance_ids(rc.today, rc.now)
        for batch in _batches(ids):
            with self.store.transaction() as txn:
                for instance in txn.load_instances(batch):
                    if not step.due_timers(instance, rc):
                        continue  # fired or closed since the ids were read
                    compiled = self.playbook_of(instance, txn.get_source)
                    try:
                        outcome = step.fire_timers(compiled, instance, rc)
                        change = self._with_starts(outcome, step.SYSTEM)
                    except RefusedError as exc:
                        outcome = step.expire_timers(compiled, instance, rc,
                                                     exc.message.split(": ", 1)[-1])
                        change = outcome.change
                    if not self._apply_one(txn, change):
                        result.conflicts.append(instance.id)
                        continue
                    for record in change.audit:
                        if record.action == "timer_fired" and record.event:
                            target = (result.fired if record.data.get("applied")
                                      else result.not_applied)
                            target.append((record.instance, record.event))
        return result


def _batches(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]
