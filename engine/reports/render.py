"""A report as text (80 columns), CSV and JSON.

Text: a table too wide for 80 columns is split into blocks of measures, each repeating the
grouping columns, so nothing is cut but long grouping values. CSV: every table one after
another, each with its own header row (``section,table,<columns>``) and a blank line between.
JSON: the whole result (docs/reference.md, "Reports"). In CSV and JSON a share is a fraction
(0..1) and a date ISO text; the text shows percentages, dollars and days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import textwrap
from typing import Any

from ..report import Column as FitColumn
from ..report import Table as FitTable
from ..report import printable, to_json
from .result import Column, ReportResult, Table, plain_value

WIDTH = 80
GAP = "  "
MAX_DIMENSION = 24  # a grouping value longer than this is cut in text


def cell(value: Any, fmt: str) -> str:
    """A value as the text table shows it."""
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return printable(", ".join(str(v) for v in value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return _number(value, fmt)
    return printable(value)


def _number(value: float, fmt: str) -> str:
    if fmt == "percent":
        return f"{value * 100:.1f}%"
    if fmt == "money":
        return f"${value:,.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}" if fmt == "days" else f"{value:,.2f}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _width(table: Table, cells: list[list[str]], i: int) -> int:
    """The text width of column ``i``: its values, and its heading wrapped to 12 columns."""
    data = max((len(row[i]) for row in cells), default=1)
    if i < table.dimensions:
        return min(max(data, len(table.columns[i].title)), MAX_DIMENSION)
    return max(data, min(len(table.columns[i].title), 12), 6)


def _blocks(table: Table, cells: list[list[str]]) -> list[list[int]]:
    """Column indexes of each text block: the grouping columns, then as many measure
    columns as fit in ``WIDTH``."""
    dims = list(range(table.dimensions))
    head = sum(_width(table, cells, i) + len(GAP) for i in dims)
    blocks: list[list[int]] = []
    current: list[int] = []
    used = head
    for i in range(table.dimensions, len(table.columns)):
        need = _width(table, cells, i) + len(GAP)
        if current and used + need - len(GAP) > WIDTH:
            blocks.append(dims + current)
            current, used = [], head
        current.append(i)
        used += need
    if current or not blocks:
        blocks.append(dims + current)
    return blocks


def _text_block(table: Table, cells: list[list[str]], indexes: list[int]) -> list[str]:
    widths = []
    heads = []
    for i in indexes:
        w = _width(table, cells, i)
        widths.append(w)
        heads.append(textwrap.wrap(table.columns[i].title, w) or [""])
    lines = []
    for k in range(max(len(h) for h in heads)):
        parts = []
        for i, w, head in zip(indexes, widths, heads, strict=True):
            text = head[k] if k < len(head) else ""
            parts.append(f"{text:<{w}}" if i < table.dimensions or table.columns[i].format
                         in ("text", "date") else f"{text:>{w}}")
        lines.append(GAP.join(parts).rstrip())
    for row in cells:
        parts = []
        for i, w in zip(indexes, widths, strict=True):
            text = _cut(row[i], w)
            numeric = i >= table.dimensions and table.columns[i].format not in ("text", "date")
            parts.append(f"{text:>{w}}" if numeric else f"{text:<{w}}")
        lines.append(GAP.join(parts).rstrip())
    return lines


def _list_text(table: Table, cells: list[list[str]]) -> list[str]:
    """A list (a roster, the deadlines) in 80 columns: the longest text column, when the row
    is too wide with it, goes on its own wrapped line under the other columns."""
    text = [i for i, c in enumerate(table.columns) if c.format == "text"]
    longest = max(text, key=lambda i: max(len(row[i]) for row in cells), default=None)
    columns = [FitColumn(c.title, fit="cut" if i in text else "keep", most=24, least=8)
               for i, c in enumerate(table.columns)]
    whole = FitTable(columns, cells, None)
    if longest is None or sum(whole.widths) + len(GAP) * (len(columns) - 1) <= WIDTH:
        return whole.lines(cells)
    rest = [i for i in range(len(columns)) if i != longest]
    short = [[row[i] for i in rest] for row in cells]
    fitted = FitTable([FitColumn(columns[i].header, fit="cut" if i in text else "keep",
                                 most=24, least=8, main=i == rest[-1]) for i in rest],
                      short, WIDTH)
    lines = [f"({table.columns[longest].title}: on the line under each row)",
             _cut(fitted.header(), WIDTH)]
    for row, cells_row in zip(short, cells, strict=True):
        lines.extend(_cut(line, WIDTH) for line in fitted.row(row))
        lines.extend(textwrap.wrap(cells_row[longest], WIDTH, initial_indent="    ",
                                   subsequent_indent="    ") or ["    -"])
    return lines


def table_text(table: Table) -> list[str]:
    """One table as text lines fitted to 80 columns."""
    lines = [table.title, "-" * min(len(table.title), WIDTH)]
    if not table.rows:
        return [*lines, "(nothing in this period)"]
    cells = [[cell(v, c.format) for v, c in zip(row, table.columns, strict=True)]
             for row in table.rows]
    if not table.dimensions:
        return [*lines, *_list_text(table, cells)]
    for n, indexes in enumerate(_blocks(table, cells)):
        if n:
            lines.append("")
        lines.extend(_text_block(table, cells, indexes))
    return lines


def render_text(result: ReportResult) -> str:
    """The report as a text document for a terminal or a printout (80 columns)."""
    lines = [f"{result.title} ({result.name}): {result.period_text()}", *result.notes, ""]
    for section in result.sections:
        heading = f"== {section.title}" + (f" [{section.source}]"
                                           if section.source != "built-in" else "")
        lines.append(heading)
        if section.description:
            lines.extend(textwrap.wrap(section.description, WIDTH))
        lines.append("")
        for table in section.tables:
            lines.extend(table_text(table))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _raw(value: Any) -> Any:
    value = plain_value(value)
    return ", ".join(map(str, value)) if isinstance(value, list) else value


def render_csv(result: ReportResult) -> str:
    """Every table as CSV, one after another, each with its own header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    first = True
    for section in result.sections:
        for table in section.tables:
            if not first:
                out.write("\n")
            first = False
            writer.writerow(["section", "table", *(c.key for c in table.columns)])
            for row in table.rows:
                writer.writerow([section.source, table.title, *(_raw(v) for v in row)])
    return out.getvalue()


def _column(column: Column) -> dict[str, str]:
    return {"key": column.key, "title": column.title, "format": column.format}


def result_data(result: ReportResult) -> dict[str, Any]:
    """The report as JSON data (what ``--format json`` prints and the web board can use)."""
    return {
        "report": result.name, "title": result.title,
        "from": plain_value(result.first), "to": plain_value(result.last),
        "generated_at": result.generated_at.isoformat(), "notes": result.notes,
        "sections": [{
            "source": s.source, "title": s.title, "description": s.description,
            "tables": [{"title": t.title, "columns": [_column(c) for c in t.columns],
                        "rows": [{c.key: plain_value(v) for c, v in zip(t.columns, row,
                                                                         strict=True)}
                                 for row in t.rows]}
                       for t in s.tables]} for s in result.sections],
    }


def render_json(result: ReportResult) -> str:
    return to_json(result_data(result)) + "\n"
