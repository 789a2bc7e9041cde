"""Load and validate ``practice.yaml``: schema, time zone, calendar, people and tailoring.

People: person ids are plain ASCII (the schema), ``system`` and ``scenario`` are reserved, and
every administrator is a listed person. Tailoring is checked against the playbooks it names
(unknown playbook, setting, role or task id is a located error with a did-you-mean), so a typo
never silently changes nothing; ``role_warnings`` says which playbook roles nobody holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidError, Issue, Location, did_you_mean
from ..model import (
    RESERVED_ACTORS,
    Board,
    DeliverySettings,
    DigestSettings,
    Person,
    Playbook,
    Practice,
    SmtpSettings,
    Tailoring,
    WebhookSettings,
)
from .build import build_schedule, build_task_override
from .describe import shown
from .schema import schema_issues
from .yamlsource import JsonPath, SourceMap, YamlDocument, load_file, parse_text


def _timezone_issue(name: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone '{name}'"
    return None


def _country_issue(country: str, subdivision: str | None) -> tuple[str, str | None] | None:
    from holidays.utils import list_supported_countries

    supported = list_supported_countries()
    if country not in supported:
        return f"unknown country code '{country}'", did_you_mean(country, supported)
    if subdivision is not None and subdivision not in supported[country]:
        return (f"unknown subdivision '{subdivision}' of {country}",
                did_you_mean(subdivision, supported[country]))
    return None


def check_practice(document: YamlDocument) -> list[Issue]:
    """Schema and field checks of a practice config (not its tailoring)."""
    data = document.data
    if data is None:
        return []
    issues = schema_issues(document, "practice")
    if isinstance(data, dict):
        issues += _people_issues(data, document.source)
    if issues or not isinstance(data, dict):
        return sorted(issues, key=Issue.sort_key)
    source = document.source

    def error(path: JsonPath, message: str, hint: str | None = None) -> None:
        issues.append(Issue("error", "practice", message, source.at(path), hint))

    issues += _delivery_issues(data, source)
    issues += _manager_issues(data, source)
    timezone = data.get("timezone")
    if isinstance(timezone, str) and (problem := _timezone_issue(timezone)):
        error(("timezone",), problem, "use an IANA name such as America/New_York")
    calendar = data.get("calendar") or {}
    country = calendar.get("country", "US")
    found = _country_issue(country, calendar.get("subdivision"))
    if found:
        path: JsonPath = ("calendar", "country") if "subdivision" not in found[0] else (
            "calendar", "subdivision")
        error(path, found[0], found[1])
    return issues


def _delivery_issues(data: dict[str, Any], source: SourceMap) -> list[Issue]:
    """``delivery`` beyond its schema: email needs a sender, and a webhook's URL must be
    https unless it stays on this machine (a plain one would carry the messages in clear)."""
    from ..delivery.webhook import url_problem

    delivery = data.get("delivery") or {}
    issues = []
    if "smtp" in delivery and "from" not in delivery:
        issues.append(Issue("error", "delivery", "delivery.smtp needs delivery.from (the "
                            "sender address of every email)", source.at(("delivery",), key=True),
                            "e.g. from: frontdesk@your-practice.example"))
    url = (delivery.get("webhook") or {}).get("url")
    if isinstance(url, str) and (problem := url_problem(url)):
        issues.append(Issue("error", "delivery", problem,
                            source.at(("delivery", "webhook", "url")),
                            "use https:// (plain http:// only to localhost)"))
    return issues


def _manager_issues(data: dict[str, Any], source: SourceMap) -> list[Issue]:
    """``delivery.digest.managers``: each role's manager must be a listed person."""
    people = data.get("people") or {}
    managers = ((data.get("delivery") or {}).get("digest") or {}).get("managers") or {}
    return [Issue("error", "unknown-person",
                  f"the manager of role '{shown(role)}' ('{shown(pid)}') is not a person in "
                  "'people'", source.at(("delivery", "digest", "managers", role)),
                  did_you_mean(pid, people) or "list them under 'people'")
            for role, pid in managers.items() if pid not in people]


