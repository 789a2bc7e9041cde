"""The click CLI: parse options, call one command function with keyword arguments, exit.

Each command imports its ``run_*`` function from ``commands/`` and calls it; commands on a
practice's instances get an ``Engine`` (``service``) whose ``with`` block closes the store.
``main`` is the one place that prints ``frontdesk: error: ...`` and exits with the code
``error_handler.describe`` gives (docs/reference.md, "Exit codes"). Heavy modules (jinja2,
yaml, jsonschema, transitions, the store) are imported inside the commands that need them, so
``frontdesk --help`` imports click and this module only.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__

if TYPE_CHECKING:
    from .service import Engine, StoreAccess
    from .settings import Options

pass_options = click.pass_obj  # the Options the group callback puts in ctx.obj


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="frontdesk", message="%(prog)s, version %(version)s")
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


def _engine(options: Options, access: StoreAccess = "write") -> Engine:
    """The engine of one command; use it in a ``with`` block, which closes its store.
    ``access``: ``create`` the store if missing (``start``), ``write`` to an existing one, or
    only ``read`` it (read-only commands: nothing is created or migrated)."""
    from .service import Engine

    return Engine(options, access=access)


as_option = click.option("--as", "actor", metavar="NAME",
                         help="Acting person (default: $FRONTDESK_USER, else the OS user).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
set_option = click.option("--set", "sets", metavar="KEY=VALUE", multiple=True,
                          help="A value, converted to the declared type (repeatable).")
wide_option = click.option("--wide", is_flag=True,
                           help="Never cut or wrap a value to fit the terminal.")
input_option = click.option("--input", "input_name", metavar="FILE",
                            help="Values from a YAML or JSON mapping ('-': stdin), so patient "
                                 "data stay out of process lists; --set wins.")


# -- playbooks ---------------------------------------------------------------------------
@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@pass_options
def validate(options: Options, paths: tuple[str, ...], fmt: str) -> NoReturn:
    """Validate playbooks (default: every playbook on the search path)."""
    from .commands.validate import run_validate

    sys.exit(run_validate(options, paths=list(paths), fmt=fmt))


@cli.command("playbooks")
@json_option
@pass_options
def playbooks_command(options: Options, as_json: bool) -> NoReturn:
    """List every playbook on the search path and where it comes from."""
    from .commands.validate import run_playbooks

    sys.exit(run_playbooks(options, as_json=as_json))


@cli.command()
@click.argument("playbook")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True)
@pass_options
def graph(options: Options, playbook: str, fmt: str) -> NoReturn:
    """State diagram of PLAYBOOK (an id on the search path, or a file)."""
    from .commands.validate import run_graph

    sys.exit(run_graph(options, playbook=playbook, fmt=fmt))


@cli.command()
@click.argument("playbook")
@json_option
@pass_options
def describe(options: Options, playbook: str, as_json: bool) -> NoReturn:
    """What PLAYBOOK asks and offers: inputs, settings, states, events, tasks (as this
    practice runs it)."""
    from .commands.describe import run_describe

    sys.exit(run_describe(options, playbook_id=playbook, as_json=as_json))


@cli.command("show-playbook")
@click.argument("playbook")
@click.option("--effective", is_flag=True,
              help="As this practice runs it: practice.yaml's tailoring applied, each "
                   "overridden line commented.")
@pass_options
def show_playbook(options: Options, playbook: str, effective: bool) -> NoReturn:
    """Print PLAYBOOK's YAML as found on the search path (or --effective)."""
    from .commands.show import run_show_playbook

    sys.exit(run_show_playbook(options, playbook_id=playbook, effective=effective))


practice_option = click.option(
    "--practice", type=click.Choice(["pack", "local"]), default="pack", show_default=True,
    help="The practice config of scenarios without an inline one: a pack's own "
         "(scenarios/practice.yaml, else every default), or the local home's practice.yaml.")


@cli.command("test")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(exists=True))
@practice_option
@pass_options
def test_command(options: Options, scenarios: tuple[str, ...], practice: str) -> NoReturn:
    """Run playbook scenario tests (files or folders of *.yaml)."""
    from .commands.scenarios import run_test

    sys.exit(run_test(options, paths=list(scenarios), practice=practice))


