"""Size and work limits for untrusted templates and guards, used by ``engine.sandbox``.

A playbook may come from someone the practice has never met, so what its expressions may build
is bounded *before* it is built: a string or list that would be too large is refused by
estimating the result of ``*``, ``+``, ``%``, ``**``, string methods and filters from their
operands, never by building it and measuring afterwards (a gigabyte string would already have
been allocated). Work is bounded by a budget of work units charged for every operation, call,
filter, test, comparison and loop iteration by what it costs: a fixed part for the sandbox's own
checks, plus the size of every value it touches (the receiver and arguments of a call, the
operands of a comparison, the value a filter or test gets, and what an operator, call, filter or
slice builds), so a template cannot spend seconds on a few hundred thousand cheap-looking calls
over a long text. The runtime gives each step one budget that all its evaluations share
(``with_budget``). Every refusal is a ``SecurityError``, which the runtime turns into exit 5
naming the instance and event.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2.exceptions import SecurityError

MAX_RENDERED = 100_000  # characters a template may render
MAX_RANGE = 10_000  # items a range() may produce
MAX_SEQUENCE = 100_000  # total size of any value built: characters plus items, nested included
MAX_INT_BITS = 4_096  # integers above this many bits are refused (about 1,200 digits)
MAX_EXPONENT = 100  # the right operand of **
MAX_WORK = 1_000_000  # work units per step, or per evaluation outside one (see Budget)
MAX_DEPTH = 64  # nesting of an expression's syntax tree

# What a work unit is: about one iteration of a ``{% for %}`` loop, roughly a microsecond. The
# fixed costs below are the sandbox's overhead of each kind of operation measured against it
# (CPython 3.11, Jinja2 3.1: a loop iteration ~1.4 us, an attribute ~12 us, an operator ~9 us,
# a filter ~11 us, a method call ~22 us on a loaded 2-core machine), rounded down; what an
# operation touches is charged on top (``weight``). ``tests/hardening/test_costly_templates.py``
# checks that the budget runs out within a bounded time for each kind.
LOOKUP_COST = 4  # an attribute or an item, through the sandbox's safety checks
OPERATOR_COST = 4  # an arithmetic operator or a unary sign
FILTER_COST = 4  # a filter or a test
CALL_COST = 10  # a call: the sandbox's checks of the callable, its arguments and its result
CHARS_PER_UNIT = 100  # characters of text scanned or built per work unit
CALENDAR_YEAR_COST = 2_000  # a year of the business calendar computed (holidays: ~2-5 ms)

# Filters that are about HTML or randomness, not about a practice's routines; a playbook that
# uses one gets a located "no filter named" error at validation.
REMOVED_FILTERS = frozenset({"tojson", "pprint", "urlize", "xmlattr", "random"})


class LimitError(SecurityError):
    """A value or an evaluation went over one of the limits above."""


def too_large(what: str) -> LimitError:
    return LimitError(f"{what} would be larger than {MAX_SEQUENCE} characters or items")


# -- measuring ---------------------------------------------------------------------------------
_CONTAINERS = (dict, list, tuple, set, frozenset)
_SCALARS = frozenset({bool, float, type(None), dt.date, dt.datetime})  # size 1, weight 1


def _measure(value: Any, size_limit: int, weight_limit: int) -> tuple[int, int]:
    """``(size, weight)`` of ``value`` in one walk, which stops once either is over its limit.

    The size is the characters of strings plus the items of containers, nested included,
    roughly a bound on ``len(str(value))``. The weight is the work units of touching the
    value: one per value walked (a container and each of its items, nested included) plus one
    per ``CHARS_PER_UNIT`` characters of its strings; walking costs about as much as it
    charges."""
    kind = type(value)
    if kind is str:  # the most common values first, by their exact type: no walk
        return len(value), 1 + len(value) // CHARS_PER_UNIT
    if kind in _SCALARS:
        return 1, 1
    if not isinstance(value, _CONTAINERS):  # most other values: one step, no walk
        if isinstance(value, str | bytes):
            return len(value), 1 + len(value) // CHARS_PER_UNIT
        if isinstance(value, int) and not isinstance(value, bool):
            return value.bit_length() // 3 + 1, 1
        return 1, 1
    return _walk(value, size_limit, weight_limit)


def _walk(value: Any, size_limit: int, weight_limit: int) -> tuple[int, int]:
    """``_measure`` of a container."""
    total = units = chars = 0
    stack = [value]
    while stack and total <= size_limit and units + chars // CHARS_PER_UNIT <= weight_limit:
        item = stack.pop()
        units += 1
        if isinstance(item, str | bytes):
            total += len(item)
            chars += len(item)
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 1
            stack.extend(item)
        else:
            total += 1  # dates, numbers, functions, generators (never consumed here)
    return total, units + chars // CHARS_PER_UNIT


def size(value: Any, limit: int = MAX_SEQUENCE) -> int:
    """The size of ``value`` (see ``_measure``). Stops counting once over ``limit``."""
    return _measure(value, limit, MAX_WORK)[0]


def weight(value: Any, limit: int = MAX_WORK) -> int:
    """The work units of touching ``value`` (see ``_measure``). Stops counting once over
    ``limit``."""
    return _measure(value, sys.maxsize, limit)[1]


def check_result(value: Any, what: str) -> Any:
    """``value`` when it is within the limits, else ``LimitError``; what building it cost is
    charged (its weight)."""
    if isinstance(value, int) and not isinstance(value, bool) and (
            value.bit_length() > MAX_INT_BITS):
        raise LimitError(f"{what}: a number over {MAX_INT_BITS} bits is not allowed")
    total, units = _measure(value, MAX_SEQUENCE, MAX_WORK)
    if total > MAX_SEQUENCE:
        raise too_large(what)
    charge(units)
    return value


def check_rendered(value: Any) -> Any:
    """``value``, about to be rendered by a ``{{ }}``, when it is within ``MAX_RENDERED``;
    rendering it is charged (its weight, plus one)."""
    total, units = _measure(value, MAX_RENDERED, MAX_WORK)
    if total > MAX_RENDERED:
        raise output_too_long()
    charge(1 + units)
    return value


def output_too_long() -> LimitError:
    """The error of a template whose output would be over ``MAX_RENDERED`` characters."""
    return LimitError(f"template output over {MAX_RENDERED} characters")


def _need(estimate: int, what: str) -> None:
    if estimate > MAX_SEQUENCE:
        raise too_large(what)


# -- the work budget ---------------------------------------------------------------------------
class Budget:
    """Work units left for one step (or one evaluation outside a step), and how many of the
    units charged so far were for work kept for later (``charge_kept``)."""

    def __init__(self, units: int = MAX_WORK) -> None:
        self.left = units
        self.kept = 0

    def charge(self, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            raise LimitError(f"the evaluation goes over the work budget of {MAX_WORK} steps "
                             "(the templates and guards of one change share it)")


_BUDGET: ContextVar[Budget | None] = ContextVar("frontdesk_budget", default=None)


def charge(units: int = 1) -> None:
    """Charge the running evaluation (no-op outside one, e.g. in tests of a filter)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(units)


