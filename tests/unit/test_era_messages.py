"""What ``import era`` says about a bad 835 never carries the file's values (names, dates,
amounts are PHI): pyx12's quoted and parenthesised values are masked, element ids kept."""

from __future__ import annotations

import pytest
from frontdesk.era import _clean


@pytest.mark.parametrize(("said", "shown"), [
    ("(NM103) Element contains an invalid character(GARCÍA)",
     "(NM103) Element contains an invalid character<value>"),
    ("(CAS03) Element is an invalid decimal (12X0)",
     "(CAS03) Element is an invalid decimal <value>"),
    ("(DTM02) Invalid date '2025AB20'", "(DTM02) Invalid date <value>"),
    ("the file does not begin with MAR: not X12", "the file does not begin with <value>"),
])
def test_values_are_masked_and_element_ids_kept(said: str, shown: str) -> None:
    assert _clean(said) == shown
