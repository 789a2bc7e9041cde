"""Payers and their deadlines: the kind defaults, a practice's payers table, the clocks.

A practice bills a handful of payers, each with its own contract (docs/payers.md). Its
``payers:`` table in practice.yaml maps a payer id to a kind and any numbers that differ from
the kind's; everything else comes from ``KINDS`` below, after docs/payers.md and DOMAIN.md
sections 2 and 7. A payer id that is not in the table takes its kind's defaults, which are the
kind's *shortest common* values, and is marked ``known: false`` with a ``note`` the playbook
shows on its tasks. A kind's own name is a payer id too (``medicare``, ``commercial``, ...):
the kind's defaults as a known payer, which is what a claim-denial v1 ``payer_type`` becomes.

Playbooks reach this through three sandbox functions (``engine.sandbox``): ``payer_terms``
gives the resolved numbers as plain data, ``payer_deadline`` computes a deadline from them,
and ``route_for`` picks the most specific ``CARC:RARC`` or ``CARC`` route. So no deadline rule
is written in a template, and everything here is data plus date arithmetic (pure, no I/O).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from .calendar import BusinessCalendar

# The numbers of one payer (docs/payers.md, "Numbers"):
#   timely_filing_days     from the date of service
#   corrected_claim_days   from the notice, for a corrected claim; None: timely filing governs
#   appeal_days            level 1, level 2 windows (one entry: a single level)
#   receipt_days           the notice is presumed received this many days after its date
#   second_level_automatic an upheld level 1 goes to level 2 without a request (MA: the IRE)
#   reopening_days         a processed claim's clerical error is reopened within this many
#                          days of the initial determination; None: no reopenings
#   alj_days, alj_amount   level 3 (ALJ) window from receipt of the level 2 decision, when the
#                          amount in controversy is at least alj_amount; None: no level 3
#   representative         the patient must designate the practice before it appeals (ERISA)
#   next_business_day      a filing deadline on a weekend or holiday moves to the next
#                          business day (a Medicare rule: only where the payer says so)
_BASE: dict[str, Any] = {
    "timely_filing_days": 90, "corrected_claim_days": None, "appeal_days": [60, 60],
    "receipt_days": 0, "second_level_automatic": False, "reopening_days": None,
    "alj_days": None, "alj_amount": None, "representative": False, "next_business_day": False,
}

KINDS: dict[str, dict[str, Any]] = {
    # 42 CFR 424.44 (12 months), 405.942 (120 days from receipt, 5-day presumption), 405.962
    # (180), 405.980 (reopening 1 year), 405.1014 (ALJ 60 days, amount in controversy 2026)
    "medicare": {**_BASE, "timely_filing_days": 365, "appeal_days": [120, 180],
                 "receipt_days": 5, "reopening_days": 365, "alj_days": 60, "alj_amount": 200,
                 "next_business_day": True},
    # 42 CFR 422.582 (65 days from the notice), 422.592 (an upheld reconsideration goes to the
    # IRE by itself), 422.602 (ALJ 60 days); filing per contract: the short side
    "medicare_advantage": {**_BASE, "appeal_days": [65, 60], "second_level_automatic": True,
                           "alj_days": 60, "alj_amount": 200},
    # 42 CFR 447.45(d)(1) is a ceiling of 12 months; many states say 90-180 days
    "medicaid": {**_BASE},
    # the contract governs: filing 90, 180 or 365 days; appeals 180 days or 12 months
    "commercial": {**_BASE, "appeal_days": [180, 60]},
    # 29 CFR 2560.503-1(h)(3)(i) (at least 180 days), (b)(4) (authorized representative)
    "erisa": {**_BASE, "appeal_days": [180, 60], "representative": True},
    # 32 CFR 199.7(d) (1 year from service), 199.10 (reconsideration 90 days, then 60)
    "tricare": {**_BASE, "timely_filing_days": 365, "appeal_days": [90, 60]},
    # state law governs: conservative defaults
    "workers_comp": {**_BASE},
    "auto": {**_BASE},
    "other": {**_BASE},
}
NUMBERS = tuple(_BASE)
RULES = ("receipt", "timely_filing", "corrected", "reopening", "appeal_1", "appeal_2",
         "appeal_3")


class PayerError(ValueError):
    """A payer or a deadline rule the table cannot resolve (a playbook's refusal)."""


def payer_terms(table: Mapping[str, Mapping[str, Any]], payer: str, kind: str = "") -> dict[
        str, Any]:
    """The numbers of ``payer``: its entry in ``table`` over its kind's defaults; a kind name
    the kind's defaults; any other id the defaults of ``kind`` (else ``other``), marked
    unknown with a note. ``payer`` empty: ``kind`` names the payer (claim-denial v1)."""
    payer = (payer or kind or "").strip()
    if not payer:
        raise PayerError("give the payer's id (payer) or its kind (payer_type)")
    entry = table.get(payer)
    if entry is not None:
        terms = _merged(str(entry["kind"]), entry)
        return {"id": payer, "name": entry.get("name") or payer, "known": True, "note": "",
                **terms}
    if payer in KINDS:
        return {"id": payer, "name": payer, "known": True, "note": "", **_merged(payer, {})}
    use = kind if kind in KINDS else "other"
    note = (f"payer '{payer}' is not in the practice's payers table: its deadlines use the "
            f"shortest common values of kind '{use}'")
    return {"id": payer, "name": payer, "known": False, "note": note, **_merged(use, {})}


def _merged(kind: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise PayerError(f"unknown payer kind '{kind}'")
    terms = {"kind": kind, **KINDS[kind]}
    terms.update({name: entry[name] for name in NUMBERS if name in entry})
    terms["appeal_days"] = list(terms["appeal_days"])
    return terms


def payer_deadline(terms: Mapping[str, Any], rule: str, service: dt.date, notice: dt.date,
                   calendar: BusinessCalendar) -> dt.date | None:
    """The deadline ``rule`` sets for a claim served on ``service`` whose clock starts with a
    notice dated ``notice`` (the denial, or the decision of the level before). None when the
    payer has no such deadline (no reopening, no level 2 or 3)."""
    if rule not in RULES:
        raise PayerError(f"unknown deadline rule '{rule}' (one of {', '.join(RULES)})")
    received = notice + dt.timedelta(days=int(terms["receipt_days"]))
    if rule == "receipt":
        return received
    if rule in ("timely_filing", "corrected"):
        return _filing(terms, rule, service, notice, calendar)
    if rule == "reopening":
        days = terms.get("reopening_days")
        return None if days is None else notice + dt.timedelta(days=int(days))
    if rule == "appeal_3":
        days = terms.get("alj_days")
        return None if days is None else received + dt.timedelta(days=int(days))
    levels = list(terms["appeal_days"])
    index = int(rule[-1]) - 1
    return received + dt.timedelta(days=int(levels[index])) if index < len(levels) else None


def _filing(terms: Mapping[str, Any], rule: str, service: dt.date, notice: dt.date,
            calendar: BusinessCalendar) -> dt.date:
    """Timely filing from the service date (moved off closed days only where the payer says
    so); a corrected claim's window from the notice when the payer has one, never later."""
    limit = service + dt.timedelta(days=int(terms["timely_filing_days"]))
    if terms.get("next_business_day"):
        limit = calendar.next_business_day(limit)
    window = terms.get("corrected_claim_days")
    if rule == "corrected" and window is not None:
        return min(limit, notice + dt.timedelta(days=int(window)))
    return limit


_CODE = re.compile(r"[A-Z0-9]+")


def route_for(carc: str, rarc: Any, *tables: Mapping[str, Any]) -> Any:
    """The route of the most specific key: ``CARC:RARC`` for the first remark code that has
    one, else ``CARC``; later tables win over earlier ones for the same key. None if none."""
    merged: dict[str, Any] = {}
    for table in tables:
        merged.update(table)
    codes = rarc if isinstance(rarc, list | tuple) else _CODE.findall(str(rarc or "").upper())
    for code in codes:
        if f"{carc}:{code}" in merged:
            return merged[f"{carc}:{code}"]
    return merged.get(str(carc))


def builtins(table: Mapping[str, Mapping[str, Any]],
             calendar: BusinessCalendar) -> dict[str, Any]:
    """The sandbox functions over a practice's payers table (``step``'s built-in names)."""

    def terms(payer: Any, kind: Any = "") -> dict[str, Any]:
        return payer_terms(table, str(payer or ""), str(kind or ""))

    def deadline(given: Any, rule: Any, service: Any, notice: Any) -> dt.date | None:
        if not isinstance(given, Mapping):
            raise PayerError("payer_deadline takes the result of payer_terms(...) first")
        return payer_deadline(given, str(rule), as_date(service), as_date(notice), calendar)

    def route(carc: Any, rarc: Any, *tables: Any) -> Any:
        if not all(isinstance(t, Mapping) for t in tables):
            raise PayerError("route_for takes mappings of routes after the codes")
        return route_for(str(carc), rarc, *tables)

    return {"payer_terms": terms, "payer_deadline": deadline, "route_for": route}


def as_date(value: Any) -> dt.date:
    """A date from a date, a datetime (its date) or ISO text; TypeError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError("expected a date")
