"""The engine in process, on each store: one compiled playbook per source text, and the reads
the commands use instead of the store."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from frontdesk.service import Engine
from frontdesk.settings import Options

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk


def engine_for(fd: Frontdesk) -> Engine:
    return Engine(Options(home=str(fd.home), db=fd.store_url, now=fd.now,
                          playbooks=(str(fd.playbooks),), env={}))


def test_a_playbook_is_compiled_once_per_source(frontdesk: Frontdesk) -> None:
    """The search path's version and the source an instance started with are one compiled
    playbook when their text is the same (the registry keys them by content digest)."""
    with engine_for(frontdesk) as engine:
        instance = engine.start("rt-intake", {"client": "Ann"}, frontdesk.user)
        current = engine.playbooks.current("rt-intake")
        assert engine.playbooks.of_instance(instance, engine.store.get_source) is current
        assert current.digest == instance.digest


def test_the_reads_commands_use(frontdesk: Frontdesk) -> None:
    """Instances, one instance, its history, open tasks and the outbox, all through the
    engine; leaving the ``with`` block closes the store and a new block reopens it."""
    engine = engine_for(frontdesk)
    with engine:
        started = engine.start("rt-intake", {"client": "Ann"}, frontdesk.user)
    with engine:
        assert [i.id for i in engine.list_instances(status="open")] == [started.id]
        assert engine.get_instance(started.id).subject == "Intake Ann"
        assert [r["action"] for r in engine.history(started.id)][0] == "start"
        tasks = engine.open_tasks(until=dt.date(2026, 1, 31), roles={"front_desk"})
        assert [(t.task, i.id) for t, i in tasks] == [("call_client", started.id)]
        assert engine.outbox() == []
        assert engine.audit_head()[0] == len(list(engine.audit_records()))
