"""The HTML report's charts leave the interpreter's imports as they were."""

from __future__ import annotations

import sys

from frontdesk.reports.html import chart_svg
from frontdesk.reports.result import Column, Table


def test_charting_leaves_no_legacy_import_hook() -> None:
    """pygal's map-plugin hook (``find_module`` only) is not left in ``sys.meta_path``, where
    it made later imports warn (icalendar's, in the same process)."""
    table = Table("t", [Column("k", "k"), Column("n", "n", "number")], [["a", 1], ["b", 2]],
                  dimensions=1, chart="n")
    assert (chart_svg(table) or "").lstrip().startswith("<svg")
    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path)