def _people_issues(data: dict[str, Any], source: SourceMap) -> list[Issue]:
    """Reserved person ids, and administrators who are not listed people (defensively: the
    schema may have found the shapes wrong)."""
    people = data.get("people")
    people = people if isinstance(people, dict) else {}
    admins = data.get("administrators")
    issues = [Issue("error", "reserved-name", f"'{pid}' is reserved and cannot be a person",
                    source.at(("people", pid), key=True),
                    "the engine acts as 'system' for timers and as 'scenario' in scenario tests")
              for pid in people if pid in RESERVED_ACTORS]
    for i, pid in enumerate(admins if isinstance(admins, list) else ()):
        if isinstance(pid, str) and pid not in people:
            issues.append(Issue("error", "unknown-person",
                                f"administrator '{shown(pid)}' is not a person in 'people'",
                                source.at(("administrators", i)),
                                did_you_mean(pid, people) or "list them under 'people'"))
    return issues


def build_practice(data: dict[str, Any] | None) -> Practice:
    """A ``Practice`` from a validated config (``None``: no practice.yaml)."""
    data = data or {}
    calendar = data.get("calendar") or {}
    people = {pid: _person(pid, spec or {}) for pid, spec in (data.get("people") or {}).items()}
    playbooks = {
        pid: Tailoring(
            settings=dict(spec.get("settings") or {}),
            roles=dict(spec.get("roles") or {}),
            tasks={tid: build_task_override(t or {})
                   for tid, t in (spec.get("tasks") or {}).items()},
            disabled_tasks=tuple(spec.get("disabled_tasks") or ()),
        )
        for pid, spec in ((k, v or {}) for k, v in (data.get("playbooks") or {}).items())
    }
    return Practice(
        name=data.get("practice"),
        timezone=data.get("timezone"),
        country=calendar.get("country", "US"),
        subdivision=calendar.get("subdivision"),
        closed=tuple(calendar.get("closed") or ()),
        closed_day_dues=calendar.get("closed_day_dues", "default"),
        people=people,
        playbooks=playbooks,
        administrators=tuple(data.get("administrators") or ()),
        starts_per_command=int((data.get("limits") or {}).get("starts_per_command", 200)),
        schedules=tuple(build_schedule(entry.get("name") or f"practice:{entry['playbook']}",
                                       entry["playbook"], entry["schedule"])
                        for entry in data.get("schedules") or ()),
        board=Board(**(data.get("board") or {})),
        delivery=_delivery(data.get("delivery") or {}),
        payers={pid: dict(entry) for pid, entry in (data.get("payers") or {}).items()},
    )


_SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def _delivery(spec: dict[str, Any]) -> DeliverySettings:
    smtp = spec.get("smtp")
    webhook = spec.get("webhook")
    security = (smtp or {}).get("security", "starttls")
    return DeliverySettings(
        sender=spec.get("from"),
        smtp=None if smtp is None else SmtpSettings(
            host=smtp["host"], port=int(smtp.get("port", _SMTP_PORTS[security])),
            security=security, username=smtp.get("username"),
            password_file=smtp.get("password_file"), password_env=smtp.get("password_env"),
            timeout=float(smtp.get("timeout", 30))),
        webhook=None if webhook is None else WebhookSettings(
            url=webhook["url"], secret_file=webhook["secret_file"],
            timeout=float(webhook.get("timeout", 30))),
        phi=spec.get("phi", "none"),
        digest=_digest(spec.get("digest") or {}),
        keep_done_days=int((spec.get("ics") or {}).get("keep_done_days", 14)),
    )


def _digest(spec: dict[str, Any]) -> DigestSettings:
    escalate = spec.get("escalate_after")
    return DigestSettings(at=spec.get("at"),
                          escalate_after=None if escalate is None else int(escalate),
                          managers=dict(spec.get("managers") or {}))


def _person(pid: str, spec: dict[str, Any]) -> Person:
    return Person(pid, spec.get("name"), tuple(spec.get("roles") or ()),
                  tuple(spec.get("login") or ()), spec.get("email"))


