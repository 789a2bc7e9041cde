"""The work budget is charged by what each operation touches (``engine.limits``): a template
making many cheap-looking calls over long texts or lists, comparisons that scan, slices, tests,
calendar helpers over centuries, or many templates in one change, runs out of budget in bounded
time and is refused (exit 5, naming the instance, the event and the template; nothing written),
while what playbooks write still renders the same."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from frontdesk import limits, sandbox
from frontdesk.errors import RefusedError
from frontdesk.loading.loader import content_hash, load_playbook_text
from frontdesk.model import Practice
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.compiled import compile_playbook
from frontdesk_testing import hang_guard, run_main
from hardening_support import clean_stderr_problems, store_dump

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

    from .conftest import Figures

HANG_GUARD = 30  # seconds: a run-away fails the test instead of hanging it




LONG = "{% set s = 'ab' * 49000 %}"
WORDS = "{% set w = ('a ' * 49000).split() %}"
LOOP = "{% for i in range(10000) %}{% for j in range(25) %}BODY{% endfor %}{% endfor %}"

# Each runs 250,000 times an operation over a text of 98,000 characters or a list of 49,000
# words: seconds to minutes when each is charged one unit, whatever it touches.
COSTLY = {
    "str-count": LONG + LOOP.replace("BODY", "{% if s.count('b') %}{% endif %}"),
    "str-upper": LONG + LOOP.replace("BODY", "{% if s.upper() %}{% endif %}"),
    "str-in": LONG + LOOP.replace("BODY", "{% if 'zz' in s %}{% endif %}"),
    "str-equal": LONG + "{% set t = 'ab' * 49000 %}" + LOOP.replace(
        "BODY", "{% if s == t %}{% endif %}"),
    "str-test-in": LONG + LOOP.replace("BODY", "{% if 'zz' is in s %}{% endif %}"),
    "str-test-lower": LONG + LOOP.replace("BODY", "{% if s is lower %}{% endif %}"),
    "list-slice": WORDS + LOOP.replace("BODY", "{% if w[1:] %}{% endif %}"),
    "loop-over-slices": WORDS + LOOP.replace("BODY", "{% for x in w[1:] if false %}{% endfor %}"),
    "loop-over-scans": LONG + LOOP.replace(
        "BODY", "{% for x in [1] if 'zz' in s %}{% endfor %}"),
    "list-count": WORDS + LOOP.replace("BODY", "{% if w.count('b') %}{% endif %}"),
    "list-in": WORDS + LOOP.replace("BODY", "{% if 'b' in w %}{% endif %}"),
    "list-length-filter": WORDS + LOOP.replace("BODY", "{% if w|length %}{% endif %}"),
    "list-sort": WORDS + LOOP.replace("BODY", "{% if w|sort|first %}{% endif %}"),
    "list-join": WORDS + LOOP.replace("BODY", "{% if w|join %}{% endif %}"),
    "str-split": "{% set s = 'a ' * 49000 %}" + LOOP.replace(
        "BODY", "{% if s.split() %}{% endif %}"),
    "range-list": LOOP.replace("BODY", "{% if range(10000)|list %}{% endif %}"),
    "method-calls": LOOP.replace("BODY", "{% if 'a'.upper() %}{% endif %}"),
    "select-in-guard": "{{ " + " + ".join(
        ["(range(10000)|map('string')|select('in', 'ab' * 49000)|list|length)"] * 25) + " }}",
}


@pytest.mark.parametrize("name", sorted(COSTLY))
def test_costly_template_runs_out_of_budget(name: str, figures: Figures) -> None:
    """Refused with the budget's ``LimitError``, in bounded time."""
    render = sandbox.compile_template(COSTLY[name])
    began = time.perf_counter()
    with hang_guard(), pytest.raises(limits.LimitError, match="work budget"):
        render({})
    figures.add("costly", f"{name}: refused after {time.perf_counter() - began:.2f} s")


@pytest.mark.parametrize(("text", "expected"), [
    ("{{ 'abcdef'[1:4] }} {{ [1, 2, 3, 4][::2] }} {{ 'abc'[:-1] }}", "bcd [1, 3] ab"),
    ("{{ 'x' in 'xyz' }} {{ 'b' not in ['a'] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }}",
     "True True True False"),
    ("{% set a = 'q' %}{{ a == a }} {{ a != 'q' }} {{ 'q' is in ['q'] }}",
     "True False True"),
    ("{{ items | select('in', 'abc') | join }} {{ items[1:] | length }}", "abc 2"),
])
def test_charged_forms_keep_their_meaning(text: str, expected: str) -> None:
    """Slices, comparisons (chained ones too) and tests give what Jinja gives."""
    context = {"items": ["a", "b", "c"]}
    assert sandbox.compile_template(text)(context) == expected
    plain = sandbox.environment().from_string(text).render(context)
    assert plain == expected


def test_chained_comparison_short_circuits() -> None:
    """``a < b < c`` stops at the first false pair, as Python's does."""
    evaluate = sandbox.compile_expression("1 > 2 > missing")
    assert evaluate() is False


