"""The click CLI: parse options, call the engine, print. Nothing else lives here.

Heavy modules (jinja2, yaml, jsonschema, transitions, the store) are imported inside the commands
that need them, so ``frontdesk --help`` stays instant. ``main`` is the one place that turns
exceptions into ``frontdesk: error: ...`` and an exit code (SPEC section 6).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from . import __version__
from .errors import ExitCode, FrontdeskError
from .settings import Options

pass_options = click.make_pass_decorator(Options)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="frontdesk")
@click.option("--home", metavar="DIR", help="Home folder (practice.yaml, default store).")
@click.option("--db", metavar="URL", help="Store URL: sqlite:///FILE or postgresql://...")
@click.option("--now", metavar="ISO-8601", help="Simulated clock for this command.")
@click.option("--playbooks", "playbook_dirs", metavar="DIR", multiple=True,
              help="Extra playbook folder, searched first (repeatable).")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.pass_context
def cli(ctx: click.Context, home: str | None, db: str | None, now: str | None,
        playbook_dirs: tuple[str, ...], debug: bool) -> None:
    """frontdesk: a practice's office routines as YAML playbooks run by a state machine."""
    ctx.obj = Options(home=home, db=db, now=now, playbooks=playbook_dirs, debug=debug)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@pass_options
def validate(options: Options, paths: tuple[str, ...], fmt: str) -> None:
    """Validate playbooks (default: every playbook on the search path)."""
    from .commands.validate import run_validate

    sys.exit(run_validate(options, list(paths), fmt))


@cli.command("playbooks")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_options
def playbooks_command(options: Options, as_json: bool) -> None:
    """List every playbook on the search path and where it comes from."""
    from .commands.validate import run_playbooks

    sys.exit(run_playbooks(options, as_json))


def main(argv: Sequence[str] | None = None) -> Any:
    """Run the CLI; the single handler of exit codes and error messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="frontdesk", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("frontdesk: error: aborted", err=True)
        sys.exit(ExitCode.INTERNAL)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except FrontdeskError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        click.echo(_error_text(exc.message), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("frontdesk: error: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except Exception as exc:  # the last line of defence: never a traceback without --debug
        if debug:
            import traceback

            traceback.print_exc()
        name = type(exc).__name__
        click.echo(f"frontdesk: error: internal error ({name}); run with --debug for details",
                   err=True)
        sys.exit(ExitCode.INTERNAL)
    sys.exit(ExitCode.OK)


def _error_text(message: str) -> str:
    lines = message.splitlines() or [""]
    if len(lines) == 1:
        return f"frontdesk: error: {lines[0]}"
    return "frontdesk: error:\n" + "\n".join(f"  {line}" for line in lines)
