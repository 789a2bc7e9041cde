"""``frontdesk validate``, ``frontdesk playbooks`` and ``frontdesk graph``: the playbook files
themselves, parsed and validated on the search path; no store is opened."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import ExitCode, Issue, Location
from ..loading.catalog import Catalog, search_path
from ..report import issue_dict, issues_text, to_json
from ..settings import Options

PRACTICE_NAMES = ("practice.yaml", "practice.yml")


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if not relative.startswith("..") else str(path)


def catalog_for(options: Options) -> Catalog:
    """The catalog of the search path for these options."""
    return Catalog.scan(search_path(options.playbooks, options.home_path, options.env))


def run_validate(options: Options, *, paths: list[str], fmt: str) -> int:
    """Validate files (or the search path); print every issue; exit 3 on any error."""
    from ..loading.cache import DiskCache
    from ..loading.validation import Validator, expand

    validator = Validator(search_path(options.playbooks, options.home_path, options.env),
                          DiskCache.for_home(options.home_path), _display)
    results: list[tuple[str, str | None, list[Issue]]] = []
    if paths:
        files = expand(paths)
        missing = [p for p in files if not p.exists()]
        for path in missing:
            results.append((str(path), None, [Issue("error", "not-found", "no such file",
                                                    Location(str(path), 1, 1))]))
        playbook_paths = [p for p in files if p.exists() and p.name not in PRACTICE_NAMES]
        practice_paths = [p for p in files if p.exists() and p.name in PRACTICE_NAMES]
    else:
        playbook_paths = validator.search_path_files()
        practice_paths = [options.practice_path] if options.practice_path.exists() else []
    reports = [*validator.playbooks(playbook_paths), *map(validator.practice, practice_paths)]
    results += [(r.display, r.playbook, list(r.issues)) for r in reports]
    return _report(results, fmt)


def _report(results: list[tuple[str, str | None, list[Issue]]], fmt: str) -> int:
    issues = [i for _, _, file_issues in results for i in file_issues]
    errors = sum(1 for i in issues if i.is_error)
    warnings = len(issues) - errors
    if fmt == "json":
        click.echo(to_json({
            "files": [{"path": path, "playbook": pid,
                       "valid": not any(i.is_error for i in file_issues),
                       "issues": [issue_dict(i) for i in file_issues]}
                      for path, pid, file_issues in results],
            "errors": errors, "warnings": warnings,
        }))
    else:
        click.echo(issues_text(issues), nl=False)
        summary = f"{len(results)} file{'s' if len(results) != 1 else ''} checked: " \
                  f"{errors} error{'s' if errors != 1 else ''}, " \
                  f"{warnings} warning{'s' if warnings != 1 else ''}"
        click.echo(summary, err=True)
    return ExitCode.INVALID if errors else ExitCode.OK


def run_playbooks(options: Options, *, as_json: bool) -> int:
    """List the playbooks of the search path with their source and shadowing."""
    catalog = catalog_for(options)
    rows = []
    for entry in catalog.entries:
        source = f"{entry.origin}: {entry.path}"
        if entry.shadowed_by is not None:  # the documented keys only; shadowing goes in source
            source += f" (shadowed by {entry.shadowed_by.origin}: {entry.shadowed_by.path})"
        rows.append({"id": entry.id, "version": entry.version, "title": entry.title,
                     "source": source})
    if as_json:
        click.echo(to_json(rows))
        return ExitCode.OK
    if not rows:
        click.echo("no playbooks found", err=True)
    for row in rows:
        click.echo(f"{row['id']:<24} v{row['version'] or '?':<3} {row['title'] or '':<40} "
                   f"{row['source']}")
    return ExitCode.OK


def run_graph(options: Options, *, playbook: str, fmt: str) -> int:
    """Print the state diagram of a playbook id or file."""
    from .. import graph
    from ..loading.loader import parse_playbook_file, validate

    path = Path(playbook)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        catalog = catalog_for(options)
        loaded = parse_playbook_file(path, _display(path))
        if not loaded.errors:
            validate(loaded, catalog.signatures([loaded]))
    else:
        loaded = catalog_for(options).load(playbook)
    model = loaded.require()
    click.echo(graph.dot(model) if fmt == "dot" else graph.mermaid(model), nl=False)
    return ExitCode.OK
