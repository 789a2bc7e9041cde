"""The instances of one playbook as a report sees them: a stream of :class:`Facts`.

The instances are read in id order (``Store.report_instances``) together with, only when the
report names them, the occurrences of its tasks and the audit records of its events, each a
stream in the same order merged by instance id. Only the variables the report reads are
decoded (all of them when a guard expression or a roster expression runs), and the
practice-local start and close dates only when the report reads them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..loading.reports import moments_of, uses_guards, variables_of
from ..model import Playbook, ReportSpec
from ..runtime.instance import decoded, from_json
from ..store.base import Store
from .measures import Facts, date_of

STRUCTURED = (dict, list)  # the JSON values that may hold tagged dates


def _grouped(rows: Iterator[Sequence[Any]]) -> Iterator[tuple[str, list[Sequence[Any]]]]:
    """Rows ordered by their first column, grouped by it."""
    current: str | None = None
    bucket: list[Sequence[Any]] = []
    for row in rows:
        if row[0] != current:
            if current is not None:
                yield current, bucket
            current, bucket = row[0], []
        bucket.append(row)
    if current is not None:
        yield current, bucket


class _Merged:
    """A stream grouped by instance id, advanced in step with the (id-ordered) instances."""

    def __init__(self, rows: Iterator[Sequence[Any]]) -> None:
        self._groups = _grouped(rows)
        self._head: tuple[str, list[Sequence[Any]]] | None = next(self._groups, None)

    def take(self, instance: str) -> list[Sequence[Any]]:
        while self._head is not None and self._head[0] < instance:
            self._head = next(self._groups, None)
        if self._head is not None and self._head[0] == instance:
            found = self._head[1]
            self._head = next(self._groups, None)
            return found
        return []


class FactStream:
    """The instances of one playbook as :class:`Facts`, with what the report needs."""

    def __init__(self, store: Store, playbook: Playbook, report: ReportSpec, tz: dt.tzinfo):
        self.store, self.playbook, self.tz = store, playbook.id, tz
        self.full = uses_guards(report)
        self.names = sorted(set(variables_of(report)))
        moments = set(moments_of(report))
        self.tasks = sorted(m.partition(":")[2] for m in moments if m.startswith("task:"))
        self.events = sorted(m.partition(":")[2] for m in moments if m.startswith("event:"))

    def _vars(self, text: str) -> dict[str, Any]:
        """The variables as stored; those the report reads with their dates decoded (the
        others are left as they are: nothing reads them)."""
        if self.full:
            found: dict[str, Any] = from_json(text)
            return found
        raw: dict[str, Any] = json.loads(text)
        for name in self.names:
            if type(raw.get(name)) in STRUCTURED:
                raw[name] = decoded(raw[name])
        return raw

    def _task_facts(self, rows: list[Sequence[Any]]) -> dict[str, tuple[dt.date | None, bool]]:
        found: dict[str, tuple[dt.date | None, bool]] = {}
        for _instance, task, status, due_date, closed_at in rows:
            if task in found:
                continue  # the first occurrence counts
            done = date_of(closed_at, self.tz) if status == "done" else None
            due = dt.date.fromisoformat(due_date) if due_date else None
            found[task] = (done, done is not None and (due is None or done <= due))
        return found

    def _event_facts(self, rows: list[Sequence[Any]]) -> dict[str, dt.date]:
        found: dict[str, dt.date] = {}
        for _instance, event, at in rows:
            if event not in found:
                found[event] = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(
                    self.tz).date()
        return found

    def __iter__(self) -> Iterator[Facts]:
        tasks = _Merged(self.store.report_task_rows(self.playbook, self.tasks)) \
            if self.tasks else None
        events = _Merged(self.store.report_event_rows(self.playbook, self.events)) \
            if self.events else None
        tz, playbook, vars_of = self.tz, self.playbook, self._vars
        for id_, status, outcome, state, started, updated, var_text, _subject in (
                self.store.report_instances(playbook)):
            facts = Facts(id_, playbook, status, outcome, state, started,
                          updated if status == "closed" else None, vars_of(var_text), tz=tz)
            if tasks is not None:
                facts.tasks = self._task_facts(tasks.take(id_))
            if events is not None:
                facts.events = self._event_facts(events.take(id_))
            yield facts
