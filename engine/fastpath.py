"""Plain-Python evaluation of the templates and guards of playbooks, giving what the sandbox gives.

Templates and guards are mostly text and lookups (``{{ name }}``, ``{{ settings.x }}``,
``{{ instance.id }}``), comparisons, ``not``/``and``/``or``, ``~``, ``A if B else C``, tests of
definedness, a little arithmetic (``attempts + 1 >= settings.max_contact_attempts``) and calls
of the step's own functions (``add_duration(today, settings.days ~ ' days')``, ``done('x')``).
Run through Jinja (``engine.sandbox``) each costs a context, a generator and the sandbox's
checks; here such a hardened tree becomes plain functions that look the values up in the
variables directly. The shapes taken: lookups (a name, then ``.key`` or ``[key]``, the key a
constant or computed), constants, list literals, single comparisons, ``not``, ``and``, ``or``,
``~``, ``A if B else C``, the tests ``defined``, ``undefined`` and ``none``, the arithmetic
operators ``+ - * / // % **`` and the signs ``-x``/``+x``, calls ``f(a, b)`` of a name with
positional arguments, and filters ``x|f(a)`` with positional arguments whose function takes
no context.

They charge the work budget exactly what the sandbox would, in the sandbox's order:
``limits.LOOKUP_COST`` per attribute or item, ``limits.check_rendered`` per output, the checks
of ``FrontdeskSandbox.call_binop`` (``limits.check_binop``, the sandbox's own operator table,
``limits.check_result``), ``call_unop`` (``OPERATOR_COST``) and ``call`` (``limits.check_call``,
then ``check_result``), the sandbox's own guarded filters (``pass_environment`` ones given the
environment, as Jinja's generated code does) and its helpers (``Hooks``) for ``@compare``,
``~`` and the tests; and they give the same text or value.

Anything unusual is left to Jinja, which then runs from the start after what the fast path
charged is given back (``limits.with_budget_or``; a year of the business calendar computed on
the way is cached, so its charge is kept: ``limits.charge_kept``): a name that is missing (so
the ``StrictUndefined`` error stays Jinja's; a test of it is answered here), a lookup on
something that is not a plain ``dict`` holding that key (an attribute name ``dict`` itself
has, such as ``items``, is never taken here), an ``A if B`` without ``else`` whose condition
is false, arithmetic on anything but ``int`` and ``float`` (``bool`` included; and ``+`` of two
``str``) and an operator that raises (``1 / 0``), a call of anything but a plain Python
function without attributes (which may mark it unsafe or ask for the context) and a call or
filter that raises anything but the sandbox's limits (``SecurityError``: the same error, at
the same point, as in Jinja); and, for templates, an output that is not a plain ``str``,
``int``, ``float``, ``bool``, ``None``, date or datetime. The functions a step gives its
templates (``engine.runtime.step``, ``engine.runtime.payers``) have no effects but the work
they charge, which is given back, and the calendar's cache. Only the branch a condition takes
is evaluated, as in Jinja.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FunctionType
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.utils import _PassArg

from . import limits

__all__ = ["COMPARISONS", "Hooks", "expression_evaluator", "template_renderer"]

Variables = dict[str, Any]
Renderer = Callable[[Variables], str]
Evaluate = Callable[[Variables], Any]

# Comparison operators by the names Jinja's syntax tree gives them (``nodes.Operand.op``),
# as Jinja's generated code applies them (``a < b``: the same result, the same errors).
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gteq": operator.ge,
    "lt": operator.lt, "lteq": operator.le, "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
# What a template's output may be for ``str()`` of it to be left to this module (exact types).
_PLAIN = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime})
_CONSTANTS = frozenset({str, int, float, bool, type(None)})
_NUMBERS = frozenset({int, float})  # what arithmetic is done on here (not bool: exact types)
_TESTS = frozenset({"defined", "undefined", "none"})  # tests of one value, taken here
_MISSING: Any = object()  # Jinja should look it up
_ABSENT: Any = object()  # Jinja would find an undefined (a test may look at it)


@dataclass(frozen=True, slots=True)
class Hooks:
    """What the sandbox does that the fast path must do the same way: its charged comparison
    (``@compare``), its charged ``~`` (``fd_concat`` called as a template calls it), its
    guarded tests, an undefined value (what a missing name is to a test), the names of its
    globals (defined though not among the variables), its operator tables (``binop_table``,
    ``unop_table``), its guarded filters and the environment itself (what a
    ``pass_environment`` filter is given)."""

    compare: Callable[[Any, str, Any], Any]
    concat: Callable[[list[Any]], str]
    tests: Mapping[str, Callable[..., Any]]
    undefined: Any
    globals: frozenset[str]
    binops: Mapping[str, Callable[[Any, Any], Any]]
    unops: Mapping[str, Callable[[Any], Any]]
    filters: Mapping[str, Callable[..., Any]]
    environment: Any


@dataclass(frozen=True, slots=True)
class _Lookup:
    """``name``, then ``.key`` or ``[key]`` for each of ``keys``."""

    name: str
    keys: tuple[str | int, ...]

    def find(self, variables: Variables) -> Any:
        """The value, or ``_MISSING`` when the sandbox should look it up."""
        value = variables.get(self.name, _MISSING)
        for key in self.keys:
            if type(value) is not dict or key not in value:
                return _MISSING
            value = value[key]
        return value

    def probe(self, variables: Variables, globals_: frozenset[str]) -> Any:
        """``find``, or ``_ABSENT`` where the sandbox gives an undefined without an error: a
        name neither given nor global, or a last key a plain dict lacks (and ``dict`` has no
        attribute of that name, which ``['key']`` would give)."""
        value = self.find(variables)
        if value is not _MISSING:
            return value
        if not self.keys:
            return _MISSING if self.name in globals_ else _ABSENT
        parent = _Lookup(self.name, self.keys[:-1]).find(variables)
        key = self.keys[-1]
        if type(parent) is dict and not (isinstance(key, str) and hasattr(dict, key)):
            return _ABSENT
        return _MISSING

    def charge(self) -> None:
        """What the sandbox charges for the lookups (``FrontdeskSandbox.getattr/getitem``)."""
        for _ in self.keys:
            limits.charge(limits.LOOKUP_COST)


def _lookup(node: nodes.Node) -> _Lookup | None:
    """The lookup ``node`` is (a name, then attributes and constant items), else None.

    ``a.b`` on a dict gives the dict's own attribute ``b`` when it has one (the sandbox tries
    the attribute first), so such a name is never a lookup here."""
    keys: list[str | int] = []
    while not isinstance(node, nodes.Name):
        if isinstance(node, nodes.Getattr) and not hasattr(dict, node.attr):
            keys.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and (
                type(node.arg.value) in (str, int)):
            keys.append(node.arg.value)
        else:
            return None
        node = node.node
    return _Lookup(node.name, tuple(reversed(keys))) if node.ctx == "load" else None


def _retry(variables: Variables) -> Any:
    """The value of a missing ``else``: Jinja's undefined, left to Jinja."""
    raise limits.Retry