# -- instances ---------------------------------------------------------------------------
@cli.command()
@click.argument("playbook")
@set_option
@input_option
@click.option("--allow-duplicate", is_flag=True,
              help="Start it even when an open instance has the same 'unique' inputs.")
@click.option("--from", "from_file", metavar="FILE",
              help="One instance per row of a .csv, .json or .yaml roster (--set: shared).")
@click.option("--dry-run", is_flag=True, help="With --from: show what would start; write "
              "nothing.")
@as_option
@json_option
@pass_options
def start(options: Options, playbook: str, sets: tuple[str, ...], input_name: str | None,
          allow_duplicate: bool, from_file: str | None, dry_run: bool, actor: str | None,
          as_json: bool) -> NoReturn:
    """Start an instance of PLAYBOOK; prints its id. Its inputs: frontdesk describe
    PLAYBOOK. With --from FILE: one instance per row, every row checked first."""
    from .commands import instances

    if dry_run and from_file is None:
        from .errors import UsageError

        raise UsageError("--dry-run goes with --from: start PLAYBOOK --from FILE --dry-run")
    if from_file is not None:
        from .commands.bulk_start import run_start_from

        with _engine(options, "read" if dry_run else "create") as engine:
            sys.exit(run_start_from(engine, playbook=playbook, path=from_file, sets=sets,
                                    input_name=input_name, actor=options.actor(actor),
                                    as_json=as_json, allow_duplicate=allow_duplicate,
                                    dry_run=dry_run))
    with _engine(options, "create") as engine:
        sys.exit(instances.run_start(engine, playbook=playbook, sets=sets,
                                     input_name=input_name, actor=options.actor(actor),
                                     as_json=as_json, allow_duplicate=allow_duplicate))


@cli.command()
@click.argument("target", metavar="INSTANCE|PLAYBOOK")
@click.argument("event")
@click.option("--all", "fire_all", is_flag=True,
              help="Fire at every open instance of the playbook TARGET.")
@set_option
@input_option
@click.option("--note", metavar="TEXT", help="A note recorded in the audit log.")
@click.option("--dry-run", is_flag=True,
              help="With --all: print what would happen to each instance; write nothing.")
@click.option("--yes", is_flag=True, help="With --all: do not ask for confirmation.")
@as_option
@json_option
@pass_options
def fire(options: Options, target: str, event: str, fire_all: bool, sets: tuple[str, ...],
         input_name: str | None, note: str | None, dry_run: bool, yes: bool,
         actor: str | None, as_json: bool) -> NoReturn:
    """Fire EVENT at an instance (or with --all at every open instance of a playbook; on a
    terminal it asks first unless --yes)."""
    from .commands import instances

    if dry_run and not fire_all:
        from .errors import UsageError

        raise UsageError("--dry-run goes with --all: fire --all PLAYBOOK EVENT --dry-run")
    with _engine(options, "read" if dry_run else "write") as engine:
        if fire_all:
            sys.exit(instances.run_fire_all(engine, playbook=target, event=event, sets=sets,
                                            input_name=input_name, actor=options.actor(actor),
                                            as_json=as_json, dry_run=dry_run, yes=yes))
        sys.exit(instances.run_fire(engine, instance=target, event=event, sets=sets,
                                    input_name=input_name, note=note,
                                    actor=options.actor(actor), as_json=as_json))


@cli.command()
@click.argument("task")
@set_option
@input_option
@as_option
@json_option
@pass_options
def done(options: Options, task: str, sets: tuple[str, ...], input_name: str | None,
         actor: str | None, as_json: bool) -> NoReturn:
    """Complete a task occurrence by its id."""
    from .commands import instances

    with _engine(options) as engine:
        sys.exit(instances.run_done(engine, task=task, sets=sets, input_name=input_name,
                                    actor=options.actor(actor), as_json=as_json))


@cli.command()
@click.option("--no-send", is_flag=True,
              help="Only fire timers; leave the outbox for 'frontdesk send'.")
@json_option
@pass_options
def tick(options: Options, no_send: bool, as_json: bool) -> NoReturn:
    """Fire every due timer (idempotent; meant for cron or a systemd timer), then deliver
    the outbox messages whose retry time has come (unless --no-send)."""
    from .commands import instances

    with _engine(options) as engine:
        sys.exit(instances.run_tick(engine, as_json=as_json, send=not no_send))


