"""Tests of the audit module: record hashing, chaining, verification and export (no database)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from frontdesk import audit
from frontdesk.errors import AuditBrokenError, ExitCode
from frontdesk.runtime.instance import AuditDraft
from hypothesis import given, settings
from hypothesis import strategies as st

NY = ZoneInfo("America/New_York")


def draft(n: int, **changes: Any) -> AuditDraft:
    """The ``n``-th draft of a small made-up history."""
    base = AuditDraft(at=dt.datetime(2026, 3, 2, 9, n, tzinfo=NY), instance=f"inst{n % 2}",
                      playbook="claim-denial", version=2, actor="maria", action="transition",
                      event="approve", from_state="review", to_state="approved",
                      data={"n": n, "when": dt.date(2026, 3, n + 1), "note": "Zoë"})
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def records(count: int = 5) -> list[dict[str, Any]]:
    """A valid chain of ``count`` records from the genesis."""
    return audit.chain([draft(n) for n in range(count)], 0, audit.GENESIS, "tester")


def test_record_hash_is_the_spec_formula() -> None:
    """record_hash is sha256 over sorted compact UTF-8 JSON of everything but ``hash``."""
    record = {"seq": 1, "b": {"z": 1, "a": "é"}, "a": None, "hash": "ignored"}
    text = '{"a":null,"b":{"a":"é","z":1},"seq":1}'
    assert audit.record_hash(record) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert audit.record_hash({**record, "hash": "other"}) == audit.record_hash(record)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(deadline=None)  # no timing on a shared machine
@given(st.dictionaries(st.sampled_from(audit.RECORD_KEYS), JSON_VALUES))
def test_record_hash_matches_json_dumps(record: dict[str, Any]) -> None:
    """The reused encoder gives exactly the text docs/reference.md ("Audit log") names
    (json.dumps per record), for any JSON values, nested keys sorted, non-ASCII kept; a null
    principal (a record from before principals) is left out; the input is left untouched."""
    before = json.dumps(record, sort_keys=True)
    body = {key: value for key, value in record.items()
            if key != "hash" and not (key == "principal" and value is None)}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert audit.record_hash(record) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert json.dumps(record, sort_keys=True) == before


def test_chain_builds_exported_records() -> None:
    """chain numbers, links and hashes drafts into records with exactly the keys of an audit
    record in docs/reference.md ("Audit log")."""
    first, second = audit.chain([draft(0), draft(1)], 41, "a" * 64, "maria")
    assert tuple(first) == audit.RECORD_KEYS
    assert first["seq"] == 42 and second["seq"] == 43
    assert first["prev"] == "a" * 64 and second["prev"] == first["hash"]
    assert first["at"] == "2026-03-02T14:00:00.000000Z"
    assert first["from"] == "review" and first["to"] == "approved"
    assert first["data"] == {"n": 0, "when": "2026-03-01", "note": "Zoë"}
    assert first["principal"] == "maria"
    assert first["hash"] == audit.record_hash(first)


def test_chain_refuses_a_naive_time() -> None:
    """A draft time without a zone is a bug, not something to guess."""
    with pytest.raises(ValueError, match="no time zone"):
        audit.chain([draft(0, at=dt.datetime(2026, 3, 2, 9))], 0, audit.GENESIS, "t")


def test_verify_accepts_a_good_chain() -> None:
    """A chain built by chain() verifies, and the result names its head."""
    chained = records()
    result = audit.verify(chained)
    assert result == audit.VerifyResult(True, 5, 5, chained[-1]["hash"])
    result.raise_if_broken()


def test_verify_accepts_an_empty_log() -> None:
    """An empty log is valid, and its head is the genesis hash."""
    assert audit.verify([]) == audit.VerifyResult(True, 0, 0, audit.GENESIS)
    assert audit.verify([], anchor=audit.GENESIS).ok


def test_verify_finds_changed_contents() -> None:
    """Editing a record's data breaks its hash, reported at that record."""
    chained = records()
    chained[2]["data"]["n"] = 99
    result = audit.verify(chained)
    assert not result.ok and result.first_bad_seq == 3 and result.count == 2
    assert result.reason == "record 3: hash does not match its contents"
    with pytest.raises(AuditBrokenError) as info:
        result.raise_if_broken()
    assert info.value.exit_code == ExitCode.AUDIT_BROKEN


