"""Fuzzing input: hypothesis generates playbooks (valid ones mutated: keys
dropped, types swapped, names misspelled, random unicode, deep nesting, cut or spliced text)
and ``--set`` values for every field type; for each, ``frontdesk validate``/``start``/``fire``/
``done`` exits with a documented code and clean ``frontdesk: error:`` or located lines, never a
traceback or an internal error, and a refused command leaves the store unchanged.

Most cases run in-process through ``frontdesk.cli.main`` (the console script's own handler); a
sample runs as real processes. Examples are derandomized (the same cases on every CI run, so a
red build is reproducible); set ``FRONTDESK_FUZZ_RANDOM=1`` to explore new ones. The case
counts are each test's hypothesis ``max_examples``: ``FRONTDESK_FUZZ_SCALE=1`` runs the full
size (``FULL_SIZE``, 5,125 cases), the default 0.2 a fifth of it. Cases that found bugs are
kept below in ``REGRESSIONS`` and ``REGRESSION_SETS``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from frontdesk.loading import loader as loader_module
from frontdesk.loading.yamlsource import parse_text
from frontdesk_testing import CliResult, run_main
from hardening_support import LOCATED, REPO, clean_stderr_problems, store_dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from frontdesk_testing import Figures, Frontdesk

# Cases per test at full size (5,125 in all); the default run is a fifth of that (SCALE 0.2)
# so the whole suite stays within ten minutes on two cores.
FULL_SIZE = {"test_fuzz_validate": 2000, "test_fuzz_start": 1600, "test_fuzz_fire": 900,
             "test_fuzz_done": 600, "test_fuzz_as_processes": 25}
SCALE = float(os.environ.get("FRONTDESK_FUZZ_SCALE", "0.2"))
CASES = {name: max(int(n * SCALE), 5) for name, n in FULL_SIZE.items()}
FUZZ = settings(
    deadline=None, database=None, derandomize=os.environ.get("FRONTDESK_FUZZ_RANDOM") != "1",
    suppress_health_check=list(HealthCheck), print_blob=True)
RAN: dict[str, int] = {}  # cases the current test ran to the end
CORPUS_FILES = sorted([*(REPO / "tests" / "playbooks" / "valid").glob("*.yaml"),
                       *(REPO / "playbooks").glob("*.yaml"),
                       *(REPO / "tests" / "playbooks" / "runtime").glob("*.yaml")])


def count() -> None:
    RAN["cases"] = RAN.get("cases", 0) + 1


@pytest.fixture(autouse=True)
def case_count(request: pytest.FixtureRequest, figures: Figures) -> Iterator[None]:
    """A generated test reports how many cases it ran and, when it passed, must have run all
    that its settings asked for."""
    RAN.clear()
    failed_before = request.session.testsfailed
    yield
    name = request.node.name
    if name in CASES:
        figures.add("fuzz", f"{name}: {RAN.get('cases', 0)} generated cases "
                            f"(derandomized={FUZZ.derandomize}, scale {SCALE})")
        if request.session.testsfailed == failed_before:
            assert RAN.get("cases", 0) >= CASES[name], (name, RAN)


@cache
def corpus() -> list[Any]:
    """The valid playbooks' data (as frontdesk reads them: YAML 1.2, dates)."""
    documents = []
    for path in CORPUS_FILES:
        parsed, issues = parse_text(path.read_text("utf-8"), str(path))
        assert parsed and not [i for i in issues if i.is_error], path
        documents.append(parsed[0].data)
    return documents


@pytest.fixture(autouse=True)
def cached_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """``validate`` parses every playbook of the search path on every run; the shipped ones
    never change, so their parse is memoised by content (the fuzzed file is always parsed)."""
    real = loader_module.parse_playbook_file
    memo: dict[tuple[str, str], Any] = {}

    def parse(path: Path, display: str | None = None) -> Any:
        key = (str(path), hashlib.sha256(path.read_bytes()).hexdigest())
        if key not in memo:
            memo[key] = real(path, display)
        cached = memo[key]  # a new object, so validating it never changes the memo
        return dataclasses.replace(cached, issues=list(cached.issues))

    monkeypatch.setattr(loader_module, "parse_playbook_file", parse)  # the catalog imports it
    # when it scans, so the memo serves every scan


