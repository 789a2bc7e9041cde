"""``audit verify``: prove that the audit log is whole and that the store says what it says.

What is proved, in this order, each step streaming the store in bounded memory:

1. the hash chain: every record's ``hash`` covers its contents, ``prev`` links it to the record
   before, ``seq`` has no gap, ``at`` never decreases, and ``data`` is stored in its canonical
   JSON form (so no reader can see another value, e.g. the other one of a duplicated key);
   with an anchor ``SEQ HASH`` noted earlier, record SEQ still has that hash;
2. the audit log's guards are in place (the triggers that make it append-only and linear, and
   on PostgreSQL no grant that lets anyone but the owner rewrite it);
3. every stored playbook source matches the digest it is stored (and run) under;
4. replaying each instance's records gives the instance, its tasks and its timers as
   stored: state, status, outcome, variables, version, the status and assignee of every task
   occurrence (``cancelled`` closes an instance where it stands, ``corrected`` sets
   variables, ``assigned`` sets an assignee; ``signal`` and ``signalled`` are not replayed:
   their targets' transitions have their own records), the timers that fired,
   and every timer armed with its state, event, due, status and error (``timer_armed``,
   ``timer_cancelled``, ``timer_failed``). An instance started before arming was recorded
   (its ``start`` record has no ``timer_records``) has its unrecorded timers compared by
   whether they fired only.

The first disagreement is reported (exit 7) naming the record, source or instance.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from . import audit
from .errors import AuditBrokenError, UsageError
from .runtime.instance import Instance, plain
from .store.base import Store

_SEQ, _AT, _DATA, _PRINCIPAL, _PREV, _HASH = (
    audit.RECORD_KEYS.index(key) for key in ("seq", "at", "data", "principal", "prev", "hash"))
_sha256 = hashlib.sha256
_ANCHOR = re.compile(r"(?P<seq>[0-9]+) (?P<hash>[0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class Anchor:
    """A record's ``seq`` and ``hash`` written down earlier (what ``audit head`` prints)."""

    seq: int
    hash: str


def parse_anchor(text: str) -> Anchor:
    """``SEQ HASH`` exactly as ``audit head`` prints it (surrounding blanks aside); anything
    else is a usage error (exit 2)."""
    match = _ANCHOR.fullmatch(text.strip())
    if match is None:
        raise UsageError("--anchor takes what 'frontdesk audit head' prints: SEQ and a "
                         "64-digit lowercase hex hash separated by one space")
    return Anchor(int(match["seq"]), match["hash"])


@dataclass(slots=True)
class ChainFacts:
    """What the chain check saw."""

    count: int = 0
    head_seq: int = 0
    head_hash: str = audit.GENESIS
    first_at: str | None = None
    last_at: str | None = None


def _broken(what: str) -> AuditBrokenError:
    return AuditBrokenError(f"audit log does not verify: {what}")


def _chain_broken(seq: int, what: str) -> AuditBrokenError:
    return AuditBrokenError(f"audit chain broken: record {seq}: {what} (first bad seq {seq})")


