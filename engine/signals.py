"""Delivering ``signal`` actions: one instance fires an event at others, in the same change.

A step returns its ``signal`` actions as ``SignalRequest``s (``runtime.step``); here, inside the
command's transaction, each finds the open instances of its playbook whose variables equal its
``match`` (compared as plain JSON data, so a date matches its ISO text), fires its event at
each as the acting person, and adds what that changes (with the instances its ``start`` and
``signal`` actions reach in turn) to the command's change. Both sides are audited: the
source's ``signal`` record gets ``delivered`` (instance ids) and ``refused`` (instance and
reason); each target gets a ``signalled`` record (``from``, ``applied``, and ``reason`` when
refused) before the records of its own transition.

An event a target refuses (closed meanwhile, not allowed in its state, a guard, a role) is
recorded, never fatal. What is fatal (exit 5, nothing written) is a signal matching more open
instances than its ``limit`` (the fan-out bound), and nesting deeper than ``start`` actions
may. An instance this command already changed (the source, or a target reached before) is
not signalled again: a second signal to it is recorded as refused, so signals cannot loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .errors import NotFoundError, RefusedError
from .runtime.instance import AuditDraft, Change, Instance, plain

if TYPE_CHECKING:
    from .runtime.step import Outcome, SignalRequest
    from .service import Engine


class Targets(Protocol):
    """Where a signal looks for its targets: a write transaction, or a store read (dry runs)."""

    def open_instance_heads(self, playbook: str) -> list[Instance]: ...

    def load_working_set(self, id: str) -> Instance: ...

    def get_source(self, digest: str) -> str: ...


@dataclass(slots=True)
class StoreTargets:
    """``Targets`` over a store's own reads (``fire --all --dry-run``: nothing is written)."""

    store: Any

    def open_instance_heads(self, playbook: str) -> list[Instance]:
        heads: list[Instance] = self.store.list_instances(playbook=playbook, status="open")
        return heads

    def load_working_set(self, id: str) -> Instance:
        """The whole instance (a dry run's read): a step works on it as on its working set."""
        instance: Instance = self.store.get_instance(id)
        return instance

    def get_source(self, digest: str) -> str:
        text: str = self.store.get_source(digest)
        return text


@dataclass(slots=True)
class Delivery:
    """One command's signals: the instances it has changed so far (never signalled twice)."""

    targets: Targets
    involved: set[str] = field(default_factory=set)


def matches(instance: Instance, match: dict[str, Any]) -> bool:
    """Whether every ``match`` variable of ``instance`` holds the given value."""
    return all(plain(instance.vars.get(name)) == plain(value) for name, value in match.items())


def deliver(engine: Engine, outcome: Outcome, actor: str, depth: int,
            delivery: Delivery) -> Change:
    """The change the signals of ``outcome`` make to their targets (each target's fire, its
    own starts and signals), and the source records filled in."""
    from .service import MAX_START_DEPTH

    if depth >= MAX_START_DEPTH:
        raise RefusedError(f"'signal' and 'start' actions nest deeper than {MAX_START_DEPTH}",
                           instance=outcome.instance.id)
    change = Change()
    delivery.involved.update(inst.id for inst in outcome.change.instances)
    for request in outcome.signals:
        for target in _targets(request, delivery):
            change.merge(_fire_at(engine, request, target, actor, depth, delivery))
    return change


def _targets(request: SignalRequest, delivery: Delivery) -> Iterable[Instance]:
    found = [head for head in delivery.targets.open_instance_heads(request.playbook)
             if head.id != request.source and matches(head, request.match)]
    if len(found) > request.limit:
        raise RefusedError(f"signal '{request.event}' to '{request.playbook}' matches "
                           f"{len(found)} open instances, more than its limit {request.limit}; "
                           "narrow its 'match' or raise its 'limit'", instance=request.source)
    request.record.data.setdefault("delivered", [])
    request.record.data.setdefault("refused", [])
    return found


def _fire_at(engine: Engine, request: SignalRequest, head: Instance, actor: str, depth: int,
             delivery: Delivery) -> Change:
    """Fire the request's event at one target; a refusal is recorded on both sides."""
    from .runtime import step

    if head.id in delivery.involved:
        return _refused(request, head, actor, "already changed by this command")
    try:
        instance = delivery.targets.load_working_set(head.id)
        compiled = engine.playbooks.of_instance(instance, delivery.targets.get_source)
    except NotFoundError as exc:
        return _refused(request, head, actor, exc.message)
    rc = engine.run_context(actor)
    try:
        outcome = step.fire(compiled, instance, request.event, request.fields, rc)
    except RefusedError as exc:
        return _refused(request, instance, actor, exc.reason)
    delivery.involved.add(instance.id)
    outcome.change.audit.insert(0, _received(request, instance, actor, applied=True))
    request.record.data["delivered"].append(instance.id)
    return engine._with_starts(outcome, actor, depth + 1, delivery)


def _refused(request: SignalRequest, target: Instance, actor: str, reason: str) -> Change:
    """A target that did not take the event: named in the source's record, and its own
    ``signalled`` record says why (its rows are not written)."""
    request.record.data["refused"].append({"instance": target.id, "reason": reason})
    change = Change()
    change.audit.append(_received(request, target, actor, applied=False, reason=reason))
    return change


def _received(request: SignalRequest, target: Instance, actor: str, *, applied: bool,
              reason: str | None = None) -> AuditDraft:
    data: dict[str, Any] = {"from": request.source, "from_playbook": request.record.playbook,
                            "applied": applied}
    if reason is not None:
        data["reason"] = reason
    return AuditDraft(at=request.record.at, instance=target.id, playbook=target.playbook,
                      version=target.version, actor=actor, action="signalled",
                      event=request.event, from_state=target.state, to_state=target.state,
                      data=data)