def charge_kept(units: int) -> None:
    """``charge(units)`` for work whose result is kept once done (a year of the business
    calendar, cached): ``with_budget_or`` never gives these units back, since the evaluation
    run again after a ``Retry`` finds that work done and does not charge it again."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(units)
        budget.kept += units


def charge_for(*values: Any, base: int = 1) -> None:
    """Charge ``base`` units plus the ``weight`` of each of ``values``."""
    budget = _BUDGET.get()
    if budget is None:
        return
    units = base
    for value in values:
        units += weight(value, budget.left - units)
    budget.charge(units)


def with_budget(run: Callable[[], Any]) -> Any:
    """Run ``run`` under the budget of the running step, or a fresh budget of ``MAX_WORK``
    units when there is none (the runtime opens one per step: ``runtime.step``)."""
    if _BUDGET.get() is not None:
        return run()
    token = _BUDGET.set(Budget())
    try:
        return run()
    finally:
        _BUDGET.reset(token)


def apart(run: Callable[[], Any]) -> Any:
    """``run()`` under a fresh budget of its own: what it charges is not the running step's
    (for work done when compiling, which Jinja does outside any budget the first time)."""
    token = _BUDGET.set(Budget())
    try:
        return run()
    finally:
        _BUDGET.reset(token)


class Retry(Exception):  # noqa: N818 -- a signal, not an error
    """Raised by a fast evaluation that cannot finish the way the slow one would: what it
    charged is given back and the slow one runs instead (``with_budget_or``)."""


def with_budget_or(run: Callable[[Any], Any], otherwise: Callable[[Any], Any],
                   argument: Any) -> Any:
    """``with_budget(run(argument))``; when ``run`` raises ``Retry``, the units it charged are
    given back (but those of ``charge_kept``) and ``otherwise(argument)`` runs under the same
    budget, from the start: what it charges then adds up to what it alone would have
    charged."""
    budget = _BUDGET.get()
    if budget is None:
        return with_budget(lambda: with_budget_or(run, otherwise, argument))
    left, kept = budget.left, budget.kept
    try:
        return run(argument)
    except Retry:
        budget.left = left - (budget.kept - kept)
        return otherwise(argument)


def counted(items: Iterable[Any]) -> Iterator[Any]:
    """``items`` charging one unit per item (the iterable of every ``{% for %}``)."""
    for item in items:
        charge()
        yield item


def bounded_list(items: Iterable[Any], what: str) -> list[Any]:
    """``items`` as a list, refused once it holds more than ``MAX_SEQUENCE`` items."""
    if isinstance(items, list | tuple):
        return list(items)
    result = []
    for item in items:
        charge()
        result.append(item)
        if len(result) > MAX_SEQUENCE:
            raise too_large(what)
    return result


# -- formatting --------------------------------------------------------------------------------
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)
_NUMBERS = re.compile(r"\d+")


def format_estimate(template: str, values: Iterable[Any], style: str) -> int:
    """A bound on the length of ``template % values`` (``style='%'``) or
    ``template.format(*values)`` (``style='{'``); refuses ``*`` widths and nested fields."""
    fields = 0
    widths = 0
    if style == "%":
        for match in _PERCENT.finditer(template):
            if match.group(3) == "%":
                continue
            if "*" in (match.group(1), match.group(2)):
                raise LimitError("'*' widths in a format are not allowed")
            fields += 1
            widths += sum(int(n) for n in (match.group(1), match.group(2)) if n)
    else:
        for _literal, name, spec, _conversion in string.Formatter().parse(template):
            if name is None:
                continue
            if spec and "{" in spec:
                raise LimitError("nested fields in a format are not allowed")
            fields += 1
            widths += sum(int(n) for n in _NUMBERS.findall(spec or "")[:2])
    largest = max((size(v) for v in values), default=0)
    return len(template) + fields * largest + widths


def _values_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    values = list(args) + list(kwargs.values())
    for value in list(values):
        if isinstance(value, tuple | list):
            values.extend(value)
        elif isinstance(value, dict):
            values.extend(value.values())
    return values


# -- operators ---------------------------------------------------------------------------------
def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left <operator> right`` when its result would be over the limits."""
    charge(OPERATOR_COST)
    check = _BINOP_CHECKS.get(operator)
    if check is not None:
        check(left, right)