@cli.command()
@click.option("--retry-failed", is_flag=True,
              help="Make failed messages pending again first (after fixing an address).")
@json_option
@pass_options
def send(options: Options, retry_failed: bool, as_json: bool) -> NoReturn:
    """Deliver every pending outbox message now (email, webhook); exit 9 if any is left
    pending or failed."""
    from .commands import delivery

    with _engine(options) as engine:
        sys.exit(delivery.run_send(engine, as_json=as_json, retry_failed=retry_failed))


@cli.command()
@click.option("--person", metavar="P", help="Only this person's digest.")
@click.option("--send", is_flag=True,
              help="Enqueue today's digests (once per person and day) and deliver them, "
                   "acting as system.")
@json_option
@pass_options
def digest(options: Options, person: str | None, send: bool, as_json: bool) -> NoReturn:
    """Each person's overdue tasks, today's and the next 7 days' (read-only without --send)."""
    from .commands.digest import run_digest

    with _engine(options, "write" if send else "read") as engine:
        sys.exit(run_digest(engine, person=person, send=send, as_json=as_json))


@cli.command("list")
@click.option("--playbook", metavar="ID", help="Only instances of this playbook.")
@click.option("--state", metavar="STATE", help="Only instances in this state.")
@click.option("--open", "status", flag_value="open", help="Only open instances.")
@click.option("--closed", "status", flag_value="closed", help="Only closed instances.")
@wide_option
@json_option
@pass_options
def list_command(options: Options, playbook: str | None, state: str | None,
                 status: str | None, wide: bool, as_json: bool) -> NoReturn:
    """List instances."""
    from .commands import instances

    with _engine(options, "read") as engine:
        sys.exit(instances.run_list(engine, playbook=playbook, state=state, status=status,
                                    as_json=as_json, wide=wide))


@cli.command()
@click.argument("instance", metavar="INSTANCE|TASK")
@json_option
@pass_options
def show(options: Options, instance: str, as_json: bool) -> NoReturn:
    """State, variables, tasks, timers, next events and history of one instance (or of a
    task's instance)."""
    from .commands import instances

    with _engine(options, "read") as engine:
        sys.exit(instances.run_show(engine, instance=instance, as_json=as_json))


@cli.command()
@json_option
@pass_options
def outbox(options: Options, as_json: bool) -> NoReturn:
    """Rendered messages."""
    from .commands import instances

    with _engine(options, "read") as engine:
        sys.exit(instances.run_outbox(engine, as_json=as_json))


@cli.command()
@click.argument("name", required=False)
@click.option("--from", "first", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]),
              help="First day of the period (practice time zone; default: no limit).")
@click.option("--to", "last", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day of the period (default: no limit).")
@click.option("--days", type=int, default=60, show_default=True,
              help="deadlines: the window after --from (default today) when --to is absent.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "html"]),
              default="table", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write the document to FILE.")
@pass_options
def report(options: Options, name: str | None, first: Any, last: Any, days: int, fmt: str,
           output: str | None) -> NoReturn:
    """The practice's figures: report NAME (denials, intake, training, workload, deadlines
    and any a playbook declares); without NAME, the reports there are."""
    from .commands import reports

    with _engine(options, "read") as engine:
        sys.exit(reports.run_report(engine, name=name, first=first.date() if first else None,
                                    last=last.date() if last else None, days=days, fmt=fmt,
                                    output=output))


@cli.command()
@as_option
@click.option("--role", metavar="ROLE", help="Tasks of this role.")
@click.option("--everyone", is_flag=True, help="Everyone's tasks.")
@click.option("--days", type=int, default=0, show_default=True,
              help="Also tasks due in the next N days.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "ics"]),
              default="table", show_default=True)
@wide_option
@pass_options
def today(options: Options, actor: str | None, role: str | None, everyone: bool, days: int,
          fmt: str, wide: bool) -> NoReturn:
    """Open tasks due today or earlier (overdue first), for your roles by default."""
    from .commands.today import run_today

    with _engine(options, "read") as engine:
        sys.exit(run_today(engine, actor=options.actor(actor), role=role, everyone=everyone,
                           days=days, fmt=fmt, wide=wide))


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
            actor: str | None, as_json: bool) -> NoReturn:
    """Move PLAYBOOK's open instances to version VERSION, listing those that cannot move."""
    from .commands.upgrade import run_upgrade_command

    with _engine(options) as engine:
        sys.exit(run_upgrade_command(engine, playbook=playbook, to_version=to_version,
                                     dry_run=dry_run, actor=options.actor(actor),
                                     as_json=as_json))


# -- the practice and its store ------------------------------------------------------------
@cli.command()
@pass_options
def init(options: Options) -> NoReturn:
    """Create the home folder, a practice.yaml template and the store."""
    from .commands import admin

    sys.exit(admin.run_init(options))


@cli.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option("--anchor", metavar="'SEQ HASH'",
              help="What 'audit head' printed earlier: that record must still be in the log "
              "with that hash (catches truncation and rewriting).")
@pass_options
def audit_verify(options: Options, anchor: str | None) -> NoReturn:
    """Prove the log whole and the store consistent with it; exit 7 at the first fault."""
    from .commands import admin

    with _engine(options, "read") as engine:
        sys.exit(admin.run_audit_verify(engine, anchor=anchor))


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("--instance", metavar="ID", help="Only this instance's records.")
@click.option("--since", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]),
              help="Only records on or after this date (UTC).")
