"""Rows of a roster file: the values for ``start --from FILE`` and a schedule's ``roster``.

A roster is CSV (a header row of input names, then one row per instance), JSON (a list of
objects) or YAML (a list of mappings), chosen by the file's suffix. Each row keeps the line it
came from, so a bad row is reported as ``FILE:LINE``. CSV cells are text (the playbook's
field types convert them); an empty cell is a value not given. The file is read bounded, like
a playbook (``loading.files``); a file that cannot be read or parsed is a usage error (exit 2)
naming the file and line, never a value (a roster holds PHI).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

SUFFIXES = (".csv", ".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a roster: the line it starts on and its values by name."""

    line: int
    values: dict[str, Any]


def read_rows(path: Path) -> list[Row]:
    """The rows of the roster at ``path`` (``.csv``, ``.json``, ``.yaml`` or ``.yml``)."""
    from .loading.files import read_source

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"--from: {path}: a roster is a .csv, .json or .yaml file")
    text, issues = read_source(path, str(path))
    if text is None:
        raise UsageError("--from: " + (issues[0].format() if issues else f"cannot read {path}"))
    if suffix == ".csv":
        return _csv_rows(text, str(path))
    return _document_rows(text, str(path))


def _csv_rows(text: str, display: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(name.strip() for name in header):
            raise UsageError(f"--from: {display}:1: the first row names the inputs")
        names = [name.strip() for name in header]
        if len(set(names)) != len(names) or "" in names:
            raise UsageError(f"--from: {display}:1: every column needs its own name")
        rows: list[Row] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) > len(names):
                    raise UsageError(f"--from: {display}:{line}: {len(cells)} cells for "
                                     f"{len(names)} columns")
                rows.append(Row(line, {name: cell for name, cell in zip(names, cells, strict=False)
                                       if cell.strip()}))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError(f"--from: {display}:{reader.line_num}: not CSV: {exc}") from None
    return rows


def _document_rows(text: str, display: str) -> list[Row]:
    from .loading.yamlsource import parse_text

    documents, issues = parse_text(text, display)
    if issues:
        raise UsageError("--from: " + issues[0].format())
    if len(documents) != 1 or not isinstance(documents[0].data, list):
        raise UsageError(f"--from: {display} must hold one list of rows (one mapping a row)")
    document = documents[0]
    rows: list[Row] = []
    for index, item in enumerate(document.data):
        line = document.source.at((index,)).line
        if not isinstance(item, dict) or not all(isinstance(key, str) for key in item):
            raise UsageError(f"--from: {display}:{line}: a row is a mapping of input names "
                             "to values")
        rows.append(Row(line, {key: value for key, value in item.items() if value is not None}))
    return rows
