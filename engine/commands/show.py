"""``frontdesk show-playbook``: a playbook's source as found, or as this practice runs it."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ExitCode, InvalidError
from ..settings import Options
from .validate import catalog_for


def run_show_playbook(options: Options, *, playbook_id: str, effective: bool) -> int:
    """Print the source of ``playbook_id`` from the search path; with ``effective``, the
    playbook after practice.yaml's tailoring, each overridden line commented."""
    from ..effective import effective_yaml
    from ..loading.practice import check_tailoring, parse_practice

    catalog = catalog_for(options)
    entry = catalog.find(playbook_id)
    where = f"{entry.origin}: {entry.path}"
    if not effective:
        if entry.loaded.text is None:
            raise InvalidError(entry.loaded.issues)
        click.echo(entry.loaded.text, nl=False)
        click.echo(f"{entry.id} version {entry.version or '?'} from {where}", err=True)
        return ExitCode.OK
    loaded = catalog.load(playbook_id)
    playbook = loaded.require()
    practice_path = options.practice_path
    document = parse_practice(practice_path, display=str(practice_path))
    issues = check_tailoring(document, lambda pid: playbook if pid == playbook.id else None,
                             only=playbook.id)
    if any(i.is_error for i in issues):
        raise InvalidError(issues)
    data: Any = document.data if isinstance(document.data, dict) else {}
    spec = (data.get("playbooks") or {}).get(playbook.id)
    spec = spec if isinstance(spec, dict) else None
    overrides = _count(spec)
    header = [
        f"effective playbook '{playbook.id}' version {playbook.version}",
        f"source: {where}",
        f"tailoring: {practice_path}: {overrides} override{'s' if overrides != 1 else ''}"
        if overrides else f"tailoring: none in {practice_path}",
    ]

    def line_of(path: tuple[str | int, ...]) -> int:
        return document.source.at(("playbooks", playbook.id, *path)).line

    click.echo(effective_yaml(loaded.data, spec, line_of, header, practice_path.name), nl=False)
    return ExitCode.OK


def _count(spec: dict[str, Any] | None) -> int:
    """How many overrides a tailoring section holds (each setting, role, task field, id)."""
    if not spec:
        return 0
    tasks = spec.get("tasks") or {}
    return (len(spec.get("settings") or {}) + len(spec.get("roles") or {})
            + sum(len(t or {}) for t in tasks.values()) + len(spec.get("disabled_tasks") or []))