def parse_practice(path: Path | None = None, text: str | None = None,
                   display: str = "practice.yaml") -> YamlDocument:
    """Read and check a practice config; ``InvalidError`` (exit 3) on any error."""
    if text is not None:
        documents, issues = parse_text(text, display)
    elif path is not None and path.exists():
        documents, issues = load_file(path, display)
    else:
        return YamlDocument(None, SourceMap(display))
    if len(documents) > 1:
        issues.append(Issue("error", "many-documents", "practice.yaml holds one document",
                            Location(display, 1, 1)))
    document = documents[0] if documents else YamlDocument(None, SourceMap(display))
    issues += check_practice(document)
    if any(i.is_error for i in issues):
        raise InvalidError(issues)
    return document


def check_tailoring(document: YamlDocument,
                    lookup: Callable[[str], Playbook | None],
                    only: str | None = None, known_ids: Iterable[str] = ()) -> list[Issue]:
    """Check each ``playbooks:`` override against the playbook it names.

    ``lookup`` returns the playbook for an id, or None when no such playbook exists;
    ``known_ids`` (the ids on the search path) feed the did-you-mean of an unknown one.
    """
    known_ids = list(known_ids)
    data = document.data if isinstance(document.data, dict) else {}
    source = document.source
    issues: list[Issue] = []
    people_roles = {r for p in (data.get("people") or {}).values()
                    for r in (p or {}).get("roles") or ()}
    for playbook_id, spec in (data.get("playbooks") or {}).items():
        if only is not None and playbook_id != only:
            continue
        base: JsonPath = ("playbooks", playbook_id)
        playbook = lookup(playbook_id)
        if playbook is None:
            issues.append(Issue("error", "unknown-playbook",
                                f"tailoring of unknown playbook '{playbook_id}'",
                                source.at(base, key=True), did_you_mean(playbook_id, known_ids)))
            continue
        issues += _tailoring_issues(playbook, spec or {}, _Where(source, base, playbook_id),
                                    people_roles)
    return sorted(issues, key=Issue.sort_key)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where one playbook's tailoring is: its source, its path and the playbook's id."""

    source: SourceMap
    base: JsonPath
    playbook_id: str

    def issue(self, code: str, message: str, path: JsonPath, hint: str | None,
              *, key: bool = False) -> Issue:
        return Issue("error", code, message, self.source.at((*self.base, *path), key=key), hint)


def _tailoring_issues(playbook: Playbook, spec: Any, where: _Where,
                      people_roles: set[str]) -> list[Issue]:
    """The issues of one playbook's tailoring: names the playbook does not have, roles no
    person holds, and overrides that do not fit."""
    from .tailoring import override_issues

    issues = _unknown_names(playbook, spec, where)
    if people_roles:
        issues += [where.issue("unknown-role", f"no person holds the practice role '{target}'",
                               ("roles", role), did_you_mean(target, people_roles))
                   for role, target in (spec.get("roles") or {}).items()
                   if target not in people_roles]
    if isinstance(spec, dict):
        issues += override_issues(playbook, spec, where.source, where.base)
    return issues


def _unknown_names(playbook: Playbook, spec: Any, where: _Where) -> list[Issue]:
    """The settings, roles and tasks a tailoring names that the playbook does not have."""
    tasks = playbook.all_tasks()
    checks: list[tuple[str, list[str], str]] = [
        ("settings", list(playbook.settings), "setting"),
        ("roles", list(playbook.roles), "role"),
        ("tasks", list(tasks), "task"),
    ]
    issues = [where.issue(f"unknown-{noun}", f"playbook '{where.playbook_id}' has no {noun} "
                          f"'{name}'", (section, name), did_you_mean(name, allowed), key=True)
              for section, allowed, noun in checks
              for name in spec.get(section) or {} if name not in allowed]
    issues += [where.issue("unknown-task", f"playbook '{where.playbook_id}' has no task "
                           f"'{task_id}'", ("disabled_tasks", i), did_you_mean(task_id, tasks))
               for i, task_id in enumerate(spec.get("disabled_tasks") or ())
               if task_id not in tasks]
    return issues
