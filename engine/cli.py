"""The click CLI: parse options, call the engine, print. Nothing else lives here.

Heavy modules (jinja2, yaml, jsonschema, transitions, the store) are imported inside the commands
that need them, so ``frontdesk --help`` stays instant: it imports click and this module only
(the settings and the error classes come with the first command or the first error). ``main`` is
the one place that turns exceptions into ``frontdesk: error: ...`` and an exit code (SPEC
section 6).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from . import __version__

if TYPE_CHECKING:
    from .settings import Options

pass_options = click.pass_obj  # the Options the group callback puts in ctx.obj


def _help_width(max_width: int | None) -> int:
    """Help width as click computes it, without importing ``shutil`` for it."""
    from click import formatting

    if formatting.FORCED_WIDTH is not None:  # set by click.testing
        return formatting.FORCED_WIDTH
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = (os.get_terminal_size(stdout.fileno()).columns or 80) if stdout else 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(min(columns, max_width or 80) - 2, 50)


class _Context(click.Context):
    """click's context; its help formatter is given a width (click would import shutil)."""

    def make_formatter(self) -> click.HelpFormatter:
        width = self.terminal_width or _help_width(self.max_content_width)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class _Command(click.Command):
    context_class = _Context


class _Group(click.Group):
    context_class = _Context
    command_class = _Command
    group_class = type  # subgroups are _Group too


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: what ``click.version_option`` prints, without its translation lookups
    (gettext searches for catalogues, and imports ``locale``, at every start)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"frontdesk, version {__version__}")
        ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and exit.")
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
    from .settings import Options

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


def _engine(options: Options) -> Any:
    from .service import Engine

    return Engine(options)


def _run(options: Options, name: str, *args: Any) -> None:
    """Run ``engine.commands.instances.run_<name>`` with an engine, then exit with its code."""
    from .commands import instances

    engine = _engine(options)
    try:
        code = getattr(instances, f"run_{name}")(engine, *args)
    finally:
        engine.close()
    sys.exit(code)


as_option = click.option("--as", "actor", metavar="NAME",
                         help="Acting person (default: $FRONTDESK_USER, else the OS user).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
set_option = click.option("--set", "sets", metavar="KEY=VALUE", multiple=True,
                          help="A value, converted to the declared type (repeatable).")


@cli.command()
@click.argument("playbook")
@set_option
@as_option
@json_option
@pass_options
def start(options: Options, playbook: str, sets: tuple[str, ...], actor: str | None,
          as_json: bool) -> None:
    """Start an instance of PLAYBOOK; prints its id."""
    _run(options, "start", playbook, sets, options.actor(actor), as_json)


@cli.command()
@click.argument("target", metavar="INSTANCE|PLAYBOOK")
@click.argument("event")
@click.option("--all", "fire_all", is_flag=True,
              help="Fire at every open instance of the playbook TARGET.")
@set_option
@click.option("--note", metavar="TEXT", help="A note recorded in the audit log.")
@as_option
@json_option
@pass_options
def fire(options: Options, target: str, event: str, fire_all: bool, sets: tuple[str, ...],
         note: str | None, actor: str | None, as_json: bool) -> None:
    """Fire EVENT at an instance (or with --all at every open instance of a playbook)."""
    _run(options, "fire", target, event, sets, note, options.actor(actor), as_json, fire_all)


@cli.command()
@click.argument("task")
@set_option
@as_option
@json_option
@pass_options
def done(options: Options, task: str, sets: tuple[str, ...], actor: str | None,
         as_json: bool) -> None:
    """Complete a task occurrence by its id."""
    _run(options, "done", task, sets, options.actor(actor), as_json)


@cli.command()
@json_option
@pass_options
def tick(options: Options, as_json: bool) -> None:
    """Fire every due timer (idempotent; meant for cron or a systemd timer)."""
    _run(options, "tick", as_json)


@cli.command("list")
@click.option("--playbook", metavar="ID", help="Only instances of this playbook.")
@click.option("--state", metavar="STATE", help="Only instances in this state.")
@click.option("--open", "status", flag_value="open", help="Only open instances.")
@click.option("--closed", "status", flag_value="closed", help="Only closed instances.")
@json_option
@pass_options
def list_command(options: Options, playbook: str | None, state: str | None,
                 status: str | None, as_json: bool) -> None:
    """List instances."""
    _run(options, "list", playbook, state, status, as_json)


@cli.command()
@click.argument("instance")
@json_option
@pass_options
def show(options: Options, instance: str, as_json: bool) -> None:
    """State, variables, tasks, timers and history of one instance."""
    _run(options, "show", instance, as_json)


@cli.command()
@json_option
@pass_options
def outbox(options: Options, as_json: bool) -> None:
    """Rendered messages."""
    _run(options, "outbox", as_json)


@cli.command()
@pass_options
def init(options: Options) -> None:
    """Create the home folder, a practice.yaml template and the store."""
    from .commands.admin import run_init

    sys.exit(run_init(options))


@cli.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option("--anchor", metavar="'SEQ HASH'",
              help="What 'audit head' printed earlier: that record must still be in the log "
              "with that hash (catches truncation and rewriting).")
@pass_options
def audit_verify(options: Options, anchor: str | None) -> None:
    """Prove the log whole and the store consistent with it; exit 7 at the first fault."""
    from .commands.admin import run_audit_verify

    sys.exit(run_audit_verify(options, anchor))


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("--instance", metavar="ID", help="Only this instance's records.")
@click.option("--since", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]),
              help="Only records on or after this date (UTC).")
