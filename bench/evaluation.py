"""``python -m bench.evaluation``: in-process microbenchmark of templates, guards and steps.

Prints microseconds per call (medians of repeated batches): the templates and guards of the
hipaa-annual-refresh playbook (its ``add_duration`` and ``done()`` ones with the step's own
functions), intake's screening-call title and ``attempts + 1``, and a claim-denial ``format``
filter, through the sandbox's fast path and through Jinja alone, and a pure runtime step
(``step.fire_timers`` of the refresher's first reminder, and ``step.start`` of an intake) as
``frontdesk tick`` and ``start`` run it, without the store, with the fast path and with Jinja
alone, in alternation. Not a figure of ``python -m bench``: it has no floor, and is meant to
compare two versions of the code run on the same machine one after the other.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk import limits, sandbox
from frontdesk.loading.loader import content_hash, load_playbook_text
from frontdesk.model import Practice
from frontdesk.runtime import step
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.compiled import CompiledPlaybook, compile_playbook

from .common import REPO, median

NY = ZoneInfo("America/New_York")
TEMPLATES = [
    "{{ settings.first_reminder_days }} days",
    "Run {{ employee }}'s yearly HIPAA refresher (due {{ refresh_due_on }}) and record the "
    "date, topics and signature",
    "{{ employee }}: HIPAA refresh",
    "{{ employee }}'s yearly HIPAA refresher is due on {{ refresh_due_on }} ({{ 'last training "
    "' ~ last_trained_on if last_trained_on is defined else 'no training on record' }}). "
    "Schedule it and record the date, topics and signature on the task.",
    "Screening call with {{ client_name }}{{ ' (' ~ phone ~ ')' if phone else '' }}: fit, "
    "urgency, referral source, insurance or self-pay",
    "No answer after {{ attempts + 1 }} tries",
    "Claim {{ claim_id }} (${{ '%.2f' | format(amount) }}) still waits for its correction",
]
# Guards, and the lone ``{{ expressions }}`` of ``set:`` (evaluated as guards are).
GUARDS = ["refresh_due_on >= today and (state != 'policy_training' or "
          "policy_training_due_on >= today)", "route == 'appeal'", "today <= appeal_deadline",
          "refresh_due_on <= today and hipaa_refresh_started is not defined",
          "attempts + 1 >= settings.max_contact_attempts", "attempts + 1",
          "add_duration(today, settings.policy_change_training_days ~ ' days')",
          "add_duration(last_trained_on, settings.refresh_interval) if last_trained_on is "
          "defined else first_due_on",
          "refresh_due_on <= add_duration(today, settings.policy_change_training_days ~ ' days')",
          "done('record_refresher') and trained_on <= today"]
VARIABLES: dict[str, Any] = {
    "settings": {"first_reminder_days": 30, "max_contact_attempts": 3,
                 "policy_change_training_days": 30, "refresh_interval": "1 year"},
    "employee": "Zoë Park", "state": "up_to_date",
    "refresh_due_on": dt.date(2027, 3, 1), "today": dt.date(2027, 2, 1), "route": "appeal",
    "policy_training_due_on": dt.date(2027, 4, 1), "appeal_deadline": dt.date(2027, 5, 1),
    "last_trained_on": dt.date(2026, 3, 1), "client_name": "Zoë Park", "phone": "555-0100",
    "attempts": 1, "claim_id": "C-1", "amount": 125.5, "first_due_on": dt.date(2027, 3, 1),
    "trained_on": dt.date(2027, 1, 20),
}


def per_call(run: Callable[..., object], *args: Any, calls: int = 2_000,
             batches: int = 7, best: bool = False) -> float:
    """Microseconds per call of ``run(*args)``: the median (``best``: the least) of
    ``batches`` batches of ``calls``."""
    times = []
    for _ in range(batches):
        began = time.perf_counter()
        for _ in range(calls):
            run(*args)
        times.append((time.perf_counter() - began) / calls * 1e6)
    return min(times) if best else median(times)


class JinjaOnly(CompiledPlaybook):
    """A compiled playbook whose templates and guards always run through Jinja (the code
    before the fast path), to compare steps in one process."""

    def expression(self, source: str) -> Callable[[dict[str, Any]], Any]:
        return self._expressions.get(source) or self._expressions.setdefault(
            source, sandbox.compile_evaluator(source, fast=False))

    def template(self, source: str) -> Callable[[dict[str, Any]], str]:
        return self._templates.get(source) or self._templates.setdefault(
            source, sandbox.compile_template(source, fast=False))


def compiled(name: str, jinja_only: bool = False) -> CompiledPlaybook:
    """The shipped playbook ``name``, compiled."""
    text = (REPO / "playbooks" / f"{name}.yaml").read_text(encoding="utf-8")
    playbook = load_playbook_text(text, f"{name}.yaml").require()
    if jinja_only:
        return JinjaOnly(playbook, content_hash(text), text)
    return compile_playbook(playbook, content_hash(text), text)


def run_context(now: dt.datetime) -> step.RunContext:
    """A run context at ``now`` (New York, US holidays, no people)."""
    return step.RunContext(now=now, tz=NY, calendar=BusinessCalendar(package_holidays("US")),
                           practice=Practice(), actor="ann", new_id=lambda: "i1")


def functions() -> dict[str, Any]:
    """The built-in functions of a hipaa-annual-refresh step (``add_duration``, ``done``, the
    payer functions), as the runtime gives them to its templates and guards."""
    hipaa = compiled("hipaa-annual-refresh")
    rc = run_context(dt.datetime(2027, 2, 1, 9, tzinfo=NY))
    instance = step.start(hipaa, {"employee": "Zoë Park", "last_trained_on": dt.date(2026, 3, 1)},
                          rc).instance
    builtins = step._Step(hipaa, instance, rc, "ann").builtins
    return {name: builtins[name] for name in sandbox.FUNCTION_NAMES}


def evaluations() -> None:
    """Each template and guard, fast path against Jinja alone, under a work budget as in a
    step."""
    VARIABLES.update(functions())
    kinds: list[tuple[str, Callable[..., Any], Callable[[Callable[..., Any]], object]]] = [
        ("template", sandbox.compile_template, lambda f: f(VARIABLES)),
        ("guard", sandbox.compile_expression, lambda f: f(**VARIABLES))]
    for kind, compile_, call in kinds:
        for text in TEMPLATES if kind == "template" else GUARDS:
            fast, jinja = compile_(text), compile_(text, fast=False)
            f_us, j_us = (limits.with_budget(functools.partial(per_call, call, f))
                          for f in (fast, jinja))
            print(f"{kind:8} {f_us:7.1f} us fast {j_us:7.1f} us jinja {j_us / f_us:5.1f}x  "
                  f"{text[:60]}")


def steps(jinja_only: bool) -> None:
    """A timer step of hipaa-annual-refresh and a start of intake, pure runtime; the fastest
    of several batches (the least disturbed by other work on the machine)."""
    label = "jinja only" if jinja_only else "fast path"
    hipaa = compiled("hipaa-annual-refresh", jinja_only)
    began = dt.datetime(2027, 1, 4, 9, tzinfo=NY)
    armed = step.start(hipaa, {"employee": "Zoë Park", "last_trained_on": dt.date(2026, 3, 1)},
                       run_context(began)).instance
    due = run_context(dt.datetime(2027, 2, 10, 9, tzinfo=NY))
    assert step.fire_timers(hipaa, armed, due).fired
    us = per_call(step.fire_timers, hipaa, armed, due, calls=200, batches=15, best=True)
    print(f"step     {us:7.1f} us  hipaa-annual-refresh fire_timers (first reminder), {label}")
    intake = compiled("intake", jinja_only)
    inputs = {"client_name": "Zoë Park", "phone": "555-0100", "referral_source": "website"}
    us = per_call(step.start, intake, inputs, run_context(began), calls=200, batches=15,
                  best=True)
    print(f"step     {us:7.1f} us  intake start, {label}")


def main() -> int:
    """Print the figures (``--steps``: only the runtime steps)."""
    if "--steps" not in sys.argv:
        evaluations()
    for jinja_only in (True, False, True, False):
        steps(jinja_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