def test_verify_finds_a_rehashed_record_by_the_next_link() -> None:
    """A forger who also recomputes the hash is caught by the next record's prev."""
    chained = records()
    chained[2]["actor"] = "mallory"
    chained[2]["hash"] = audit.record_hash(chained[2])
    result = audit.verify(chained)
    assert result.first_bad_seq == 4
    assert result.reason == "record 4: prev does not match the hash of record 3"


def test_verify_finds_a_missing_record() -> None:
    """Deleting records leaves a seq gap reported at the first missing seq."""
    chained = records(6)
    assert audit.verify(chained[:2] + chained[3:]).reason == (
        "record 3: seq gap (missing or out of order)")
    result = audit.verify(chained[:2] + chained[4:])
    assert result.first_bad_seq == 3
    assert result.reason == "records 3..4: seq gap (missing or out of order)"


def test_verify_finds_swapped_records() -> None:
    """Two records in the wrong order are reported where the order breaks."""
    chained = records()
    chained[1], chained[2] = chained[2], chained[1]
    result = audit.verify(chained)
    assert not result.ok and result.first_bad_seq == 2


def test_verify_checks_the_genesis_and_the_keys() -> None:
    """The first prev must be the genesis, and a record has exactly the keys docs/reference.md
    ("Audit log") gives."""
    forged = audit.chain([draft(0)], 0, "f" * 64, "tester")
    assert audit.verify(forged).reason == "record 1: prev is not the genesis hash"
    chained = records(2)
    chained[1]["extra"] = 1
    assert audit.verify(chained).reason == "record 2: wrong keys (extra)"


def test_verify_with_an_anchor_catches_truncation() -> None:
    """A noted head hash that is no longer in the log means the tail was cut off."""
    chained = records()
    anchor = chained[-1]["hash"]
    assert audit.verify(chained, anchor=anchor).ok
    assert audit.verify(chained[:3]).ok  # undetectable without an anchor
    result = audit.verify(chained[:3], anchor=anchor)
    assert not result.ok and result.first_bad_seq == 4
    assert result.reason == "anchor hash not found: the log was truncated or replaced"


def test_verify_streams_and_stops_at_the_first_fault() -> None:
    """verify consumes an iterator once and stops reading at the first bad record."""
    chained = records(10)
    chained[3]["hash"] = "0" * 64
    consumed = []

    def stream() -> Iterator[dict[str, Any]]:
        for record in chained:
            consumed.append(record["seq"])
            yield record

    assert audit.verify(stream()).first_bad_seq == 4
    assert consumed == [1, 2, 3, 4]


def test_jsonl_export_round_trips_and_verifies() -> None:
    """JSON Lines export keeps key order, UTF-8 text, and verifies after reading back."""
    buffer = io.StringIO()
    assert audit.write_jsonl(records(), buffer) == 5
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 5 and "Zoë" in lines[0]
    assert list(json.loads(lines[0])) == list(audit.RECORD_KEYS)
    assert audit.verify(audit.read_jsonl(io.StringIO(buffer.getvalue()))).ok


def test_csv_export_has_the_keys_as_header_and_data_as_json() -> None:
    """CSV export: a RECORD_KEYS header row, then one row per record with data as JSON text."""
    chained = records(2)
    buffer = io.StringIO(newline="")
    assert audit.write_csv(chained, buffer) == 2
    rows = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert tuple(rows[0]) == audit.RECORD_KEYS
    assert json.loads(rows[1][audit.RECORD_KEYS.index("data")]) == chained[0]["data"]
    assert rows[2][audit.RECORD_KEYS.index("hash")] == chained[1]["hash"]
