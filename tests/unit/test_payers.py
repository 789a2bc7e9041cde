"""The payers table (docs/payers.md): kind defaults, a practice's entries, unknown payers, the
deadline rules and the most specific route, and practice.yaml's located errors for a bad entry."""

from __future__ import annotations

import datetime as dt

import pytest
from frontdesk.errors import InvalidError
from frontdesk.loading.practice import build_practice, parse_practice
from frontdesk.runtime.payers import KINDS, PayerError, payer_deadline, payer_terms, route_for
from runtime_testing import US

D = dt.date.fromisoformat
CALENDAR = US
PRACTICE = """\
payers:
  aetna-ppo: {kind: commercial, name: Aetna PPO, timely_filing_days: 120, corrected_claim_days: 60,
              appeal_days: [90]}
  medicare-jl: {kind: medicare}
  bcbs: {kind: commercial, next_business_day: true}
"""


def table() -> dict[str, dict[str, object]]:
    """The payers table of ``PRACTICE`` as the runtime gets it."""
    return {k: dict(v) for k, v in
            build_practice(parse_practice(text=PRACTICE).data).payers.items()}


def test_an_entry_overrides_its_kind_and_keeps_the_rest() -> None:
    """Numbers the entry gives win; the others come from its kind; it is known, with no note."""
    terms = payer_terms(table(), "aetna-ppo")
    assert (terms["kind"], terms["name"], terms["known"], terms["note"]) == (
        "commercial", "Aetna PPO", True, "")
    assert (terms["timely_filing_days"], terms["corrected_claim_days"], terms["appeal_days"],
            terms["receipt_days"], terms["next_business_day"]) == (120, 60, [90], 0, False)


def test_a_kind_name_is_a_known_payer_and_an_unknown_id_says_so() -> None:
    """``medicare`` (a v1 payer_type) is the kind's defaults; an unlisted id takes the shortest
    common values of the kind it is given (else ``other``) and carries a note."""
    assert payer_terms({}, "", "medicare") == {
        "id": "medicare", "name": "medicare", "known": True, "note": "", "kind": "medicare",
        **KINDS["medicare"]}
    unknown = payer_terms({}, "cigna-x", "erisa")
    assert (unknown["known"], unknown["kind"], unknown["appeal_days"]) == (False, "erisa",
                                                                          [180, 60])
    assert unknown["note"] == ("payer 'cigna-x' is not in the practice's payers table: its "
                               "deadlines use the shortest common values of kind 'erisa'")
    assert payer_terms({}, "mystery")["kind"] == "other"
    with pytest.raises(PayerError, match="give the payer's id"):
        payer_terms({}, "", "")


@pytest.mark.parametrize(("payer", "rule", "service", "notice", "due"), [
    # DOMAIN.md 2: notice 2025-01-10, received 01-15, redetermination due 2025-05-15
    ("medicare", "receipt", "2024-12-16", "2025-01-10", "2025-01-15"),
    ("medicare", "appeal_1", "2024-12-16", "2025-01-10", "2025-05-15"),
    ("medicare", "appeal_2", "2024-12-16", "2025-07-01", "2026-01-02"),
    ("medicare", "appeal_3", "2024-12-16", "2026-02-20", "2026-04-26"),
    # Medicare timely filing moves off a weekend: 2025-04-05 + 365 = Sun 2026-04-05 -> Mon
    ("medicare", "timely_filing", "2025-04-05", "2025-05-01", "2026-04-06"),
    # a commercial one does not (issue 19): 2026-01-04 + 90 = Sat 2026-04-04 stays
    ("commercial", "timely_filing", "2026-01-04", "2026-01-20", "2026-04-04"),
    # unless the payer entry says so
    ("bcbs", "timely_filing", "2026-01-04", "2026-01-20", "2026-04-06"),
    # DOMAIN.md 7: CO-236 on 2025-03-01 denied 2026-02-09: reopening open until 2027-02-09
    ("medicare", "reopening", "2025-03-01", "2026-02-09", "2027-02-09"),
    ("medicare_advantage", "appeal_1", "2026-01-02", "2026-02-02", "2026-04-08"),
    ("medicaid", "timely_filing", "2026-03-20", "2026-04-03", "2026-06-18"),
    ("tricare", "appeal_1", "2026-01-02", "2026-02-02", "2026-05-03"),
    # corrected: the contract's window from the notice, never past timely filing
    ("aetna-ppo", "corrected", "2026-01-05", "2026-01-20", "2026-03-21"),
    ("aetna-ppo", "corrected", "2026-01-05", "2026-04-20", "2026-05-05"),
    ("commercial", "corrected", "2026-01-05", "2026-01-20", "2026-04-05"),
])
def test_deadline_rules(payer: str, rule: str, service: str, notice: str, due: str) -> None:
    """Each rule with its dates (docs/payers.md, "Deadlines")."""
    terms = payer_terms(table(), payer)
    assert payer_deadline(terms, rule, D(service), D(notice), CALENDAR) == D(due)


def test_rules_a_payer_does_not_have_are_none() -> None:
    """No reopening, no level 3 and no level 2 of a one-level payer: None."""
    commercial = payer_terms({}, "commercial")
    assert payer_deadline(commercial, "reopening", D("2026-01-01"), D("2026-02-01"),
                          CALENDAR) is None
    assert payer_deadline(commercial, "appeal_3", D("2026-01-01"), D("2026-02-01"),
                          CALENDAR) is None
    assert payer_deadline(payer_terms(table(), "aetna-ppo"), "appeal_2", D("2026-01-01"),
                          D("2026-02-01"), CALENDAR) is None
    with pytest.raises(PayerError, match="unknown deadline rule"):
        payer_deadline(commercial, "appeal", D("2026-01-01"), D("2026-02-01"), CALENDAR)


def test_the_most_specific_route_wins() -> None:
    """``CARC:RARC`` before ``CARC``; an override table wins for the same key."""
    routes = {"16": "corrected", "16:MA130": "resubmit", "50": "appeal"}
    assert route_for("16", "N382 MA130", routes) == "resubmit"
    assert route_for("16", "N382", routes) == "corrected"
    assert route_for("16", "", routes, {"16": "appeal"}) == "appeal"
    assert route_for("16", "ma130", routes, {"16": "appeal"}) == "resubmit"
    assert route_for("999", "", routes) is None


def test_a_bad_payer_entry_is_a_located_error() -> None:
    """The schema checks each entry: kind, numbers and unknown keys, each at its line."""
    with pytest.raises(InvalidError) as caught:
        parse_practice(text="payers:\n  acme: {kind: comercial, appeal_days: [0]}\n"
                            "  ok: {kind: other, timely_filing: 90}\n",
                       display="practice.yaml")
    found = [issue.format() for issue in caught.value.issues]
    assert any(text.startswith("practice.yaml:2:") and "comercial" in text for text in found)
    assert any(text.startswith("practice.yaml:2:") and "appeal_days" in text for text in found)
    assert any(text.startswith("practice.yaml:3:") and "timely_filing" in text
               for text in found), found
