"""The task lists (My day, Everyone, a role, the printable day list) and the task page with
its form, completion and assignment."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import abort, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..commands.today import collect, grouped, upcoming
from ..errors import FrontdeskError, RefusedError
from ..report import due_text
from ..runtime.instance import Instance, TaskOccurrence
from ..runtime.step import assignment_problem, field_problems
from . import forms
from .app import STATUS, render
from .tables import task_table

CHECKLIST_PROBLEM = "tick every item of the checklist first"


UPCOMING_SHOWN = 25  # the first upcoming tasks a list shows


def _lists(role: str | None = None, everyone: bool = False) -> dict[str, Any]:
    """The groups of ``today``'s list (its rules, its code) for the person, a role or
    everyone: every overdue task and today's, then the first ``UPCOMING_SHOWN`` of the next
    ``board.upcoming_days`` days (the store's rows kept while it is unchanged: ``tasklists``)."""
    engine = g.engine
    ws = engine.workspace
    source = g.board.task_lists.source(engine.store)
    rows = collect(engine, actor=g.person, role=role, everyone=everyone, source=source)
    today = ws.clock.now().astimezone(ws.tz).date()
    groups = grouped(rows, today, ws.tz)
    groups["UPCOMING"] = upcoming(engine, actor=g.person, role=role, everyone=everyone,
                                  days=ws.practice.board.upcoming_days, limit=UPCOMING_SHOWN,
                                  source=source)
    return {"groups": groups, "today": today,
            "table": partial(task_table, root=g.root, tz=ws.tz),
            "count": sum(len(rows) for rows in groups.values()),
            "upcoming_shown": UPCOMING_SHOWN, "upcoming_days": ws.practice.board.upcoming_days}


def _require_administrator(what: str) -> None:
    g.engine.workspace.require_administrator(g.person, what)


def my_day() -> tuple[str, int]:
    """My day: the person's overdue, today's and upcoming tasks (``today``'s rules)."""
    return render("day.html", heading="My day", **_lists())


def print_day() -> tuple[str, int]:
    """My day as a printable list (the print stylesheet leaves the menus off)."""
    return render("print.html", heading="Day list", **_lists())


def everyone() -> tuple[str, int]:
    """Everyone's open tasks, with assignees (administrators)."""
    _require_administrator("the Everyone list")
    return render("day.html", heading="Everyone", show_assignee=True,
                  **_lists(everyone=True))


def role_list(role: str) -> tuple[str, int]:
    """One role's open tasks, with assignees (administrators)."""
    _require_administrator("a role's list")
    return render("day.html", heading=f"Role: {role}", show_assignee=True,
                  **_lists(role=role))


def task_page(task_id: str) -> tuple[str, int]:
    """A task occurrence with its form (when it is the person's) and assignment."""
    return _task_view(task_id)


def task_done(task_id: str) -> BaseResponse | tuple[str, int]:
    """Complete a task from its form; every field's error at once, nothing written."""
    instance, task, spec = _task_of(task_id)
    try:  # as ``done`` does: whose task it is before what its fields hold
        g.engine.check_task_holder(instance, task_id, g.engine.acting(g.person))
    except FrontdeskError as exc:
        return _task_view(task_id, message=exc.message, status=STATUS.get(exc.exit_code, 500))
    specs = spec.fields if spec else ()
    values = forms.given(specs, request.form)
    errors = field_problems(specs, values, g.engine.workspace.tz)
    checklist = spec.checklist if spec else ()
    items = {str(number) for number in range(1, len(checklist) + 1)}
    if not items <= set(request.form.getlist("checklist")):
        errors["checklist"] = CHECKLIST_PROBLEM
    if errors:
        return _task_view(task_id, form=True, errors=errors, status=422)
    try:
        after = g.engine.done(task_id, values, g.person)
    except FrontdeskError as exc:
        return _task_view(task_id, form=True, message=exc.message,
                          status=STATUS.get(exc.exit_code, 500))
    g.session.notice = f"Done: {task.title}."
    return redirect(url_for("instance_page", instance_id=after.id))


def task_assign(task_id: str) -> BaseResponse | tuple[str, int]:
    """Give a task to a person holding its role, or to nobody."""
    person = request.form.get("person", "")
    try:
        g.engine.assign(task_id, person or None, g.person)
    except FrontdeskError as exc:
        return _task_view(task_id, message=exc.message,
                          status=STATUS.get(exc.exit_code, 500))
    g.session.notice = f"Assigned to {person}." if person else "Unassigned."
    return redirect(url_for("task_page", task_id=task_id))


ROUTES = (  # (rule, view, method); the endpoint is the view's name
    ("/", my_day, "GET"),
    ("/print", print_day, "GET"),
    ("/everyone", everyone, "GET"),
    ("/role/<role>", role_list, "GET"),
    ("/task/<task_id>", task_page, "GET"),
    ("/task/<task_id>/done", task_done, "POST"),
    ("/task/<task_id>/assign", task_assign, "POST"),
)


def _task_of(task_id: str) -> tuple[Instance, TaskOccurrence, Any]:
    instance, found = g.engine.find(task_id)
    if found is None:
        abort(404)  # an instance's id is not a task's
    task = next(t for t in instance.tasks if t.id == task_id)
    return instance, task, g.engine.playbook_of(instance).task(task.task)


def _task_view(task_id: str, *, form: bool = False, errors: dict[str, str] | None = None,
               message: str | None = None, status: int = 200) -> tuple[str, int]:
    instance, task, spec = _task_of(task_id)
    engine = g.engine
    problem = None
    if task.status != "open":
        problem = f"this task is {task.status}"
    else:
        try:
            engine.check_task_holder(instance, task_id, g.person)
        except RefusedError as exc:
            problem = exc.message
    practice = engine.workspace.practice
    holders = [pid for pid in practice.people
               if assignment_problem(practice, pid, task.role) is None]
    controls = forms.controls(spec.fields if spec else (), request.form if form else None,
                              errors)
    ticked = set(request.form.getlist("checklist")) if form else set()
    return render("task.html", status, instance=instance, task=task, spec=spec,
                  controls=controls, problem=problem, holders=holders, message=message,
                  errors=errors or {}, ticked=ticked,
                  due=due_text(task.due, engine.workspace.tz))