def _layout(keys: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """How the canonical JSON of a record with ``keys`` is written: for each key in sorted
    order, the text before its value (``{"key":`` or ``,"key":``) and its index in a row."""
    ordered = sorted(keys)
    return tuple((("{" if n == 0 else ",") + _encode_str(key) + ":",
                  audit.RECORD_KEYS.index(key)) for n, key in enumerate(ordered))


_encode_str = json.encoder.encode_basestring  # how the canonical encoder writes a str
_HASHED = [key for key in audit.RECORD_KEYS if key != "hash"]
_LAYOUT = _layout(_HASHED)  # a record written with its principal
_LAYOUT_OLD = _layout([key for key in _HASHED if key != "principal"])  # principal null: left out


def _hashed_text(row: Sequence[Any], data: str) -> str:
    """What a stored row's hash covers (see ``audit.record_hash``): the canonical JSON of the
    record without its ``hash`` (and without a null ``principal``), whose ``data`` encodes to
    the canonical text ``data``. Written key by key from the row, so the data is encoded once
    for both this and the check that it is stored in canonical form: the same text as
    ``json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``."""
    layout = _LAYOUT if row[_PRINCIPAL] is not None else _LAYOUT_OLD
    return "".join([before + (data if index == _DATA else audit.json_scalar(row[index]))
                    for before, index in layout]) + "}"


def _check_row(row: Sequence[Any], facts: ChainFacts) -> None:
    """Check one stored row as the record after ``facts``' head; raise at the first fault."""
    seq, at, data_text = row[_SEQ], row[_AT], row[_DATA]
    prev, stored_hash = row[_PREV], row[_HASH]
    expected = facts.head_seq + 1
    if seq != expected:
        if isinstance(seq, int) and seq > expected:
            raise _chain_broken(expected, f"missing (the next stored record is {seq})")
        raise _chain_broken(expected, f"out of order (record {seq} stored after record "
                                      f"{facts.head_seq})")
    try:
        canonical = audit.data_text(json.loads(data_text))
    except (TypeError, ValueError):
        raise _chain_broken(seq, "its data is not JSON") from None
    if len(row) != len(audit.RECORD_KEYS):
        raise ValueError(f"an audit row has {len(row)} columns, not {len(audit.RECORD_KEYS)}")
    if _sha256(_hashed_text(row, canonical).encode("utf-8")).hexdigest() != stored_hash:
        raise _chain_broken(seq, "hash does not match its contents")
    if canonical != data_text:
        raise _chain_broken(seq, "its data is not stored in canonical form (a duplicated key, "
                                 "or edited)")
    if prev != facts.head_hash:
        raise _chain_broken(seq, f"prev does not match the hash of record {seq - 1}"
                                 if seq > 1 else "prev is not the genesis hash")
    if facts.last_at is not None and str(at) < facts.last_at:
        raise _chain_broken(seq, f"at {at} is earlier than record {seq - 1}'s {facts.last_at}")
    facts.count += 1
    facts.head_seq, facts.head_hash = seq, stored_hash
    facts.first_at = facts.first_at or str(at)
    facts.last_at = str(at)


def check_chain(rows: Iterable[Sequence[Any]], anchor: Anchor | None = None) -> ChainFacts:
    """Check the chain over stored rows (``RECORD_KEYS`` order, ``data`` as text)."""
    facts = ChainFacts()
    anchor_hash: str | None = None
    for row in rows:
        _check_row(row, facts)
        if anchor is not None and row[_SEQ] == anchor.seq:
            anchor_hash = row[_HASH]
    if anchor is not None and anchor.seq > 0:
        if anchor_hash is None:
            raise _chain_broken(facts.head_seq + 1, f"missing: the anchor names record "
                                f"{anchor.seq}, the log ends at {facts.head_seq} (truncated)")
        if anchor_hash != anchor.hash:
            raise _chain_broken(anchor.seq, "does not have the anchor's hash (the log was "
                                            "rewritten)")
    return facts


def check_sources(sources: Iterable[tuple[str, str]]) -> int:
    """Every stored playbook source hashes to its digest; how many were checked."""
    count = 0
    for digest, text in sources:
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            raise _broken(f"the stored playbook source {digest[:12]}... does not match its "
                          "digest (edited after it was stored)")
        count += 1
    return count


@dataclass(slots=True)
class Replayed:
    """One instance as its audit records tell it."""

    id: str
    playbook: str = ""
    version: int = 0
    digest: str = ""
    state: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)  # occurrence id -> status
    assignees: dict[str, str | None] = field(default_factory=dict)  # occurrence id -> person
    fired_timers: set[str] = field(default_factory=set)
    timers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> what records say
    timer_records: bool = False  # started when arming was recorded: every timer has records
    cancelled: bool = False  # closed by ``cancel`` where it stood (outcome ``cancelled``)


_VARS_KEY = {"start": "inputs", "transition": "fields", "set": "vars", "task_done": "fields",
             "corrected": "vars", "upgraded": "vars"}
"""Action -> the key of its ``data`` holding the variables it writes."""
_TASK_STATUS = {"task_created": "open", "task_done": "done", "task_cancelled": "cancelled"}
"""Action -> the status it gives the task occurrence ``data.id`` (``assigned`` gives none)."""


_TIMER_STATUS = {"timer_fired": "fired", "timer_cancelled": "cancelled"}
"""Action -> the status it gives the timer ``data.timer``."""


