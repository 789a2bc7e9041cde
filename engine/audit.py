"""The audit log's records, hash chain, verification and export (docs/reference.md, "Audit log").

Pure functions over plain dicts: the store calls :func:`chain` to turn a change's drafts into
records inside its write transaction, ``audit verify`` streams the stored records through
:func:`verify`, and ``audit export`` writes them with :func:`write_jsonl` or :func:`write_csv`.
Nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from .errors import AuditBrokenError, RefusedError
from .runtime.instance import AuditDraft, plain

GENESIS = "0" * 64
"""The ``prev`` of the first record."""

RECORD_KEYS = ("seq", "at", "instance", "playbook", "version", "actor", "action", "event",
               "from", "to", "data", "principal", "prev", "hash")
"""The keys of an exported record, in export order.

``principal`` is who was authenticated when the record was written (the OS account, the
PostgreSQL session user, ``web:<person>``). Records written before frontdesk recorded
principals have ``principal: null``, and their hash covers the other keys only (see
:func:`record_hash`): that is how they were hashed when they were written."""

_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_KEYS = frozenset(RECORD_KEYS)

# json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds a new
# encoder on every call; this one is built once and encodes exactly the same text.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_sha256 = hashlib.sha256
_string = json.encoder.encode_basestring  # what the encoder writes a str as (ensure_ascii=False)


class ClockBehindError(RefusedError):
    """A write on a simulated store whose clock is earlier than the log's last record."""

    def __init__(self, at: str, last: str) -> None:
        super().__init__(f"the clock ({at}) is earlier than the audit log's last record "
                         f"({last}); a simulated store moves forward only")
        self.at, self.last = at, last


def record_hash(record: dict[str, Any]) -> str:
    """The SHA-256 hex digest of ``record`` without its ``hash`` key:
    ``sha256(json.dumps(record_without_hash, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode("utf-8")).hexdigest()``; a ``principal`` that is null (a record
    from before principals were recorded) is left out, as it was when that record was hashed."""
    body = record.copy()
    body.pop("hash", None)
    if body.get("principal", "") is None:
        del body["principal"]
    return _sha256(_canonical(body).encode("utf-8")).hexdigest()


def format_at(at: dt.datetime) -> str:
    """An aware datetime as the record's UTC ``at`` text, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"audit time {at.isoformat()} has no time zone")
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def data_text(data: Any) -> str:
    """A record's ``data`` as the compact JSON text stored in the table and written to CSV."""
    return _canonical(data)


def json_scalar(value: Any) -> str:
    """``value`` as the canonical encoder writes it (the fast cases, else the encoder)."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    return _canonical(value)


def _canonical_records() -> Callable[[dict[str, Any], str], str]:
    """``canonical(record, data)``: ``_canonical(record)`` for a record without ``hash`` whose
    ``data`` encodes to ``data``, written key by key in sorted order so the data is encoded once
    for the hash and the row. The fields the records of one step share (actor, time, instance,
    playbook, version, principal) are encoded once for the run of records that share them.
    (Only for records written now, whose ``principal`` is text.)"""
    s = json_scalar
    shared_key: tuple[Any, ...] | None = None
    shared: tuple[str, ...] = ()

    def canonical(record: dict[str, Any], data: str) -> str:
        nonlocal shared_key, shared
        key = (record["actor"], record["at"], record["instance"], record["playbook"],
               record["version"], record["principal"])
        if key != shared_key:
            shared_key, shared = key, tuple(s(value) for value in key)
        actor, at, instance, playbook, version, principal = shared
        return (f'{{"action":{s(record["action"])},"actor":{actor},"at":{at},"data":{data},'
                f'"event":{s(record["event"])},"from":{s(record["from"])},'
                f'"instance":{instance},"playbook":{playbook},"prev":{s(record["prev"])},'
                f'"principal":{principal},"seq":{s(record["seq"])},"to":{s(record["to"])},'
                f'"version":{version}}}')

    return canonical


def chain(drafts: Iterable[AuditDraft], last_seq: int, last_hash: str,
          principal: str) -> list[dict[str, Any]]:
    """Number, link and hash ``drafts`` after the chain head ``(last_seq, last_hash)``, each
    record stamped with the command's ``principal``."""
    return [record for record, _ in chain_with_data(drafts, last_seq, last_hash, principal)]


