"""Plain-Python evaluation of the simplest templates and guards, giving what the sandbox gives.

Most templates of the shipped playbooks are text and ``{{ name }}``, ``{{ settings.x }}`` or
``{{ instance.id }}``, and many guards compare such a lookup with a constant. Run through Jinja
(``engine.sandbox``) each costs a context, a generator and the sandbox's checks; here such a
hardened tree becomes a plain function that looks the values up in the variables directly.
It charges the work budget exactly what the sandbox would (``limits.LOOKUP_COST`` per
attribute or item, ``limits.check_rendered`` per output, ``@compare`` where the hardened tree
has it), in the sandbox's order, and gives the same text or value.

Anything unusual is left to Jinja, which then runs from the start: a name that is missing (so
the ``StrictUndefined`` error stays Jinja's), a lookup on something that is not a plain
``dict`` holding that key (an attribute name ``dict`` itself has, such as ``items``, is never
taken here), and, for templates, an output that is not a plain ``str``, ``int``, ``float``,
``bool``, ``None``, date or datetime. The values are all looked up before anything is charged,
so leaving a render to Jinja charges nothing twice.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes

from . import limits

__all__ = ["COMPARISONS", "expression_evaluator", "template_renderer"]

Variables = dict[str, Any]
Renderer = Callable[[Variables], str]

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
_MISSING: Any = object()


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


# -- templates ---------------------------------------------------------------------------------
def _segments(tree: nodes.Template) -> list[str | _Lookup] | None:
    """The literal texts and lookups of a template made only of those, else None."""
    segments: list[str | _Lookup] = []
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
                lookup = _lookup(child)
                if lookup is None:
                    return None
                segments.append(lookup)
    return segments


def template_renderer(tree: nodes.Template, jinja: Renderer,
                      joined: Callable[[Iterator[str]], str]) -> Renderer | None:
    """A renderer of the hardened ``tree`` that leaves to ``jinja`` (the sandbox's renderer
    of the same tree) what it does not do itself, or None when the tree is more than text and
    lookups. ``joined`` joins the rendered chunks within the output limit, as the sandbox's
    renderer does."""
    segments = _segments(tree)
    if segments is None:
        return None
    lookups = [segment for segment in segments if isinstance(segment, _Lookup)]

    def chunks(values: list[Any]) -> Iterator[str]:
        found = iter(values)
        for segment in segments:
            if isinstance(segment, str):
                yield segment
            else:
                segment.charge()
                yield str(limits.check_rendered(next(found)))

    def render(variables: Variables) -> str:
        values = []
        for lookup in lookups:
            value = lookup.find(variables)
            if type(value) not in _PLAIN:
                return jinja(variables)
            values.append(value)
        text: str = limits.with_budget(lambda: joined(chunks(values)))
        return text

    return render


# -- expressions -------------------------------------------------------------------------------
Evaluate = Callable[[Sequence[Any]], Any]  # the values of the expression's lookups -> its value


@dataclass(slots=True)
class _Expression:
    """An expression of lookups, constants, single comparisons, ``not``, ``and`` and ``or``,
    as functions of the values of its lookups (``lookups``, in the order found)."""

    compare: Callable[[Any, str, Any], Any]  # the sandbox's charged comparison (``@compare``)
    lookups: list[_Lookup]

    def build(self, node: nodes.Node) -> Evaluate | None:
        lookup = _lookup(node)
        if lookup is not None:
            return self._found(lookup)
        if isinstance(node, nodes.Const):
            value = node.value
            return lambda values: value
        if isinstance(node, nodes.Not):
            operand = self.build(node.node)
            return None if operand is None else (lambda values: not operand(values))
        if isinstance(node, nodes.And | nodes.Or):
            return self._logical(node)
        if isinstance(node, nodes.Compare) and len(node.ops) == 1:
            return self._plain_compare(node)
        if isinstance(node, nodes.Filter) and node.name == "@compare" and len(node.args) == 2 \
                and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None:
            return self._charged_compare(node)
        return None

    def _found(self, lookup: _Lookup) -> Evaluate:
        index = len(self.lookups)
        self.lookups.append(lookup)

        def found(values: Sequence[Any]) -> Any:
            lookup.charge()
            return values[index]

        return found

    def _logical(self, node: nodes.And | nodes.Or) -> Evaluate | None:
        left, right = self.build(node.left), self.build(node.right)
        if left is None or right is None:
            return None
        if isinstance(node, nodes.And):
            return lambda values: left(values) and right(values)
        return lambda values: left(values) or right(values)

    def _plain_compare(self, node: nodes.Compare) -> Evaluate | None:
        """A comparison the hardening left as Jinja compiles it (one side constant)."""
        op = COMPARISONS[node.ops[0].op]
        left, right = self.build(node.expr), self.build(node.ops[0].expr)
        if left is None or right is None:
            return None
        return lambda values: op(left(values), right(values))

    def _charged_compare(self, node: nodes.Filter) -> Evaluate | None:
        """``first|@compare(op, second)``: the hardened comparison that may scan."""
        assert node.node is not None  # a filter in an expression always has its value
        what, second_node = node.args
        first, second = self.build(node.node), self.build(second_node)
        if first is None or second is None or not isinstance(what, nodes.Const):
            return None
        op, compare = what.value, self.compare
        return lambda values: compare(first(values), op, second(values))


def expression_evaluator(expr: nodes.Node, jinja: Callable[[Variables], Any],
                         compare: Callable[[Any, str, Any], Any]
                         ) -> Callable[[Variables], Any] | None:
    """An evaluator of the hardened expression ``expr`` that leaves to ``jinja`` (the
    sandbox's evaluator of the same expression) a value it does not find itself, or None when
    the expression is more than lookups, constants, single comparisons, ``not``, ``and`` and
    ``or``. ``compare`` is the sandbox's charged comparison."""
    shape = _Expression(compare, [])
    evaluate = shape.build(expr)
    if evaluate is None:
        return None
    lookups = shape.lookups

    def run(variables: Variables) -> Any:
        values = []
        for lookup in lookups:
            value = lookup.find(variables)
            if value is _MISSING:
                return jinja(variables)
            values.append(value)
        return limits.with_budget(lambda: evaluate(values))

    return run
