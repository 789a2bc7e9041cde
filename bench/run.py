"""``python -m bench``: print every performance figure with its floor, ratio and verdict.

One line per figure: ``name  figure  floor  ratio  target  ok/MISS  note``. Each figure and
its floor are medians of repeated runs measured in the same run, so the ratio holds on a busy
machine where absolute times do not. ``--quick`` is a smoke run (small stores, few repeats)
that proves the script works; its figures mean little.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import signal
import sys
import time
from pathlib import Path

from .common import HEADER, Result, Settings
from .figures import FIGURES, Context, scratch_dir

QUICK = Settings(repeat=1, heavy_repeat=1, small=40, large=200, hot=20, due_items=40,
                 records=2_000, events=40, spiff_instances=4, quick=True)


def parse(argv: list[str]) -> tuple[Settings, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small and fast")
    parser.add_argument("--only", action="append", metavar="NAME", default=[],
                        help=f"run only these figures (repeatable, or comma separated): "
                             f"{', '.join(FIGURES)}")
    parser.add_argument("--repeat", type=int, help="repeats of each quick figure (default 7)")
    parser.add_argument("--sizes", metavar="SMALL,LARGE",
                        help="instances in the stores of the flatness figures "
                             "(default 1000,100000)")
    parser.add_argument("--due", type=int, metavar="N",
                        help="due items for fire-all and tick-batch (default 10000)")
    parser.add_argument("--records", type=int, metavar="N",
                        help="audit records for verify (default 1000000)")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="where built stores are kept (default $FRONTDESK_BENCH_CACHE, "
                             "else a folder in the temp dir)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild cached stores")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else Settings()
    if args.repeat:
        settings.repeat = args.repeat
    if args.sizes:
        small, large = (int(x) for x in args.sizes.split(","))
        settings.small, settings.large = small, large
    if args.due:
        settings.due_items = args.due
    if args.records:
        settings.records = args.records
    settings.cache = args.cache
    settings.rebuild = args.rebuild
    names = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure {unknown[0]!r} (known: {', '.join(FIGURES)})")
    return settings, names or list(FIGURES)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so the running command is killed and scratch removed


def main(argv: list[str] | None = None) -> int:
    settings, names = parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _stop)
    scratch = scratch_dir()

    def log(text: str) -> None:
        print(f"# {text}", flush=True)

    ctx = Context(settings, scratch, log)
    log(f"python {platform.python_version()} on {platform.machine()}, "
        f"{'quick smoke run' if settings.quick else 'full run'}; repeats {settings.repeat} "
        f"(heavy {settings.heavy_repeat}); SQLite store synchronous={ctx.synchronous}")
    print(HEADER, flush=True)
    results: list[Result] = []
    began = time.perf_counter()
    try:
        for name in names:
            started = time.perf_counter()
            result = FIGURES[name](ctx)
            results.append(result)
            print(result.line(), flush=True)
            if settings.quick:
                log(f"{name} took {time.perf_counter() - started:.1f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    missed = [r.name for r in results if r.verdict == "MISS"]
    log(f"{len(results)} figures in {time.perf_counter() - began:.0f} s; "
        + (f"missed: {', '.join(missed)}" if missed else "every target met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
