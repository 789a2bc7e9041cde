"""Compile a validated playbook: its ``transitions`` machine, its guards and its templates.

The machine owns the playbook's states and transitions. Every ``on`` transition, every choice
rule and the entry into the initial state is a machine transition; taking one runs, in the
machine's own order, which is the order docs/reference.md gives:

- ``prepare``: the actor's fields are converted for this candidate;
- conditions: the fields fit, then the ``when`` guard holds (candidates are tried in the
  order the playbook declares them; the first whose conditions hold is taken);
- ``before``: the role check, the transition's audit record and its ``set``;
- the old state's exit callback (its open tasks cancelled, its timers disarmed);
- the new state's enter callbacks (tasks, timers, ``enter`` actions; a choice state then
  fires the internal ``CHOOSE`` trigger, so a chain of choice states is followed inside the
  transition that entered it); a final state closes the instance (``on_final``);
- ``after``: the transition's ``do`` actions, in the state finally reached.

What those callbacks do to an instance is the step's business (``runtime.step``): the machine
moves a ``StepModel``, one per step, and calls its methods. Per STYLE habit 7: compiled
callables only, never strings; ``auto_transitions=False``; events fired through
``machine.events[name]`` so an event named like an attribute cannot be skipped; no
thread-based timeouts (timers are rows driven by ``tick``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from transitions import EventData, Machine, State

from .. import sandbox
from ..model import ChoiceRule, Playbook, Transition

if TYPE_CHECKING:
    from transitions.core import CallbackList  # what the library's stubs accept

UNSTARTED = "@unstarted"  # where an instance is before ``start`` enters the initial state
START = "@start"  # the trigger that enters the initial state
CHOOSE = "@choose"  # the trigger of choice rules
# None of these is an identifier, so none can be a playbook's state or event.


class StepModel(Protocol):
    """What the machine moves and calls back: one step on one instance."""

    state: str

    def offer(self, transition: Transition) -> None:
        """``prepare``: convert the given fields for ``transition``."""

    def fields_fit(self) -> bool:
        """Whether the fields of the transition last offered fit."""

    def holds(self, guard: Callable[[dict[str, Any]], Any],
              rule: Transition | ChoiceRule) -> bool:
        """Whether ``guard`` (the compiled ``when`` of ``rule``, called with the variables)
        holds now."""

    def take(self, transition: Transition) -> None:
        """``before`` an ``on`` transition: role check, record, ``set``."""

    def take_choice(self, rule: ChoiceRule) -> None:
        """``before`` a choice rule: its record."""

    def leave(self) -> None:
        """The current state's exit: cancel its tasks and timers."""

    def enter(self, state: str) -> None:
        """Entering ``state`` (already the model's state): tasks, timers, ``enter`` actions."""

    def close(self, state: str) -> None:
        """``state`` is final: close the instance."""

    def run_actions(self, transition: Transition) -> None:
        """``after`` an ``on`` transition: its ``do`` actions."""

    def refuse(self, message: str) -> Exception:
        """The refusal to raise, naming the instance and event."""


def _model(event_data: EventData) -> StepModel:
    return cast(StepModel, event_data.model)


def _leave(event_data: EventData) -> None:
    _model(event_data).leave()


def _enter(event_data: EventData) -> None:
    _model(event_data).enter(event_data.state.name)


def _close(event_data: EventData) -> None:
    _model(event_data).close(event_data.state.name)


def _fields_fit(event_data: EventData) -> bool:
    return _model(event_data).fields_fit()


