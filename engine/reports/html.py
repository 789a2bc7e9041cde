"""A report as one self-contained HTML file: inline SVG charts (pygal) and the tables.

pygal draws the charts: a maintained, pure-Python SVG charting library with no dependencies of
its own, whose output needs no JavaScript to be read. Its optional tooltip script is switched
off (``js=[]``: it would be fetched from the network) and the XML namespace declarations are
dropped from the inline ``<svg>`` (an HTML parser does not need them), so the file names no
other resource at all and opens the same offline.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .render import cell
from .result import ReportResult, Table

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;
max-width:72em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;
border-bottom:1px solid #ccc}h3{font-size:1em;margin-top:1.5em}
p.meta{color:#666;margin-top:0}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{padding:.25em .7em;border-bottom:1px solid #e4e4e4;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
figure{margin:0;max-width:48em}
"""
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
# pygal's credits comment (links and a date) and its inline config script, which only its
# tooltip script would read: neither belongs in a file that must not name the network
_EXTRAS = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.S)
_NUMERIC = ("number", "money", "percent", "days")


def _labels(table: Table) -> list[str]:
    return [" / ".join(cell(v, "text") for v in row[: table.dimensions]) or "all"
            for row in table.rows]


def _drop_pygal_import_hook() -> None:
    """Importing pygal appends its ``PluginImportFixer`` (for the old ``pygal.maps`` plugin
    names, not used here) to ``sys.meta_path``; it has no ``find_spec``, so every later import
    in the process warns (``ImportWarning``, an error under the tests' ``filterwarnings``).
    Take it out again."""
    import sys

    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if type(finder).__name__ != "PluginImportFixer"]


def chart_svg(table: Table) -> str | None:
    """The SVG bar chart of ``table``'s chart column (bars over time when it is grouped by a
    time dimension, horizontal bars for a breakdown); None when there is nothing to draw."""
    if table.chart is None or not table.rows:
        return None
    import pygal  # type: ignore[import-untyped]
    from pygal.style import CleanStyle  # type: ignore[import-untyped]

    _drop_pygal_import_hook()

    index = next(i for i, c in enumerate(table.columns) if c.key == table.chart)
    column = table.columns[index]
    scale = 100 if column.format == "percent" else 1
    values: list[Any] = [None if row[index] is None else row[index] * scale
                         for row in table.rows]
    kind = pygal.Bar if table.over_time else pygal.HorizontalBar
    chart = kind(js=[], style=CleanStyle, show_legend=False, width=720,
                 height=max(240, 28 * len(values) + 80) if not table.over_time else 320,
                 title=f"{table.title}: {column.title}" + (" (%)" if scale == 100 else ""),
                 x_label_rotation=30 if table.over_time and len(values) > 8 else 0,
                 print_values=len(values) <= 24, disable_xml_declaration=True)
    labels = _labels(table)
    chart.x_labels = labels
    chart.add(column.title, values)
    svg: str = chart.render(is_unicode=True)
    return _EXTRAS.sub("", _NAMESPACES.sub("", svg))


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c.title)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="n">{html.escape(cell(v, c.format))}</td>' if c.format in _NUMERIC
            else f"<td>{html.escape(cell(v, c.format))}</td>"
            for v, c in zip(row, table.columns, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    body = "".join(rows) or f'<tr><td colspan="{len(table.columns)}">nothing in this ' \
                            "period</td></tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_fragment(result: ReportResult) -> str:
    """The report's body (headings, charts, tables) without the page around it: what the
    web board embeds."""
    parts = [f"<h1>{html.escape(result.title)}</h1>",
             f'<p class="meta">{html.escape(result.period_text())}; '
             f"{html.escape('; '.join(result.notes))}</p>"]
    for section in result.sections:
        source = "" if section.source == "built-in" else f" ({section.source})"
        parts.append(f"<h2>{html.escape(section.title + source)}</h2>")
        if section.description:
            parts.append(f"<p>{html.escape(section.description)}</p>")
        for table in section.tables:
            parts.append(f"<h3>{html.escape(table.title)}</h3>")
            svg = chart_svg(table)
            if svg:
                parts.append(f"<figure>{svg}</figure>")
            parts.append(_table_html(table))
    return "\n".join(parts)


def render_html(result: ReportResult) -> str:
    """One self-contained HTML document: no script, stylesheet or image from elsewhere."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(result.title)}</title><style>{CSS}</style></head>"
            f"<body>\n{report_fragment(result)}\n</body></html>\n")