@pass_options
def audit_export(options: Options, fmt: str, instance: str | None, since: Any) -> None:
    """Export the audit log as JSON Lines or CSV."""
    from .commands.admin import run_audit_export

    sys.exit(run_audit_export(options, fmt, instance, since.date() if since else None))


@audit.command("head")
@pass_options
def audit_head(options: Options) -> None:
    """Print the last record's seq and hash (write it down to verify against later)."""
    from .commands.admin import run_audit_head

    sys.exit(run_audit_head(options))


@cli.group()
def db() -> None:
    """The store: migrations, and copying a practice to another store."""


@db.command("status")
@json_option
@pass_options
def db_status(options: Options, as_json: bool) -> None:
    """Where the store is; migrations applied and pending."""
    from .commands.db import run_status

    sys.exit(run_status(options, as_json))


@db.command("migrate")
@pass_options
def db_migrate(options: Options) -> None:
    """Create the store and apply pending migrations; print the ones applied."""
    from .commands.db import run_migrate

    sys.exit(run_migrate(options))


@db.command("grant")
@click.argument("role")
@pass_options
def db_grant(options: Options, role: str) -> None:
    """PostgreSQL: give ROLE what frontdesk needs (audit_log: SELECT and INSERT only)."""
    from .commands.db import run_grant

    sys.exit(run_grant(options, role))


@db.command("copy")
@click.option("--to", "to_url", metavar="URL", required=True,
              help="The empty store to copy into: sqlite:///FILE or postgresql://...")
@pass_options
def db_copy(options: Options, to_url: str) -> None:
    """Copy everything (audit log with its hashes) into an empty store, and verify it."""
    from .commands.db import run_copy

    sys.exit(run_copy(options, to_url))


@cli.command("test")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(exists=True))
@pass_options
def test_command(options: Options, scenarios: tuple[str, ...]) -> None:
    """Run playbook scenario tests (files or folders of *.yaml)."""
    from .commands.scenarios import run_test

    sys.exit(run_test(options, list(scenarios)))


@cli.command()
@as_option
@click.option("--role", metavar="ROLE", help="Tasks of this role.")
@click.option("--everyone", is_flag=True, help="Everyone's tasks.")
@click.option("--days", type=int, default=0, show_default=True,
              help="Also tasks due in the next N days.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "ics"]),
              default="table", show_default=True)
@pass_options
def today(options: Options, actor: str | None, role: str | None, everyone: bool, days: int,
          fmt: str) -> None:
    """Open tasks due today or earlier (overdue first), for your roles by default."""
    from .commands.today import run_today

    engine = _engine(options)
    try:
        code = run_today(engine, options.actor(actor), role, everyone, days, fmt)
    finally:
        engine.close()
    sys.exit(code)