def chain_with_data(drafts: Iterable[AuditDraft], last_seq: int, last_hash: str,
                    principal: str, *, not_before: str | None = None,
                    clamp: bool = False) -> list[tuple[dict[str, Any], str]]:
    """:func:`chain`, each record paired with its ``data`` as :func:`data_text` (what the
    store writes), encoded once for both the hash and the row.

    ``at`` never decreases along the chain: a draft earlier than ``not_before`` (the head's
    ``at``) is recorded at ``not_before`` when ``clamp`` (a real clock that stepped back),
    else refused with :class:`ClockBehindError`.
    """
    records: list[tuple[dict[str, Any], str]] = []
    canonical = _canonical_records()
    seq, prev = last_seq, last_hash
    at: dt.datetime | None = None
    at_text = ""
    for draft in drafts:
        seq += 1
        if draft.at is not at:  # the drafts of one step share one time
            at, at_text = draft.at, format_at(draft.at)
            if not_before is not None and at_text < not_before:
                if not clamp:
                    raise ClockBehindError(at_text, not_before)
                at_text = not_before
        record: dict[str, Any] = {
            "seq": seq,
            "at": at_text,
            "instance": draft.instance,
            "playbook": draft.playbook,
            "version": draft.version,
            "actor": draft.actor,
            "action": draft.action,
            "event": draft.event,
            "from": draft.from_state,
            "to": draft.to_state,
            "data": plain(draft.data),
            "principal": principal,
            "prev": prev,
        }
        data = _canonical(record["data"])
        text = canonical(record, data)
        record["hash"] = prev = _sha256(text.encode("utf-8")).hexdigest()
        records.append((record, data))
    return records


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of :func:`verify`; ``count``/``last_*`` describe the records that checked out."""

    ok: bool
    count: int
    last_seq: int
    last_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def raise_if_broken(self) -> None:
        """Raise ``AuditBrokenError`` (exit 7) naming the first bad record."""
        if not self.ok:
            raise AuditBrokenError(f"audit chain broken: {self.reason}")


def _problem(record: Any, expected: int, prev: str) -> tuple[int, str] | None:
    """The first thing wrong with ``record`` as record ``expected`` after hash ``prev``."""
    if not isinstance(record, dict):
        return expected, f"record {expected}: not a JSON object"
    seq = record.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return expected, f"record {expected}: seq {seq!r} is not an integer"
    if seq > expected:
        missing = (f"record {expected}" if seq == expected + 1
                   else f"records {expected}..{seq - 1}")
        return expected, f"{missing}: seq gap (missing or out of order)"
    if seq < expected:
        return expected, f"record {seq}: out of order or repeated after record {expected - 1}"
    if record.keys() != _KEYS:
        wrong = sorted(set(record) ^ _KEYS)
        return seq, f"record {seq}: wrong keys ({', '.join(wrong)})"
    if record["hash"] != record_hash(record):
        return seq, f"record {seq}: hash does not match its contents"
    if record["prev"] != prev:
        if seq == 1:
            return seq, "record 1: prev is not the genesis hash"
        return seq, f"record {seq}: prev does not match the hash of record {seq - 1}"
    return None


def verify(records: Iterable[dict[str, Any]], anchor: str | None = None) -> VerifyResult:
    """Recompute the chain over ``records`` (streamed, in seq order) and stop at the first fault.

    With ``anchor`` (a hash noted earlier, e.g. the head printed by a previous verify), that hash
    must appear in the chain, which catches a log whose tail was cut off or that was rebuilt from
    scratch; then ``first_bad_seq`` is the seq after the last record present.
    """
    count, last_seq, last_hash = 0, 0, GENESIS
    found = anchor is None or anchor == GENESIS
    for record in records:
        problem = _problem(record, last_seq + 1, last_hash)
        if problem is not None:
            return VerifyResult(False, count, last_seq, last_hash, *problem)
        count, last_seq, last_hash = count + 1, record["seq"], record["hash"]
        found = found or last_hash == anchor
    if not found:
        return VerifyResult(False, count, last_seq, last_hash, last_seq + 1,
                            "anchor hash not found: the log was truncated or replaced")
    return VerifyResult(True, count, last_seq, last_hash)


def _ordered(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in RECORD_KEYS}


def write_jsonl(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write one JSON object per line, keys in ``RECORD_KEYS`` order; return how many."""
    count = 0
    for record in records:
        stream.write(json.dumps(_ordered(record), ensure_ascii=False, separators=(",", ":")))
        stream.write("\n")
        count += 1
    return count


def read_jsonl(stream: IO[str]) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines export, one at a time (blank lines skipped)."""
    for line in stream:
        if line.strip():
            record = json.loads(line)
            yield record


def write_csv(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write a header of ``RECORD_KEYS`` and one row per record (``data`` as compact JSON text).

    Open ``stream`` with ``newline=""`` as the ``csv`` module asks. Returns how many records.
    """
    import csv  # only for CSV export: every command imports this module

    writer = csv.writer(stream)
    writer.writerow(RECORD_KEYS)
    count = 0
    for record in records:
        row = _ordered(record)
        row["data"] = data_text(row["data"])
        writer.writerow(row.values())
        count += 1
    return count
