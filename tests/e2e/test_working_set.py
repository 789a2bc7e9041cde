"""A step works on an instance's working set, not its history (issue 21): an instance with a
long history behaves exactly as when every command loaded it whole.

The same story runs in two homes: in one, every write prints ``--json`` (which loads the whole
instance, as every step did before), in the other none does (the step loads its working set:
open tasks, the task a command names, armed timers; ``done()`` asks the store for the latest
occurrence of its task). The refusals, the instances and the audit records come out the same,
ids and all; and the store's working-set load holds exactly that working set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from frontdesk.report import instance_json
from frontdesk.runtime.instance import Instance
from frontdesk.store import open_store
from frontdesk_testing import Frontdesk
from runtime_testing import HISTORY_PLAYBOOK

PEOPLE = """\
practice: Test Practice
timezone: America/New_York
people:
  maria: {name: Maria, roles: [staff]}
  drlee: {name: Dr. Lee, roles: [staff, owner]}
"""

LATER = "2026-01-07T10:00"
NUDGES = 12


@pytest.fixture
def homes(tmp_path: Path, make_frontdesk: Callable[..., Frontdesk]) -> tuple[Frontdesk, ...]:
    """Two homes with the same practice and playbook: (whole, working set)."""
    made = []
    for name in ("whole", "working"):
        fd = make_frontdesk(tmp_path / name, PEOPLE)
        (fd.playbooks / "history.yaml").write_text(HISTORY_PLAYBOOK, encoding="utf-8")
        made.append(fd)
    return tuple(made)


class Story:
    """One home's run of the story; ``whole`` makes every write print (and load) the whole
    instance. ``said`` keeps each write's exit code and stderr, with instance ids named by
    their order of start."""

    def __init__(self, fd: Frontdesk, whole: bool) -> None:
        self.fd, self.whole = fd, whole
        self.ids: list[str] = []
        self.said: list[tuple[int, str]] = []
        self.now: str | None = None

    def normal(self, text: str) -> str:
        for number, instance in enumerate(self.ids):
            text = text.replace(instance, f"<instance {number}>")
        return text

    def write(self, *args: str, json_: bool = True) -> None:
        json_ = json_ and self.whole
        result = self.fd.run(*args, *(("--json",) if json_ else ()), now=self.now)
        self.said.append((result.returncode, self.normal(result.stderr)))

    def start(self) -> str:
        self.ids.append(self.fd.json("start", "rt-history", now=self.now)["id"])
        return self.ids[-1]

    def tasks(self, instance: str, task: str, status: str = "open") -> list[str]:
        shown = self.fd.json("show", instance, now=self.now)
        return [t["id"] for t in shown["tasks"] if t["task"] == task and t["status"] == status]

    def done(self, instance: str, task: str, status: str = "open", which: int = -1) -> None:
        self.write("done", self.tasks(instance, task, status)[which])

    def long_history(self, instance: str) -> None:
        self.done(instance, "intake")
        self.write("fire", instance, "begin")
        for k in range(NUDGES):
            if k % 4 == 0:
                self.done(instance, "weekly")  # a recurring task: its next occurrence opens
            self.write("fire", instance, "nudge")

    def run(self) -> None:
        first, second = self.start(), self.start()
        self.long_history(first)
        self.long_history(second)
        self.write("fire", first, "early")  # refused: the latest consent is open
        self.done(first, "consent")
        self.write("fire", first, "nudge")  # a new consent opens after the one done
        self.write("fire", first, "early")  # refused again: the latest one is open
        self.done(first, "consent", "cancelled", which=0)  # refused: cancelled long ago
        self.write("assign", self.tasks(first, "consent")[-1], "maria", "--as", "drlee")
        self.write("correct", first, "--set", "note=revised", "--reason", "typo",
                   "--as", "drlee")
        self.now = LATER
        self.write("tick", json_=False)  # each nudge timer fires: new timer ids
        self.write("fire", first, "finish")  # refused: the consent is open (all_done)
        self.done(first, "consent")
        self.write("fire", first, "finish")  # intake done long ago, nothing open left
        self.write("cancel", second, "--reason", "moved away", "--as", "drlee")

    def outcome(self) -> list[Any]:
        """The refusals, each instance as shown (whole) and its audit records, ids named."""
        shown = [self.fd.json("show", i, now=self.now) for i in self.ids]
        for instance in shown:
            instance["history"] = _unchained(instance["history"])
        records = _unchained([json.loads(line) for line in self.fd.ok(
            "audit", "export", now=self.now).splitlines()])
        return [self.said, json.loads(self.normal(json.dumps([shown, records])))]


def _unchained(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit records without their chain (``prev``, ``hash``: they cover the random ids)."""
    return [{k: v for k, v in r.items() if k not in ("prev", "hash")} for r in records]


