"""Report conditions and measures compiled into one plain Python function each.

Every instance of a large store runs through these, so instead of a closure per condition
(a call each), a filter becomes one expression and all of a report's measures one function
returning every measure's contribution for an instance. The source is made only of fixed
templates: whatever the playbook gave (variable names, allowed values, the compiled guard
expressions and moments) is a constant the source names by its index (``K[3]``), never text
pasted into it, so no playbook can change what the generated code does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from ..model import Measure, ReportFilter
from .measures import Facts, GuardContext, Predicate, days_between, moment

NO_TASK = (None, False)  # a task the instance never had: not done, not on time
UNSET: tuple[Any, ...] = (None, "", [], {})  # what ``has`` does not count as set


def number(value: Any) -> Any:
    """``value`` when it is a number (not a bool), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


class Source:
    """The source of one generated function and the constants it names by index."""

    def __init__(self) -> None:
        self.constants: list[Any] = []

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def define(self, parameters: str, lines: Sequence[str]) -> Callable[..., Any]:
        """``def run(PARAMETERS): LINES`` over these constants."""
        namespace: dict[str, Any] = {"K": tuple(self.constants), "NO_TASK": NO_TASK,
                                     "UNSET": UNSET, "number": number}
        code = "".join(f"    {line}\n" for line in lines)
        exec(compile(f"def run({parameters}):\n{code}", "<report>", "exec"),  # noqa: S102
             namespace)  # safe: see the module's docstring
        found: Callable[..., Any] = namespace["run"]
        return found

    def function(self, body: str) -> Callable[[Facts], Any]:
        """``def run(f): V = f.vars; return BODY`` over these constants."""
        return self.define("f", ["V = f.vars", f"return {body}"])


def _instance_terms(spec: ReportFilter, source: Source) -> list[str]:
    """Conditions on the instance's status, outcome, state and variables."""
    c = source.constant
    terms: list[str] = []
    if spec.status:
        terms.append(f"f.status == {c(spec.status)}")
    if spec.outcome:
        terms.append(f"f.outcome in {c(frozenset(spec.outcome))}")
    if spec.state:
        terms.append(f"f.state in {c(frozenset(spec.state))}")
    terms += [f"V.get({c(var)}) not in UNSET" for var in spec.has]
    terms += [f"V.get({c(var)}) in UNSET" for var in spec.missing]
    terms += [f"V.get({c(var)}) in {c(allowed)}" for var, allowed in spec.equal]
    return terms


def _history_terms(spec: ReportFilter, tz: dt.tzinfo, source: Source) -> list[str]:
    """Conditions on events fired, tasks done and moments."""
    c = source.constant
    terms: list[str] = []
    if spec.event:
        terms.append(f"not {c(frozenset(spec.event))}.isdisjoint(f.events)")
    terms += [f"(f.tasks.get({c(task)}) or NO_TASK)[0] is not None" for task in spec.done]
    terms += [f"(f.tasks.get({c(task)}) or NO_TASK)[1]" for task in spec.on_time]
    if spec.before:
        first, second = (moment(m, tz) for m in spec.before)

        def before(f: Facts) -> bool:
            a, b = first(f), second(f)
            return a is not None and b is not None and a <= b
        terms.append(f"{c(before)}(f)")
    return terms


def condition(spec: ReportFilter, tz: dt.tzinfo, guards: GuardContext,
              source: Source) -> str | None:
    """``spec`` as one boolean expression (None: no condition, every instance), its guard
    expression last: the costly one runs only on the instances that got that far."""
    terms = [*_instance_terms(spec, source), *_history_terms(spec, tz, source)]
    if spec.when:
        terms.append(f"{source.constant(guards.guard(spec.when))}(f)")
    return f"({' and '.join(terms)})" if terms else None


def predicate(spec: ReportFilter, tz: dt.tzinfo, guards: GuardContext) -> Predicate | None:
    """One function for every condition of ``spec`` (None: every instance)."""
    source = Source()
    found = condition(spec, tz, guards, source)
    return None if found is None else source.function(f"bool{found}")


def _contribution(spec: Measure, tz: dt.tzinfo, guards: GuardContext, source: Source) -> str:
    """What one instance adds to a row of measure ``spec`` (None: nothing): 1 for a count,
    1 or 0 (in the share or not) for a share, the number for a sum, average or median."""
    if spec.kind == "count":
        value = "1"
    elif spec.kind == "share":
        share = condition(spec.share, tz, guards, source) if spec.share else None
        value = "1" if share is None else f"(1 if {share} else 0)"
    else:
        assert spec.quantity is not None
        if spec.quantity.var is not None:
            value = f"number(V.get({source.constant(spec.quantity.var)}))"
        else:
            assert spec.quantity.days is not None
            value = f"{source.constant(days_between(spec.quantity.days, tz))}(f)"
    where = condition(spec.where, tz, guards, source)
    return value if where is None else f"({value} if {where} else None)"


def contributions(measures: Sequence[Measure], tz: dt.tzinfo,
                  guards: GuardContext) -> Callable[[Facts], list[Any]]:
    """One function giving, for an instance, the contribution of each of ``measures``."""
    source = Source()
    items = [_contribution(spec, tz, guards, source) for spec in measures]
    return source.function(f"[{', '.join(items)}]")


def _key_lines(parts: Sequence[Callable[[Facts], Any] | str], none: Any,
               source: Source) -> list[str]:
    """Lines setting ``key``: per dimension a function's value or a variable's (missing or
    empty: ``none``; a list: its items joined by commas)."""
    c = source.constant
    lines: list[str] = []
    for i, part in enumerate(parts):
        if not isinstance(part, str):
            lines.append(f"k{i} = {c(part)}(f)")
            continue
        lines += [f"k{i} = V.get({c(part)})", f"if k{i} is None or k{i} == '':",
                  f"    k{i} = {c(none)}", f"elif isinstance(k{i}, list):",
                  f"    k{i} = ', '.join(map(str, k{i}))"]
    names = [f"k{i}" for i in range(len(parts))]
    lines.append(f"key = ({', '.join(names)}{',' if len(names) == 1 else ''})")
    return lines


def row_adder(parts: Sequence[Callable[[Facts], Any] | str], none: Any, rows: dict[Any, Any],
              new_row: Callable[[], Any], slots: Sequence[tuple[int, int]],
              medians: Sequence[tuple[int, int]]) -> Callable[[Facts, list[Any]], None]:
    """A function folding an instance into its row of a grouped table. The row's key has a
    value per dimension (``parts``: a function of the instance or a variable's name, see
    ``_key_lines``); ``new_row()`` starts a row. ``slots`` pairs each column with the index
    of its measure's contribution, ``medians`` the median columns with theirs."""
    source = Source()
    c = source.constant
    lines = ["V = f.vars", *_key_lines(parts, none, source), f"row = {c(rows)}.get(key)",
             "if row is None:", f"    row = {c(rows)}[key] = {c(new_row)}()",
             "counts, totals = row.counts, row.totals"]
    for slot, index in slots:
        lines += [f"value = values[{index:d}]", "if value is not None:",
                  f"    counts[{slot:d}] += 1", f"    totals[{slot:d}] += value"]
    for slot, index in medians:
        lines += [f"value = values[{index:d}]", "if value is not None:",
                  f"    row.values[{slot:d}][value] += 1"]
    return source.define("f, values", lines)
