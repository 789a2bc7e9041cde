"""The JSON Schemas in ``schemas/``: well-formed, documented, and right about the examples."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
NAMES = ("playbook", "practice", "scenario")
BASE = "https://frontdesk.dev/schemas/"


def load(name: str) -> dict[str, Any]:
    """The parsed ``schemas/<name>.schema.json``."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def registry() -> Registry:
    """A registry holding every schema under its ``$id``, so cross-schema refs resolve offline."""
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in map(load, NAMES)
    )


def validator(name: str) -> Draft202012Validator:
    """A validator for schema ``name`` that resolves refs through :func:`registry`."""
    return Draft202012Validator(load(name), registry=registry())


def errors(name: str, instance: Any) -> list[str]:
    """Messages of every error ``instance`` raises against schema ``name``."""
    return [error.message for error in validator(name).iter_errors(instance)]


def subschemas(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict subschema reachable from ``node``, with a JSON-pointer-like path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("enum", "const", "default", "examples"):
                continue
            yield from subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from subschemas(value, f"{path}/{index}")


# --------------------------------------------------------------------------- examples

PRACTICE_EXAMPLE: dict[str, Any] = {
    "practice": "Riverside Therapy",
    "timezone": "America/New_York",
    "calendar": {"country": "US", "subdivision": "NY", "closed": ["2026-12-24"]},
    "people": {
        "maria": {"name": "Maria Alvarez", "roles": ["office_manager", "billing"]},
        "drlee": {"name": "Dr. Lee", "roles": ["clinician", "owner"]},
    },
    "playbooks": {
        "claim-denial": {
            "settings": {"appeal_window_days": 90},
            "roles": {"biller": "billing"},
            "tasks": {"send_appeal": {"title": "Mail the appeal packet", "due": "3 business days"}},
            "disabled_tasks": ["fax_copy"],
        }
    },
}

SCENARIO_EXAMPLE: dict[str, Any] = {
    "playbook": "claim-denial",
    "name": "CO-16 corrected and paid",
    "practice": {"people": {"maria": {"roles": ["billing"]}}},
    "as": "maria",
    "start": {
        "at": "2026-01-05T09:00",
        "with": {
            "claim_id": "C1",
            "payer_type": "commercial",
            "group": "CO",
            "carc": "16",
            "amount": 120,
            "denied_on": "2026-01-05",
            "service_date": "2025-12-20",
        },
    },
    "steps": [
        {
            "expect": {
                "state": "correct",
                "open_tasks": ["correct_claim"],
                "tasks": {"correct_claim": {"due": "2026-01-12"}},
            }
        },
        {"done": "correct_claim", "set": {"resubmitted_on": "2026-01-07"}},
        {"advance": "30 days"},
        {"fire": "payment_posted", "set": {"paid_amount": 120}},
        {
            "expect": {
                "state": "paid",
                "status": "closed",
                "outcome": "paid",
                "vars": {"paid_amount": 120},
            }
        },
        {"refuse": {"fire": "appeal_filed"}},
    ],
}

PLAYBOOK_EXAMPLE: dict[str, Any] = {
    "playbook": "claim-denial",
    "version": 1,
    "title": "Work a denied claim",
    "description": "From the denial on the remittance to paid or written off.",
    "subject": "Claim {{ claim_id }}",
    "roles": ["biller", "owner"],
    "inputs": {
        "claim_id": {"type": "string", "required": True, "pattern": "^[A-Z0-9]+$"},
        "group": {"type": "string", "enum": ["CO", "PR", "OA", "PI"], "default": "CO"},
        "amount": {"type": "number", "minimum": 0, "description": "Denied amount"},
        "denied_on": {"type": "date", "required": True},
    },
    "settings": {"appeal_window_days": 180, "routes": {"CO": {"16": "correct"}}},
    "initial": "triage",
    "states": {
        "triage": {
            "title": "Decide the route",
            "choose": [
                {"when": "group == 'CO' and carc == '16'", "to": "correct"},
                {"to": "appeal"},
            ],
        },
        "correct": {
            "tasks": [
                {
                    "id": "correct_claim",
                    "title": "Correct and resubmit claim {{ claim_id }}",
                    "role": "biller",
                    "due": "5 business days",
                    "checklist": ["Read the RARC", "Fix the claim", "Resubmit"],
                    "fields": {"resubmitted_on": {"type": "date", "required": True}},
                    "done": "resubmitted",
                },
                {"id": "check_status", "title": "Check claim status", "every": "2 weeks"},
            ],
            "on": {
                "resubmitted": {"set": {"resubmitted": True}, "note": "Resubmitted"},
                "payment_posted": {
                    "to": "paid",
                    "by": ["biller", "owner"],
                    "fields": {"paid_amount": {"type": "number", "required": True}},
                },
                "denied_again": [
                    {"when": "amount > 100", "to": "appeal", "by": "biller"},
                    {"to": "written_off"},
                ],
            },
            "timers": [{"after": "30 days", "event": "no_answer"}],
        },
        "appeal": {
            "enter": [
                {"set": {"appeal_due": "{{ add_duration(denied_on, '120 days') }}"}},
                {"message": {"to": "owner", "subject": "Appeal for {{ claim_id }}", "body": "Hi"}},
                {"start": "hipaa-annual-refresh", "with": {"employee": "{{ actor }}"}},
            ],
            "tasks": [
                {
                    "id": "send_appeal",
                    "title": "Send the appeal",
                    "role": "biller",
                    "due": {"before": "10 days", "from": "appeal_due"},
                },
                {"id": "gather_records", "title": "Gather records", "due": {"after": "2 days"}},
            ],
            "on": {
                "appeal_won": {"to": "paid"},
                "deadline_near": {
                    "do": [
                        {"task": {"id": "escalate", "title": "Appeal due soon", "role": "owner"}}
                    ]
                },
                "all_tasks_done": {"to": "paid", "when": "done('send_appeal')"},
            },
            "timers": [
                {
                    "before": "{{ settings.appeal_window_days }} days",
                    "event": "deadline_near",
                    "from": "appeal_due",
                },
                {"after": "1 month", "event": "deadline_near", "from": "denied_on"},
            ],
        },
        "paid": {"final": True, "outcome": "paid"},
        "written_off": {"final": True, "outcome": "written_off"},
    },
}

EXAMPLES = {
    "playbook": PLAYBOOK_EXAMPLE,
    "practice": PRACTICE_EXAMPLE,
    "scenario": SCENARIO_EXAMPLE,
}


def changed(name: str, path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of example ``name`` with the item at ``path`` set to ``value``."""
    document = copy.deepcopy(EXAMPLES[name])
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


# --------------------------------------------------------------------------- the schema files


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_against_its_metaschema(name: str) -> None:
    """Each schema file is a valid Draft 2020-12 schema."""
    Draft202012Validator.check_schema(load(name))


@pytest.mark.parametrize("name", NAMES)
def test_schema_has_id_schema_title_and_description(name: str) -> None:
    """Each schema declares the 2020-12 dialect, its frontdesk $id, a title and a description."""
    schema = load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{BASE}{name}.schema.json"
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("name", NAMES)
def test_every_object_schema_closes_additional_properties(name: str) -> None:
    """Every subschema with ``properties`` says what other keys may be (unknown keys are errors)."""
    for path, node in subschemas(load(name)):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        assert "additionalProperties" in node, path
        assert node["additionalProperties"] is not True, path


@pytest.mark.parametrize("name", NAMES)
def test_every_property_has_a_description(name: str) -> None:
    """Every property (and every mapping's value schema) carries a description for editors."""
    for path, node in subschemas(load(name)):
        for key, value in node.get("properties", {}).items():
            assert isinstance(value, dict) and value.get("description"), f"{path}/properties/{key}"
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            assert extra.get("description") or "$ref" in extra, f"{path}/additionalProperties"


@pytest.mark.parametrize("name", NAMES)
def test_every_def_has_a_description(name: str) -> None:
    """Every $defs entry is described."""
    for key, value in load(name).get("$defs", {}).items():
        assert value.get("description"), key


@pytest.mark.parametrize("name", NAMES)
def test_every_local_ref_resolves(name: str) -> None:
    """Every ``#/$defs/...`` ref names an existing definition."""
    schema = load(name)
    for path, node in subschemas(schema):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            assert ref.removeprefix("#/$defs/") in schema["$defs"], path


# --------------------------------------------------------------------------- examples validate


@pytest.mark.parametrize("name", NAMES)
def test_example_validates(name: str) -> None:
    """A full practice.yaml, scenario file and playbook (the claim-denial examples above)
    validate."""
    assert errors(name, EXAMPLES[name]) == []


def test_empty_practice_config_validates() -> None:
    """Every practice key is optional."""
    assert errors("practice", {}) == []


def test_minimal_playbook_validates() -> None:
    """Only playbook, version, title, roles, initial and states are required."""
    minimal = {
        "playbook": "x",
        "version": 1,
        "title": "X",
        "roles": ["office"],
        "initial": "done",
        "states": {"done": {"final": True}},
    }
    assert errors("playbook", minimal) == []


@pytest.mark.parametrize(
    "duration",
    [
        "1 minute",
        "90 minutes",
        "2 hours",
        "1 day",
        "3 business days",
        "1 business day",
        "2 weeks",
        "1 month",
        "12 months",
        "1 year",
        " 5 days ",
        "{{ settings.window }} days",
    ],
)
def test_durations_accepted(duration: str) -> None:
    """The duration pattern takes `N unit` with a number or a template."""
    assert (
        errors("playbook", changed("playbook", ("states", "correct", "tasks", 0, "due"), duration))
        == []
    )


@pytest.mark.parametrize("duration", ["3", "days", "3 fortnights", "3days", "-1 days", "1.5 days"])
def test_durations_refused(duration: str) -> None:
    """Anything else is not a duration."""
    assert errors(
        "playbook", changed("playbook", ("states", "correct", "tasks", 0, "due"), duration)
    )


@pytest.mark.parametrize(
    "step",
    [
        {"tick": True},
        {"advance": {"to": "2026-02-01T08:30"}},
        {"advance": {"to": "2026-02-01"}},
        {"done": "correct_claim", "as": "maria", "note": "ok"},
        {"refuse": {"done": "correct_claim", "as": "drlee"}},
        {
            "expect": {
                "timers": {"no_answer": "2026-02-04"},
                "outbox": 1,
                "started": {"hipaa-annual-refresh": 1},
                "tasks": {"x": {"status": "cancelled", "role": "billing", "due": None}},
            }
        },
    ],
)
def test_scenario_step_kinds(step: dict[str, Any]) -> None:
    """Each step kind of a scenario test (docs/reference.md, Scenario tests) validates."""
    assert errors("scenario", changed("scenario", ("steps", 0), step)) == []


# --------------------------------------------------------------------------- negative cases

BAD_CASES = [
    ("playbook", ("colour",), "blue"),  # unknown top-level key
    ("playbook", ("title",), 42),  # number in a text field
    ("playbook", ("playbook",), "Claim_Denial"),  # bad id
    ("playbook", ("version",), 0),
    ("playbook", ("roles",), []),
    ("playbook", ("states",), {}),
    ("playbook", ("states", "1st"), {"final": True}),  # state name not an identifier
    ("playbook", ("states", "paid", "colour"), "green"),  # unknown state key
    ("playbook", ("states", "correct", "tasks", 0, "title"), 7),
    ("playbook", ("states", "correct", "tasks", 0, "id"), "correct-claim"),
    ("playbook", ("states", "correct", "tasks", 0, "owner"), "biller"),
    ("playbook", ("states", "correct", "timers", 0), {"before": "3 days", "event": "x"}),
    (
        "playbook",
        ("states", "correct", "timers", 0),
        {"after": "3 days", "before": "1 day", "event": "x", "from": "d"},
    ),
    ("playbook", ("states", "correct", "timers", 0), {"event": "x"}),
    ("playbook", ("states", "correct", "tasks", 0, "due"), {"before": "3 days"}),
    (
        "playbook",
        ("states", "correct", "tasks", 0, "due"),
        {"after": "3 days", "before": "3 days", "from": "d"},
    ),
    ("playbook", ("states", "correct", "on", "denied_again"), []),
    ("playbook", ("states", "correct", "on", "payment_posted", "by"), []),
    ("playbook", ("inputs", "amount", "type"), "money"),
    (
        "playbook",
        ("states", "appeal", "enter", 0),
        {"set": {"a": 1}, "task": {"id": "t", "title": "T"}},
    ),
    ("playbook", ("states", "appeal", "enter", 0), {"message": {"to": "owner", "subjet": "Hi"}}),
    ("playbook", ("states", "appeal", "enter", 0), {"start": "Hipaa Refresh"}),
    ("playbook", ("states", "triage", "choose"), []),
    ("practice", ("colour",), "blue"),
    ("practice", ("calendar", "country"), "us"),
    ("practice", ("calendar", "closed"), ["24 Dec"]),
    ("practice", ("people", "maria", "roles"), "billing"),
    ("practice", ("people", "maria", "email"), "maria at example"),
    ("practice", ("delivery",), {"phi": "everything"}),
    ("practice", ("delivery",), {"smtp": {"host": "h", "security": "ssl"}}),
    ("practice", ("delivery",), {"smtp": {"host": "h", "password_env": "P",
                                          "password_file": "f"}}),
    ("practice", ("delivery",), {"webhook": {"url": "https://h/x"}}),  # no secret_file
    ("practice", ("playbooks", "claim-denial", "tasks", "send_appeal", "role"), "billing"),
    ("practice", ("playbooks", "Claim Denial"), {}),
    ("scenario", ("playbook",), "Claim Denial"),
    ("scenario", ("colour",), "blue"),
    ("scenario", ("practice", "people", "maria", "email"), "maria at example"),
    ("scenario", ("steps",), []),
    ("scenario", ("steps", 0), {"fire": "x", "done": "y"}),  # two kinds in one step
    ("scenario", ("steps", 0), {"fire": "x", "sett": {"a": 1}}),
    ("scenario", ("steps", 0), {"tick": False}),
    ("scenario", ("steps", 0), {"advance": "soon"}),
    ("scenario", ("steps", 0), {"refuse": {"tick": True}}),
    ("scenario", ("steps", 0), {"expect": {"status": "pending"}}),
    ("scenario", ("steps", 0), {"expect": {"outbox": "1"}}),
    ("scenario", ("start", "at"), "next monday"),
]


@pytest.mark.parametrize(("name", "path", "value"), BAD_CASES)
def test_bad_documents_are_refused(name: str, path: tuple[str | int, ...], value: Any) -> None:
    """A structural mistake in a playbook, practice config or scenario is a schema error."""
    assert errors(name, changed(name, path, value))


def test_missing_required_playbook_keys_are_refused() -> None:
    """Leaving out a required top-level key is an error naming that key."""
    for key in ("playbook", "version", "title", "roles", "initial", "states"):
        document = copy.deepcopy(PLAYBOOK_EXAMPLE)
        del document[key]
        assert any(repr(key) in message for message in errors("playbook", document)), key


def test_task_without_title_is_refused() -> None:
    """A task needs both `id` and `title`."""
    document = copy.deepcopy(PLAYBOOK_EXAMPLE)
    del document["states"]["correct"]["tasks"][0]["title"]
    assert errors("playbook", document)


def test_unknown_key_error_points_at_its_mapping() -> None:
    """An unknown state key is reported at that state with the key's name."""
    document = changed("playbook", ("states", "paid", "colour"), "green")
    (error,) = validator("playbook").iter_errors(document)
    assert list(error.absolute_path) == ["states", "paid"]
    assert "colour" in error.message
