"""Exit codes, source locations, validation issues and the one exception hierarchy.

Every user-facing failure is a ``FrontdeskError`` subclass that carries its exit code
(SPEC section 6); the CLI's single handler turns it into ``frontdesk: error: ...``.
This module imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes of SPEC section 6."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    INVALID = 3
    NOT_FOUND = 4
    REFUSED = 5
    CONFLICT = 6
    AUDIT_BROKEN = 7
    STORE_UNAVAILABLE = 8


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A 1-based line and column in a named source file."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found while loading or validating a file."""

    severity: str  # "error" or "warning"
    code: str
    message: str
    location: Location | None = None
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        """Render as ``PATH:LINE:COL: error[CODE]: message (hint)``."""
        text = f"{self.severity}[{self.code}]: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return f"{self.location}: {text}" if self.location else text

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.path, loc.line, loc.col, self.code, self.message) if loc else (
            "", 0, 0, self.code, self.message)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint when ``name`` is close to one of ``candidates``."""
    import difflib  # only when there is something to hint at (keeps --help fast)

    matches = difflib.get_close_matches(str(name), sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


class FrontdeskError(Exception):
    """Base of every user-facing error; ``exit_code`` decides the process exit status."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(FrontdeskError):
    exit_code = ExitCode.USAGE


class InvalidError(FrontdeskError):
    """A playbook, practice config or scenario file has errors; ``issues`` lists them all."""

    exit_code = ExitCode.INVALID

    def __init__(self, issues: Sequence[Issue], message: str | None = None) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.is_error]
        super().__init__(message or "\n".join(i.format() for i in errors or self.issues))


class NotFoundError(FrontdeskError):
    exit_code = ExitCode.NOT_FOUND


class RefusedError(FrontdeskError):
    exit_code = ExitCode.REFUSED


class ConflictError(FrontdeskError):
    exit_code = ExitCode.CONFLICT


class AuditBrokenError(FrontdeskError):
    exit_code = ExitCode.AUDIT_BROKEN


class StoreUnavailableError(FrontdeskError):
    exit_code = ExitCode.STORE_UNAVAILABLE