@cli.command()
@click.argument("playbook")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True)
@pass_options
def graph(options: Options, playbook: str, fmt: str) -> None:
    """State diagram of PLAYBOOK (an id on the search path, or a file)."""
    from .commands.validate import run_graph

    sys.exit(run_graph(options, playbook, fmt))


@cli.command()
@pass_options
def demo(options: Options) -> None:
    """A demo practice run through weeks of simulated time (temporary home unless --home)."""
    from pathlib import Path

    from .demo import run_demo

    sys.exit(run_demo(Path(options.home) if options.home else None))



# -- packs, tailoring and upgrades (logic in engine/commands/show.py, packs.py, upgrade.py) --
@cli.command("show-playbook")
@click.argument("playbook")
@click.option("--effective", is_flag=True,
              help="As this practice runs it: practice.yaml's tailoring applied, each "
                   "overridden line commented.")
@pass_options
def show_playbook(options: Options, playbook: str, effective: bool) -> None:
    """Print PLAYBOOK's YAML as found on the search path (or --effective)."""
    from .commands.show import run_show_playbook

    sys.exit(run_show_playbook(options, playbook, effective))



@cli.group()
def pack() -> None:
    """Playbook packs: installable playbooks with their scenario tests."""


@pack.command("new")
@click.argument("name")
@click.option("--dir", "parent", metavar="DIR", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Create the pack folder NAME in DIR.")
def pack_new(name: str, parent: str) -> None:
    """Scaffold the pack NAME: pyproject.toml, a sample playbook, a scenario test, a README."""
    from pathlib import Path

    from .commands.packs import run_pack_new

    sys.exit(run_pack_new(name, Path(parent)))


@pack.command("test")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@pass_options
def pack_test(options: Options, path: str) -> None:
    """Validate the playbooks of the pack in PATH and run its scenarios."""
    from .commands.packs import run_pack_test

    sys.exit(run_pack_test(options, path))



@cli.command()
@click.argument("playbook")
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True,
              metavar="VERSION", help="The version on the search path to move to.")
@click.option("--dry-run", is_flag=True, help="List what would move and why not; change "
              "nothing.")
@as_option
@json_option
@pass_options
def upgrade(options: Options, playbook: str, to_version: int, dry_run: bool,
            actor: str | None, as_json: bool) -> None:
    """Move PLAYBOOK's open instances to version VERSION, listing those that cannot move."""
    from .commands.upgrade import run_upgrade_command

    engine = _engine(options)
    try:
        code = run_upgrade_command(engine, playbook, to_version, dry_run,
                                   options.actor(actor), as_json)
    finally:
        engine.close()
    sys.exit(code)


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
        sys.exit(_code("INTERNAL"))
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "frontdesk"
        click.echo(f"frontdesk: error: {exc.format_message()} (see '{command} --help')",
                   err=True)
        sys.exit(_code("USAGE"))
    except click.ClickException as exc:
        click.echo(f"frontdesk: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("frontdesk: error: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)  # ExitCode.OK
    except Exception as exc:  # FrontdeskError, else the last line of defence
        from .errors import FrontdeskError

        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, FrontdeskError):
            click.echo(_error_text(exc.message), err=True)
            sys.exit(exc.exit_code)
        # never a traceback without --debug
        name = type(exc).__name__
        click.echo(f"frontdesk: error: internal error ({name}); run with --debug for details",
                   err=True)
        sys.exit(_code("INTERNAL"))
    sys.exit(0)  # ExitCode.OK, without importing the error classes on the way out of --help


def _code(name: str) -> int:
    """The exit code ``name`` of SPEC section 6 (errors imported only when needed)."""
    from .errors import ExitCode

    return int(ExitCode[name])


def _error_text(message: str) -> str:
    lines = message.splitlines() or [""]
    if len(lines) == 1:
        return f"frontdesk: error: {lines[0]}"
    return "frontdesk: error:\n" + "\n".join(f"  {line}" for line in lines)
