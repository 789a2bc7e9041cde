"""Plain-Python evaluation of the simplest templates and guards, giving what the sandbox gives.

Most templates of the shipped playbooks are text and ``{{ name }}``, ``{{ settings.x }}`` or
``{{ instance.id }}``, ``{{ ' (' ~ phone ~ ')' if phone else '' }}`` or ``{{ x if x is
defined else y }}``, and many guards compare such a lookup with a constant. Run through Jinja
(``engine.sandbox``) each costs a context, a generator and the sandbox's checks; here such a
hardened tree becomes plain functions that look the values up in the variables directly.
They charge the work budget exactly what the sandbox would, in the sandbox's order:
``limits.LOOKUP_COST`` per attribute or item, ``limits.check_rendered`` per output, and the
sandbox's own helpers (``Hooks``) for ``@compare``, ``~`` and the tests ``defined``,
``undefined`` and ``none``; and they give the same text or value.

Anything unusual is left to Jinja, which then runs from the start after what the fast path
charged is given back (``limits.with_budget_or``): a name that is missing (so the
``StrictUndefined`` error stays Jinja's; a test of it is answered here), a lookup on something
that is not a plain ``dict`` holding that key (an attribute name ``dict`` itself has, such as
``items``, is never taken here), an ``A if B`` without ``else`` whose condition is false, and,
for templates, an output that is not a plain ``str``, ``int``, ``float``, ``bool``, ``None``,
date or datetime. Only the branch a condition takes is evaluated, as in Jinja.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes

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
_TESTS = frozenset({"defined", "undefined", "none"})  # tests of one value, taken here
_MISSING: Any = object()  # Jinja should look it up
_ABSENT: Any = object()  # Jinja would find an undefined (a test may look at it)


@dataclass(frozen=True, slots=True)
class Hooks:
    """What the sandbox does that the fast path must do the same way: its charged comparison
    (``@compare``), its charged ``~`` (``fd_concat`` called as a template calls it), its
    guarded tests, an undefined value (what a missing name is to a test) and the names of its
    globals (defined though not among the variables)."""

    compare: Callable[[Any, str, Any], Any]
    concat: Callable[[list[Any]], str]
    tests: Mapping[str, Callable[..., Any]]
    undefined: Any
    globals: frozenset[str]


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


def _plain_call(node: nodes.Node, method: str) -> bool:
    """Whether ``node`` is ``environment.<method>(one argument)`` as ``sandbox._harden``
    writes it."""
    return isinstance(node, nodes.Call) and isinstance(node.node, nodes.EnvironmentAttribute) \
        and node.node.name == method and len(node.args) == 1 and not node.kwargs \
        and node.dyn_args is None and node.dyn_kwargs is None


def _retry(variables: Variables) -> Any:
    """The value of a missing ``else``: Jinja's undefined, left to Jinja."""
    raise limits.Retry


# -- expressions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Expression:
    """Builds an expression of lookups, constants, single comparisons, ``not``, ``and``,
    ``or``, ``~``, ``A if B else C`` and the tests of ``_TESTS`` as a function of the
    variables, or None for anything else."""

    hooks: Hooks

    def build(self, node: nodes.Node) -> Evaluate | None:
        lookup = _lookup(node)
        if lookup is not None:
            return _found(lookup)
        if isinstance(node, nodes.Const):
            value = node.value
            return lambda variables: value
        if isinstance(node, nodes.Not):
            operand = self.build(node.node)
            return None if operand is None else (lambda variables: not operand(variables))
        if isinstance(node, nodes.And | nodes.Or):
            return self._logical(node)
        if isinstance(node, nodes.Compare) and len(node.ops) == 1:
            return self._plain_compare(node)
        if isinstance(node, nodes.Filter) and node.name == "@compare" and len(node.args) == 2 \
                and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None:
            return self._charged_compare(node)
        return self._other(node)

    def _other(self, node: nodes.Node) -> Evaluate | None:
        if _plain_call(node, "fd_concat"):
            assert isinstance(node, nodes.Call)
            return self._concat(node.args[0])
        if isinstance(node, nodes.CondExpr):
            return self._conditional(node)
        if isinstance(node, nodes.Test) and node.name in _TESTS and not node.args and (
                not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None):
            return self._test(node)
        return None

    def _all(self, children: list[nodes.Expr]) -> list[Evaluate] | None:
        built = [self.build(child) for child in children]
        return None if None in built else [part for part in built if part is not None]

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
        op = COMPARISONS[node.ops[0].op]
        both = self._all([node.expr, node.ops[0].expr])
        if both is None:
            return None
        left, right = both
        return lambda variables: op(left(variables), right(variables))

    def _charged_compare(self, node: nodes.Filter) -> Evaluate | None:
        """``first|@compare(op, second)``: the hardened comparison that may scan."""
        assert node.node is not None  # a filter in an expression always has its value
        what, second_node = node.args
        both = self._all([node.node, second_node])
        if both is None or not isinstance(what, nodes.Const):
            return None
        (first, second), op, compare = both, what.value, self.hooks.compare
        return lambda variables: compare(first(variables), op, second(variables))

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


def _found(lookup: _Lookup) -> Evaluate:
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
        return limits.with_budget_or(lambda: evaluate(variables), lambda: jinja(variables))

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


def template_renderer(tree: nodes.Template, jinja: Renderer,
                      joined: Callable[[Iterator[str]], str], hooks: Hooks) -> Renderer | None:
    """A renderer of the hardened ``tree`` that leaves to ``jinja`` (the sandbox's renderer
    of the same tree) what it does not do itself, or None when the tree is more than text and
    the expressions ``_Expression`` builds. ``joined`` joins the rendered chunks within the
    output limit, as the sandbox's renderer does."""
    segments = _segments(tree, hooks)
    if segments is None:
        return None

    def chunks(variables: Variables) -> Iterator[str]:
        for segment in segments:
            if isinstance(segment, str):
                yield segment
            else:
                value = segment(variables)
                if type(value) not in _PLAIN:
                    raise limits.Retry
                yield str(limits.check_rendered(value))

    def render(variables: Variables) -> str:
        text: str = limits.with_budget_or(lambda: joined(chunks(variables)),
                                          lambda: jinja(variables))
        return text

    return render
