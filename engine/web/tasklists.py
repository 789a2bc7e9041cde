"""What the board keeps of the store's answers for its task lists, while the store is unchanged.

My day, Everyone and a role's list ask the store the same two questions again and again (the
open tasks due by a date, the first upcoming ones) while nothing changes. Every change to an
instance or a task is written with its audit records in one transaction (``Txn.apply``), so
the audit log's head (``seq``, ``hash``) moves with every change, by the board, the CLI or
any other process: a request reads the head first, then is answered from what was kept under
that same head, or asks the store and keeps the answer under it. Answers read after the head
are never older than the head (a change committed in between makes them newer, and moves the
head, so no later request takes them for the head's). Only the rows are kept: overdue marks,
grouping and the page are made anew by each request, at its own clock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Hashable
from typing import TYPE_CHECKING

from ..runtime.instance import TaskOccurrence, TaskOwner

if TYPE_CHECKING:
    from ..store import Store

Pairs = list[tuple[TaskOccurrence, TaskOwner]]
Head = tuple[int, str]


class TaskLists:
    """The kept answers of one server (its threads share them), all under one audit head."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._head: Head | None = None
        self._kept: dict[Hashable, Pairs] = {}

    def source(self, store: Store) -> KeptTasks:
        """The task source of one request over ``store``: its audit head is read now."""
        return KeptTasks(self, store, store.audit_head())

    def answer(self, head: Head, question: Hashable, ask: Callable[[], Pairs]) -> Pairs:
        """The answer kept under ``head`` to ``question``, else ``ask()``'s (then kept)."""
        with self._lock:
            if self._head == head and question in self._kept:
                return self._kept[question]
        pairs = ask()
        with self._lock:
            if self._head != head:  # the store changed: nothing kept is of this head
                self._head, self._kept = head, {}
            self._kept[question] = pairs
        return pairs


class KeptTasks:
    """A ``commands.today.TaskSource`` answered from ``TaskLists`` under one audit head."""

    def __init__(self, lists: TaskLists, store: Store, head: Head) -> None:
        self._lists, self._store, self._head = lists, store, head

    def open_tasks(self, until: dt.date | None = None, roles: Collection[str] | None = None,
                   person: str | None = None) -> Pairs:
        """``Store.open_tasks``."""
        question = ("open", until, _frozen(roles), person)
        return self._lists.answer(self._head, question,
                                  lambda: self._store.open_tasks(until, roles, person))

    def upcoming_tasks(self, after: dt.date, until: dt.date, roles: Collection[str] | None,
                       person: str | None, limit: int) -> Pairs:
        """``Store.upcoming_tasks``."""
        question = ("upcoming", after, until, _frozen(roles), person, limit)
        return self._lists.answer(self._head, question, lambda: self._store.upcoming_tasks(
            after, until, roles, person, limit))


def _frozen(roles: Collection[str] | None) -> frozenset[str] | None:
    return None if roles is None else frozenset(roles)