def _apply_timer(inst: Replayed, action: str, record: dict[str, Any],
                 data: dict[str, Any]) -> None:
    """Fold a ``timer_*`` record into the replayed instance's timers."""
    timer_id = data["timer"]
    if action == "timer_armed":
        inst.timers[timer_id] = {"state": record["to"], "event": record["event"],
                                 "due": data["due"], "due_date": data["due_date"],
                                 "status": "armed", "error": None}
        return
    told = inst.timers.setdefault(timer_id, {})
    if action == "timer_failed":
        told["error"] = data["reason"]
    else:
        told["status"] = _TIMER_STATUS[action]
        if action == "timer_fired":
            inst.fired_timers.add(timer_id)


def _apply(inst: Replayed, record: dict[str, Any]) -> None:
    """Fold one record into the replayed instance."""
    action, data = record["action"], record["data"] or {}
    if action == "start":
        inst.playbook, inst.version = record["playbook"], record["version"]
        inst.digest, inst.state = data.get("digest", ""), record["to"]
        inst.timer_records = bool(data.get("timer_records"))
    elif action == "transition":
        inst.state = record["to"]
    elif action.startswith("timer_"):
        _apply_timer(inst, action, record, data)
    elif action == "upgraded":
        inst.version, inst.digest = data["to_version"], data["to_digest"]
    elif action == "cancelled":
        inst.cancelled = True
    if action in _TASK_STATUS:
        inst.tasks[data["id"]] = _TASK_STATUS[action]
    if action in ("task_created", "assigned"):
        inst.assignees[data["id"]] = data.get("assignee")
    if action in _VARS_KEY:
        inst.vars.update(data.get(_VARS_KEY[action]) or {})


def replay(records: Iterable[dict[str, Any]]) -> Iterator[Replayed]:
    """Each instance rebuilt from its records (``records`` ordered by instance, then seq)."""
    for instance_id, group in groupby(records, key=lambda r: r["instance"]):
        inst = Replayed(instance_id)
        for record in group:
            _apply(inst, record)
        yield inst


FinalStates = Callable[[str], tuple[frozenset[str], dict[str, str | None]]]
"""digest -> (the playbook's final states, final state -> its outcome)."""


def _difference(told: Replayed, stored: Instance, finals: FinalStates) -> str | None:
    """The first way ``stored`` differs from what its records tell, or None."""
    stored.require_whole("audit verify")
    if (stored.playbook, stored.version, stored.digest) != (told.playbook, told.version,
                                                            told.digest):
        return "its playbook version differs from the audit log's"
    if stored.state != told.state:
        return f"state '{stored.state}', but the audit log says '{told.state}'"
    final, outcomes = finals(told.digest)
    status = "closed" if told.cancelled or told.state in final else "open"
    if stored.status != status:
        return f"status '{stored.status}', but the audit log says '{status}'"
    outcome = "cancelled" if told.cancelled else outcomes.get(told.state or "")
    if status == "closed" and stored.outcome != outcome:
        return "its outcome differs from the audit log's"
    if plain(stored.vars) != told.vars:  # told.vars are JSON from the records: plain already
        changed = sorted(k for k in set(stored.vars) | set(told.vars)
                         if plain(stored.vars.get(k)) != plain(told.vars.get(k)))
        return f"variables {', '.join(changed)} differ from the audit log's"
    tasks = {t.id: t.status for t in stored.tasks}
    if tasks != told.tasks:
        wrong = sorted(k for k in set(tasks) | set(told.tasks) if tasks.get(k) != told.tasks.get(k))
        return f"tasks {', '.join(wrong)} differ from the audit log's"
    assignees = {t.id: t.assignee for t in stored.tasks}
    if assignees != {k: told.assignees.get(k) for k in told.tasks}:
        wrong = sorted(k for k in assignees if assignees[k] != told.assignees.get(k))
        return f"the assignee of task {', '.join(wrong)} differs from the audit log's"
    fired = {t.id for t in stored.timers if t.status == "fired"}
    if fired != told.fired_timers:
        return "its fired timers differ from the audit log's"
    return _timer_difference(told, stored)


