"""Exit codes, source locations, validation issues and the one exception hierarchy.

Every user-facing failure is a ``FrontdeskError`` subclass: its class decides the exit code
(docs/reference.md, "Exit codes"), its fields say what failed and where, and its ``message``
is built from those fields. Code that needs a part of an error (the reason a refusal gives, the
issues of an invalid file) reads the field, never the text. The CLI's one handler
(``cli.main``) prints ``frontdesk: error: <message>`` and exits with the code.
This module imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """The process exit codes (docs/reference.md, "Exit codes")."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    INVALID = 3
    NOT_FOUND = 4
    REFUSED = 5
    CONFLICT = 6
    AUDIT_BROKEN = 7
    STORE_UNAVAILABLE = 8
    UNDELIVERED = 9  # ``send``: messages left pending or failed (nothing is lost)


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
    """Base of every user-facing error; the class's ``exit_code`` is the process exit status.

    A plain ``FrontdeskError(text)`` (or a subclass given only text) says everything in
    ``text``; subclasses with fields override ``message``.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    @property
    def message(self) -> str:
        """What follows ``frontdesk: error:`` (one line, or several for a list of issues)."""
        return self.text

    def __str__(self) -> str:
        return self.message


class UsageError(FrontdeskError):
    """A command line that cannot run as given (exit 2)."""

    exit_code = ExitCode.USAGE


class InvalidError(FrontdeskError):
    """A playbook, practice config or scenario file has errors; ``issues`` lists them all."""

    exit_code = ExitCode.INVALID

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        errors = [i for i in self.issues if i.is_error]
        return "\n".join(i.format() for i in errors or self.issues)


class DeliveryConfigError(FrontdeskError):
    """Delivery cannot start as configured: a password or secret file that others may read,
    a missing variable or file (exit 3). Nothing is sent and every message stays pending."""

    exit_code = ExitCode.INVALID


class NotFoundError(FrontdeskError):
    """An instance, task, playbook or pack that does not exist (exit 4)."""

    exit_code = ExitCode.NOT_FOUND


class RefusedError(FrontdeskError):
    """A change the playbook, the practice or the clock does not allow (exit 5); nothing was
    written.

    ``reason`` says why, in words that stand alone (a timer that fired but was not applied
    keeps it in its audit record). The other fields say where, when known: the ``instance``
    and the ``event`` fired at it, or the ``task`` being done, or the ``playbook`` being
    started (before the instance exists).
    """

    exit_code = ExitCode.REFUSED

    def __init__(self, reason: str, *, instance: str | None = None, event: str | None = None,
                 task: str | None = None, playbook: str | None = None) -> None:
        self.reason = reason
        self.instance = instance
        self.event = event
        self.task = task
        self.playbook = playbook
        super().__init__(self.message)

    @property
    def where(self) -> str:
        """``instance 'ID', event 'E'`` (or ``task 'T'``), ``start 'P'``, or empty."""
        parts = []
        if self.instance is not None:
            parts.append(f"instance '{self.instance}'")
        elif self.playbook is not None:
            parts.append(f"start '{self.playbook}'")
        if self.event is not None:
            parts.append(f"event '{self.event}'")
        if self.task is not None:
            parts.append(f"task '{self.task}'")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        where = self.where
        return f"{where}: {self.reason}" if where else self.reason


class PlaybookFaultError(RefusedError):
    """A refusal that is the playbook's fault, not the moment's: an expression or template that
    fails, a ``from`` variable that holds no date, a duration that does not parse, a run-away
    (exit 5). A timer refused this way can never fire as the playbook stands: ``tick`` reports
    it as an error and keeps it armed, where a guard that does not hold is a quiet "not
    applicable"."""


class TimerFaultsError(RefusedError):
    """``tick`` fired what it could, but some due timers cannot fire as their playbook stands
    (exit 5); they stay armed and their instances show the problem."""

    def __init__(self, instances: list[str]) -> None:
        self.instances = instances
        shown = ", ".join(instances[:5]) + (f" and {len(instances) - 5} more"
                                            if len(instances) > 5 else "")
        super().__init__(f"due timers cannot fire as their playbook stands at {shown} (each "
                         "named above; they stay armed: fix the playbook and 'upgrade', or "
                         "'cancel' the instance)")


class ConflictError(FrontdeskError):
    """A concurrent change, or a store busy past its timeout: retry (exit 6)."""

    exit_code = ExitCode.CONFLICT


class LeftUnchangedError(ConflictError):
    """A batch command (``tick``, ``fire --all``) finished, but ``instances`` changed under it
    and were left as they were: run it again for them (exit 6)."""

    SHOWN = 5  # ids named in the message; the rest are counted

    def __init__(self, instances: Sequence[str]) -> None:
        self.instances = list(instances)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        shown = ", ".join(self.instances[:self.SHOWN])
        more = ", ..." if len(self.instances) > self.SHOWN else ""
        return (f"{len(self.instances)} instance(s) changed meanwhile and were left unchanged "
                f"({shown}{more}); run the command again")


class AuditBrokenError(FrontdeskError):
    """The audit log's hash chain does not verify (exit 7)."""

    exit_code = ExitCode.AUDIT_BROKEN


class StoreUnavailableError(FrontdeskError):
    """The store cannot be reached, opened or written: a missing driver, a missing or
    read-only file, a server that refuses or went away (exit 8)."""

    exit_code = ExitCode.STORE_UNAVAILABLE


class DamagedRowsError(StoreUnavailableError):
    """Stored rows of ``instances`` cannot be read (edited or corrupted behind frontdesk's
    back). A command over many instances (``list``, ``tick``, ``fire --all``) handles the
    others first, then ends with this (exit 8)."""

    SHOWN = 5

    def __init__(self, instances: Sequence[str]) -> None:
        self.instances = list(instances)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        shown = ", ".join(f"'{i}'" for i in self.instances[:self.SHOWN])
        more = ", ..." if len(self.instances) > self.SHOWN else ""
        return (f"{len(self.instances)} instance(s) could not be read, their stored rows are "
                f"damaged ({shown}{more}); the others were handled. Run 'frontdesk audit "
                "verify' to see what disagrees with the audit log")