def _check_times(left: Any, right: Any) -> None:
    """``*``: a repeated string or list, or a product of integers."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            _need(size(seq) * max(times, 0), "the result of '*'")
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise LimitError(f"the result of '*' would be over {MAX_INT_BITS} bits")


def _check_power(left: Any, right: Any) -> None:
    """``**``: a bounded exponent, and a bounded integer result."""
    if not (isinstance(left, int | float) and isinstance(right, int | float)):
        return
    if abs(right) > MAX_EXPONENT:
        raise LimitError(f"exponents above {MAX_EXPONENT} are not allowed")
    if isinstance(left, int) and isinstance(right, int) and right > 0 and (
            left.bit_length() * right > MAX_INT_BITS):
        raise LimitError(f"the result of '**' would be over {MAX_INT_BITS} bits")


def _check_plus(left: Any, right: Any) -> None:
    """``+``: two strings or lists joined."""
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        _need(size(left) + size(right), "the result of '+'")


def _check_percent(left: Any, right: Any) -> None:
    """``%``: a string formatted with a value, a tuple or a mapping of values."""
    if not isinstance(left, str):
        return
    values = right if isinstance(right, tuple) else (right,)
    values = tuple(right.values()) if isinstance(right, dict) else values
    _need(format_estimate(left, values, "%"), "the result of '%'")


_BINOP_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "*": _check_times, "**": _check_power, "+": _check_plus, "%": _check_percent,
}


# -- calls: string methods ---------------------------------------------------------------------
# Receivers whose methods may scan or copy them (``s.count``, ``items.index``, ``d.items``).
_SCANNED = (str, bytes, list, tuple, dict, set, frozenset)

_SHRINKING = frozenset({
    "capitalize", "casefold", "count", "encode", "endswith", "find", "index", "isalnum",
    "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
    "isprintable", "isspace", "istitle", "isupper", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "swapcase", "title", "upper", "decode", "hex",
})


def _replace_estimate(text: str | bytes, old: Any, new: Any, count: Any = -1) -> int:
    old_len = len(old) if isinstance(old, str | bytes) else 1
    hits = len(text) + 1 if old_len == 0 else len(text) // old_len
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) if isinstance(new, str | bytes) else 1)


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Charge a call by what it touches (its receiver, when a method of text or a container,
    and its arguments) and refuse one whose result would be over the limits; returns the
    (possibly materialised) positional arguments to call with."""
    bound = getattr(obj, "__wrapped__", obj)  # str.format comes wrapped by the sandbox
    owner = getattr(bound, "__self__", None)
    touched = (owner,) if isinstance(owner, _SCANNED) else ()
    charge_for(*touched, *args, *kwargs.values(), base=CALL_COST)
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SEQUENCE:
            raise LimitError(f"a number above {MAX_SEQUENCE} is not allowed as an argument")
    if not isinstance(owner, str | bytes):
        return args
    name = getattr(bound, "__name__", "")
    what = f"the result of '.{name}()'"
    if name in _SHRINKING:
        return args
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args and isinstance(args[0], int) else 0
        _need(max(len(owner), width), what)
    elif name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else kwargs.get("tabsize", 8)
        _need(len(owner) * max(int(tab), 1), what)
    elif name == "replace":
        _need(_replace_estimate(owner, *args, **kwargs), what)
    elif name == "join":
        items = bounded_list(args[0], what) if args else []
        _need(size(items) + len(items) * len(owner), what)
        return (items, *args[1:])
    elif name in ("format", "format_map") and isinstance(owner, str):
        values = _values_of(args, kwargs)
        _need(format_estimate(owner, values, "{"), what)
    else:
        raise LimitError(f"the string method '{name}' is not allowed")
    return args


