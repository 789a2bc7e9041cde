"""The board's task table (built in Python, not by a template) and the task lists' kept rows."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk.runtime.instance import TaskOccurrence, TaskOwner
from frontdesk.web.tables import task_table
from frontdesk.web.tasklists import TaskLists

HOSTILE = "<script>alert('x')</script> & \"quoted\""


def _task(**given: Any) -> dict[str, Any]:
    task = {"id": "i1-1", "instance": "i1", "playbook": "intake", "title": "Call",
            "role": "front_desk", "assignee": None, "due": "2026-03-02", "overdue": False}
    return {**task, **given}


def test_every_value_is_escaped_and_ids_are_path_segments() -> None:
    row = _task(id="a/b?c=<d>", instance='i"1', title=HOSTILE, role=HOSTILE,
                assignee=HOSTILE, playbook=HOSTILE)
    html = str(task_table([(row, HOSTILE)], root="/board/", tz=None, show_assignee=True))
    assert "<script>" not in html and "'x'" not in html and '"quoted"' not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; "
                      "&quot;quoted&quot;") == 5  # title, subject, role, assignee, playbook
    assert 'href="/board/task/a%2Fb%3Fc%3D%3Cd%3E"' in html
    assert 'href="/board/instance/i%221"' in html


def test_row_cells_overdue_mark_and_assignee_column() -> None:
    tz = ZoneInfo("America/New_York")
    late = _task(due="2026-03-02T15:00:00+00:00", overdue=True, assignee="sam")
    html = str(task_table([(late, None), (_task(role=None), "Visit Kit")], root="/", tz=tz))
    assert html.count("<tr") == 3 and html.count('<tr class="overdue">') == 1
    assert '<td class="nowrap">2026-03-02 10:00</td>' in html  # in the practice's time
    assert '<a href="/instance/i1">i1</a>' in html  # no subject: the instance's id
    assert '<a href="/instance/i1">Visit Kit</a>' in html and "<td>–</td>" in html
    assert "Assignee" not in html and "sam" not in html
    assert "<th scope=\"col\">Assignee</th>" in str(
        task_table([(late, None)], root="/", tz=tz, show_assignee=True))


def test_kept_rows_are_asked_again_when_the_head_moves() -> None:
    lists = TaskLists()
    asked: list[int] = []
    occurrence = TaskOccurrence("i1-1", "i1", "call", "booked", "Call", None,
                                dt.date(2026, 3, 2))

    def ask() -> list[tuple[TaskOccurrence, TaskOwner]]:
        asked.append(1)
        return [(occurrence, TaskOwner("i1", "intake", "Kit"))]

    first = lists.answer((1, "a"), ("open", "sam"), ask)
    assert lists.answer((1, "a"), ("open", "sam"), ask) is first and len(asked) == 1
    lists.answer((1, "a"), ("open", "maria"), ask)  # another question: asked
    lists.answer((2, "b"), ("open", "sam"), ask)  # the store changed: asked again
    lists.answer((1, "a"), ("open", "maria"), ask)  # an older head's answers are gone
    assert len(asked) == 4
