"""Read X12 835 remittance files into the denied claim adjustments ``import era`` starts.

The file is read and validated by pyx12 against the 835 implementation guide's map (005010X221A1,
or 004010X091A1 for an old file): a file that is not a valid 835 is an ``InvalidError`` naming
each problem's file, line and segment (pyx12 counts segments; the line is counted here from the
file's text). pyx12 logs what it finds; its logger is silenced here, and a value quoted in one of
its messages is replaced by ``<value>`` (a claim's values are PHI).

What becomes a denial (docs/reference.md, "import era"): every claim adjustment (CAS, at the
claim or a service line) summed by claim, group code and CARC, except reversals (claim status
22) and the group-CARC pairs the playbook's ``era_ignore`` setting lists (contractual CO-45,
patient shares PR-1/2/3: posted by the practice's billing system, not worked as denials).
Remark codes come from the claim's MOA/MIA and the service lines' LQ; the service date is the
earliest line date (DTM*472) of the lines adjusted, else the claim's statement date (DTM*232),
else its earliest line date (a claim-level adjustment).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidError, Issue, Location

REVERSAL = "22"
# CLP06 claim filing indicator -> payer kind, for a payer that is not in the payers table
FILING_KINDS = {"MA": "medicare", "MB": "medicare", "16": "medicare_advantage",
                "MC": "medicaid", "CH": "tricare", "WC": "workers_comp", "AM": "auto",
                "CI": "commercial", "BL": "commercial", "HM": "commercial", "12": "commercial",
                "13": "commercial", "14": "commercial", "15": "commercial", "17": "commercial",
                "LM": "commercial", "DS": "other", "VA": "other", "OF": "other", "ZZ": "other"}
# pyx12 quotes values or puts them in () (an element id such as (NM103) is kept)
_QUOTED = re.compile(r"'[^']*'|\((?![A-Z][A-Z0-9]{1,2}\d{2}\))[^)]*\)")
_AFTER_BEGIN = re.compile(r"(does not begin with).*", re.S)


@dataclass(slots=True)
class Adjustment:
    """One group-CARC of one claim, its amounts summed over the claim and its lines."""

    group: str
    carc: str
    amount: float = 0.0
    rarcs: list[str] = field(default_factory=list)
    service_dates: list[dt.date] = field(default_factory=list)


@dataclass(slots=True)
class Claim:
    """One CLP loop (2100) of a remittance."""

    claim_id: str
    status: str
    filing: str
    line: int
    statement_date: dt.date | None = None
    line_dates: list[dt.date] = field(default_factory=list)  # every service line's date
    adjustments: dict[tuple[str, str], Adjustment] = field(default_factory=dict)


@dataclass(slots=True)
class Remittance:
    """One 835 transaction: who paid, when, and its claims."""

    path: str
    payer_name: str = ""
    payer_ids: list[str] = field(default_factory=list)  # TRN03, REF*2U, N1*PR id, name
    date: dt.date | None = None
    claims: list[Claim] = field(default_factory=list)


def read_remittances(path: Path, display: str) -> list[Remittance]:
    """Every 835 transaction of the file at ``path``; ``InvalidError`` if it is not valid."""
    import pyx12.error_handler
    import pyx12.errors
    import pyx12.params
    import pyx12.x12context

    logging.getLogger("pyx12").addHandler(logging.NullHandler())
    logging.getLogger("pyx12").propagate = False
    text = path.read_text("utf-8", errors="replace")
    lines = _segment_lines(text)
    errh = pyx12.error_handler.err_handler()
    found: list[Remittance] = []
    kinds: list[tuple[str, int]] = []
    try:
        reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), errh,
                                                   io.StringIO(text))
    except pyx12.errors.X12Error as exc:
        raise InvalidError([Issue("error", "x12", "not an X12 file: it does not start with "
                                  "an ISA segment of 106 characters", Location(display, 1, 1),
                                  f"pyx12: {_clean(str(exc))}")]) from None
    issues: list[Issue] = []
    try:
        for node in reader.iter_segments("2100"):
            _take(node, found, display, kinds)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, ValueError) as exc:
        # a segment pyx12 could not place leaves a claim it cannot read: the errors the
        # handler holds say where; this says that reading stopped there
        issues.append(Issue("error", "x12", f"reading stopped: {_clean(str(exc))}",
                            Location(display, lines.get(reader.src.cur_line, 1), 1)))
    issues[:0] = [Issue("error", "x12", f"segment {seg}: {message}",
                        Location(display, lines.get(number, 1), 1))
                  for seg, number, message in _errors(errh)]
    issues += [Issue("error", "x12", f"segment ST: a {kind} transaction, not an 835",
                     Location(display, lines.get(number, 1), 1)) for kind, number in kinds
               if kind != "835"]
    if not found and not issues:
        issues.append(Issue("error", "x12", "no 835 transaction in the file",
                            Location(display, 1, 1)))
    if issues:
        raise InvalidError(issues)
    for remittance in found:
        for claim in remittance.claims:
            claim.line = lines.get(claim.line, claim.line)
    return found


def _take(node: Any, found: list[Remittance], display: str,
          kinds: list[tuple[str, int]]) -> None:
    """One node of pyx12's walk: a header segment, or a whole claim loop."""
    seg = node.id
    value = node.get_value
    if seg == "ST":
        kinds.append((value("ST01") or "", node.cur_line_number or 1))
        found.append(Remittance(display))
    elif not found:
        return
    remittance = found[-1]
    if seg == "BPR":
        remittance.date = _date(value("BPR16"))
    elif seg == "DTM" and value("DTM01") == "405" and remittance.date is None:
        remittance.date = _date(value("DTM02"))
    elif seg == "TRN":
        _add(remittance.payer_ids, value("TRN03"))
    elif seg == "N1" and value("N101") == "PR":
        remittance.payer_name = value("N102") or ""
        _add(remittance.payer_ids, value("N104"))
    elif seg == "REF" and value("REF01") == "2U":
        _add(remittance.payer_ids, value("REF02"))
    elif seg == "2100":
        remittance.claims.append(_claim(node))


