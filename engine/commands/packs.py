"""``frontdesk pack new`` and ``frontdesk pack test``.

``pack test`` validates every playbook of a pack's source tree (exit 3 on any error, like
``validate``), then runs its scenario tests (exit 5 when one fails or there are none, like
``test``). Scenarios run in a throwaway home, so neither the practice's practice.yaml nor its
playbooks folder can make a pack's tests pass or fail; the pack's folders come first on the
search path, ahead of any installed copy of the same pack. A scenario without an inline
``practice:`` runs with the pack's own practice config (``scenarios/practice.yaml``, checked
like the playbooks, else every default), or with the home's under ``--practice local``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import click

from ..errors import ExitCode, InvalidError, Issue, Location, RefusedError
from ..loading.catalog import Catalog, is_scenario, playbook_files, search_path
from ..loading.loader import LoadedPlaybook, parse_playbook_file, validate
from ..loading.semantics import Signature
from ..loading.yamlsource import load_file
from ..packs import Pack, read_pack
from ..report import issues_text
from ..scenario import PACK_PRACTICE, PracticeChoice, is_pack_practice, iter_results
from ..settings import Options


def _display(path: Path) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def run_pack_new(*, name: str, parent: Path) -> int:
    """Scaffold a pack; print the files written and what to do next."""
    from ..packs import new_pack

    written = new_pack(name, parent)
    root = parent / name
    for path in written:
        click.echo(_display(path))
    click.echo(f"next: frontdesk pack test {_display(root)}   "
               f"(then: python -m build --wheel {_display(root)}; 'pip install build' first)",
               err=True)
    return ExitCode.OK


def _scenario_playbooks(path: Path) -> set[str]:
    documents, _ = load_file(path)
    return {str(d.data["playbook"]) for d in documents
            if isinstance(d.data, dict) and "playbook" in d.data}


def run_pack_test(options: Options, *, path: str, practice: str = "pack") -> int:
    """Validate a pack's playbooks (and its scenarios' practice config), then run its
    scenarios; one line per problem/scenario. ``practice``: ``pack`` (the pack's own practice
    config, else every default) or ``local`` (the home's practice.yaml)."""
    pack = read_pack(Path(path))
    loaded, scenarios = _pack_files(pack)
    folders = ", ".join(_display(f) for f in pack.folders.values())
    click.echo(f"pack {pack.name} {pack.version}: {len(loaded)} playbook"
               f"{'s' if len(loaded) != 1 else ''} in {folders}")
    env = {k: v for k, v in options.env.items() if not k.startswith("FRONTDESK_")}
    with tempfile.TemporaryDirectory(prefix="frontdesk-pack-test-") as home:
        isolated = Options(home=home, playbooks=tuple(str(f) for f in pack.folders.values()),
                           env=env)
        dirs = search_path(isolated.playbooks, isolated.home_path, env)
        known = Catalog.scan(dirs).signatures(loaded)
        issues = _check_playbooks(loaded, scenarios, known)
        if practice == "pack":
            issues += _practice_issues(pack)
        click.echo(issues_text(issues), nl=False)
        if any(i.is_error for i in issues):
            errors = sum(1 for i in issues if i.is_error)
            click.echo(f"{errors} error{'s' if errors != 1 else ''}: scenarios not run")
            return ExitCode.INVALID
        passed = failed = 0
        for result in iter_results(scenarios, isolated, _practice_choice(options, pack,
                                                                          practice)):
            click.echo(result.line())
            passed += result.passed
            failed += not result.passed
    click.echo(f"{passed} passed, {failed} failed")
    if passed == 0 and failed == 0:
        raise RefusedError("no scenario tests found (put them in a scenarios/ folder beside "
                           "the playbooks)")
    return ExitCode.OK if failed == 0 else ExitCode.REFUSED


def _pack_files(pack: Pack) -> tuple[list[LoadedPlaybook], list[Path]]:
    """The pack's playbooks, parsed, and its scenario files: those beside the playbooks and
    every ``*.yaml`` under ``scenarios/`` except the pack's practice config there."""
    loaded: list[LoadedPlaybook] = []
    scenarios: list[Path] = []
    for folder in pack.folders.values():
        for file in playbook_files(folder):
            item = parse_playbook_file(file, _display(file))
            if is_scenario(item):
                scenarios.append(file)
            else:
                loaded.append(item)
        scenarios += sorted(p for p in (folder / "scenarios").rglob("*")
                            if p.suffix in (".yaml", ".yml") and p.is_file()
                            and not is_pack_practice(p))
    return loaded, scenarios


def _practice_issues(pack: Pack) -> list[Issue]:
    """The problems of each ``scenarios/practice.yaml`` of the pack, located in it."""
    from ..loading.practice import parse_practice

    issues: list[Issue] = []
    for folder in pack.folders.values():
        file = folder / "scenarios" / PACK_PRACTICE
        if file.exists():
            try:
                parse_practice(file, display=_display(file))
            except InvalidError as exc:
                issues += exc.issues
    return issues


def _practice_choice(options: Options, pack: Pack, practice: str) -> PracticeChoice:
    """The pack's own practice config for its scenarios, or (``local``) the home's
    practice.yaml for every scenario without an inline one (none: every default)."""
    if practice == "pack":
        return PracticeChoice.for_packs(pack.folders.values())
    local = options.practice_path
    try:
        text = local.read_text("utf-8-sig") if local.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidError([Issue("error", "practice", f"cannot read: {exc}",
                                  Location(str(local), 1, 1))]) from None
    return PracticeChoice(local_text=text)


def _check_playbooks(loaded: list[LoadedPlaybook], scenarios: list[Path],
                     known: Mapping[str, Signature]) -> list[Issue]:
    """Validation issues, duplicate ids and playbooks without a scenario (a warning)."""
    issues: list[Issue] = []
    tested = set().union(*(_scenario_playbooks(p) for p in scenarios)) if scenarios else set()
    seen: dict[str, str] = {}
    for item in loaded:
        if not item.errors:
            validate(item, known)
        issues += item.issues
        where = Location(item.display, 1, 1)
        if item.id and item.id in seen:
            issues.append(Issue("error", "duplicate-playbook",
                                f"playbook '{item.id}' is also defined in {seen[item.id]}", where))
        elif item.id:
            seen[item.id] = item.display
            if item.id not in tested:
                issues.append(Issue("warning", "no-scenario",
                                    f"playbook '{item.id}' has no scenario test",
                                    where, "add one under scenarios/"))
    return issues
