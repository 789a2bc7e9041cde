"""Two ``frontdesk fire`` processes racing on one instance: exactly one wins, the other changes
nothing (exit 5 or 6), and the audit chain stays valid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from frontdesk.service import Engine
from frontdesk.settings import Options

if TYPE_CHECKING:
    from frontdesk_testing import Frontdesk

ROUNDS = 20
TARGET = {"e1": "b", "e2": "c"}


def engine_for(fd: Frontdesk) -> Engine:
    """An in-process engine on the same home, store and playbooks as ``fd``: it starts the
    instances, since a ``start`` subprocess would add a second of interpreter start-up per
    round to a test about concurrent ``fire``s."""
    return Engine(Options(playbooks=(str(fd.playbooks),), db=fd.db_url, env=fd.env()))


@pytest.mark.slow
def test_concurrent_fires_one_wins(frontdesk: Frontdesk) -> None:
    """20 rounds of e1 and e2 fired at once: one exits 0, the other 5 or 6, state = winner's."""
    fd = frontdesk
    engine = engine_for(fd)
    try:
        for _ in range(ROUNDS):
            instance = engine.start("rt-race", {}, fd.user).id
            racers = {event: fd.popen("fire", instance, event) for event in TARGET}
            results = {}
            for event, process in racers.items():
                stdout, stderr = process.communicate(timeout=120)
                results[event] = (process.returncode, stdout, stderr)
            winners = [event for event, (code, _, _) in results.items() if code == 0]
            assert len(winners) == 1, results
            [winner] = winners
            [loser] = [event for event in TARGET if event != winner]
            code, _, stderr = results[loser]
            assert code in (5, 6), results
            assert stderr.startswith("frontdesk: error:") and "Traceback" not in stderr
            [state] = fd.query("SELECT state FROM instances WHERE id = ?", (instance,))
            moves = fd.query("SELECT event, \"to\" FROM audit_log WHERE instance = ? AND "
                             "action = 'transition' ORDER BY seq", (instance,))
            assert state == (TARGET[winner],)
            assert moves == [(winner, TARGET[winner])]
    finally:
        engine.close()
    verify = fd.run("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert f"{2 * ROUNDS} records" in verify.stdout  # start and one transition per round
