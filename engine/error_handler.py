"""What an exception that ended a command means: the error message and the exit code.

``cli.main`` catches every exception a command raises and asks ``describe`` for its message
and exit code, then prints ``frontdesk: error: <message>`` (``error_text``) and exits. The
codes are those of docs/reference.md, "Exit codes": a ``FrontdeskError`` carries its own
(decided by its class), click's usage errors are 2, and anything else is a bug or a broken
installation, exit 1, whose line names the exception's type but never repeats its text (it
may hold a patient's data).
"""

from __future__ import annotations

import click

from .errors import ExitCode, FrontdeskError


def describe(exc: Exception) -> tuple[str, int]:
    """The error message and exit code for an exception that ended a command."""
    if isinstance(exc, FrontdeskError):
        return exc.message, exc.exit_code
    if isinstance(exc, click.UsageError):
        command = exc.ctx.command_path if exc.ctx else "frontdesk"
        return f"{exc.format_message()} (see '{command} --help')", ExitCode.USAGE
    if isinstance(exc, click.ClickException):
        return exc.format_message(), exc.exit_code
    if isinstance(exc, click.exceptions.Abort):
        return "aborted", ExitCode.INTERNAL
    # A bug, or an installation that lacks a module: never a traceback without --debug, and
    # never the exception's text, which may hold a patient's data.
    if isinstance(exc, ImportError) and exc.name:
        return (f"internal error: the module '{exc.name}' cannot be imported "
                f"({type(exc).__name__}); reinstall frontdesk, or run with --debug for "
                "details"), ExitCode.INTERNAL
    return (f"internal error ({type(exc).__name__}); run with --debug for details",
            ExitCode.INTERNAL)


def error_text(message: str) -> str:
    """``frontdesk: error: MESSAGE``; a message of several lines goes below, indented."""
    lines = message.splitlines() or [""]
    if len(lines) == 1:
        return f"frontdesk: error: {lines[0]}"
    return "frontdesk: error:\n" + "\n".join(f"  {line}" for line in lines)