def test_a_long_history_behaves_as_when_loaded_whole(homes: tuple[Frontdesk, ...]) -> None:
    """done() of a task closed long ago, of a task whose latest occurrence is open, recurring
    tasks, all_done, new task and timer ids after a long history, assign, correct, tick and
    cancel: the same refusals, instances and records as with whole instances."""
    whole, working = Story(homes[0], whole=True), Story(homes[1], whole=False)
    whole.run()
    working.run()
    assert working.outcome() == whole.outcome()
    said = working.said
    assert [code for code, _ in said].count(5) == 4, said  # early twice, cancelled, finish
    assert any("already cancelled" in err for _, err in said), said
    shown = homes[1].json("show", working.ids[0], now=LATER)
    assert shown["status"] == "closed" and len(shown["tasks"]) > 2 * NUDGES
    assert homes[1].ok("audit", "verify", now=LATER)


def _story_so_far(fd: Frontdesk) -> Story:
    story = Story(fd, whole=False)
    story.start()
    story.long_history(story.ids[0])
    story.start()
    return story


def test_a_step_loads_only_the_working_set(homes: tuple[Frontdesk, ...]) -> None:
    """The store's working-set load: the open tasks, the task named, the armed timers, how many
    rows it left out, and the latest occurrence of a task read from the store when asked;
    nothing that shows history takes it."""
    fd = homes[1]
    story = _story_so_far(fd)
    first, fresh = story.ids
    old = story.tasks(first, "consent", "cancelled")[0]
    with open_store(fd.store_url) as store, store.transaction() as txn:
        whole = txn.load_instance(first)
        working = txn.load_working_set(first)
        named = txn.load_working_set(first, task=old)
        batch = txn.load_working_sets([fresh, "nope", first])
        intake = working.latest_task("intake")
        consent = working.latest_task("consent")
        nothing = working.latest_task("nothing")  # read in the transaction that loaded it
    wanted = [t.id for t in whole.tasks if t.is_open]
    assert [t.id for t in working.tasks] == wanted
    assert len(wanted) == 2 < len(whole.tasks)  # the consent and the weekly check
    assert [t.id for t in named.tasks] == [t.id for t in whole.tasks if t.id in {*wanted, old}]
    assert intake is not None and (intake.id, intake.status) == (whole.tasks[0].id, "done")
    assert consent is working.tasks[-1] and consent.task == "consent"
    assert nothing is None
    assert [t.id for t in working.timers] == [t.id for t in whole.timers if t.status == "armed"]
    assert len(working.timers) == 1 < len(whole.timers)
    assert working.tasks_left_out + len(working.tasks) == len(whole.tasks)
    assert working.timers_ever == len(whole.timers)
    seqs = {t.id: t.seq for t in whole.tasks}
    assert [seqs[t.id] for t in working.tasks] == [t.seq for t in working.tasks]
    assert working.working_set and not whole.working_set
    assert (working.state, working.vars, working.task_counter) == (
        whole.state, whole.vars, whole.task_counter)
    assert [i.id for i in batch] == [fresh, first]
    assert [t.id for t in batch[1].tasks] == wanted and batch[1].tasks_left_out > 0
    assert batch[0].tasks_left_out == 0 and batch[0].working_set
    _refuses_history(working)


def _refuses_history(working: Instance) -> None:
    """What shows or checks history refuses a working set (a bug, never silent)."""
    import datetime as dt

    with pytest.raises(RuntimeError, match="needs the whole instance"):
        working.require_whole("show")
    with pytest.raises(RuntimeError, match="the Instance JSON shape"):
        instance_json(working, dt.UTC, dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