@pass_options
def audit_export(options: Options, fmt: str, instance: str | None, since: Any) -> NoReturn:
    """Export the audit log as JSON Lines or CSV."""
    from .commands import admin

    with _engine(options, "read") as engine:
        sys.exit(admin.run_audit_export(engine, fmt=fmt, instance=instance,
                                        since=since.date() if since else None))


@audit.command("head")
@pass_options
def audit_head(options: Options) -> NoReturn:
    """Print the last record's seq and hash (write it down to verify against later)."""
    from .commands import admin

    with _engine(options, "read") as engine:
        sys.exit(admin.run_audit_head(engine))


@cli.group()
def db() -> None:
    """The store: migrations, copying a practice to another store, backups."""


@db.command("status")
@json_option
@pass_options
def db_status(options: Options, as_json: bool) -> NoReturn:
    """Where the store is; migrations applied and pending."""
    from .commands.db import run_status

    sys.exit(run_status(options, as_json=as_json))


@db.command("migrate")
@pass_options
def db_migrate(options: Options) -> NoReturn:
    """Create the store and apply pending migrations; print the ones applied."""
    from .commands.db import run_migrate

    sys.exit(run_migrate(options))


@db.command("grant")
@click.argument("role")
@pass_options
def db_grant(options: Options, role: str) -> NoReturn:
    """PostgreSQL: give ROLE what frontdesk needs (audit_log: SELECT and INSERT only)."""
    from .commands.db import run_grant

    sys.exit(run_grant(options, role=role))


@db.command("copy")
@click.option("--to", "to_url", metavar="URL", required=True,
              help="The empty store to copy into: sqlite:///FILE or postgresql://...")
@pass_options
def db_copy(options: Options, to_url: str) -> NoReturn:
    """Copy everything (audit log with its hashes) into an empty store, and verify it."""
    from .commands.db import run_copy

    sys.exit(run_copy(options, to_url=to_url))


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_options
def db_backup(options: Options, path: str) -> NoReturn:
    """SQLite: a consistent copy of the store in the new file PATH, taken while it is in use,
    then verified."""
    from .commands.db import run_backup

    sys.exit(run_backup(options, path=path))


@cli.command()
@pass_options
def demo(options: Options) -> NoReturn:
    """A demo practice run through weeks of simulated time (temporary home unless --home)."""
    from pathlib import Path

    from .demo import run_demo

    sys.exit(run_demo(home=Path(options.home) if options.home else None))


# -- packs -------------------------------------------------------------------------------
@cli.group()
def pack() -> None:
    """Playbook packs: installable playbooks with their scenario tests."""


