"""The one Jinja2 sandbox that parses and runs every template and guard expression.

Playbooks may come from consultants a practice has never met, so everything runs in
``SandboxedEnvironment`` with ``StrictUndefined``, no default globals, and bounds on the size of
what a template renders and of ranges and repeated strings. Used both by validation (syntax and
names) and by the runtime (compiled once, then evaluated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from types import CodeType
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

MAX_RENDERED = 100_000  # characters a template may render
MAX_RANGE = 10_000  # items a range() may produce
MAX_SEQUENCE = 100_000  # length of a string or list built by * or +

BUILTIN_NAMES = frozenset({
    "settings", "today", "now", "state", "event", "actor", "instance", "done", "all_done",
    "add_duration", "next_business_day", "business_days_between", "days_since",
    "range", "true", "false", "none", "True", "False", "None", "loop",
})
FUNCTION_NAMES = frozenset({
    "done", "add_duration", "next_business_day", "business_days_between", "days_since",
})


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range() of more than {MAX_RANGE} items is not allowed")
    return result


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > MAX_SEQUENCE:
        raise SecurityError(f"a value longer than {MAX_SEQUENCE} items is not allowed")
    return value


class FrontdeskSandbox(SandboxedEnvironment):
    """Jinja2's sandbox with size limits on ``*``, ``+`` and ``**``."""

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, str | list | tuple) and isinstance(b, int) and (
                        len(a) * b > MAX_SEQUENCE):
                    raise SecurityError("the result of '*' would be too large")
        if operator_name == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("exponents above 100 are not allowed")
        return _sized(super().call_binop(context, operator_name, left, right))


# Arithmetic operators go through call_binop only when they are listed as intercepted.
FrontdeskSandbox.intercepted_binops = frozenset({"*", "**", "+"})


@cache
def environment() -> FrontdeskSandbox:
    """The shared sandboxed environment (strict undefined, no default globals)."""
    env = FrontdeskSandbox(undefined=StrictUndefined, autoescape=False,
                           keep_trailing_newline=True)
    env.globals.clear()
    env.globals["range"] = _safe_range
    return env


@dataclass
class Usage:
    """What an expression or template refers to."""

    names: set[str] = field(default_factory=set)
    settings: set[str] = field(default_factory=set)
    done_tasks: set[str] = field(default_factory=set)


def is_template(text: object) -> bool:
    """Whether a string is a template (contains ``{{`` or ``{%``) rather than literal text."""
    return isinstance(text, str) and ("{{" in text or "{%" in text)


def lone_expression(text: str) -> str | None:
    """The expression of a string that is exactly one ``{{ expression }}``, else None."""
    stripped = text.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")):
        return None
    inner = stripped[2:-2]
    if "{{" in inner or "}}" in inner or "{%" in inner:
        return None
    return inner.strip()


def parse_expression(source: str) -> nodes.Expr:
    """Parse a bare expression (a guard); raises ``TemplateSyntaxError``."""
    env = environment()
    parser = Parser(env, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected '{token.value}' after the expression",
                                  token.lineno)
    return expr


def parse_template(source: str) -> nodes.Template:
    """Parse a template; raises ``TemplateSyntaxError``."""
    return environment().parse(source)


def usage_of(tree: nodes.Node) -> Usage:
    """Names, ``settings.x`` attributes and ``done('task')`` arguments used by a parsed tree."""
    from jinja2 import meta

    usage = Usage()
    template = tree if isinstance(tree, nodes.Template) else nodes.Template(
        [nodes.Output([tree])])
    template.set_environment(environment())
    usage.names = set(meta.find_undeclared_variables(template))
    for node in _walk(template):
        if isinstance(node, nodes.Getattr) and _is_name(node.node, "settings"):
            usage.settings.add(node.attr)
        elif isinstance(node, nodes.Getitem) and _is_name(node.node, "settings") and isinstance(
                node.arg, nodes.Const) and isinstance(node.arg.value, str):
            usage.settings.add(node.arg.value)
        elif isinstance(node, nodes.Call) and _is_name(node.node, "done") and node.args and (
                isinstance(node.args[0], nodes.Const)):
            usage.done_tasks.add(str(node.args[0].value))
    return usage


def _is_name(node: nodes.Node, name: str) -> bool:
    return isinstance(node, nodes.Name) and node.name == name


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def compile_expression(source: str) -> Callable[..., Any]:
    """Compile a guard expression once; call the result with the variables as keywords."""
    return environment().compile_expression(source, undefined_to_none=False)


def compile_template(source: str) -> Callable[[dict[str, Any]], str]:
    """Compile a template once; the result renders a context to text within the size limit."""
    return template_from_code(template_code(source))


# The compiled Python code of an expression or template depends only on its source, this
# module and the Jinja2 version, so the runtime keeps it in the disk cache (marshalled): a
# command then runs the code without building Jinja's lexer or parsing anything.


def expression_code(source: str) -> CodeType:
    """The Python code ``compile_expression`` runs for ``source`` (see ``expression_from_code``)."""
    env = environment()
    expr = parse_expression(source)
    expr.set_environment(env)
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    return env.compile(nodes.Template(body, lineno=1))


def expression_from_code(code: CodeType) -> Callable[..., Any]:
    """The guard expression compiled to ``code``, as ``compile_expression`` returns it."""
    env = environment()
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return TemplateExpression(template, undefined_to_none=False)


def template_code(source: str) -> CodeType:
    """The Python code of the template ``source`` (see ``template_from_code``)."""
    return environment().compile(source)


def template_from_code(code: CodeType) -> Callable[[dict[str, Any]], str]:
    """The template compiled to ``code``, rendering within the size limit."""
    env = environment()
    template = env.template_class.from_code(env, code, env.make_globals(None), None)

    def render(context: dict[str, Any]) -> str:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_RENDERED:
                raise SecurityError(f"template output over {MAX_RENDERED} characters")
            parts.append(chunk)
        return "".join(parts)

    return render
