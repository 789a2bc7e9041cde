"""The plain-Python fast path of templates and guards (``engine.fastpath``) gives what the
sandbox's Jinja path gives: the same text or value, the same error and message, and the same
work charged, for every template and guard of the shipped playbooks and of the test and bench
playbooks, over several sets of variables, and for each case it leaves to Jinja."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from frontdesk import limits, sandbox
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar
from jinja2 import Undefined
from runtime_testing import MONDAY, compile_text, ctx

ROOT = Path(__file__).resolve().parents[2]
# Not tests/playbooks/invalid: broken on purpose (an alias bomb among them).
SOURCES = sorted(path for pattern in ("playbooks/*.yaml", "tests/**/*.yaml", "bench/**/*.yaml")
                 for path in ROOT.glob(pattern) if "invalid" not in path.parts)
TODAY = dt.date(2027, 3, 5)


def _strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """``(key, text)`` for every string in a loaded YAML document."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings(value, str(name))
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield key, node


def _load(path: Path) -> list[Any]:
    try:
        return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []  # a file that is not YAML on purpose


def _collect() -> tuple[list[str], list[str], dict[str, Any]]:
    templates: set[str] = set()
    expressions: set[str] = set()
    settings: dict[str, Any] = {}
    for path in SOURCES:
        for document in _load(path):
            if isinstance(document, dict) and isinstance(document.get("settings"), dict):
                settings.update(document["settings"])
            for key, text in _strings(document):
                if key == "when":
                    expressions.add(text)
                elif sandbox.is_template(text):
                    templates.add(text)
                    lone = sandbox.lone_expression(text)
                    if lone is not None:
                        expressions.add(lone)
    return sorted(templates), sorted(expressions), settings


TEMPLATES, EXPRESSIONS, SETTINGS = _collect()


def _names(parse: Callable[[str], Any], text: str) -> set[str]:
    try:
        return sandbox.usage_of(parse(text)).names
    except Exception:  # a broken template of the invalid playbooks: both paths refuse it
        return set()


INTAKE = compile_text((ROOT / "playbooks" / "intake.yaml").read_text(encoding="utf-8"))
STARTED = step.start(INTAKE, {"client_name": "Zoë Park"}, ctx()).instance


def _functions() -> dict[str, Any]:
    """A step's own built-in functions (``done``, ``add_duration``, the payer functions, ...),
    over a calendar of its own whose years are not computed yet (each is charged when first
    computed), so that the fast path and Jinja each meet the same calendar."""
    calendar = BusinessCalendar(lambda year: [dt.date(year, 7, 5), dt.date(year, 3, 8)])
    builtins = step._Step(INTAKE, STARTED, ctx(MONDAY, calendar=calendar), "ann").builtins
    return {name: builtins[name] for name in sandbox.FUNCTION_NAMES}


def _variables(names: set[str], value: Callable[[str], Any]) -> dict[str, Any]:
    """What a step gives: the built-in names, then ``value(name)`` for every other name."""
    variables = {name: value(name) for name in sorted(names)}
    variables.update({
        "settings": {**SETTINGS, "fee": 1.5, "nested": {"a": {"b": "deep"}}},
        "today": TODAY, "now": dt.datetime(2027, 3, 5, 9, 30, tzinfo=dt.UTC), "state": "open",
        "event": "go", "actor": "amy", "all_done": False,
        "instance": {"id": "I-1", "playbook": "intake", "started_on": TODAY},
        **_functions(),
    })
    return variables


# Each set gives every name a value of one kind; odd ones (lists, Decimal, a dict) send the
# fast path of templates back to Jinja, and a missing name makes both raise.
KINDS: dict[str, Callable[[str], Any]] = {
    "text": lambda name: f"{name} Zoë <b>&'\"{{{{ x }}}}",
    "int": len,
    "float": lambda name: len(name) / 4,
    "date": lambda name: TODAY - dt.timedelta(days=len(name)),
    "none": lambda name: None,
    "bool": lambda name: len(name) % 2 == 0,
    "odd": lambda name: [name, decimal.Decimal("1.10"), {"k": name}][len(name) % 3],
    "dict": lambda name: {"id": name, "name": name, "items": 3},
}