# -- expressions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Expression:
    """Builds an expression of the shapes this module takes (see the module's docstring) as a
    function of the variables, or None for anything else."""

    hooks: Hooks

    def build(self, node: nodes.Node) -> Evaluate | None:
        lookup = _lookup(node)
        if lookup is not None:
            return _found(lookup)
        builder = _BUILDERS.get(type(node))
        return None if builder is None else builder(self, node)

    def _all(self, children: list[nodes.Expr]) -> list[Evaluate] | None:
        built = [self.build(child) for child in children]
        return None if None in built else [part for part in built if part is not None]

    def _item(self, node: nodes.Getattr | nodes.Getitem) -> Evaluate | None:
        """``x.key`` or ``x[key]`` that is not a ``_Lookup`` (of a computed ``x``, such as a
        call's result, or a computed ``key``): as ``_Lookup`` does it, the key of a plain
        ``dict`` that holds it, charged one ``LOOKUP_COST`` after ``x`` and ``key`` are
        evaluated (``FrontdeskSandbox.getattr/getitem``); anything else is left to Jinja."""
        if isinstance(node, nodes.Getattr):
            attribute = node.attr
            key: Evaluate | None = None if hasattr(dict, attribute) else (
                lambda variables: attribute)
        else:
            key = None if isinstance(node.arg, nodes.Slice) else self.build(node.arg)
        base = self.build(node.node)
        if key is None or base is None:
            return None
        found = key

        def item(variables: Variables) -> Any:
            value, name = base(variables), found(variables)
            if type(value) is not dict or type(name) not in (str, int) or name not in value:
                raise limits.Retry
            limits.charge(limits.LOOKUP_COST)
            return value[name]

        return item

    def _constant(self, node: nodes.Const) -> Evaluate:
        value = node.value
        return lambda variables: value

    def _list(self, node: nodes.List) -> Evaluate | None:
        """``[a, b]``: a new list of the items, in order (nothing charged, as in Jinja)."""
        items = self._all(node.items)
        return None if items is None else (
            lambda variables: [item(variables) for item in items])

    def _not(self, node: nodes.Not) -> Evaluate | None:
        operand = self.build(node.node)
        return None if operand is None else (lambda variables: not operand(variables))

    def _logical(self, node: nodes.And | nodes.Or) -> Evaluate | None:
        both = self._all([node.left, node.right])
        if both is None:
            return None
        left, right = both
        if isinstance(node, nodes.And):
            return lambda variables: left(variables) and right(variables)
        return lambda variables: left(variables) or right(variables)

    def _plain_compare(self, node: nodes.Compare) -> Evaluate | None:
        """A comparison the hardening left as Jinja compiles it (one side constant)."""
        if len(node.ops) != 1:
            return None
        op = COMPARISONS[node.ops[0].op]
        both = self._all([node.expr, node.ops[0].expr])
        if both is None:
            return None
        left, right = both
        return lambda variables: op(left(variables), right(variables))

    def _filter(self, node: nodes.Filter) -> Evaluate | None:
        """``value|name(args)``: the charged comparison, or another filter with positional
        arguments only."""
        if node.kwargs or node.dyn_args is not None or node.dyn_kwargs is not None:
            return None
        assert node.node is not None  # a filter in an expression always has its value
        if node.name == "@compare":
            return self._charged_compare(node.node, node.args)
        return _Filter.build(self, node.node, node.name, node.args)

    def _charged_compare(self, first_node: nodes.Expr, args: list[nodes.Expr]) -> Evaluate | None:
        """``first|@compare(op, second)``: the hardened comparison that may scan."""
        if len(args) != 2 or not isinstance(args[0], nodes.Const):
            return None
        both = self._all([first_node, args[1]])
        if both is None:
            return None
        (first, second), op, compare = both, args[0].value, self.hooks.compare
        return lambda variables: compare(first(variables), op, second(variables))

    def _call(self, node: nodes.Call) -> Evaluate | None:
        """``environment.fd_concat([...])`` (a hardened ``~``), or a call of a function held in
        the variables by name (a method, such as ``text.upper()``, is left to Jinja) with
        positional arguments only."""
        if node.kwargs or node.dyn_args is not None or node.dyn_kwargs is not None:
            return None
        if isinstance(node.node, nodes.EnvironmentAttribute):
            return self._concat(node.args[0]) if node.node.name == "fd_concat" and len(
                node.args) == 1 else None
        if not isinstance(node.node, nodes.Name):
            return None
        parts = self._all([node.node, *node.args])
        return None if parts is None else _called(parts[0], parts[1:])

    def _concat(self, items: nodes.Expr) -> Evaluate | None:
        """``a ~ b ~ c``, hardened into ``environment.fd_concat([a, b, c])``: the items in
        order, then the sandbox's charged call of ``fd_concat``."""
        parts = self._all(items.items) if isinstance(items, nodes.List) else None
        if parts is None:
            return None
        concat = self.hooks.concat
        return lambda variables: concat([part(variables) for part in parts])

    def _conditional(self, node: nodes.CondExpr) -> Evaluate | None:
        """``A if B else C``; without ``else``, a false ``B`` gives Jinja's undefined, which
        Jinja then gives itself."""
        parts = self._all([node.test, node.expr1] + ([node.expr2] if node.expr2 else []))
        if parts is None:
            return None
        test, taken, other = (*parts, _retry)[:3]
        return lambda variables: taken(variables) if test(variables) else other(variables)

    def _test(self, node: nodes.Test) -> Evaluate | None:
        """``x is defined``, ``x is undefined``, ``x is none`` (``not`` around it for ``is not``),
        through the sandbox's guarded test; of a lookup, a missing value is an undefined as in
        Jinja."""
        if node.name not in _TESTS or node.args or node.kwargs or node.dyn_args is not None \
                or node.dyn_kwargs is not None:
            return None
        test, lookup = self.hooks.tests[node.name], _lookup(node.node)
        if lookup is None:
            operand = self.build(node.node)
            return None if operand is None else (lambda variables: test(operand(variables)))
        undefined, globals_ = self.hooks.undefined, self.hooks.globals

        def tested(variables: Variables) -> Any:
            value = lookup.probe(variables, globals_)
            if value is _MISSING:
                raise limits.Retry
            lookup.charge()
            return test(undefined if value is _ABSENT else value)

        return tested

    def _binary(self, node: nodes.BinExpr) -> Evaluate | None:
        """``a + b`` and the other arithmetic operators, of numbers (and ``+`` of two texts):
        ``FrontdeskSandbox.call_binop``'s checks and charges, the sandbox's operator, then the
        check of the result; an operator that fails (``1 / 0``) is left to Jinja."""
        both = self._all([node.left, node.right])
        if both is None:
            return None
        (left, right), op = both, node.operator
        apply, what = self.hooks.binops[op], f"the result of '{op}'"

        def binary(variables: Variables) -> Any:
            first, second = left(variables), right(variables)
            if not (type(first) in _NUMBERS and type(second) in _NUMBERS or (
                    op == "+" and type(first) is str and type(second) is str)):
                raise limits.Retry
            limits.check_binop(op, first, second)
            try:
                result = apply(first, second)
            except Exception:  # ZeroDivisionError, OverflowError: raised by Jinja
                raise limits.Retry from None
            return limits.check_result(result, what)

        return binary

    def _unary(self, node: nodes.UnaryExpr) -> Evaluate | None:
        """``-a`` and ``+a`` of a number: charged, then applied (``call_unop``)."""
        operand = self.build(node.node)
        if operand is None:
            return None
        apply = self.hooks.unops[node.operator]

        def unary(variables: Variables) -> Any:
            value = operand(variables)
            if type(value) not in _NUMBERS:
                raise limits.Retry
            limits.charge(limits.OPERATOR_COST)
            return apply(value)

        return unary


