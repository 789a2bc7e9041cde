"""JSON Schema validation of a loaded YAML document, reported as located issues.

Each ``jsonschema`` error becomes one ``Issue`` pointing at the offending key (unknown keys),
the parent mapping (missing keys) or the value, with a message that names entities by name
(``state 'review', event 'approve'``) and a did-you-mean hint where one helps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from ..errors import Issue, did_you_mean
from ..resources import data_dir
from ..values import compile_pattern
from .describe import describe_path, shown
from .yamlsource import JsonPath, YamlDocument, to_json_view

SCHEMA_NAMES = ("playbook", "practice", "scenario")
DURATION_MARKER = "(minutes?|hours?|days?|business days?|weeks?|months?|years?)"
NO_CONTROL = "^[^\\x00-\\x1f\\x7f]+$"  # the schemas' pattern for roles and logins


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    folder = data_dir("schemas")
    return {name: json.loads((folder / f"{name}.schema.json").read_text("utf-8"))
            for name in SCHEMA_NAMES}


def _pattern(validator: Any, pattern: str, instance: Any,
             schema: dict[str, Any]) -> Iterator[ValidationError]:
    """JSON Schema's ``pattern`` as ECMA-262 reads it, where ``$`` is the end of the text.

    jsonschema runs patterns with Python's ``re.search``, whose ``$`` also matches before a
    final newline: ``"intake\\n"`` would pass ``^[a-z][a-z0-9-]*$``. RE2 (as field patterns
    use, see ``values``) reads ``$`` as ECMA-262 does, and its ``\\d`` and ``\\s`` are
    ASCII, so the schemas mean in frontdesk what they mean in an editor.
    """
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _search(pattern: str, text: str) -> bool:
    try:
        return compile_pattern(pattern).search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate matches no pattern of ours
        return False


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@cache
def validator(name: str) -> Any:
    """A validator for ``schemas/<name>.schema.json`` with every shipped schema registered."""
    schemas = _schemas()
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    return _Validator(schemas[name], registry=registry)


def schema_issues(document: YamlDocument, schema: str) -> list[Issue]:
    """Every schema problem of ``document`` as a located issue, in source order."""
    data = to_json_view(document.data)
    issues = [issue for error in _leaf_errors(validator(schema).iter_errors(data))
              for issue in _to_issues(error, document)]
    unique = {(i.location, i.message): i for i in issues}
    return sorted(unique.values(), key=Issue.sort_key)


def _leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            branch = _best_branch(error)
            if branch is not None:
                yield from _leaf_errors(iter([branch]))
                continue
        yield error


def _best_branch(error: ValidationError) -> ValidationError | None:
    """The most relevant branch error of a oneOf/anyOf, or None to report the error itself.

    A branch whose `type` does not even match is a worse explanation than one that matched the
    shape and failed deeper inside.
    """
    context = list(error.context or [])
    deep = [e for e in context if len(e.relative_path) > 0]
    if deep:  # a branch whose own key matched and failed inside it says the most
        return best_match(deep)
    shaped = [e for e in context if e.validator not in ("type", "required", "not")]
    if not shaped:
        return None
    return best_match(shaped)


def _json_path(error: ValidationError) -> JsonPath:
    return tuple(error.absolute_path)


def _to_issues(error: ValidationError, document: YamlDocument) -> list[Issue]:
    """One issue per schema error; one per key for unknown keys."""
    if str(error.validator) == "additionalProperties":
        path = _json_path(error)
        where = describe_path(path, document.data)
        prefix = f"{where}: " if where else ""
        allowed = _allowed_keys(error.schema)
        extras = [k for k in (error.instance or {}) if k not in allowed and not any(
            _pattern_match(p, k) for p in error.schema.get("patternProperties", {}))]
        return [Issue("error", "unknown-key", f"{prefix}unknown key '{shown(key)}'",
                      document.source.at((*path, key), key=True), did_you_mean(key, allowed))
                for key in extras]
    return [_to_issue(error, document)]


def _to_issue(error: ValidationError, document: YamlDocument) -> Issue:
    source = document.source
    path = _json_path(error)
    where = describe_path(path, document.data)
    prefix = f"{where}: " if where else ""
    validator_name = str(error.validator)
    if validator_name == "dependentRequired":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        needed_by = next((k for k, v in error.validator_value.items()
                          if missing in v and k in (error.instance or {})), None)
        return Issue("error", "missing-key", f"{prefix}missing required key '{missing}'",
                     source.at(path, key=True),
                     f"required with '{needed_by}'" if needed_by else None)
    if validator_name == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return Issue("error", "missing-key", f"{prefix}missing required key '{missing}'",
                     source.at(path, key=True))
    if "propertyNames" in error.absolute_schema_path:
        name = error.instance
        return Issue("error", "bad-name", f"{prefix}'{shown(name)}' is not a valid name",
                     source.at((*path, name), key=True),
                     _NAME_HINTS.get(str(error.schema.get("pattern")), _NAME_HINTS[""]))
    location = source.at(path)
    if validator_name == "type":
        return _type_issue(error, document, prefix, location)
    if validator_name == "enum":
        options = [str(o) for o in error.validator_value]
        return Issue("error", "schema", f"{prefix}'{shown(error.instance)}' is not one of "
                     + ", ".join(options), location, did_you_mean(str(error.instance), options))
    if validator_name == "pattern":
        if DURATION_MARKER in str(error.validator_value):
            return Issue("error", "bad-duration", f"{prefix}bad duration '{shown(error.instance)}'",
                         location, "write 'N unit' with unit minutes, hours, days, "
                         "business days, weeks, months or years")
        if error.validator_value == NO_CONTROL:
            return Issue("error", "schema", f"{prefix}'{shown(error.instance)}' holds a control "
                         "character (a newline, a tab, ...)", location)
        return Issue("error", "schema", f"{prefix}'{shown(error.instance)}' does not match "
                     f"{error.validator_value}", location)
    if validator_name in ("oneOf", "anyOf"):
        shapes = len(error.validator_value)
        return Issue("error", "schema", f"{prefix}does not match any of the {shapes} allowed "
                     "shapes", location, _shape_hint(error))
    return Issue("error", "schema", prefix + _plain_message(error), location)


def _shape_hint(error: ValidationError) -> str | None:
    options = []
    for branch in error.validator_value:
        required = branch.get("required") if isinstance(branch, dict) else None
        if required:
            options.append("{" + ", ".join(required) + "}")
        elif isinstance(branch, dict) and "type" in branch:
            options.append(str(branch["type"]))
    return "expected one of " + " or ".join(options) if options else None


_NAME_HINTS = {
    "^[a-z][a-z0-9-]*$": "use lower-case letters, digits and '-', starting with a letter",
    "^[a-z][a-z0-9_.-]*$": "use lower-case ASCII letters, digits, '_', '.' and '-', starting "
                           "with a letter",
    "": "use letters, digits and '_', starting with a letter or '_'",
}

_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list",
               "null": "nothing"}


def _type_word(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else type(value).__name__


def _type_issue(error: ValidationError, document: YamlDocument, prefix: str,
                location: Any) -> Issue:
    wanted = error.validator_value
    wanted_list = wanted if isinstance(wanted, list) else [wanted]
    expected = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted_list)
    got = _type_word(error.instance)
    hint = None
    if "string" in wanted_list and not isinstance(error.instance, dict | list):
        text = document.source.texts.get(_json_path(error))
        if text is not None:
            hint = f'quote it: "{text}"'
    return Issue("error", "type", f"{prefix}expected {expected}, got {got}", location, hint)


def _plain_message(error: ValidationError) -> str:
    message = str(error.message)
    if isinstance(error.instance, dict | list) and len(message) > 120:
        message = f"fails '{error.validator}' ({error.validator_value})"
    return message


def _allowed_keys(schema: dict[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def _pattern_match(pattern: str, key: str) -> bool:
    return _search(pattern, key)