class CompiledPlaybook:
    """A playbook ready to run: its machine, and its expressions and templates compiled once
    each (on first use) in the sandbox."""

    def __init__(self, playbook: Playbook, digest: str, text: str) -> None:
        self.playbook = playbook
        self.digest = digest
        self.text = text
        self._templates: dict[str, Callable[[dict[str, Any]], str]] = {}
        self._expressions: dict[str, Callable[[dict[str, Any]], Any]] = {}
        states = [State(UNSTARTED)]
        for state in playbook.states.values():
            # A choice state has no tasks and no timers (validation): nothing to leave.
            on_exit: CallbackList = [] if state.is_choice else [_leave]
            on_enter: CallbackList = [_enter, self._choose] if state.is_choice else [_enter]
            states.append(State(state.name, on_enter=on_enter, on_exit=on_exit,
                                final=state.final))
        self.machine = Machine(
            model=None, states=states, initial=UNSTARTED, auto_transitions=False,
            send_event=True, ignore_invalid_triggers=False, on_final=[_close],
        )
        self.machine.add_transition(START, UNSTARTED, playbook.initial)
        for state in playbook.states.values():
            for transitions in state.on.values():
                for transition in transitions:
                    self._add_transition(state.name, transition)
            for rule in state.choose:
                self._add_choice(state.name, rule)

    def _add_transition(self, source: str, transition: Transition) -> None:
        def offer(event_data: EventData) -> None:
            _model(event_data).offer(transition)

        def take(event_data: EventData) -> None:
            _model(event_data).take(transition)

        def run_actions(event_data: EventData) -> None:
            _model(event_data).run_actions(transition)

        conditions: CallbackList = [_fields_fit]
        if transition.when:
            conditions.append(self._guard(transition.when, transition))
        self.machine.add_transition(transition.event, source, transition.to, prepare=[offer],
                                    conditions=conditions, before=[take], after=[run_actions])

    def _add_choice(self, source: str, rule: ChoiceRule) -> None:
        def take(event_data: EventData) -> None:
            _model(event_data).take_choice(rule)

        conditions: CallbackList = [self._guard(rule.when, rule)] if rule.when else []
        self.machine.add_transition(CHOOSE, source, rule.to, conditions=conditions,
                                    before=[take])

    def _guard(self, source: str, rule: Transition | ChoiceRule) -> Callable[[EventData], bool]:
        # Compiled on first use, then kept: a command evaluates the guards of one event, and
        # compiling every guard up front costs about 0.5 ms each (intake has 20).
        def evaluate(variables: dict[str, Any]) -> Any:
            return self.expression(source)(variables)

        def guard(event_data: EventData) -> bool:
            return _model(event_data).holds(evaluate, rule)

        return guard

    def _choose(self, event_data: EventData) -> None:
        """Entering a choice state takes its first rule whose guard holds, at once, and so on
        until the chain reaches a state that is not a choice state."""
        # The first choice state of a chain follows the whole chain in a loop, where nesting a
        # trigger in each entry would cost some 10 frames per choice state: a chain of 99 went
        # past Python's recursion limit.
        if event_data.event.name == CHOOSE:
            return  # entered by a choice rule: the loop of the chain's first state goes on
        model = _model(event_data)
        while self.playbook.states[model.state].is_choice:
            if not self.machine.events[CHOOSE].trigger(model):
                raise model.refuse(f"choice state '{model.state}': no rule holds")

    # The model is not added to the machine (``add_model``/``remove_model`` per step): adding
    # only decorates it with trigger and ``is_<state>`` methods that are never used (events
    # are fired through ``machine.events``) and costs about 180 us of CPU per step on intake,
    # as much as the step itself (with ``model_override=True`` more: a log call per skipped
    # name). ``Event.trigger`` takes the model it moves.
    def start(self, model: StepModel) -> None:
        """Enter the initial state with ``model`` (in state ``UNSTARTED``)."""
        self.machine.events[START].trigger(model)

    def fire(self, event: str, model: StepModel) -> bool:
        """Fire ``event`` at ``model``; whether a transition was taken (False: no candidate's
        fields fit and guard held). ``event`` must have transitions in the model's state."""
        return bool(self.machine.events[event].trigger(model))

    def expression(self, source: str) -> Callable[[dict[str, Any]], Any]:
        """The compiled guard or ``{{ expression }}`` ``source`` (compiled once), called with
        the variables."""
        compiled = self._expressions.get(source)
        if compiled is None:
            compiled = self._expressions[source] = sandbox.compile_evaluator(source)
        return compiled

    def template(self, source: str) -> Callable[[dict[str, Any]], str]:
        """The compiled template ``source`` (compiled once)."""
        compiled = self._templates.get(source)
        if compiled is None:
            compiled = self._templates[source] = sandbox.compile_template(source)
        return compiled


def compile_playbook(playbook: Playbook, digest: str, text: str) -> CompiledPlaybook:
    """Compile ``playbook`` (whose source ``text`` has the content hash ``digest``); the
    caller keeps compiled playbooks by digest."""
    return CompiledPlaybook(playbook, digest, text)