def test_ordinary_evaluation_is_cheap() -> None:
    """A guard and a title of the kind playbooks write use a few dozen units at most."""
    budget = limits.Budget()

    def run() -> None:
        sandbox.compile_expression("carc in ['16', '96'] and amount >= limit")(
            carc="16", amount=120, limit=100)
        sandbox.compile_template("Claim {{ claim_id }} ({{ carc }}), due {{ due }}")(
            {"claim_id": "C1", "carc": "16", "due": dt.date(2026, 1, 5)})

    token = limits._BUDGET.set(budget)
    try:
        run()
    finally:
        limits._BUDGET.reset(token)
    assert limits.MAX_WORK - budget.left < 200


# -- in a step ---------------------------------------------------------------------------------
NY = ZoneInfo("America/New_York")
STEP_PLAYBOOK = """
playbook: costly-step
version: 1
title: Costly steps
roles: [clerk]
initial: a
states:
  a:
    on:
      many: {to: many}
      span: {to: span}
  many:
    tasks:
TASKS
  span:
    enter:
      - set: {days: "{{ business_days_between('0001-01-02', '9999-12-30') }}"}
"""
# Each title spends about a third of a budget: one step cannot spend thirty budgets.
TITLE = ("{% for i in range(10000) %}{% for j in range(3) %}{% if 'a'.upper() %}{% endif %}"
         "{% endfor %}{% endfor %}T")


def step_playbook() -> Any:
    tasks = "\n".join(f"      - {{id: t{n}, title: \"{TITLE}\"}}" for n in range(30))
    text = STEP_PLAYBOOK.replace("TASKS", tasks)
    loaded = load_playbook_text(text, "costly.yaml")
    assert not loaded.errors, [i.format() for i in loaded.errors]
    return compile_playbook(loaded.require(), content_hash(text), text)


def step_context() -> step.RunContext:
    counter = itertools.count(1)
    return step.RunContext(now=dt.datetime(2026, 1, 5, 9, 0, tzinfo=NY), tz=NY,
                           calendar=BusinessCalendar(package_holidays("US")),
                           practice=Practice(), actor="ann",
                           new_id=lambda: f"inst{next(counter)}")


@pytest.mark.parametrize(("event", "what"), [("many", "task 't"), ("span", "set 'days'")])
def test_one_change_shares_one_budget(event: str, what: str, figures: Figures) -> None:
    """Thirty titles of a third of a budget each, or a business-day count over eight thousand
    years of holidays: the change is refused, naming the instance, the event and the
    template, in bounded time."""
    cp = step_playbook()
    inst = step.start(cp, {}, step_context()).instance
    began = time.perf_counter()
    with hang_guard(), pytest.raises(RefusedError) as info:
        step.fire(cp, inst, event, {}, step_context())
    message = info.value.message
    assert message.startswith(f"instance '{inst.id}', event '{event}': {what}"), message
    assert "work budget" in message
    figures.add("costly", f"step '{event}': refused after {time.perf_counter() - began:.2f} s")


# -- through the CLI -----------------------------------------------------------------------------
CLI_PLAYBOOK = """\
playbook: costly-cli
version: 1
title: Costly templates through the CLI
roles: [clerk]
initial: a
states:
  a:
    on:
      count:
        to: b
        set:
          hits: "LOOP"
      scan:
        - when: "GUARD"
          to: b
  b:
    on:
      back: {to: a}
"""
COUNT_LOOP = ("{% set s = 'ab' * 49000 %}{% for i in range(10000) %}{% for j in range(25) %}"
              "{% if s.count('b') %}{% endif %}{% endfor %}{% endfor %}done")
SCAN_GUARD = " + ".join(
    ["(range(10000)|map('string')|select('in', 'ab' * 49000)|list|length)"] * 25) + " > 0"


@pytest.fixture(scope="module")
def costly_home(tmp_path_factory: pytest.TempPathFactory,
                make_frontdesk: Callable[..., Frontdesk]) -> Frontdesk:
    fd = make_frontdesk(tmp_path_factory.mktemp("costly"))
    text = CLI_PLAYBOOK.replace("LOOP", COUNT_LOOP).replace("GUARD", SCAN_GUARD)
    Path(fd.playbooks / "costly-cli.yaml").write_text(text, "utf-8")
    return fd


def cli(fd: Frontdesk, *args: str) -> tuple[int, str, str]:
    result = run_main(["--playbooks", str(fd.playbooks), *args], fd.env())
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(("event", "what"), [("count", "set 'hits'"), ("scan", "guard 'when'")])
def test_costly_template_refused_through_the_cli(costly_home: Frontdesk, event: str, what: str,
                                                 figures: Figures) -> None:
    """``fire`` exits 5 naming the instance, the event and the template; the audit head does
    not move and the store is byte for byte what it was."""
    fd = costly_home
    code, out, err = cli(fd, "start", "costly-cli")
    assert code == 0, err
    instance = out.strip()
    head = cli(fd, "audit", "head")
    before = store_dump(fd.db)
    began = time.perf_counter()
    with hang_guard():
        code, out, err = cli(fd, "fire", instance, event)
    elapsed = time.perf_counter() - began
    assert code == 5, (out, err)
    assert not clean_stderr_problems(err, code), err
    assert err.startswith(f"frontdesk: error: instance '{instance}', event '{event}': {what}"), err
    assert "work budget" in err
    assert cli(fd, "audit", "head") == head
    assert store_dump(fd.db) == before
    figures.add("costly", f"fire '{event}' through the CLI: exit 5 after {elapsed:.2f} s")
