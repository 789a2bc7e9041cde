"""The instance page (state, variables, open tasks, events as buttons, the history, the state
diagram), firing an event, cancel and correct for administrators, starting a playbook,
search by subject and the outbox."""

from __future__ import annotations

from typing import Any

from flask import Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..commands.describe import events_of
from ..commands.instances import record_details, record_what, start_refusal
from ..errors import FrontdeskError, RefusedError
from ..model import ALL_TASKS_DONE, FieldSpec, Playbook
from ..report import due_text, local_time, revived, yaml_value
from ..runtime.instance import Instance
from ..runtime.step import field_problems
from . import diagram, forms
from .app import STATUS, render

OUTBOX_SHOWN = 200
SEARCH_LIMIT = 50


def instance_page(instance_id: str) -> tuple[str, int]:
    """An instance: state, values, open tasks, events, history, diagram."""
    return _instance_view(instance_id)


def instance_diagram(instance_id: str) -> Response:
    """The instance's state diagram as SVG, its current state filled."""
    instance = g.engine.get_instance(instance_id)
    svg = diagram.svg(g.engine.playbook_of(instance), instance.digest, instance.state)
    return Response(svg, mimetype="image/svg+xml")


def instance_fire(instance_id: str) -> BaseResponse | tuple[str, int]:
    """Fire the event of the submitted form at the instance."""
    return _fire(instance_id, request.form.get("event", ""))


def instance_cancel(instance_id: str) -> BaseResponse | tuple[str, int]:
    """Cancel the instance (administrators; the engine decides)."""
    try:
        g.engine.cancel(instance_id, request.form.get("reason", ""), g.person)
    except FrontdeskError as exc:
        return _instance_view(instance_id, message=exc.message,
                              status=STATUS.get(exc.exit_code, 500))
    g.session.notice = "Cancelled."
    return redirect(url_for("instance_page", instance_id=instance_id))


def instance_correct(instance_id: str) -> BaseResponse | tuple[str, int]:
    """Correct one variable of the instance (administrators)."""
    name = request.form.get("variable", "")
    try:
        g.engine.correct(instance_id, {name: request.form.get("value", "")},
                         request.form.get("reason", ""), g.person)
    except FrontdeskError as exc:
        return _instance_view(instance_id, message=exc.message,
                              status=STATUS.get(exc.exit_code, 500))
    g.session.notice = f"Corrected {name}."
    return redirect(url_for("instance_page", instance_id=instance_id))


def start_list() -> tuple[str, int]:
    """The playbooks a person can start."""
    entries = [e for e in g.engine.playbooks.catalog.entries if e.shadowed_by is None]
    return render("start_list.html", entries=entries)


def start_form(playbook_id: str) -> tuple[str, int]:
    """The form of a playbook's inputs."""
    return _start_view(playbook_id)


def start_post(playbook_id: str) -> BaseResponse | tuple[str, int]:
    """Start an instance from the inputs form."""
    return _start(playbook_id)


def search() -> tuple[str, int]:
    """The search form."""
    return render("search.html", results=None, query="")


def search_post() -> tuple[str, int]:
    """Instances whose subject holds the text (sent by POST: no PHI in URLs)."""
    query = request.form.get("q", "").strip()[:200]
    results = g.engine.store.search_subjects(query, SEARCH_LIMIT) if query else []
    return render("search.html", results=results, query=query, limit=SEARCH_LIMIT)


def outbox() -> tuple[str, int]:
    """The rendered messages, newest first (read only)."""
    messages = g.engine.outbox()
    shown = messages[-OUTBOX_SHOWN:][::-1]
    return render("outbox.html", messages=shown, total=len(messages),
                  at=lambda text: local_time(text, g.engine.workspace.tz))


ROUTES = (  # (rule, view, method); the endpoint is the view's name
    ("/instance/<instance_id>", instance_page, "GET"),
    ("/instance/<instance_id>/diagram.svg", instance_diagram, "GET"),
    ("/instance/<instance_id>/fire", instance_fire, "POST"),
    ("/instance/<instance_id>/cancel", instance_cancel, "POST"),
    ("/instance/<instance_id>/correct", instance_correct, "POST"),
    ("/start", start_list, "GET"),
    ("/start/<playbook_id>", start_form, "GET"),
    ("/start/<playbook_id>", start_post, "POST"),
    ("/search", search, "GET"),
    ("/search", search_post, "POST"),
    ("/outbox", outbox, "GET"),
)


# -- events --------------------------------------------------------------------------------
def _roles_of(person: str) -> set[str] | None:
    """The roles ``person`` holds (None: every role, a practice without people)."""
    people = g.engine.workspace.practice.people
    if not people:
        return None
    holder = people.get(person)
    return set(holder.roles) if holder else set()