def _timer_difference(told: Replayed, stored: Instance) -> str | None:
    """The first timer of ``stored`` that differs from what the records say, or None."""
    rows = {t.id: t for t in stored.timers}
    for timer_id, said in told.timers.items():
        timer = rows.get(timer_id)
        if timer is None:
            if "state" in said:  # armed in the records
                return f"timer {timer_id} is in the audit log but not in the store"
            continue
        row = {"state": timer.state, "event": timer.event, "due": plain(timer.due),
               "due_date": plain(timer.due_date), "status": timer.status,
               "error": timer.error}
        wrong = sorted(key for key, value in said.items() if row[key] != value)
        if wrong:
            verb = "differs" if len(wrong) == 1 else "differ"
            return (f"timer {timer_id} ('{timer.event}'): its {', '.join(wrong)} {verb} "
                    "from the audit log's")
    if told.timer_records:
        unrecorded = sorted(set(rows) - set(told.timers))
        if unrecorded:
            return f"timer {unrecorded[0]} is in the store without audit records"
    return None


def check_instances(told: Iterable[Replayed], stored: Iterable[Instance],
                    finals: FinalStates) -> int:
    """Walk both streams (each ordered by instance id) side by side; how many matched."""
    told_it, stored_it = iter(told), iter(stored)
    a, b = next(told_it, None), next(stored_it, None)
    count = 0
    while a is not None or b is not None:
        if b is None or (a is not None and a.id < b.id):
            assert a is not None
            raise _broken(f"instance '{a.id}' is in the audit log but not in the store")
        if a is None or b.id < a.id:
            raise _broken(f"instance '{b.id}' is in the store without audit records")
        problem = _difference(a, b, finals)
        if problem is not None:
            raise _broken(f"instance '{b.id}': {problem}")
        count += 1
        a, b = next(told_it, None), next(stored_it, None)
    return count


def _final_states(store: Store) -> FinalStates:
    """The final states of each stored playbook source (parsed once per digest)."""
    known: dict[str, tuple[frozenset[str], dict[str, str | None]]] = {}

    def finals(digest: str) -> tuple[frozenset[str], dict[str, str | None]]:
        if digest not in known:
            from .loading.loader import load_playbook_text

            playbook = load_playbook_text(store.get_source(digest),
                                          f"<stored {digest[:12]}>").require()
            final = {name: state.outcome for name, state in playbook.states.items()
                     if state.final}
            known[digest] = (frozenset(final), final)
        return known[digest]

    return finals


@dataclass(frozen=True, slots=True)
class Proof:
    """What ``audit verify`` proved."""

    records: int
    head_seq: int
    head_hash: str
    first_at: str | None
    last_at: str | None
    sources: int
    instances: int
    anchored: Anchor | None
    clock: str

    def lines(self) -> list[str]:
        """The proof in words, one fact per line."""
        span = (f", {self.first_at} .. {self.last_at}" if self.first_at else "")
        lines = [f"chain: {self.records} records linked and hashed, time never goes back{span}"]
        if self.anchored is not None:
            lines.append(f"anchor: record {self.anchored.seq} still has the hash written down")
        lines.append("guards: audit log append-only and linear (triggers in place)")
        lines.append(f"sources: {self.sources} stored playbook sources match their digests")
        lines.append(f"replay: {self.instances} instances as their audit records tell them "
                     "(state, status, variables, tasks and assignees, armed and fired timers)")
        lines.append("clock: real (times come from the system clock)" if self.clock == "real"
                     else "clock: simulated (a demo, scenario or rehearsal store)")
        return lines


def prove(store: Store, anchor: Anchor | None = None) -> Proof:
    """Run every check on ``store``; raise ``AuditBrokenError`` (exit 7) at the first fault."""
    with closing(store.audit_rows()) as rows:  # closed here even when a check raises
        facts = check_chain(rows, anchor)
    problems = store.guard_problems()
    if problems:
        raise AuditBrokenError("audit log guards missing: " + "; ".join(map(str, problems))
                               + " (run 'frontdesk db migrate' as the store's owner)")
    with closing(store.sources()) as stored_sources:
        sources = check_sources(stored_sources)
    with closing(store.audit_records_by_instance()) as records, \
            closing(store.iter_instances()) as stored:
        instances = check_instances(replay(records), stored, _final_states(store))
    return Proof(facts.count, facts.head_seq, facts.head_hash, facts.first_at, facts.last_at,
                 sources, instances, anchor, store.clock_kind())
