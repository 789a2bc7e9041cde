"""The pure runtime on a working set (``Instance.working_set``): an instance with a long history
cut down to its open tasks, the latest occurrence of each task and its armed timers takes each
step exactly as the whole instance does: the same records, task and timer ids, and rows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from frontdesk.errors import RefusedError
from frontdesk.runtime import step
from frontdesk.runtime.instance import Instance, TaskOccurrence
from frontdesk.runtime.step import Outcome
from frontdesk.store.base import row_seq
from runtime_testing import HISTORY_PLAYBOOK, MONDAY, compile_text, ctx

CP = compile_text(HISTORY_PLAYBOOK)


def long_history(nudges: int = 40) -> Instance:
    """A whole instance, its rows numbered as the store numbers them: intake done, then
    ``nudges`` times back into care (each cancels two tasks and a timer)."""
    inst = step.start(CP, {}, ctx()).instance
    inst = step.complete(CP, inst, inst.tasks[0].id, {}, ctx()).instance
    inst = step.fire(CP, inst, "begin", {}, ctx()).instance
    for _ in range(nudges):
        inst = step.fire(CP, inst, "nudge", {}, ctx()).instance
    for seq, task in enumerate(inst.tasks):
        task.seq = seq
    for seq, timer in enumerate(inst.timers):
        timer.seq = seq
    inst.dirty.clear()  # as committing it does
    return inst


@dataclasses.dataclass
class Stored:
    """The stored task rows of ``whole``, as the store's ``StoredTasks`` reads them."""

    whole: Instance
    asked: list[str] = dataclasses.field(default_factory=list)

    def latest(self, task: str) -> TaskOccurrence | None:
        self.asked.append(task)
        return next((t for t in reversed(self.whole.tasks) if t.task == task), None)


def working_set(whole: Instance) -> Instance:
    """What the store's working-set load gives of ``whole``."""
    tasks = [t for t in whole.tasks if t.is_open]
    timers = [t for t in whole.timers if t.status == "armed"]
    return dataclasses.replace(whole, tasks=tasks, timers=timers, working_set=True,
                               tasks_left_out=len(whole.tasks) - len(tasks),
                               timers_left_out=len(whole.timers) - len(timers),
                               history=Stored(whole))


def rows(outcome: Outcome) -> list[tuple[str, int, str]]:
    """The (id, seq, status) of each task and timer row the change writes."""
    inst = outcome.instance
    return [(r.id, row_seq(r.seq, at, left_out), r.status)
            for items, left_out in ((inst.tasks, inst.tasks_left_out),
                                    (inst.timers, inst.timers_left_out))
            for at, r in enumerate(items) if r.id in inst.dirty]


@pytest.mark.parametrize(("event", "later"), [("nudge", False), ("finish", False),
                                              ("nudge", True)])
def test_a_step_on_the_working_set_is_the_step_on_the_whole_instance(event: str,
                                                                     later: bool) -> None:
    """Re-entering care (new task and timer ids after 80 cancelled tasks and 40 timers), and
    ``done('intake')`` of a task done long ago; also after the consent was done once."""
    whole = long_history()
    if later:
        consent = next(t for t in whole.tasks if t.task == "consent" and t.is_open)
        whole = step.complete(CP, whole, consent.id, {}, ctx()).instance
        whole.dirty.clear()
    working = working_set(whole)
    assert len(working.tasks) == (1 if later else 2) and len(whole.tasks) > 80
    if event == "finish":  # all_done: the consent is open
        with pytest.raises(RefusedError) as refused:
            step.fire(CP, working, event, {}, ctx())
        with pytest.raises(RefusedError) as expected:
            step.fire(CP, whole, event, {}, ctx())
        assert refused.value.reason == expected.value.reason
        return
    mine, theirs = (step.fire(CP, i, event, {}, ctx(MONDAY + dt.timedelta(days=1)))
                    for i in (working, whole))
    if later:  # done('consent'): the latest consent, done, is read from the store
        assert step.fire(CP, working, "early", {}, ctx()).instance.status == "closed"
        assert isinstance(working.history, Stored) and working.history.asked == ["consent"]
    assert mine.change.audit == theirs.change.audit
    assert rows(mine) == rows(theirs)
    assert mine.instance.working_set and mine.instance.timers_ever == len(
        theirs.instance.timers)
