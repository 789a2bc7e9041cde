"""practice.yaml identity (docs/reference.md, "Identity, clock and trust"): a person's
``login`` list, ``administrators``, plain-ASCII person ids and the reserved names, in the model
and as ``validate`` reports them.

The helpers tested here are what the service uses to choose the actor from the principal:
``Practice.authenticated``, ``persons_for_login``, ``administrator_ids``, ``is_administrator``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from frontdesk.errors import InvalidError
from frontdesk.loading import cache as cache_module
from frontdesk.loading.practice import build_practice, parse_practice
from frontdesk.model import Person, Practice

PRACTICE = """\
practice: Riverside Therapy
people:
  maria: {name: Maria Alvarez, roles: [office_manager, billing], login: [maria, frontdesk]}
  sam: {roles: [front_desk], login: [frontdesk]}
  drlee: {name: Dr. Lee, roles: [clinician, owner], login: [lee, postgres_lee]}
  dr.ko-2: {roles: [owner]}
  temp: {roles: [front_desk]}
"""


def practice(text: str) -> Practice:
    """The model of a practice config text (``InvalidError`` when it has errors)."""
    document = parse_practice(text=text, display="practice.yaml")
    return build_practice(document.data)


def issues(text: str) -> list[str]:
    """The formatted issues of a practice config text."""
    try:
        parse_practice(text=text, display="practice.yaml")
    except InvalidError as exc:
        return [issue.format() for issue in exc.issues]
    return []


def test_logins_and_administrators_reach_the_model() -> None:
    """``login`` becomes ``Person.logins``; ``administrators`` a tuple of person ids."""
    model = practice(PRACTICE + "administrators: [maria]\n")
    assert model.people["maria"] == Person("maria", "Maria Alvarez",
                                           ("office_manager", "billing"), ("maria", "frontdesk"))
    assert model.people["temp"].logins == ()
    assert model.administrators == ("maria",)


def test_authenticated_when_any_person_has_a_login() -> None:
    """One login anywhere makes the practice authenticated; none keeps it in trust mode."""
    assert practice(PRACTICE).authenticated
    assert not practice("people:\n  maria: {roles: [billing]}\n").authenticated
    assert not Practice().authenticated


def test_persons_for_login() -> None:
    """A login maps to every person listing it, in file order; exact and case-sensitive."""
    model = practice(PRACTICE)
    assert model.persons_for_login("frontdesk") == ["maria", "sam"]
    assert model.persons_for_login("lee") == ["drlee"]
    assert model.persons_for_login("postgres_lee") == ["drlee"]
    assert model.persons_for_login("Lee") == []
    assert model.persons_for_login("root") == []
    assert model.persons_for_login("temp") == []  # a person id is not a login


def test_administrators_explicit_else_owners_else_everyone() -> None:
    """The explicit list wins; without it the holders of ``owner``; without people, None
    (everyone)."""
    explicit = practice(PRACTICE + "administrators: [maria, temp]\n")
    assert explicit.administrator_ids == ("maria", "temp")
    assert explicit.is_administrator("temp") and not explicit.is_administrator("drlee")
    owners = practice(PRACTICE)
    assert owners.administrator_ids == ("drlee", "dr.ko-2")
    assert owners.is_administrator("drlee") and not owners.is_administrator("maria")
    nobody = practice("people:\n  maria: {roles: [billing]}\n")
    assert nobody.administrator_ids == ()
    assert not nobody.is_administrator("maria")
    assert Practice().administrator_ids is None
    assert Practice().is_administrator("anyone")


def test_practice_pickles() -> None:
    """The disk cache pickles the model: the new fields round-trip."""
    model = practice(PRACTICE + "administrators: [maria]\n")
    assert pickle.loads(pickle.dumps(model)) == model


@pytest.mark.parametrize(("people", "expected"), [
    ('"dr\\u200blee": {roles: [a]}',
     "practice.yaml:2:3: error[bad-name]: people: 'dr\\u200blee' is not a valid name (use "
     "lower-case ASCII letters, digits, '_', '.' and '-', starting with a letter)"),
    ("Maria: {roles: [a]}",
     "practice.yaml:2:3: error[bad-name]: people: 'Maria' is not a valid name (use lower-case "
     "ASCII letters, digits, '_', '.' and '-', starting with a letter)"),
    ('"maria\\n": {roles: [a]}',
     "practice.yaml:2:3: error[bad-name]: people: 'maria\\n' is not a valid name (use "
     "lower-case ASCII letters, digits, '_', '.' and '-', starting with a letter)"),
    ("1st: {roles: [a]}",
     "practice.yaml:2:3: error[bad-name]: people: '1st' is not a valid name (use lower-case "
     "ASCII letters, digits, '_', '.' and '-', starting with a letter)"),
    ("system: {roles: [a]}",
     "practice.yaml:2:3: error[reserved-name]: 'system' is reserved and cannot be a person "
     "(the engine acts as 'system' for timers and as 'scenario' in scenario tests)"),
    ("scenario: {roles: [a]}",
     "practice.yaml:2:3: error[reserved-name]: 'scenario' is reserved and cannot be a person "
     "(the engine acts as 'system' for timers and as 'scenario' in scenario tests)"),
    ('maria: {roles: [a], login: ["maria\\n"]}',
     "practice.yaml:2:31: error[schema]: person 'maria', login, item 1: 'maria\\n' holds a "
     "control character (a newline, a tab, ...)"),
    ("maria: {roles: [a], login: []}",
     "practice.yaml:2:30: error[schema]: person 'maria', login: [] should be non-empty"),
    ("maria: {roles: [a], login: maria}",
     "practice.yaml:2:30: error[type]: person 'maria', login: expected a list, got text"),
    ('maria: {roles: ["bill\\ting"]}',
     "practice.yaml:2:19: error[schema]: person 'maria', roles, item 1: 'bill\\ting' holds a "
     "control character (a newline, a tab, ...)"),
])
def test_person_problems_are_located(people: str, expected: str) -> None:
    """Person ids are plain ASCII, full match (no trailing newline, no zero-width space);
    ``system`` and ``scenario`` are reserved; logins and roles hold no control character."""
    assert issues(f"people:\n  {people}\n") == [expected]


def test_unknown_administrators_are_located() -> None:
    """Each administrator must be a listed person: located at the entry, with a did-you-mean;
    and reported beside schema errors elsewhere in the file."""
    found = issues("people:\n  maria: {roles: [owner]}\n  Bob: {roles: [a]}\n"
                   "administrators: [maria, mario, bob]\n")
    assert found == [
        "practice.yaml:3:3: error[bad-name]: people: 'Bob' is not a valid name (use lower-case "
        "ASCII letters, digits, '_', '.' and '-', starting with a letter)",
        "practice.yaml:4:25: error[unknown-person]: administrator 'mario' is not a person in "
        "'people' (did you mean 'maria'?)",
        "practice.yaml:4:32: error[unknown-person]: administrator 'bob' is not a person in "
        "'people' (did you mean 'Bob'?)",
    ]
    assert issues("administrators: [maria]\n") == [
        "practice.yaml:1:18: error[unknown-person]: administrator 'maria' is not a person in "
        "'people' (list them under 'people')"]
    assert issues("people:\n  maria: {roles: [a]}\nadministrators: []\n") == [
        "practice.yaml:3:17: error[schema]: administrators: [] should be non-empty"]


def test_validate_reports_identity_problems(run_cli: Callable[..., Any], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``frontdesk validate practice.yaml`` prints the same located lines and exits 3."""
    (tmp_path / "practice.yaml").write_text(
        "people:\n  system: {roles: [owner], login: [root]}\nadministrators: [root]\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli("validate", "practice.yaml")
    assert result.returncode == 3
    assert result.stdout.splitlines() == [
        "practice.yaml:2:3: error[reserved-name]: 'system' is reserved and cannot be a person "
        "(the engine acts as 'system' for timers and as 'scenario' in scenario tests)",
        "practice.yaml:3:18: error[unknown-person]: administrator 'root' is not a person in "
        "'people' (list them under 'people')",
    ]


def test_model_cache_key_covers_what_decides_validity() -> None:
    """The pickled-model cache is keyed by the code that builds and checks models: the model,
    values, every loading module (new ones too), the schemas and the RE2 library."""
    names = {(path.parent.name, path.name) for path in cache_module._code_files()}
    for module in ("model.py", "values.py"):
        assert ("frontdesk", module) in names or ("engine", module) in names
    for module in ("practice.py", "timing.py", "roles.py", "schema.py"):
        assert ("loading", module) in names
    assert ("schemas", "practice.schema.json") in names
    assert ("re2", "__init__.py") in names
