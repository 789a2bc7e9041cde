"""Compile a validated playbook: a ``transitions`` machine with sandboxed guards, and
memoised templates. Compiled playbooks are cached by the content hash of their source.

``transitions`` selects which transition an event takes (its conditions are our compiled
guards, tried in declaration order) and moves a scratch model between states; the pure step
module does the rest (tasks, timers, actions, records). Per STYLE habit 7: compiled callables
only, no string callbacks, ``auto_transitions=False``, events fired through
``machine.events[name]`` so an event named like an attribute cannot be skipped, and no
thread-based timeouts (timers are rows driven by ``tick``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any

from transitions import Machine

from .. import sandbox
from ..model import Playbook, Transition

CHOOSE = "@choose"  # the trigger of choice rules; not an identifier, so never a user event


class _Scratch:
    """The object the machine moves; ``state`` is set from the instance before each trigger."""

    state: str


class CompiledPlaybook:
    """A playbook ready to run: machine, guards, templates."""

    def __init__(self, playbook: Playbook, digest: str, text: str,
                 codes: Mapping[str, CodeType] | None = None) -> None:
        self.playbook = playbook
        self.digest = digest
        self.text = text
        self._templates: dict[str, Callable[[dict[str, Any]], str]] = {}
        self._expressions: dict[str, Callable[..., Any]] = {}
        # Python code of expressions ("e:" + source) and templates ("t:" + source); the caller
        # keeps it between commands (``codes_added`` says whether there is something new).
        self.codes: dict[str, CodeType] = dict(codes or {})
        self.codes_added = False
        self._model = _Scratch()
        self.machine = Machine(
            model=None, states=list(playbook.states), initial=playbook.initial,
            auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
        )
        self.machine.add_model(self._model, initial=playbook.initial)
        for state in playbook.states.values():
            for event, transitions in state.on.items():
                for transition in transitions:
                    self._add(event, state.name, transition.to, transition.when, transition)
            for rule in state.choose:
                self._add(CHOOSE, state.name, rule.to, rule.when, rule)

    def _add(self, trigger: str, source: str, dest: str | None, when: str | None,
             chosen: Any) -> None:
        def available(event_data: Any) -> bool:
            return id(chosen) in event_data.kwargs["contexts"]

        conditions: list[str | Callable[..., bool | None]] = [available]
        if when:
            conditions.append(self._guard(when, chosen))

        def record(event_data: Any) -> None:
            event_data.kwargs["holder"].append(chosen)

        self.machine.add_transition(trigger, source, dest, conditions=conditions, after=[record])

    def _guard(self, source: str, chosen: Any) -> Callable[[Any], bool]:
        # Compiled on first use: a command evaluates the guards of one event, and compiling
        # every guard of a playbook up front costs about 0.5 ms each.
        def guard(event_data: Any) -> bool:
            expression = self.expression(source)
            return bool(expression(**event_data.kwargs["contexts"][id(chosen)]))

        return guard

    def _code(self, key: str, make: Callable[[str], CodeType], source: str) -> CodeType:
        code = self.codes.get(key)
        if code is None:
            code = self.codes[key] = make(source)
            self.codes_added = True
        return code

    def expression(self, source: str) -> Callable[..., Any]:
        """The compiled guard or ``{{ expression }}`` ``source`` (compiled once)."""
        compiled = self._expressions.get(source)
        if compiled is None:
            code = self._code("e:" + source, sandbox.expression_code, source)
            compiled = self._expressions[source] = sandbox.expression_from_code(code)
        return compiled

    def template(self, source: str) -> Callable[[dict[str, Any]], str]:
        """The compiled template ``source`` (compiled once)."""
        compiled = self._templates.get(source)
        if compiled is None:
            code = self._code("t:" + source, sandbox.template_code, source)
            compiled = self._templates[source] = sandbox.template_from_code(code)
        return compiled

    def select(self, state: str, trigger: str,
               contexts: dict[int, dict[str, Any]]) -> tuple[Any, str] | None:
        """The first transition (or choice rule) of ``trigger`` in ``state`` whose guard holds,
        and the state the machine moved to; None when none holds.

        ``contexts`` maps each candidate (the ``id()`` of a model ``Transition`` or
        ``ChoiceRule``) to the variables its guard sees; a candidate left out (its fields did
        not fit) is skipped.
        """
        if trigger not in self.machine.events:
            return None
        self._model.state = state
        holder: list[Any] = []
        fired = self.machine.events[trigger].trigger(self._model, contexts=contexts,
                                                     holder=holder)
        if not fired or not holder:
            return None
        return holder[0], self._model.state

    def transitions_of(self, state: str, event: str) -> tuple[Transition, ...]:
        return self.playbook.states[state].on.get(event, ())


_CACHE: dict[str, CompiledPlaybook] = {}


def compile_playbook(playbook: Playbook, digest: str, text: str,
                     codes: Mapping[str, CodeType] | None = None) -> CompiledPlaybook:
    """The compiled playbook for this source, from the in-process cache when compiled before;
    ``codes`` are expression and template codes kept from earlier commands."""
    compiled = _CACHE.get(digest)
    if compiled is None:
        compiled = _CACHE[digest] = CompiledPlaybook(playbook, digest, text, codes)
    return compiled