# -- filters -----------------------------------------------------------------------------------
def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str,
         default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _filter_estimate(name: str, value: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> int:
    """A bound on the size of what filter ``name`` returns for ``value`` and its arguments."""
    if name == "center":
        width = _arg(args, kwargs, 0, "width", 80)
        return max(size(value), width if isinstance(width, int) else 0)
    if name == "indent":
        width = _arg(args, kwargs, 0, "width", 4)
        per_line = len(width) if isinstance(width, str) else int(width or 0)
        lines = str(value).count("\n") + 2 if isinstance(value, str) else 2
        return size(value) + lines * per_line
    if name == "wordwrap":
        width = max(int(_arg(args, kwargs, 0, "width", 79) or 1), 1)
        wrap = _arg(args, kwargs, 2, "wrapstring", "\n")
        return size(value) + (size(value) // width + 1) * len(str(wrap or "\n"))
    if name == "replace" and isinstance(value, str):
        return _replace_estimate(value, *args, **kwargs)
    if name == "format" and isinstance(value, str):
        return format_estimate(value, _values_of(args, kwargs), "%")
    if name in ("batch", "slice"):
        count = _arg(args, kwargs, 0, "linecount" if name == "batch" else "slices", 1)
        return size(value) + (count if isinstance(count, int) else 0)
    if name == "truncate":
        end = _arg(args, kwargs, 2, "end", "...")
        return min(size(value), MAX_SEQUENCE) + len(str(end))
    return 0


def guard_filter(name: str, function: Callable[..., Any],
                 pass_arg: bool) -> Callable[..., Any]:
    """``function`` (a Jinja2 filter) with its result size estimated before it runs, its work
    charged and its result checked."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        lead, rest = (args[:1], args[1:]) if pass_arg else ((), args)
        if not rest:
            return function(*args, **kwargs)
        value, extra = rest[0], rest[1:]
        charge_for(value, *extra, *kwargs.values(), base=FILTER_COST)
        for item in (*extra, *kwargs.values()):
            if isinstance(item, int) and not isinstance(item, bool) and (
                    abs(item) > MAX_SEQUENCE):
                raise LimitError(f"filter '{name}': a number above {MAX_SEQUENCE} is not "
                                 "allowed as an argument")
        if name == "join":
            value = bounded_list(value, f"filter '{name}'")
            separator = str(_arg(extra, kwargs, 0, "d", ""))
            _need(size(value) + len(value) * len(separator), f"the result of filter '{name}'")
        else:
            _need(_filter_estimate(name, value, extra, kwargs), f"the result of filter '{name}'")
        return check_result(function(*lead, value, *extra, **kwargs),
                            f"the result of filter '{name}'")

    guarded.__name__ = getattr(function, "__name__", name)
    guarded.__doc__ = getattr(function, "__doc__", None)
    guarded.__dict__.update(getattr(function, "__dict__", {}))  # keeps jinja_pass_arg
    return guarded


def guard_test(name: str, function: Callable[..., Any], pass_arg: bool) -> Callable[..., Any]:
    """``function`` (a Jinja2 test such as ``in``, ``sameas`` or ``lower``) charged by the value
    and arguments it looks at."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        charge_for(*(args[1:] if pass_arg else args), *kwargs.values(), base=FILTER_COST)
        return function(*args, **kwargs)

    guarded.__name__ = getattr(function, "__name__", name)
    guarded.__doc__ = getattr(function, "__doc__", None)
    guarded.__dict__.update(getattr(function, "__dict__", {}))  # keeps jinja_pass_arg
    return guarded