@dataclass(frozen=True, slots=True)
class _Filter:
    """A filter called as Jinja's generated code calls it: the sandbox's guarded function,
    given the environment first when it asks for it (``pass_environment``)."""

    function: Callable[..., Any]
    lead: tuple[Any, ...]
    parts: list[Evaluate]

    @staticmethod
    def build(shape: _Expression, value: nodes.Expr, name: str,
              args: list[nodes.Expr]) -> Evaluate | None:
        """The filter ``name`` of ``value`` and ``args``, or None for a filter that takes the
        context or the evaluation context (or none of that name)."""
        function = shape.hooks.filters.get(name)
        pass_arg = getattr(function, "jinja_pass_arg", None)
        if function is None or pass_arg not in (None, _PassArg.environment):
            return None
        parts = shape._all([value, *args])
        lead = () if pass_arg is None else (shape.hooks.environment,)
        return None if parts is None else _Filter(function, lead, parts).run

    def run(self, variables: Variables) -> Any:
        values = [part(variables) for part in self.parts]
        try:
            return self.function(*self.lead, *values)
        except SecurityError:  # a limit: the same error, at the same point, in Jinja
            raise
        except Exception:  # a value the filter cannot take: Jinja's error, from Jinja
            raise limits.Retry from None


def _called(callee: Evaluate, arguments: list[Evaluate]) -> Evaluate:
    """``f(a, b)`` where ``f`` is a plain Python function (a step's built-in such as
    ``add_duration`` or ``done``): ``FrontdeskSandbox.call``'s charges and checks in its order,
    the call, then the check of the result. A function with attributes (which may mark it
    unsafe or ask for the context), anything else callable, and a call that raises (or
    raises ``StopIteration``, an undefined in Jinja) are left to Jinja."""

    def called(variables: Variables) -> Any:
        function = callee(variables)
        args = tuple(argument(variables) for argument in arguments)
        if type(function) is not FunctionType or function.__dict__:
            raise limits.Retry
        args = limits.check_call(function, args, {})
        try:
            result = function(*args)
        except SecurityError:  # a limit: the same error, at the same point, in Jinja
            raise
        except Exception:  # Jinja's error from the same call (its charges are given back)
            raise limits.Retry from None
        return limits.check_result(result, "the result of a call")

    return called