def _claim(node: Any) -> Claim:
    value = node.get_value
    claim = Claim(value("CLP07") or value("CLP01") or "", value("CLP02") or "",
                  value("CLP06") or "", node.cur_line_number or 0)
    remarks: list[str | None] = []
    for seg in node.select("MOA"):
        remarks += [seg.get_value(f"MOA{i:02d}") for i in range(3, 8)]
    for seg in node.select("MIA"):
        remarks += [seg.get_value(f"MIA{i:02d}") for i in (5, 20, 21, 22, 23)]
    for seg in node.select("DTM"):
        if seg.get_value("DTM01") in ("232", "050") and claim.statement_date is None:
            claim.statement_date = _date(seg.get_value("DTM02"))
    for seg in node.select("CAS"):
        _adjust(claim, seg, remarks, None)
    for line in node.select("2110"):
        dates = [_date(s.get_value("DTM02")) for s in line.select("DTM")
                 if s.get_value("DTM01") in ("472", "150")]
        claim.line_dates += [d for d in dates if d]
        line_remarks = remarks + [s.get_value("LQ02") for s in line.select("LQ")
                                  if s.get_value("LQ01") == "HE"]
        for seg in line.select("CAS"):
            _adjust(claim, seg, line_remarks, next((d for d in dates if d), None))
    return claim


def _adjust(claim: Claim, seg: Any, remarks: list[str | None], day: dt.date | None) -> None:
    """Add a CAS segment's triplets (up to six: CAS02-04, 05-07, ...) to ``claim``."""
    group = seg.get_value("CAS01") or ""
    for first in range(2, 20, 3):
        carc = seg.get_value(f"CAS{first:02d}")
        if not carc:
            continue
        adjustment = claim.adjustments.setdefault((group, carc), Adjustment(group, carc))
        adjustment.amount += float(seg.get_value(f"CAS{first + 1:02d}") or 0)
        for remark in remarks:
            _add(adjustment.rarcs, remark)
        if day is not None:
            adjustment.service_dates.append(day)


def _errors(errh: Any) -> Iterable[tuple[str, int, str]]:
    """(segment id, segment number, message) of every error pyx12's handler holds."""
    seg_id = getattr(errh, "seg_id", None) or str(getattr(errh, "id", ""))
    number = getattr(errh, "cur_line", None) or 1
    for error in getattr(errh, "errors", None) or []:
        yield seg_id, number, _clean(str(error[1]))
    for element in getattr(errh, "elements", None) or []:
        for error in element.errors:
            yield seg_id, number, _clean(str(error[1]))
    for child in getattr(errh, "children", None) or []:
        yield from _errors(child)


def _segment_lines(text: str) -> dict[int, int]:
    """Segment number (1-based, as pyx12 counts) -> the file line it starts on."""
    if len(text) < 106 or not text.startswith("ISA"):
        return {}
    terminator = text[105]
    lines: dict[int, int] = {}
    line, number = 1, 0
    for piece in text.split(terminator):
        stripped = piece.lstrip("\r\n")
        start_line = line + piece[:len(piece) - len(stripped)].count("\n")
        if stripped.strip():
            number += 1
            lines[number] = start_line
        line += piece.count("\n")
    return lines


def _clean(message: str) -> str:
    """A parser's message without the file's values (names, dates, amounts: PHI)."""
    return _AFTER_BEGIN.sub(r"\1 <value>", _QUOTED.sub("<value>", message)).strip()


def _add(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


def _date(text: str | None) -> dt.date | None:
    if not text or len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