@pack.command("new")
@click.argument("name")
@click.option("--dir", "parent", metavar="DIR", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Create the pack folder NAME in DIR.")
def pack_new(name: str, parent: str) -> NoReturn:
    """Scaffold the pack NAME: pyproject.toml, a sample playbook, a scenario test, a README."""
    from pathlib import Path

    from .commands import packs

    sys.exit(packs.run_pack_new(name=name, parent=Path(parent)))


@pack.command("test")
@click.argument("path", default=".", type=click.Path(file_okay=False))
@practice_option
@pass_options
def pack_test(options: Options, path: str, practice: str) -> NoReturn:
    """Validate the playbooks of the pack in PATH and run its scenarios."""
    from .commands import packs

    sys.exit(packs.run_pack_test(options, path=path, practice=practice))


# -- corrections: cancel, correct, assign --------------------------------------------------
reason_option = click.option("--reason", metavar="TEXT", required=True,
                             help="Why (kept in the audit log).")


@cli.command()
@click.argument("instance")
@reason_option
@as_option
@json_option
@pass_options
def cancel(options: Options, instance: str, reason: str, actor: str | None,
           as_json: bool) -> NoReturn:
    """Close an open INSTANCE as outcome 'cancelled' (administrators)."""
    from .commands import corrections

    with _engine(options) as engine:
        sys.exit(corrections.run_cancel(engine, instance=instance, reason=reason,
                                        actor=options.actor(actor), as_json=as_json))


@cli.command()
@click.argument("instance")
@set_option
@input_option
@reason_option
@as_option
@json_option
@pass_options
def correct(options: Options, instance: str, sets: tuple[str, ...], input_name: str | None,
            reason: str, actor: str | None, as_json: bool) -> NoReturn:
    """Fix variables of an open INSTANCE without moving it (administrators)."""
    from .commands import corrections

    with _engine(options) as engine:
        sys.exit(corrections.run_correct(engine, instance=instance, sets=sets,
                                         input_name=input_name, reason=reason,
                                         actor=options.actor(actor), as_json=as_json))


@cli.command()
@click.argument("task")
@click.argument("person", required=False)
@click.option("--clear", is_flag=True, help="Unassign it: any holder of its role may do it.")
@as_option
@json_option
@pass_options
def assign(options: Options, task: str, person: str | None, clear: bool, actor: str | None,
           as_json: bool) -> NoReturn:
    """Give the open TASK to PERSON, who must hold its role (or --clear it)."""
    from .commands import corrections

    with _engine(options) as engine:
        sys.exit(corrections.run_assign(engine, task=task, person=person, clear=clear,
                                        actor=options.actor(actor), as_json=as_json))


# -- the web board --------------------------------------------------------------------------
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; beyond this computer it needs --cert and --key.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--cert", metavar="FILE", help="TLS certificate (PEM); default board.cert.")
@click.option("--key", metavar="FILE", help="TLS private key (PEM); default board.key.")
@pass_options
def serve(options: Options, host: str, port: int, cert: str | None,
          key: str | None) -> NoReturn:
    """Serve the staff web board (until Ctrl-C or SIGTERM)."""
    from .commands.web import run_serve

    sys.exit(run_serve(options, host=host, port=port, cert=cert, key=key))


@cli.command()
@click.argument("person")
@pass_options
def passwd(options: Options, person: str) -> NoReturn:
    """Set PERSON's web board password (asked on the terminal, else read from stdin)."""
    from .commands.web import run_passwd

    sys.exit(run_passwd(options, person=person))
# -- import era ----------------------------------------------------------------------------
@cli.group("import")
def import_group() -> None:
    """Start follow-ups from files other systems send (X12 835 remittances)."""


@import_group.command("era")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@as_option
@json_option
@pass_options
def import_era(options: Options, files: tuple[str, ...], actor: str | None,
               as_json: bool) -> NoReturn:
    """Start one claim-denial per denied claim adjustment of X12 835 FILES, once each."""
    from .commands.era import run_import_era

    with _engine(options, "create") as engine:
        sys.exit(run_import_era(engine, files=files, actor=options.actor(actor),
                                as_json=as_json))


# -- the one error handler -----------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI: the single place that prints ``frontdesk: error:`` and picks the exit
    code of a failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="frontdesk", standalone_mode=False)
    except BrokenPipeError:
        sys.exit(0)  # the reader went away (frontdesk list | head): not an error
    except KeyboardInterrupt:
        click.echo("frontdesk: error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        from .error_handler import describe, error_text

        if "--debug" in args and not isinstance(exc, click.ClickException):
            import traceback

            traceback.print_exc()
        message, code = describe(exc)
        click.echo(error_text(message), err=True)
        sys.exit(code)
    # A command exits by itself; click returns the code of --help and --version, which then
    # need not import the error classes (about 5 ms, 7% of --help; bench figure "help").
    sys.exit(code or 0)
