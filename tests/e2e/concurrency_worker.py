"""One writer of the concurrency test, run as its own process: fire random events at random
instances through the engine, and print what happened to each as JSON on stdout.

usage: python concurrency_worker.py STORE_URL HOME PLAYBOOKS SEED EVENTS INSTANCE...
"""

from __future__ import annotations

import json
import random
import sys
import time

from frontdesk.errors import ConflictError, RefusedError
from frontdesk.service import Engine
from frontdesk.settings import Options


def main(argv: list[str]) -> None:
    url, home, playbooks, seed, events, *instances = argv
    rng = random.Random(int(seed))
    engine = Engine(Options(home=home, db=url, now="2026-01-05T09:00", playbooks=(playbooks,),
                            env={}))
    applied: list[list[str]] = []
    refused = conflicts = 0
    began = time.perf_counter()
    try:
        for _ in range(int(events)):
            instance = rng.choice(instances)
            event = rng.choice(("advance", "advance", "back"))
            try:
                engine.fire(instance, event, {}, f"worker{seed}")
            except RefusedError:
                refused += 1
            except ConflictError:
                conflicts += 1
            else:
                applied.append([instance, event])
    finally:
        engine.close()
    print(json.dumps({"applied": applied, "refused": refused, "conflicts": conflicts,
                      "seconds": time.perf_counter() - began}))


if __name__ == "__main__":
    main(sys.argv[1:])
