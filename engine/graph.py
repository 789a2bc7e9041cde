"""State diagrams of a playbook: Mermaid ``stateDiagram-v2`` or Graphviz ``digraph``."""

from __future__ import annotations

from collections.abc import Iterator

from .model import Playbook


def _edges(playbook: Playbook) -> Iterator[tuple[str, str, str]]:
    """(source, target, label) for every transition and choice rule."""
    for state in playbook.states.values():
        for rule in state.choose:
            yield state.name, rule.to, f"[{rule.when}]" if rule.when else "else"
        for event, transitions in state.on.items():
            for transition in transitions:
                label = event + (f" [{transition.when}]" if transition.when else "")
                yield state.name, transition.to or state.name, label


def _mermaid_label(text: str) -> str:
    return text.replace(":", "#58;").replace('"', "#quot;").replace("\n", " ")


def mermaid(playbook: Playbook) -> str:
    """A Mermaid stateDiagram-v2 (choice states as ``<<choice>>``, finals to ``[*]``)."""
    lines = ["stateDiagram-v2", f"    %% {playbook.id} v{playbook.version}: {playbook.title}"]
    for state in playbook.states.values():
        if state.is_choice:
            lines.append(f"    state {state.name} <<choice>>")
        elif state.title:
            lines.append(f"    {state.name} : {_mermaid_label(state.title)}")
    lines.append(f"    [*] --> {playbook.initial}")
    for source, target, label in _edges(playbook):
        lines.append(f"    {source} --> {target} : {_mermaid_label(label)}")
    for state in playbook.states.values():
        if state.final:
            outcome = f" : {state.outcome}" if state.outcome else ""
            lines.append(f"    {state.name} --> [*]{outcome}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(playbook: Playbook, current: str | None = None) -> str:
    """A Graphviz digraph (choice states as diamonds, final states double circles); the state
    ``current``, if given, filled and bold (the web board's instance page)."""
    lines = [f"digraph {_dot_quote(playbook.id)} {{", "    rankdir=LR;",
             f"    label={_dot_quote(f'{playbook.title} (v{playbook.version})')};",
             '    node [shape=box, style=rounded, fontname="Helvetica"];',
             '    edge [fontname="Helvetica", fontsize=10];',
             '    __start [shape=point, label=""];',
             f"    __start -> {_dot_quote(playbook.initial)};"]
    for state in playbook.states.values():
        label = state.name + (f"\n{state.outcome}" if state.outcome else "")
        if state.is_choice:
            attrs = "shape=diamond, style=solid"
        elif state.final:
            attrs = "shape=doublecircle, style=solid"
        else:
            attrs = ""
        if state.name == current:
            attrs = (attrs.replace("style=solid", "") + ', style="filled,bold,rounded", '
                     'fillcolor="#ffe08a", penwidth=2').lstrip(", ")
        extra = f", {attrs}" if attrs else ""
        lines.append(f"    {_dot_quote(state.name)} [label={_dot_quote(label)}{extra}];")
    for source, target, label in _edges(playbook):
        lines.append(f"    {_dot_quote(source)} -> {_dot_quote(target)} "
                     f"[label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
