"""Which playbook roles nobody in practice.yaml holds: warnings of ``frontdesk validate``.

With ``people`` listed, a task whose role (after the practice's role mapping) no person holds
can be done by nobody, and a typo in a person's roles (``ofice_manager``) would leave it so
while ``validate`` said "0 errors, 0 warnings". Two warnings say so, located in practice.yaml:

- at a person's role that no playbook uses but that is close to a playbook role nobody holds
  (the typo), for every playbook on the search path;
- at the playbook's tailoring (or at ``people``), naming its unmapped roles nobody holds, for the
  playbooks the practice evidently uses: its own (``--playbooks``, ``$FRONTDESK_PLAYBOOKS``,
  the home's ``playbooks/``) and those it tailors, unless that tailoring maps a role the
  playbook lacks (an error that comes first). An untailored shipped or pack playbook the
  practice may never run is not held against it.

A mapped role whose practice role nobody holds is an error of the tailoring itself
(``practice.check_tailoring``).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from ..errors import Issue
from .describe import shown
from .yamlsource import JsonPath, SourceMap

_TYPO_CUTOFF = 0.8  # closer than did_you_mean's 0.6: a warning must be about a likely typo


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _person_roles(people: dict[str, Any]) -> dict[str, tuple[str, JsonPath]]:
    """Each role a person holds -> (the first person holding it, the path of that entry)."""
    found: dict[str, tuple[str, JsonPath]] = {}
    for pid, spec in people.items():
        roles = _dict(spec).get("roles")
        for i, role in enumerate(roles if isinstance(roles, list) else ()):
            if isinstance(role, str):
                found.setdefault(role, (pid, ("people", pid, "roles", i)))
    return found


def role_warnings(data: Any, source: SourceMap, roles_of: Mapping[str, Collection[str]],
                  checked: Collection[str]) -> list[Issue]:
    """The warnings above for a practice config ``data``; ``roles_of`` gives each active
    playbook's roles, ``checked`` the ids whose every unheld role is reported."""
    data = _dict(data)
    people = _dict(data.get("people"))
    if not people:
        return []
    held = _person_roles(people)
    tailoring = _dict(data.get("playbooks"))
    mappings = {pid: _dict(_dict(spec).get("roles")) for pid, spec in tailoring.items()}
    used = {r for roles in roles_of.values() for r in roles} | {
        t for mapping in mappings.values() for t in mapping.values() if isinstance(t, str)}
    spare = [role for role in held if role not in used]  # held, but used by no playbook
    typos: dict[str, tuple[str, list[str]]] = {}  # spare role -> (playbook role, playbooks)
    issues: list[Issue] = []
    for pid, roles in sorted(roles_of.items()):
        unheld = []
        for role in roles:
            if role in mappings.get(pid, {}) or role in held:
                continue
            close = difflib.get_close_matches(role, spare, n=1, cutoff=_TYPO_CUTOFF)
            if close:
                typos.setdefault(close[0], (role, []))[1].append(pid)
            else:
                unheld.append(role)
        wrong_mapping = any(role not in roles for role in mappings.get(pid, {}))
        if unheld and pid in checked and not wrong_mapping:  # else that error says it first
            issues.append(_unheld(pid, unheld, source, tailoring))
    for spare_role, (role, pids) in typos.items():
        person, path = held[spare_role]
        issues.append(Issue(
            "warning", "unknown-role",
            f"person '{person}': role '{spare_role}' is used by no playbook, and no person "
            f"holds the role '{shown(role)}' of {', '.join(repr(p) for p in pids)}",
            source.at(path), f"did you mean '{role}'?"))
    return sorted(issues, key=Issue.sort_key)


def _unheld(pid: str, roles: list[str], source: SourceMap, tailoring: dict[str, Any]) -> Issue:
    """A warning that the unmapped ``roles`` of playbook ``pid`` are held by nobody."""
    path: JsonPath = ("people",)
    if pid in tailoring:
        path = ("playbooks", pid, "roles") if "roles" in _dict(tailoring[pid]) else (
            "playbooks", pid)
    names = ", ".join(f"'{shown(role)}'" for role in roles)
    noun = "role" if len(roles) == 1 else "roles"
    return Issue("warning", "unknown-role", f"playbook '{pid}': no person holds its {noun} "
                 f"{names}", source.at(path, key=True),
                 f"give {'it' if len(roles) == 1 else 'each'} to a person, or map it under "
                 f"playbooks: {pid}: roles: "
                 f"{{{roles[0]}: PRACTICE_ROLE}}")


def address_warnings(data: Any, source: SourceMap,
                     addressees_of: Mapping[str, Collection[str]],
                     checked: Collection[str]) -> list[Issue]:
    """A warning per playbook the practice uses whose messages name a person id that
    ``people`` does not list: such a message would fail, "person ... is not in practice.yaml"."""
    people = _dict(_dict(data).get("people"))
    if not people:
        return []
    issues = []
    for pid in sorted(checked):
        unknown = [name for name in addressees_of.get(pid, ()) if name not in people]
        if unknown:
            names = ", ".join(f"'{shown(name)}'" for name in unknown)
            close = difflib.get_close_matches(unknown[0], list(people), n=1, cutoff=0.6)
            issues.append(Issue(
                "warning", "unknown-person",
                f"playbook '{pid}' sends messages to {names}, not a person in 'people'",
                source.at(("people",), key=True),
                f"did you mean '{close[0]}'?" if close else "add the person, or change the "
                "playbook's 'to:'"))
    return issues