# -- mutations -------------------------------------------------------------------------------
def paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*prefix, index))


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.dates(),
    st.text(max_size=30), st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["{{", "}}", "{{ x }}", "{% for %}", "on", "yes", "016", "0x1F", "~",
                     "2026-02-30", "1 business day", "-1 days", "{{ 10**9 }} days", "a\x00b",
                     "\u202e", "'", '"', "\\", "*a", "&a", "!!python/object:os.system"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def misspell(text: str, data: st.DataObject) -> str:
    if not text:
        return "x"
    i = data.draw(st.integers(0, len(text) - 1))
    how = data.draw(st.sampled_from(["drop", "double", "swap", "replace", "case"]))
    if how == "drop":
        return text[:i] + text[i + 1:]
    if how == "double":
        return text[:i] + text[i] + text[i:]
    if how == "swap" and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if how == "case":
        return text.swapcase()
    return text[:i] + data.draw(st.characters()) + text[i + 1:]


def mutate(doc: Any, data: st.DataObject) -> Any:
    """One structural mutation of ``doc`` (a deep copy of a valid playbook's data)."""
    every = list(paths(doc))
    path = every[data.draw(st.integers(0, len(every) - 1))]
    kind = data.draw(st.sampled_from(["drop", "swap", "misspell-key", "misspell-value",
                                      "unicode", "nest", "duplicate-item"]))
    if not path:
        return data.draw(VALUES) if kind == "swap" else doc
    parent, key = at(doc, path[:-1]), path[-1]
    if kind == "drop":
        del parent[key]
    elif kind == "swap":
        parent[key] = data.draw(VALUES)
    elif kind == "misspell-key" and isinstance(parent, dict):
        parent[misspell(str(key), data)] = parent.pop(key)
    elif kind == "misspell-value" and isinstance(parent[key], str):
        parent[key] = misspell(parent[key], data)
    elif kind == "unicode":
        parent[key] = data.draw(st.text(alphabet=st.characters(codec="utf-8"), min_size=1,
                                        max_size=40))
    elif kind == "nest":
        value = parent[key]
        for _ in range(data.draw(st.integers(1, 120))):
            value = [value] if data.draw(st.booleans()) else {"k": value}
        parent[key] = value
    elif kind == "duplicate-item" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    return doc


def text_mutate(text: str, data: st.DataObject) -> str:
    """A mutation of the YAML text itself: cut, splice, delete, deep flow nesting."""
    i = data.draw(st.integers(0, len(text)))
    kind = data.draw(st.sampled_from(["cut", "insert", "delete", "flow-nest", "tab", "bom"]))
    if kind == "cut":
        return text[:i]
    if kind == "insert":
        return text[:i] + data.draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=12)) \
            + text[i:]
    if kind == "delete":
        return text[:i] + text[i + data.draw(st.integers(1, 40)):]
    if kind == "flow-nest":
        n = data.draw(st.integers(10, 3000))
        return text + "\ndeep: " + "[" * n + "1" + "]" * n + "\n"
    if kind == "tab":
        return text.replace("  ", "\t", 1)
    return "\ufeff" + text


def dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, RecursionError, ValueError):
        return "playbook: {broken\n"


# -- the checks ------------------------------------------------------------------------------
def check(result: CliResult | subprocess.CompletedProcess[str], allowed: set[int]) -> None:
    """A documented exit code, no traceback, clean error lines; a failure says where."""
    code, stdout, stderr = result.returncode, result.stdout, result.stderr
    assert code in allowed, (code, stdout[-500:], stderr[-1500:])
    assert "Traceback" not in stdout + stderr
    assert not clean_stderr_problems(stderr, code), stderr[-1500:]
    if code == 3:
        lines = (stdout + stderr).splitlines()
        assert any(LOCATED.match(line) or line.startswith("frontdesk: error:")
                   for line in lines), stdout + stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory,
         make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    fd = make_frontdesk(tmp_path_factory.mktemp("fuzz"))
    (fd.playbooks / "fuzz-types.yaml").write_text(TYPES_PLAYBOOK, "utf-8")
    return fd


REGRESSIONS = [
    # kept examples that found bugs (see the commit messages of tests/hardening)
    "playbook: x\nversion: 1\ntitle: t\nroles: [a]\ninitial: s\nstates:\n  s:\n    on:\n"
    "      go: {to: s, set: {x: \"{{ ((((((((((((((((((((((((((((((((((((((((((((((((((((1"
    "))))))))))))))))))))))))))))))))))))))))))))))))))))) }}\"}}\n",
    "playbook: x\nversion: 1\ntitle: t\nroles: [a]\ninitial: s\nstates:\n  s:\n"
    "    title: \"{{ '%0999999999d' % 1 }}\"\n    final: true\n",
    "deep: " + "[" * 5000 + "]" * 5000 + "\n",
    "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
]


@pytest.mark.parametrize("text", REGRESSIONS)
def test_fuzz_regressions(text: str, home: Frontdesk, tmp_path: Path) -> None:
    """Playbooks that once crashed or hung ``validate``."""
    path = tmp_path / "case.yaml"
    path.write_text(text, "utf-8")
    check(run_main(["validate", str(path)], home.env()), {0, 3})