def _offered(playbook: Playbook, instance: Instance) -> list[dict[str, Any]]:
    """The events of the instance's state the person may fire, each with its fields (those
    of its transitions, by name). An event only the engine fires, or whose every transition
    needs a role the person lacks, is not offered."""
    if instance.status != "open":
        return []
    tailoring = g.engine.workspace.practice.tailoring(playbook.id)
    roles = _roles_of(g.person)
    offered = []
    for event in events_of(playbook, tailoring, [instance.state]):
        if event["name"] == ALL_TASKS_DONE or event["timers"] or event["tasks"]:
            continue  # the engine fires it: a timer of this state, or a task's completion
        allowed = [t for t in event["transitions"]
                   if roles is None or t["by"] is None or roles & set(t["by"])]
        if allowed:
            offered.append({"name": event["name"], "specs": _event_specs(playbook, instance,
                                                                         event["name"])})
    return offered


def _event_specs(playbook: Playbook, instance: Instance, event: str) -> list[FieldSpec]:
    """The fields of ``event``'s transitions from the instance's state, each name once."""
    specs: dict[str, FieldSpec] = {}
    for transition in playbook.states[instance.state].on.get(event, ()):
        for spec in transition.fields:
            specs.setdefault(spec.name, spec)
    return list(specs.values())


def _same_fields(playbook: Playbook, instance: Instance, event: str) -> bool:
    """Whether every transition of ``event`` asks the same fields (then a form's values can
    be checked field by field before the engine runs; else the engine picks the transition)."""
    transitions = playbook.states[instance.state].on.get(event, ())
    return all(t.fields == transitions[0].fields for t in transitions)


def _fire(instance_id: str, event: str) -> BaseResponse | tuple[str, int]:
    engine = g.engine
    instance = engine.get_instance(instance_id)
    playbook = engine.playbook_of(instance)
    specs = _event_specs(playbook, instance, event) if instance.state in playbook.states else []
    values = forms.given(specs, request.form)
    if instance.status == "open" and _same_fields(playbook, instance, event):
        errors = field_problems(specs, values, engine.workspace.tz)
        if errors:
            return _instance_view(instance_id, event=event, errors=errors, status=422)
    note = request.form.get("note", "").strip() or None
    try:
        after = engine.fire(instance_id, event, values, g.person, note)
    except FrontdeskError as exc:
        return _instance_view(instance_id, message=exc.message,
                              status=STATUS.get(exc.exit_code, 500))
    g.session.notice = f"'{event}' recorded; now {after.state}" + (
        f" (closed: {after.outcome})." if after.status == "closed" else ".")
    return redirect(url_for("instance_page", instance_id=instance_id))


# -- the instance page ---------------------------------------------------------------------
def _history(instance_id: str) -> list[dict[str, Any]]:
    tz = g.engine.workspace.tz
    return [{"seq": r["seq"], "at": local_time(r["at"], tz), "actor": r["actor"],
             "principal": r.get("principal"), "what": record_what(r),
             "details": record_details(r["action"], revived(r["data"]), tz)}
            for r in g.engine.history(instance_id)]


def _instance_view(instance_id: str, *, event: str | None = None,
                   errors: dict[str, str] | None = None, message: str | None = None,
                   status: int = 200) -> tuple[str, int]:
    engine = g.engine
    instance = engine.get_instance(instance_id)
    instance.require_whole("the instance page")
    playbook = engine.playbook_of(instance)
    ws = engine.workspace
    events = [{"name": e["name"], "controls": forms.controls(
        e["specs"], request.form if e["name"] == event else None,
        errors if e["name"] == event else None)} for e in _offered(playbook, instance)]
    state = playbook.states.get(instance.state)
    return render(
        "instance.html", status, instance=instance, playbook=playbook,
        state_title=state.title if state else None, events=events, message=message,
        history=_history(instance_id), open_tasks=[t for t in instance.tasks if t.is_open],
        variables=[(k, yaml_value(v, ws.tz)) for k, v in instance.vars.items()],
        due=lambda d: due_text(d, ws.tz), at=lambda d: local_time(d, ws.tz),
        administrator=ws.practice.is_administrator(g.person))


# -- starting a playbook -------------------------------------------------------------------
def _start_view(playbook_id: str, *, errors: dict[str, str] | None = None,
                message: str | None = None, status: int = 200) -> tuple[str, int]:
    playbook = g.engine.playbooks.current(playbook_id).playbook
    controls = forms.controls(playbook.inputs.values(),
                              request.form if request.method == "POST" else None, errors)
    return render("start.html", status, playbook=playbook, controls=controls, message=message,
                  duplicate=bool(playbook.unique))


def _start(playbook_id: str) -> BaseResponse | tuple[str, int]:
    engine = g.engine
    playbook = engine.playbooks.current(playbook_id).playbook
    specs = list(playbook.inputs.values())
    values = forms.given(specs, request.form)
    errors = field_problems(specs, values, engine.workspace.tz)
    if errors:
        return _start_view(playbook_id, errors=errors, status=422)
    try:
        instance = engine.start(playbook_id, values, g.person,
                                allow_duplicate=request.form.get("allow_duplicate") == "true")
    except RefusedError as exc:
        refusal = start_refusal(engine, playbook_id, exc)
        return _start_view(playbook_id, message=refusal.message, status=403)
    except FrontdeskError as exc:
        return _start_view(playbook_id, message=exc.message,
                           status=STATUS.get(exc.exit_code, 500))
    g.session.notice = "Started."
    return redirect(url_for("instance_page", instance_id=instance.id))
