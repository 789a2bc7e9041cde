"""The sandbox's limits (``engine.limits``) in-process: ordinary templates still work, and each
limit refuses before the large value is built."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from frontdesk import limits, sandbox
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

CONTEXT: dict[str, Any] = {"client": "Zoë", "amount": 1234.5, "items": ["a", "b", "c"],
                           "today": dt.date(2026, 1, 5), "count": 3}


@pytest.mark.parametrize(("text", "expected"), [
    ("Call {{ client }}", "Call Zoë"),
    ("{{ '%.2f' % amount }}", "1234.50"),
    ("{{ '%s owes %d' % (client, count) }}", "Zoë owes 3"),
    ("{{ '{:>6}|{}'.format(client, count) }}", "   Zoë|3"),
    ("{{ items|join(', ') }}", "a, b, c"),
    ("{% for i in items %}{{ loop.index }}{{ i }}{% endfor %}", "1a2b3c"),
    ("{{ client ~ '-' ~ count }}", "Zoë-3"),
    ("{{ range(3)|list }}", "[0, 1, 2]"),
    ("{{ (client * 3)|upper }}", "ZOËZOËZOË"),
    ("{{ today.strftime('%d.%m.%Y') }}", "05.01.2026"),
    ("{{ client|center(9) }}", "   Zoë   "),
    ("{{ 'a-b'.replace('-', '+') }}", "a+b"),
    ("{{ 2 ** 10 }} {{ 7 // 2 }} {{ -count }}", "1024 3 -3"),
    ("{% set s = client ~ '!' %}{{ s }}", "Zoë!"),
    ("{{ items|map('upper')|join }}", "ABC"),
    ("{{ 'x y'|wordwrap(1) }}", "x\ny"),
])
def test_ordinary_templates_render(text: str, expected: str) -> None:
    """What playbooks write still renders the same."""
    assert sandbox.compile_template(text)(dict(CONTEXT)) == expected


@pytest.mark.parametrize(("source", "values"), [
    ("a + 1 >= b", {"a": 1, "b": 2}), ("[x, 2] | max", {"x": 5}),
    ("'%s-%s' % (a, b)", {"a": "x", "b": 3}), ("a ~ b", {"a": "x", "b": 3}),
])
def test_expressions_evaluate_as_jinja_does(source: str, values: dict[str, Any]) -> None:
    """A compiled guard gives what Jinja's own ``compile_expression`` gives."""
    jinja = sandbox.environment().compile_expression(source, undefined_to_none=False)
    assert sandbox.compile_expression(source)(**values) == jinja(**values)


def test_undefined_names_raise() -> None:
    """Strict undefined: a missing name in a guard or a template is an error, not a blank."""
    with pytest.raises(UndefinedError):
        sandbox.compile_expression("missing + 1")()
    with pytest.raises(UndefinedError):
        sandbox.compile_template("Hi {{ missing }}")({})


@pytest.mark.parametrize("expression", [
    "'a' * 100001",
    "['a'] * 100001",
    "'x' * 60000 + 'y' * 60000",
    "2 ** 101",
    "(2 ** 100) ** 50",
    "'%0200000d' % 1",
    "'{:>200000}'.format(1)",
    "'ab'.center(100001)",
    "('x' * 50000).expandtabs(3) ~ ('\t' * 50000).expandtabs(3)",
    "('a' * 1000).replace('a', 'b' * 1000)",
    "range(100001)",
    "range(1000)|join('x' * 1000)",
    "client.translate({})",
    "items.append(1)",
])
def test_limits_refuse_before_building(expression: str) -> None:
    """Each of these is refused with a SecurityError (exit 5 at run time)."""
    evaluate = sandbox.compile_expression(expression)
    with pytest.raises(SecurityError):
        evaluate(**CONTEXT)


def test_work_budget_is_per_evaluation() -> None:
    """A loop over 10,000 items is fine once and again (the budget is fresh each time), but
    nested loops of 10^8 steps stop at the budget."""
    fine = sandbox.compile_template("{% for i in range(10000) %}{% endfor %}ok")
    assert fine({}) == "ok" and fine({}) == "ok"
    nested = sandbox.compile_template(
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}")
    with pytest.raises(limits.LimitError, match="steps"):
        nested({})


def test_output_limit() -> None:
    """Output past MAX_RENDERED characters is refused."""
    flood = sandbox.compile_template("{% for i in range(2000) %}{{ 'x' * 100 }}{% endfor %}")
    with pytest.raises(SecurityError, match="output"):
        flood({})


@pytest.mark.parametrize("text", [
    "{% macro f() %}{% endmacro %}",
    "{% include 'x' %}",
    "{% set x %}y{% endset %}",
    "{% for x in [] recursive %}{% endfor %}",
])
def test_forbidden_statements(text: str) -> None:
    """Statements a playbook may not use are named by ``forbidden`` and refused at compile."""
    assert sandbox.forbidden(sandbox.parse_template(text))
    with pytest.raises(SecurityError):
        sandbox.compile_template(text)


def test_depth_limit_is_a_syntax_error() -> None:
    """Deep nesting is a syntax error (validation reports it with its line), not a crash."""
    with pytest.raises(TemplateSyntaxError):
        sandbox.parse_expression("(" * 1000 + "1" + ")" * 1000)
    with pytest.raises(TemplateSyntaxError):
        sandbox.parse_expression(" or ".join(["a"] * 100))
    assert sandbox.parse_expression(" or ".join(["a"] * 30)) is not None