@pytest.mark.slow
@settings(FUZZ, max_examples=CASES["test_fuzz_validate"])
@given(data=st.data())
def test_fuzz_validate(data: st.DataObject, home: Frontdesk) -> None:
    """A mutated playbook: ``validate`` is exit 0 or 3 with located errors, never a crash."""
    doc = copy.deepcopy(data.draw(st.sampled_from(corpus())))
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data)
    text = dump(doc)
    if data.draw(st.integers(0, 3)) == 0:
        text = text_mutate(text, data)
    path = home.home / "fuzzed.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    check(run_main(["validate", str(path)], home.env()), {0, 3})
    count()


# -- run time: --set values for every field type -----------------------------------------------
TYPES_PLAYBOOK = """\
playbook: fuzz-types
version: 1
title: Every field type
subject: "{{ s }}"
roles: [clerk]
inputs:
  s: {type: string, default: nobody}
  code: {type: string, pattern: "^[A-Z]{2}[0-9]{3}$"}
  kind: {type: string, enum: [new, returning]}
  i: {type: integer, minimum: -5, maximum: 1000}
  n: {type: number, minimum: 0}
  b: {type: boolean}
  d: {type: date}
  t: {type: datetime}
  l: {type: list}
  req: {type: string, required: true}
initial: open
states:
  open:
    tasks:
      - id: work
        title: "Work {{ s }}"
        role: clerk
        every: 1 day
        fields:
          fs: {type: string}
          fi: {type: integer, required: true}
          fn: {type: number}
          fb: {type: boolean}
          fd: {type: date}
          ft: {type: datetime}
          fl: {type: list}
    on:
      update:
        fields:
          us: {type: string, required: true}
          ui: {type: integer}
          un: {type: number, maximum: 10}
          ub: {type: boolean}
          ud: {type: date}
          ut: {type: datetime}
          ul: {type: list}
          ue: {type: string, enum: [x, y]}
        set: {last: "{{ us }}"}
"""
INPUTS = ["s", "code", "kind", "i", "n", "b", "d", "t", "l", "req"]
UPDATE_FIELDS = ["us", "ui", "un", "ub", "ud", "ut", "ul", "ue"]
TASK_FIELDS = ["fs", "fi", "fn", "fb", "fd", "ft", "fl"]

TEXTS = st.one_of(
    st.text(max_size=20), st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.integers().map(str), st.floats().map(str), st.dates().map(str),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["", " ", "true", "no", "1e999", "-0", "nan", "inf", "9" * 5000, "0x10",
                     "[1, 2", "[]", "[null]", "[NaN]", "[1e999]", '[{"$date": "x"}]',
                     '{"a": 1}', "a,b,,c", "2026-02-30", "2026-01-05T25:00", "AB123", "new",
                     "2026-01-05T09:00+14:00", "0001-01-01", "9999-12-31T23:59:59-12:00",
                     "\x00", "=", "a=b", "{{ 7*7 }}", "\u202e"]))


def set_args(data: st.DataObject, names: list[str]) -> list[str]:
    """``--set`` options: mostly known names with typed-looking or garbage text, sometimes an
    unknown name, an empty key or no '=' at all."""
    args = []
    for name in data.draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)):
        args += ["--set", f"{name}={data.draw(TEXTS)}"]
    odd = data.draw(st.integers(0, 9))
    if odd == 0:
        args += ["--set", f"{data.draw(st.text(min_size=1, max_size=8))}={data.draw(TEXTS)}"]
    elif odd == 1:
        args += ["--set", data.draw(TEXTS)]
    return args


class Runner:
    """In-process commands on the fuzz home; the store is compared around refusals."""

    def __init__(self, fd: Frontdesk) -> None:
        self.fd = fd
        self.env = fd.env()

    def run(self, *args: str, allowed: set[int]) -> tuple[int, str, str]:
        before = store_dump(self.fd.db) if self.fd.db.exists() else None
        result = run_main(["--playbooks", str(self.fd.playbooks), *args], self.env)
        check(result, allowed)
        if result.returncode != 0 and before is not None:
            assert store_dump(self.fd.db) == before, (args, result.stderr)
        return result.returncode, result.stdout, result.stderr

    def readable(self, instance: str) -> None:
        """What was stored can be read back (show) and the chain still verifies."""
        code, stdout, stderr = self.run("show", instance, "--json", allowed={0})
        json.loads(stdout)


def fresh(fd: Frontdesk) -> None:
    """Start over with an empty store when it has grown (keeps dumps cheap)."""
    if fd.db.exists() and fd.db.stat().st_size > 2_000_000:
        for path in fd.home.glob("frontdesk.db*"):
            path.unlink()