def _outcome(run: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What ``run(*args, **kwargs)`` gives or raises, and the work it charged, under a fresh
    budget."""
    return _outcome_within(limits.MAX_WORK, run, *args, **kwargs)


def _outcome_within(units: int, run: Callable[..., Any], *args: Any,
                    **kwargs: Any) -> tuple[Any, ...]:
    """``_outcome`` under a budget of ``units``."""
    budget = limits.Budget(units)
    token = limits._BUDGET.set(budget)
    try:
        value = run(*args, **kwargs)
        shown = value._undefined_message if isinstance(value, Undefined) else value
        result: tuple[Any, ...] = ("value", type(value).__name__, shown)
    except Exception as exc:
        result = ("error", type(exc).__name__, str(exc))
    finally:
        limits._BUDGET.reset(token)
    return (*result, budget.left)


def _compiled(compile: Callable[..., Any], text: str, fast: bool) -> Any:
    try:
        return compile(text, fast=fast)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _same(compile: Callable[..., Any], parse: Callable[[str], Any], text: str,
          call: Callable[[Any, dict[str, Any]], Any]) -> None:
    fast, jinja = _compiled(compile, text, True), _compiled(compile, text, False)
    if isinstance(jinja, str):
        assert fast == jinja
        return
    names = _names(parse, text)
    for kind, value in KINDS.items():
        assert _outcome(call, fast, _variables(names, value)) == _outcome(
            call, jinja, _variables(names, value)), (text, kind)
        if kind != "text":
            continue
        for name in names - set(_variables(set(), value)):
            fast_short, jinja_short = ({key: item for key, item in _variables(
                names, value).items() if key != name} for _ in range(2))
            assert _outcome(call, fast, fast_short) == _outcome(call, jinja, jinja_short), (
                text, kind, name)


def test_the_playbooks_have_templates_and_guards() -> None:
    """The collection finds what it is meant to compare."""
    assert len(TEMPLATES) > 200 and len(EXPRESSIONS) > 50
    assert "Run {{ employee }}'s yearly HIPAA refresher (due {{ refresh_due_on }}) and record " \
           "the date, topics and signature" in TEMPLATES


@pytest.mark.parametrize("text", TEMPLATES)
def test_templates_render_as_jinja_does(text: str) -> None:
    """Every template: the same text or error, and the same work charged."""
    _same(sandbox.compile_template, sandbox.parse_template, text,
          lambda render, variables: render(dict(variables)))


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_expressions_evaluate_as_jinja_does(text: str) -> None:
    """Every guard and lone ``{{ expression }}``: the same value or error, the same work."""
    _same(sandbox.compile_expression, sandbox.parse_expression, text,
          lambda evaluate, variables: evaluate(**variables))


@pytest.mark.parametrize(("text", "variables"), [
    ("Hi {{ missing }}", {}),
    ("{{ settings.missing }} days", {"settings": {"x": 1}}),
    ("{{ settings['missing'] }}", {"settings": {}}),
    ("{{ settings.items }}|{{ settings.keys }}", {"settings": {"items": 1, "keys": 2}}),
    ("{{ settings['items'] }}", {"settings": {"items": 1}}),
    ("{{ a.b.c }}", {"a": {"b": {"c": dt.datetime(2027, 1, 2, 3, 4)}}}),
    ("{{ a.b.c }}", {"a": {"b": "text"}}),
    ("{{ a.real }}/{{ a.imag }}", {"a": 3}),
    ("{{ a.upper }}", {"a": "x"}),
    ("{{ a[0] }}", {"a": ["x"]}),
    ("{{ a[0] }}", {"a": {0: "zero"}}),
    ("{{ a.__class__ }}", {"a": {}}),
    ("{{ a._x }}", {"a": {"_x": 1}}),
    ("{{ x }}", {"x": decimal.Decimal("1.50")}),
    ("{{ x }}", {"x": [1, 2]}),
    ("{{ x }}", {"x": "y" * (limits.MAX_RENDERED + 1)}),
    ("{{ x }}{{ x }}", {"x": "y" * (limits.MAX_RENDERED // 2 + 1)}),
    ("{{ range }}", {}),
    ("{{ 3 }} {{ 'a' }} {{ none }} {{ true }} {{ 1.5 }}{# note #}", {}),
])
def test_templates_left_to_jinja_fail_as_jinja_does(text: str, variables: dict[str, Any]) -> None:
    """A missing name or key, a dict's own attribute, an object that is not a plain dict, a
    value that is not plain, an output over the limit: the text or error Jinja gives."""
    fast = sandbox.compile_template(text)
    jinja = sandbox.compile_template(text, fast=False)
    assert _outcome(fast, dict(variables)) == _outcome(jinja, dict(variables))


# Shapes of the new constructs beyond the playbooks', run both ways like theirs (every kind of
# value, every name missing in turn).
SHAPES = [
    "{{ a.b ~ c['d'] ~ 3 ~ none }}",
    "{{ (a ~ b) if c is not none else (d if e is defined else f) }}",
    "{{ a if b.c is defined and b.c else a ~ '!' }}",
    "{{ a.b is none }} {{ c['d'] is not defined }} {{ e is undefined }}",
    "{{ 'x ' ~ a if a is defined }}",
    "{{ a if b == 'b' else c if d < 3 else e }}",
    "{{ a ~ b in c ~ d }}",
    "{{ a + 1 }} {{ b - c * 2 }} {{ -d }} {{ +e // 2 }} {{ a / 4 }} {{ b % 3 }} {{ c ** 2 }}",
    "{{ add_duration(today, a ~ ' days') if b is defined else c }}",
    "{{ done('intake_call') and a + 1 >= b }} {{ next_business_day(c) }} {{ days_since(d) }}",
    "{{ '%.2f' | format(a) }} {{ [a, b] | max }} {{ c | upper }} {{ d | default(e) }}",
    "{{ payer_terms(a or 'medicare', b).kind }} {{ settings.nested[c] }} {{ settings[d].e }}",
]


@pytest.mark.parametrize("text", SHAPES)
def test_shapes_of_the_new_constructs_render_as_jinja_does(text: str) -> None:
    """Nested ``~``, conditions and tests of lookup chains: the same text or error, the same
    work, with the fast path taken."""
    assert sandbox.compile_template(text).__module__ == "frontdesk.fastpath"
    _same(sandbox.compile_template, sandbox.parse_template, text,
          lambda render, variables: render(dict(variables)))


@pytest.mark.parametrize(("text", "variables"), [
    ("missing == 1", {}),
    ("x < 3", {"x": "text"}),
    ("x.y == 2", {"x": {"z": 1}}),
    ("x.items == 2", {"x": {"items": 2}}),
    ("not x or y", {"x": True}),
    ("x and y", {"x": False}),
    ("x in y", {"x": "a", "y": "b" * 1000}),
    ("x <= y", {"x": TODAY, "y": "text"}),
    ("x.real > 2", {"x": 3}),
    ("settings.limit", {"settings": {"limit": [1, 2]}}),
])
def test_expressions_left_to_jinja_fail_as_jinja_does(text: str,
                                                      variables: dict[str, Any]) -> None:
    """A missing name, a lookup off a plain dict, a comparison Python refuses: what Jinja
    gives, and the same work charged."""
    fast = sandbox.compile_expression(text)
    jinja = sandbox.compile_expression(text, fast=False)
    assert _outcome(fast, **variables) == _outcome(jinja, **variables)


def test_budget_runs_out_at_the_same_lookup() -> None:
    """A budget with room for some lookups only: the fast path runs out where Jinja does."""
    text = "{{ a.b }}{{ a.b }}{{ a.b }}"
    variables = {"a": {"b": "x" * 250}}
    fast, jinja = (sandbox.compile_template(text, fast=fast) for fast in (True, False))
    for left in range(0, 40):
        assert _outcome_within(left, fast, dict(variables)) == _outcome_within(
            left, jinja, dict(variables)), left


def test_simple_templates_and_guards_take_the_fast_path() -> None:
    """Text and lookups, and comparisons of lookups, are compiled to the fast path; a filter
    given the context, a test other than defined/undefined/none, a call with keywords or of a
    method, and a dict literal are not."""
    for fast in (sandbox.compile_template("Hi {{ a.b }}, {{ c['d'] }} {{ 3 }}"),
                 sandbox.compile_evaluator("a.b == 1 and not c or d <= e")):
        assert fast.__module__ == "frontdesk.fastpath"
    for jinja in ("a|map('upper')", "a|join(',')", "a is divisibleby 3", "f(x=1)", "f(*a)",
                  "{'k': a}", "(a, b)", "f(a).keys", "a.upper()", "f(a)(b)"):
        assert sandbox.compile_evaluator(jinja).__module__ == "frontdesk.sandbox", jinja
    for folded in ("{{ 'a' if 1 else 'b' }}", "{{ none is none }}", "{{ not 1 }}"):
        assert sandbox.compile_template(folded).__module__ == "frontdesk.sandbox"


def test_compiling_charges_what_jinja_charges() -> None:
    """Jinja renders a test of constants when compiling (under the running budget when a step
    compiles it); the fast path's look at the same tree charges nothing more."""
    for text in ("{{ 'x' is none }}", "{{ 'a' ~ b if b is defined }}"):
        fast = _outcome(sandbox.compile_template, text)
        jinja = _outcome(sandbox.compile_template, text, fast=False)
        assert (fast[0], fast[-1]) == (jinja[0], jinja[-1]) == ("value", jinja[-1])
    assert _outcome(sandbox.compile_template, "{{ 'x' is none }}")[-1] < limits.MAX_WORK


def test_concatenations_conditions_and_tests_take_the_fast_path() -> None:
    """``~``, ``A if B else C`` (and without ``else``), ``is defined``/``is not defined``/``is
    none`` run as plain Python, as in the refresher's reminder and intake's titles."""
    for fast in (
            sandbox.compile_template("({{ 'last training ' ~ last if last is defined else "
                                     "'none on record' }})"),
            sandbox.compile_template("Call {{ name }}{{ ' (' ~ phone ~ ')' if phone else '' }}"),
            sandbox.compile_evaluator("x is not defined and y.z is none or (a if b)")):
        assert fast.__module__ == "frontdesk.fastpath"


BIG = "y" * (limits.MAX_SEQUENCE // 2 + 1)


@pytest.mark.parametrize(("text", "variables"), [
    ("a ~ b ~ c", {"a": 1, "b": None, "c": TODAY}),
    ("a ~ '|' ~ b", {"a": [1, "x"], "b": {"k": decimal.Decimal("1.10")}}),
    ("a ~ b", {"a": 2.5, "b": True}),
    ("a ~ b", {"a": BIG, "b": BIG}),
    ("a ~ b", {"a": BIG, "b": "short"}),
    ("a ~ b", {"a": "x"}),
    ("a ~ b.c", {"a": "x", "b": {"d": 1}}),
    ("a if b else c", {"b": False, "c": 3}),
    ("a if b else c", {"a": 1, "b": True}),
    ("a if b else c", {"a": 1, "b": "", "c": None}),
    ("a if b", {"a": 1, "b": True}),
    ("a if b", {"a": 1, "b": False}),
    ("a if b", {"a": 1}),
    ("a if b else c", {"a": 1, "c": 2}),
    ("x is defined", {}),
    ("x is defined", {"x": None}),
    ("x is not defined", {"x": [1]}),
    ("x is undefined", {}),
    ("x is none", {}),
    ("x is none", {"x": None}),
    ("x is not none", {"x": "y" * 5000}),
    ("x.y is defined", {"x": {}}),
    ("x.y is defined", {"x": {"y": 0}}),
    ("x.y is defined", {"x": "text"}),
    ("x.y is defined", {}),
    ("x.y.z is defined", {"x": {}}),
    ("x['items'] is defined", {"x": {}}),
    ("x['k'] is defined", {"x": {}}),
    ("x[0] is defined", {"x": {}}),
    ("x[0] is defined", {"x": ["a"]}),
    ("range is defined", {}),
    ("(a ~ b) is none", {"a": "x", "b": "y"}),
    ("'last ' ~ x if x is defined else 'none'", {}),
    ("'last ' ~ x if x is defined else 'none'", {"x": TODAY}),
    ("'last ' ~ x if x is defined and x else y", {"x": ""}),
])
def test_new_expressions_give_what_jinja_gives(text: str, variables: dict[str, Any]) -> None:
    """Non-text operands of ``~`` and results over the limit, missing names in the branch not
    taken (and in the one taken), an ``if`` without ``else``, tests of missing names, keys and
    globals: the value or error Jinja gives, and the same work charged, in guards and in
    templates."""
    fast = sandbox.compile_expression(text)
    assert fast.__module__ == "frontdesk.sandbox"  # compile_expression's keyword wrapper
    assert _outcome(fast, **variables) == _outcome(sandbox.compile_expression(text, fast=False),
                                                   **variables)
    template = f"<{{{{ {text} }}}}>"
    assert sandbox.compile_template(template).__module__ == "frontdesk.fastpath"
    assert _outcome(sandbox.compile_template(template), dict(variables)) == _outcome(
        sandbox.compile_template(template, fast=False), dict(variables))


@pytest.mark.parametrize("variables", [
    {"a": {"b": "x" * 250}, "c": True, "d": None},
    {"a": {"b": "x" * 250}, "c": False},
    {"a": {"b": "x" * 250}, "c": True},  # runs out, or meets the missing d and goes to Jinja
])
def test_budget_runs_out_where_jinja_does_in_the_new_constructs(
        variables: dict[str, Any]) -> None:
    """A budget with room for only part of the work, at every amount: the fast path runs out
    (or gives what it charged back and goes to Jinja) exactly where Jinja does."""
    text = "{{ a.b ~ '-' ~ a.b if c else a.b }}{{ d is none }}{{ a.b ~ a.b if a.b is defined }}"
    fast, jinja = (sandbox.compile_template(text, fast=fast) for fast in (True, False))
    for left in range(0, 80):
        assert _outcome_within(left, fast, dict(variables)) == _outcome_within(
            left, jinja, dict(variables)), left


def _raises(error: Exception) -> Callable[..., Any]:
    def raising(*args: Any) -> Any:
        raise error

    return raising


def _flagged(**attributes: Any) -> Callable[..., Any]:
    def flagged(*args: Any) -> Any:
        return "called"

    flagged.__dict__.update(attributes)
    return flagged


BITS = limits.MAX_INT_BITS


@pytest.mark.parametrize(("text", "variables"), [
    ("a + 1", {"a": 2}), ("a + 1", {"a": 2.5}), ("a + b", {"a": "x", "b": "y"}),
    ("a + 1", {"a": "x"}), ("a + 1", {"a": True}), ("a + 1", {"a": None}), ("a + 1", {}),
    ("a - b", {"a": TODAY, "b": TODAY}), ("a + b", {"a": TODAY, "b": 1}),
    ("a + b", {"a": [1], "b": [2]}), ("a * b", {"a": 3, "b": 4.5}), ("a * b", {"a": "ab", "b": 3}),
    ("a / b", {"a": 1, "b": 0}), ("a // b", {"a": 7, "b": 0}), ("a % b", {"a": 7.5, "b": 0}),
    ("a // b", {"a": -7, "b": 2}), ("a % b", {"a": -7, "b": 2}), ("a / b", {"a": 7, "b": 2}),
    ("a ** b", {"a": 2, "b": 10}), ("a ** b", {"a": 2, "b": 101}), ("a ** b", {"a": 0, "b": -1}),
    ("a ** b", {"a": 2 ** 100, "b": 50}), ("a ** b", {"a": -8, "b": 0.5}),
    ("a ** b", {"a": 1e300, "b": 2}), ("a * b", {"a": 2 ** 4000, "b": 2 ** 200}),
    ("a + b", {"a": 2 ** BITS - 1, "b": 1}), ("a - b", {"a": 1 - 2 ** BITS, "b": 1}),
    ("a / b", {"a": 2 ** 4000, "b": 1}), ("a + b", {"a": BIG, "b": BIG}),
    ("a + b", {"a": "x" * 5000, "b": "y"}), ("-a", {"a": 3}), ("-a", {"a": "x"}),
    ("-a", {"a": True}), ("+a", {"a": 1.5}), ("-a", {}), ("- -a", {"a": 2 ** BITS}),
    ("-a + b * -c", {"a": 1, "b": 2, "c": 3.5}), ("(a + b) * c // d - e", {
        "a": 1, "b": 2, "c": 3, "d": 4, "e": 5}),
    ("a + 1 >= settings.m", {"a": 2, "settings": {"m": 3}}),
    ("f(a)", {"f": lambda x: x * 2, "a": 3}), ("f()", {"f": lambda: 1}),
    ("f(a, b ~ ' days')", {"f": lambda x, y: f"{x}+{y}", "a": TODAY, "b": 3}),
    ("f(a)", {"f": _raises(ValueError("no such date")), "a": 1}),
    ("f(a)", {"f": _raises(ZeroDivisionError("deep")), "a": 1}),
    ("f(a)", {"f": _raises(StopIteration()), "a": 1}),
    ("f(a)", {"f": _raises(limits.LimitError("a limit")), "a": 1}),
    ("f()", {"f": lambda: "y" * (limits.MAX_SEQUENCE + 1)}),
    ("f()", {"f": lambda: 2 ** BITS}), ("f(a)", {"f": lambda x: x, "a": limits.MAX_SEQUENCE + 1}),
    ("f(a)", {"f": lambda x: x, "a": "z" * 20_000}), ("f(a)", {"f": str.upper, "a": "x"}),
    ("f(a)", {"f": "text", "a": 1}), ("f(a)", {"a": 1}), ("f(a)", {"f": lambda x: x}),
    ("f(a)", {"f": _flagged(unsafe_callable=True), "a": 1}),
    ("f(a)", {"f": _flagged(jinja_pass_arg=None), "a": 1}),
    ("f(a).b", {"f": lambda x: {"b": x}, "a": 1}), ("f(a).b", {"f": lambda x: {"c": x}, "a": 1}),
    ("f(a)['keys']", {"f": lambda x: {"keys": x}, "a": 1}),
    ("f(g(a), a)", {"f": lambda x, y: x - y, "g": lambda x: x * 3, "a": 2}),
    ("'%.2f' | format(a)", {"a": 2.5}), ("'%.2f' | format(a)", {"a": "x"}),
    ("'%s' | format(a)", {"a": BIG}), ("[a, b] | min", {"a": TODAY, "b": dt.date(2020, 1, 1)}),
    ("[a, b] | max", {"a": 1, "b": "x"}), ("[a, 'b'] | max", {"a": "a"}),
    ("a | upper", {"a": "x"}), ("a | upper", {"a": 3}), ("a | int + 1", {"a": "12"}),
    ("a | default(b)", {"b": 1}), ("a | center(b)", {"a": "x", "b": limits.MAX_SEQUENCE + 1}),
    ("a | first", {"a": []}), ("a | length", {"a": {"k": 1}}),
    ("a[b]", {"a": {"k": 1}, "b": "k"}), ("a[b]", {"a": {"k": 1}, "b": "items"}),
    ("a[b]", {"a": {1: "x"}, "b": 1}), ("a[b]", {"a": {"k": 1}, "b": ["k"]}),
    ("a[b]", {"a": ["x", "y"], "b": 1}), ("a[b]", {"a": {True: 1}, "b": True}),
    ("a[b].c", {"a": {"k": {"c": 2}}, "b": "k"}), ("a.b[c]", {"a": {"b": {"k": 1}}, "c": "j"}),
    ("a in [b, 'x']", {"a": "x", "b": "y"}),
])
def test_arithmetic_calls_and_filters_give_what_jinja_gives(
        text: str, variables: dict[str, Any]) -> None:
    """Numbers, texts, booleans, None and dates as operands, division by zero, results over
    ``MAX_INT_BITS`` or the size limit, a function that raises (a limit too), returns too much,
    is not a plain function or is marked unsafe, filters given odd values, computed keys: the
    value or error Jinja gives and the same work, in a guard and in a template, through the
    fast path."""
    assert sandbox.compile_evaluator(text).__module__ == "frontdesk.fastpath"
    assert _outcome(sandbox.compile_expression(text), **variables) == _outcome(
        sandbox.compile_expression(text, fast=False), **variables)
    template = f"<{{{{ {text} }}}}>"
    assert sandbox.compile_template(template).__module__ == "frontdesk.fastpath"
    assert _outcome(sandbox.compile_template(template), dict(variables)) == _outcome(
        sandbox.compile_template(template, fast=False), dict(variables))


STEP_TEXT = ("{{ attempts + 1 }}|{{ done('intake_call') and attempts + 1 >= settings.m }}|"
             "{{ add_duration(today, settings.n ~ ' business days') }}|{{ '%.2f' | format(fee * "
             "2) }}|{{ [add_duration(today, '1 day'), today] | max }}|{{ -attempts // 2 }}")


@pytest.mark.parametrize("extra", [{}, {"later": TODAY}])
def test_budget_runs_out_where_jinja_does_in_arithmetic_and_calls(extra: dict[str, Any]) -> None:
    """A budget with room for only part of the work (a calendar year computed among it), at
    every amount: the fast path runs out exactly where Jinja does; with a lookup Jinja must do
    after the calendar year was computed (``later.year``), the year is charged once."""
    text = STEP_TEXT + ("{{ later.year }}" if extra else "")
    fast, jinja = (sandbox.compile_template(text, fast=fast) for fast in (True, False))
    assert fast.__module__ == "frontdesk.fastpath"

    def variables() -> dict[str, Any]:
        return {**_functions(), "attempts": 2, "today": TODAY, "fee": 1.25,
                "settings": {"m": 3, "n": 2}, **extra}

    whole = _outcome(jinja, variables())
    assert whole[0] == "value" and limits.MAX_WORK - whole[-1] > limits.CALENDAR_YEAR_COST
    assert _outcome(fast, variables()) == whole
    for left in range(0, limits.MAX_WORK - whole[-1] + 2):
        assert _outcome_within(left, fast, variables()) == _outcome_within(
            left, jinja, variables()), left


def test_sizes_and_weights_of_plain_values() -> None:
    """What the limits charge for the values a fast evaluation meets most (measured by their
    exact type first): text by its length, a number, a boolean, None or a date as one."""
    assert (limits.size("x" * 250), limits.weight("x" * 250)) == (250, 3)
    assert [limits.size(v) for v in (True, None, 1.5, TODAY, dt.datetime(2027, 1, 2))] == [1] * 5
    assert [limits.weight(v) for v in (True, None, 1.5, TODAY, 2 ** 30)] == [1] * 5
    assert limits.size(2 ** 30) == 11 and limits.size(-7) == 2
    assert (limits.size([TODAY, "ab", 3, None, {"k": False}]), limits.weight([TODAY, "ab"])) == (
        9, 3)
