"""Scenario tests (docs/reference.md, "Scenario tests"): drive one playbook through simulated
time and check it.

Each scenario runs in a throwaway SQLite store with a fixed clock, through the same ``Engine``
the CLI uses. A scenario whose file or steps are invalid fails with a located message; it never
passes vacuously.

Its practice config is its inline ``practice:``, else what ``PracticeChoice`` says: a pack's
scenarios run with the pack's own (``scenarios/practice.yaml`` beside them, else every
default), never with the tailoring of the practice that runs them, unless told to.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FrontdeskError, InvalidError, Issue, Location, RefusedError, did_you_mean
from .loading.schema import schema_issues
from .loading.yamlsource import JsonPath, YamlDocument, load_file
from .runtime.clock import FixedClock
from .runtime.durations import DurationError, add, parse_duration
from .runtime.instance import Instance, plain
from .settings import Options

SCENARIO_ACTOR = "scenario"
PACK_PRACTICE = "practice.yaml"  # in a pack's scenarios/ folder: the practice its scenarios use


def is_pack_practice(path: Path) -> bool:
    """Whether ``path`` is a ``scenarios/practice.yaml`` (a practice config, not a scenario)."""
    return path.name == PACK_PRACTICE and path.parent.name == "scenarios"


@dataclass(frozen=True, slots=True)
class PracticeChoice:
    """The practice config of the scenarios that have no inline ``practice:``.

    A scenario of a pack (its playbook folder is one of ``pack_folders``) runs with the pack's
    own: ``scenarios/practice.yaml`` in that folder, else every default. Any other runs with
    ``local_text``, or with the home's practice.yaml when that is None.
    """

    pack_folders: frozenset[Path] = frozenset()
    local_text: str | None = None

    @classmethod
    def for_packs(cls, folders: Iterable[Path]) -> PracticeChoice:
        """Scenarios in these pack folders use their pack's practice; others the home's."""
        return cls(frozenset(folder.resolve() for folder in folders))

    def text_for(self, playbook_folder: Path) -> str | None:
        """The practice config's text for a scenario whose playbook is in ``playbook_folder``
        (None: the home's practice.yaml); exit 3, located in the file, when a pack's practice
        config cannot be read or has errors."""
        if playbook_folder.resolve() not in self.pack_folders:
            return self.local_text
        path = playbook_folder / "scenarios" / PACK_PRACTICE
        if not path.exists():
            return ""  # every default: the pack's tests must not depend on where they run
        from .loading.practice import parse_practice

        parse_practice(path, display=str(path))  # its errors name this file, not "practice"
        try:
            return path.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidError([Issue("error", "practice", f"cannot read the pack's practice "
                                      f"config: {exc}", Location(str(path), 1, 1))]) from None


@dataclass(slots=True)
class ScenarioResult:
    name: str
    passed: bool
    message: str = ""

    def line(self) -> str:
        return f"PASS {self.name}" if self.passed else f"FAIL {self.name}: {self.message}"


class StepFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class _Scenario:
    document: YamlDocument
    name: str
    data: dict[str, Any] = field(default_factory=dict)

    def at(self, path: JsonPath) -> Location:
        return self.document.source.at(path)


def load_scenarios(path: Path) -> tuple[list[_Scenario], list[ScenarioResult]]:
    """The scenarios of a file, and failures for those that cannot even be read."""
    documents, issues = load_file(path, str(path))
    errors = [i for i in issues if i.is_error]
    if errors:
        return [], [ScenarioResult(path.name, False, _issue_text(errors))]
    if not documents:
        return [], [ScenarioResult(path.name, False, f"{path}:1:1: file holds no scenario")]
    scenarios = []
    for index, document in enumerate(documents, start=1):
        data = document.data if isinstance(document.data, dict) else {}
        name = data.get("name") if isinstance(data.get("name"), str) else None
        scenarios.append(_Scenario(document, name or f"{path.name}#{index}", data))
    return scenarios, []


def _issue_text(issues: list[Issue]) -> str:
    first = issues[0].format()
    return first + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else "")


def run_file(path: Path, options: Options,
             practice: PracticeChoice = PracticeChoice()) -> list[ScenarioResult]:
    """Run every scenario of one file."""
    scenarios, failures = load_scenarios(path)
    results = list(failures)
    for scenario in scenarios:
        results.append(_run_one(scenario, path, options, practice))
    return results


def _playbook_folder(path: Path) -> Path:
    """Where a scenario's playbook is: beside it, or next to its ``scenarios/`` folder."""
    return path.parent.parent if path.parent.name == "scenarios" else path.parent


def _practice_text(scenario: _Scenario, path: Path, practice: PracticeChoice) -> str | None:
    """The scenario's practice config: its inline ``practice:``, else ``practice``'s choice."""
    inline = scenario.data.get("practice")
    if isinstance(inline, dict):
        import yaml

        return yaml.safe_dump(plain(inline), sort_keys=False)
    return practice.text_for(_playbook_folder(path))


def _run_one(scenario: _Scenario, path: Path, options: Options,
             practice: PracticeChoice) -> ScenarioResult:
    issues = schema_issues(scenario.document, "scenario")
    if not isinstance(scenario.document.data, dict):
        issues.append(Issue("error", "scenario", "a scenario is a mapping",
                            scenario.at(())))
    if issues:
        return ScenarioResult(scenario.name, False, _issue_text(issues))
    try:
        practice_text = _practice_text(scenario, path, practice)
    except FrontdeskError as exc:
        return ScenarioResult(scenario.name, False, exc.message.replace("\n", "; "))
    with tempfile.TemporaryDirectory(prefix="frontdesk-scenario-") as tmp:
        runner = _Runner(scenario, path, options, Path(tmp), practice_text)
        try:
            runner.run()
        except StepFailed as exc:
            return ScenarioResult(scenario.name, False, exc.message)
        except FrontdeskError as exc:
            return ScenarioResult(scenario.name, False, exc.message.replace("\n", "; "))
        finally:
            runner.close()
    return ScenarioResult(scenario.name, True)


class _Runner:
    """Runs one scenario's steps against a throwaway store."""

    def __init__(self, scenario: _Scenario, path: Path, options: Options, tmp: Path,
                 practice_text: str | None) -> None:
        """``practice_text``: the practice config (None: the home's practice.yaml)."""
        from .service import Engine

        self.scenario = scenario
        data = scenario.data
        dirs = (*options.playbooks, str(_playbook_folder(path)))
        env = dict(options.env)
        env.pop("FRONTDESK_DB", None)
        self.options = Options(home=options.home, db=f"sqlite:///{tmp / 'scenario.db'}",
                               now=None, playbooks=dirs, env=env)
        self.engine = Engine(self.options, practice_text=practice_text,
                             omnipotent=frozenset({SCENARIO_ACTOR}))
        self.actor = data.get("as") or SCENARIO_ACTOR
        self.instance_id: str | None = None
        self.others: list[tuple[str, str]] = []  # (playbook, id) of the ``others`` started

    def close(self) -> None:
        self.engine.close()

    def fail(self, index: int, kind: str, message: str) -> StepFailed:
        location = self.scenario.at(("steps", index - 1))
        return StepFailed(f"step {index} ({kind}): {message} [{location}]")

    def run(self) -> None:
        data = self.scenario.data
        start = data.get("start") or {}
        tz = self.engine.workspace.tz
        moment = _moment(start.get("at"), tz) if start.get("at") else dt.datetime.now(tz)
        self.clock = FixedClock(moment)
        self.engine.workspace.use_clock(self.clock)
        compiled = self.engine.playbooks.current(data["playbook"])
        self.playbook = compiled.playbook
        self._check_names()
        for other in data.get("others") or []:
            started = self.engine.start(other["playbook"], other.get("with") or {}, self.actor,
                                        allow_duplicate=True)
            self.others.append((other["playbook"], started.id))
        instance = self.engine.start(data["playbook"], start.get("with") or {}, self.actor)
        self.instance_id = instance.id
        for index, step in enumerate(data.get("steps") or [], start=1):
            self.step(index, step)

    # -- static checks: unknown task ids, events and states fail with their location -------
    def _check_names(self) -> None:
        """Fail at the first task id, event or state a step names that the playbook lacks."""
        for index, step in enumerate(self.scenario.data.get("steps") or [], start=1):
            for where, noun, name, known in self._names_in(index, step):
                if name not in known:
                    hint = did_you_mean(str(name), known)
                    raise StepFailed(f"step {index}: {self.scenario.at(where)}: unknown {noun} "
                                     f"'{name}'" + (f" ({hint})" if hint else ""))

    def _names_in(self, index: int, step: dict[str, Any],
                  ) -> list[tuple[JsonPath, str, Any, set[str]]]:
        """What one step names, in order: (where, what it is, the name, the names it may be)."""
        tasks = set(self.playbook.all_tasks())
        events = {e for s in self.playbook.states.values() for e in s.on}
        inner = step.get("refuse", step)
        path: JsonPath = ("steps", index - 1) + (("refuse",) if "refuse" in step else ())
        named: list[tuple[JsonPath, str, Any, set[str]]] = []
        if "done" in inner:
            named.append((path + ("done",), "task id", inner["done"], tasks))
        if "fire" in inner:
            named.append((path + ("fire",), "event", inner["fire"], events))
        expect = step.get("expect") or {}
        for task_id in [*(expect.get("open_tasks") or []), *(expect.get("tasks") or {})]:
            named.append((path + ("expect",), "task id", task_id, tasks))
        if "state" in expect:
            named.append((path + ("expect", "state"), "state", expect["state"],
                          set(self.playbook.states)))
        return named

    # -- steps ---------------------------------------------------------------------------
    def instance(self) -> Instance:
        assert self.instance_id is not None
        return self.engine.get_instance(self.instance_id)

    def step(self, index: int, step: dict[str, Any]) -> None:
        kind = next(iter(step))
        if kind == "fire" or kind == "done":
            try:
                self.act(step)
            except RefusedError as exc:
                raise self.fail(index, kind, f"expected success, got refused: "
                                f"{exc.message}") from None
        elif kind == "refuse":
            before = self.snapshot()
            try:
                self.act(step["refuse"])
            except RefusedError:
                if self.snapshot() != before:
                    raise self.fail(index, kind, "refused but the store changed") from None
                return
            raise self.fail(index, kind, "expected a refusal, got success")
        elif kind == "advance":
            self.advance(step["advance"], index)
        elif kind == "tick":
            self.tick(index, kind)
        elif kind == "expect":
            self.expect(index, step["expect"])

    def act(self, step: dict[str, Any]) -> None:
        actor = step.get("as") or self.actor
        values = step.get("set") or {}
        if "fire" in step:
            assert self.instance_id is not None
            self.engine.fire(self.instance_id, step["fire"], values, actor, step.get("note"))
            return
        task_id = step["done"]
        open_ = [t for t in self.instance().tasks if t.task == task_id and t.is_open]
        if not open_:
            raise RefusedError(f"no open task '{task_id}'")
        self.engine.done(open_[-1].id, values, actor)

    def snapshot(self) -> tuple[Any, ...]:
        return (plain(self.instance().vars), self.instance().state,
                self.engine.audit_head(), len(self.engine.outbox()))

    def advance(self, value: Any, index: int) -> None:
        now = self.clock.now()
        tz = self.engine.workspace.tz
        if isinstance(value, dict):
            target = _moment(value["to"], tz)
        else:
            try:
                duration = parse_duration(str(value))
            except DurationError as exc:
                raise self.fail(index, "advance", str(exc)) from None
            moved = add(now, duration, self.engine.workspace.calendar, tz)
            if isinstance(moved, dt.datetime):
                target = moved
            else:
                target = dt.datetime.combine(moved, now.astimezone(tz).timetz())
        if target < now:
            raise self.fail(index, "advance", "the clock cannot go backwards")
        self.clock.advance_to(target)
        self.tick(index, "advance")

    def tick(self, index: int, kind: str) -> None:
        """Fire the due timers; a timer the playbook cannot fire fails the scenario."""
        faults = self.engine.tick().faults
        if faults:
            raise self.fail(index, kind, f"timer '{faults[0].event}' cannot fire: "
                                         f"{faults[0].reason}")

    def expect(self, index: int, expected: dict[str, Any]) -> None:
        instance = self.instance()
        for key, want in expected.items():
            got = self.actual(instance, key, want)
            if key == "vars":
                mismatched = {k: v for k, v in plain(want).items() if got.get(k, _MISSING) != v}
                if mismatched:
                    shown = {k: got.get(k, "<unset>") for k in mismatched}
                    raise self.fail(index, "expect", f"expected vars {mismatched}, got {shown}")
                continue
            if key == "open_tasks":
                want = sorted(want)
            if plain(want) != got:
                raise self.fail(index, "expect", f"expected {key} {plain(want)!r}, got {got!r}")

    def actual(self, instance: Instance, key: str, want: Any) -> Any:
        if key in ("state", "status", "outcome"):
            return getattr(instance, key)
        if key == "open_tasks":
            return sorted({t.task for t in instance.tasks if t.is_open})
        if key == "vars":
            return plain(instance.vars)
        if key == "tasks":
            found: dict[str, Any] = {}
            for task_id, fields in want.items():
                latest = [t for t in instance.tasks if t.task == task_id]
                if not latest:
                    found[task_id] = None
                    continue
                task = latest[-1]
                found[task_id] = {f: plain(getattr(task, f)) for f in fields}
            return found
        if key == "timers":
            armed = {t.event: plain(t.due) for t in instance.timers if t.status == "armed"}
            return {event: armed.get(event) for event in want}
        if key == "outbox":
            return len(self.engine.outbox())
        if key in ("started", "others", "children"):
            return self.related(instance, key, want)
        raise StepFailed(f"unknown expectation '{key}'")

    def related(self, instance: Instance, key: str, want: Any) -> Any:
        """``started``: how many instances of each playbook this one started; ``children``:
        their states, oldest first; ``others``: the states of the ``others`` of each playbook,
        in the order they were listed."""
        if key in ("started", "children"):
            children = [i for i in self.engine.list_instances()
                        if i.parent == instance.id]
            if key == "children":
                return {pid: [c.state for c in children if c.playbook == pid] for pid in want}
            return {pid: sum(1 for c in children if c.playbook == pid) for pid in want}
        return {pid: [self.engine.get_instance(iid).state for p, iid in self.others
                      if p == pid] for pid in want}


_MISSING = object()


def _moment(value: Any, tz: dt.tzinfo) -> dt.datetime:
    from .values import parse_datetime

    return parse_datetime(value, tz).astimezone(tz)


def iter_results(paths: list[Path], options: Options,
                 practice: PracticeChoice = PracticeChoice()) -> Iterator[ScenarioResult]:
    """The results of every scenario of ``paths``, file by file."""
    for path in paths:
        yield from run_file(path, options, practice)