_BUILDERS: dict[type[nodes.Node], Callable[[_Expression, Any], Evaluate | None]] = {
    nodes.Const: _Expression._constant, nodes.List: _Expression._list,
    nodes.Getattr: _Expression._item, nodes.Getitem: _Expression._item,
    nodes.Not: _Expression._not, nodes.And: _Expression._logical, nodes.Or: _Expression._logical,
    nodes.Compare: _Expression._plain_compare, nodes.Filter: _Expression._filter,
    nodes.Call: _Expression._call, nodes.CondExpr: _Expression._conditional,
    nodes.Test: _Expression._test, nodes.Neg: _Expression._unary, nodes.Pos: _Expression._unary,
    **dict.fromkeys((nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
                     nodes.Pow), _Expression._binary),
}


def _found(lookup: _Lookup) -> Evaluate:
    """The value of ``lookup`` (a plain name: nothing to charge), or ``Retry``."""
    if not lookup.keys:
        name = lookup.name

        def named(variables: Variables) -> Any:
            value = variables.get(name, _MISSING)
            if value is _MISSING:
                raise limits.Retry
            return value

        return named

    def found(variables: Variables) -> Any:
        value = lookup.find(variables)
        if value is _MISSING:
            raise limits.Retry
        lookup.charge()
        return value

    return found