@pytest.mark.slow
@settings(FUZZ, max_examples=CASES["test_fuzz_start"])
@given(data=st.data())
def test_fuzz_start(data: st.DataObject, home: Frontdesk) -> None:
    """``start`` with generated values for every input type: 0, 2 or 5, never a crash; a
    refusal writes nothing; what was accepted can be shown."""
    fresh(home)
    runner = Runner(home)
    args = set_args(data, INPUTS)
    if data.draw(st.integers(0, 4)):
        args += ["--set", "req=r"]
    code, stdout, _ = runner.run("start", "fuzz-types", *args, allowed={0, 2, 5})
    if code == 0:
        runner.readable(stdout.strip())
    count()


# --set values that found bugs: a JSON list whose dict looked like the store's date tag made
# the instance unreadable (exit 1 on every later command), NaN/Infinity in a list were stored
# as non-standard JSON, a deeply nested list was a RecursionError (exit 1), NUL characters
# were stored (PostgreSQL text refuses them).
REGRESSION_SETS = ['l=[{"$date": "x"}]', 'l=[{"$datetime": "2026-01-01"}]', "l=[NaN]",
                   "l=[1e999]", "l=" + "[" * 3000 + "]" * 3000, 'l=["a\\u0000b"]', "s=a\x00b",
                   "i=" + "9" * 5000, "n=1e999", "t=9999-12-31T23:59:59-12:00",
                   "d=0001-01-01"]


@pytest.mark.parametrize("value", REGRESSION_SETS)
def test_fuzz_regression_values(value: str, home: Frontdesk) -> None:
    """Each is accepted and readable back, or refused cleanly with nothing written."""
    runner = Runner(home)
    code, stdout, _ = runner.run("start", "fuzz-types", "--set", "req=r", "--set", value,
                                 allowed={0, 5})
    if code == 0:
        runner.readable(stdout.strip())
        code, stdout, _ = runner.run("audit", "export", allowed={0})
        for line in stdout.splitlines():
            json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in export"))


def test_a_value_shaped_like_a_date_tag_round_trips() -> None:
    """The store's date tags cannot be forged by a value."""
    from frontdesk.runtime.instance import from_json, to_json

    for value in ({"$date": "x"}, {"$datetime": "2026-01-01"}, {"$dict": {"$date": 1}},
                  [{"$date": "2026-01-01"}]):
        assert from_json(to_json(value)) == value


@pytest.fixture(scope="module")
def instance(home: Frontdesk) -> str:
    result = run_main(["--playbooks", str(home.playbooks), "start", "fuzz-types", "--set", "req=r"],
                      home.env())
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
@settings(FUZZ, max_examples=CASES["test_fuzz_fire"])
@given(data=st.data())
def test_fuzz_fire(data: st.DataObject, home: Frontdesk, instance: str) -> None:
    """``fire`` of an event with fields of every type (and unknown events and instances)."""
    runner = Runner(home)
    target = data.draw(st.sampled_from([instance, instance, instance, "nosuch", ""]))
    event = data.draw(st.sampled_from(["update", "update", "update", "nosuch",
                                       "all_tasks_done", ""]))
    code, _, _ = runner.run("fire", target, event, *set_args(data, UPDATE_FIELDS),
                            allowed={0, 2, 4, 5})
    if code == 0:
        runner.readable(instance)
    count()


@pytest.mark.slow
@settings(FUZZ, max_examples=CASES["test_fuzz_done"])
@given(data=st.data())
def test_fuzz_done(data: st.DataObject, home: Frontdesk, instance: str) -> None:
    """``done`` of the open task occurrence with fields of every type."""
    runner = Runner(home)
    _, stdout, _ = runner.run("show", instance, "--json", allowed={0})
    [task] = [t["id"] for t in json.loads(stdout)["tasks"] if t["status"] == "open"]
    target = data.draw(st.sampled_from([task, task, task, f"{instance}-999", "x"]))
    code, _, _ = runner.run("done", target, *set_args(data, TASK_FIELDS), allowed={0, 2, 4, 5})
    if code == 0:
        runner.readable(instance)
    count()


@pytest.mark.slow
@settings(FUZZ, max_examples=CASES["test_fuzz_as_processes"])
@given(data=st.data())
def test_fuzz_as_processes(data: st.DataObject, home: Frontdesk, tmp_path_factory: Any) -> None:
    """A sample of mutated playbooks validated by the real ``frontdesk`` process."""
    doc = copy.deepcopy(data.draw(st.sampled_from(corpus())))
    doc = mutate(doc, data)
    text = dump(doc)
    if data.draw(st.booleans()):
        text = text_mutate(text, data)
    path = home.home / "fuzzed-process.yaml"
    path.write_text(text, "utf-8", errors="surrogatepass")
    check(home.run_process("validate", str(path)), {0, 3})
    count()