def expression_evaluator(expr: nodes.Node, jinja: Callable[[Variables], Any],
                         hooks: Hooks) -> Callable[[Variables], Any] | None:
    """An evaluator of the hardened expression ``expr`` that leaves to ``jinja`` (the
    sandbox's evaluator of the same expression) what it does not do itself, or None when the
    expression is more than ``_Expression`` builds."""
    evaluate = _Expression(hooks).build(expr)
    if evaluate is None:
        return None

    def run(variables: Variables) -> Any:
        return limits.with_budget_or(evaluate, jinja, variables)

    return run


# -- templates ---------------------------------------------------------------------------------
def _segments(tree: nodes.Template, hooks: Hooks) -> list[str | Evaluate] | None:
    """The literal texts and expressions of a template made only of those, else None."""
    segments: list[str | Evaluate] = []
    shape = _Expression(hooks)
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for child in statement.nodes:
            if isinstance(child, nodes.TemplateData):
                segments.append(child.data)
            elif isinstance(child, nodes.Const) and type(child.value) in _CONSTANTS and (
                    limits.size(child.value) <= limits.MAX_RENDERED):
                segments.append(str(child.value))  # Jinja renders it when compiling
            else:
                built = shape.build(child)
                if built is None or _folded(child, tree):
                    return None
                segments.append(built)
    return segments


def _folded(child: nodes.Expr, tree: nodes.Template) -> bool:
    """Whether Jinja renders ``child`` when compiling (``CodeGenerator.visit_Output`` tries
    ``as_const``), which is then not charged when rendering."""
    environment = tree.environment
    if environment is None:
        return True

    def folds() -> bool:
        try:
            child.as_const(nodes.EvalContext(environment))
        except Exception:  # what Jinja catches there: evaluated when rendering
            return False
        return True

    return bool(limits.apart(folds))  # a test of constants here charges only this


def template_renderer(tree: nodes.Template, jinja: Renderer, hooks: Hooks) -> Renderer | None:
    """A renderer of the hardened ``tree`` that leaves to ``jinja`` (the sandbox's renderer
    of the same tree) what it does not do itself, or None when the tree is more than text and
    the expressions ``_Expression`` builds. The output is refused once over ``MAX_RENDERED``
    characters, before the next expression is evaluated, as the sandbox's renderer does."""
    segments = _segments(tree, hooks)
    if segments is None:
        return None

    def joined(variables: Variables) -> str:
        parts: list[str] = []
        total = 0
        for segment in segments:
            if isinstance(segment, str):
                text = segment
            else:
                value = segment(variables)
                if type(value) not in _PLAIN:
                    raise limits.Retry
                text = str(limits.check_rendered(value))
            total += len(text)
            if total > limits.MAX_RENDERED:
                raise limits.output_too_long()
            parts.append(text)
        return "".join(parts)

    def render(variables: Variables) -> str:
        text: str = limits.with_budget_or(joined, jinja, variables)
        return text

    return render
