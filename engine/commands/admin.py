"""Commands on the practice and its store: init (and the next steps it prints, with the
paths of this home and of this installation's ``frontdesk`` command), audit verify / export /
head."""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
import sysconfig
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from ..errors import ExitCode
from ..service import Engine
from ..settings import Options

PRACTICE_TEMPLATE = """\
# frontdesk practice configuration; every key is optional.
# yaml-language-server: $schema=https://frontdesk.dev/schemas/practice.schema.json
practice: My Practice
# timezone: America/New_York        # default: this machine's zone
calendar:
  country: US                       # public holidays are not business days
  # subdivision: NY
  closed: []                        # extra closed dates, e.g. [2026-12-24]
# people:                           # without people, any name may act with every role
#   maria: {name: Maria Alvarez, roles: [office_manager, billing]}
#   drlee: {name: Dr. Lee, roles: [clinician, owner]}
# playbooks:                        # tailor a playbook without editing it (docs/tailoring.md)
#   claim-denial:
#     settings: {appeal_reminder_days: 30}
#     roles: {biller: billing}        # the playbook's role -> your role
#     tasks: {correct_claim: {title: "Fix claim {{ claim_id }}", due: 2 business days}}
#     disabled_tasks: [check_claim_status]
"""


def run_init(options: Options) -> int:
    """``init``: create the home folder, a practice.yaml template and the store; say what to
    do next, with this home's paths (stderr), and print the home's absolute path (stdout)."""
    from ..store import open_store

    home = options.home_path.absolute()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "playbooks").mkdir(exist_ok=True, mode=0o700)
    practice = home / "practice.yaml"
    if practice.exists():
        click.echo(f"kept existing {practice}", err=True)
    else:
        practice.write_text(PRACTICE_TEMPLATE, "utf-8")
        practice.chmod(0o600)
        click.echo(f"created {practice}", err=True)
    with open_store(options.db_url, clock_override=options.now_text is not None) as store:
        store.migrate()
        where = store.where  # never the password of a PostgreSQL URL
    click.echo(f"store ready: {where}", err=True)
    click.echo("\n".join(next_steps(options, home)), err=True)
    click.echo(str(home))
    return ExitCode.OK


def next_steps(options: Options, home: Path) -> list[str]:
    """What to do after ``init``, with this home's paths filled in: edit practice.yaml,
    validate, start a first instance, schedule ``tick`` (docs/daily-use.md)."""
    script = console_script()
    command = shlex.join([_typed_name(script), *_global_options(options)])
    scheduled = _scheduled_environment(options, home)
    cron = (f"*/15 * * * * {' '.join(scheduled)} {shlex.quote(script)} tick "
            f">> {shlex.quote(str(home / 'tick.log'))} 2>&1").replace("%", "\\%")  # cron's newline
    return [
        "next steps:",
        f"  1. edit {home / 'practice.yaml'}:",
        "     your people with their roles (and logins), the timezone, the calendar",
        f"  2. check it: {command} validate",
        f"  3. start a first instance ({command} playbooks lists the routines):",
        f"     {command} start intake --set client_name='Ann Example'",
        f"     {command} today --everyone",
        "  4. run tick every 15 minutes, from cron ('crontab -e', one line):",
        f"     {cron}",
        "     or from a systemd timer (docs/daily-use.md, \"Timers\"):",
        *(f"     Environment={pair}" for pair in scheduled),
        f"     ExecStart={script} tick",
    ]


def _typed_name(script: str) -> str:
    """How to type the command at a prompt: ``frontdesk`` when that finds this installation's
    script on PATH, else its full path (a virtual environment that is not on PATH)."""
    found = shutil.which("frontdesk")
    if found and Path(found).absolute() == Path(script):
        return "frontdesk"
    return script


def _global_options(options: Options) -> list[str]:
    """The global options the following commands need to find this home and store again."""
    given = []
    if options.home:
        given += ["--home", str(options.home_path.absolute())]
    if options.db:
        given += ["--db", _shown_url(options.db)]
    return given


def _scheduled_environment(options: Options, home: Path) -> list[str]:
    """``NAME=VALUE`` for a scheduled command: the home always (cron and systemd do not read
    a login shell's environment, so the platform default could differ), the store when it is
    not the home's own."""
    pairs = [f"FRONTDESK_HOME={shlex.quote(str(home))}"]
    store = options.db or options.env.get("FRONTDESK_DB")
    if store:
        pairs.append(f"FRONTDESK_DB={shlex.quote(_shown_url(store))}")
    return pairs


def _shown_url(url: str) -> str:
    """A store URL to print: a SQLite path made absolute (a scheduled command runs in another
    folder), a PostgreSQL password replaced by ``***`` (keep it in ``~/.pgpass``)."""
    scheme, found, rest = url.partition("://")
    if not found:
        return f"sqlite:///{Path(url).expanduser().absolute()}"
    if scheme.lower() == "sqlite":
        return f"sqlite:///{Path(rest[1:]).expanduser().absolute()}"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def console_script() -> str:
    """The absolute path of the ``frontdesk`` command of this installation, for cron and
    systemd, which search no login shell's PATH: the script running now, else the one pip
    installed beside this interpreter or in the user's scripts folder, else the first on PATH;
    plain ``frontdesk`` when there is none (``python cli.py`` in a checkout)."""
    running = Path(sys.argv[0])
    if running.stem == "frontdesk" and running.is_file():
        return str(running.absolute())  # a symlink (pipx) is kept: it survives upgrades
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        folder = Path(sysconfig.get_path("scripts", scheme))
        for name in ("frontdesk", "frontdesk.exe"):
            if (folder / name).is_file():
                return str(folder / name)
    found = shutil.which("frontdesk")
    return str(Path(found).absolute()) if found else "frontdesk"


def run_audit_verify(engine: Engine, *, anchor: str | None) -> int:
    """``audit verify``: prove the audit log whole and the store consistent with it
    (``verification.prove``); print what was proved."""
    from ..verification import parse_anchor

    proof = engine.prove(parse_anchor(anchor) if anchor is not None else None)
    click.echo(f"audit log ok: {proof.records} records, last seq {proof.head_seq}, "
               f"head {proof.head_hash}")
    for line in proof.lines():
        click.echo(f"  {line}")
    click.echo("  practice: authenticated (people act through their logins)"
               if engine.workspace.practice.authenticated else
               "  practice: trust mode (no person has a login: the acting person is whoever a "
               "command names)")
    return ExitCode.OK


def run_audit_export(engine: Engine, *, fmt: str, instance: str | None,
                     since: dt.date | None) -> int:
    """``audit export``: the records as JSON Lines or CSV on stdout."""
    from ..audit import write_csv, write_jsonl

    if instance is not None:
        engine.get_instance(instance)  # an unknown instance is exit 4, not an empty export
    records = engine.audit_records(instance=instance, since=since)
    (write_csv if fmt == "csv" else write_jsonl)(records, sys.stdout)
    return ExitCode.OK


def run_audit_head(engine: Engine) -> int:
    """``audit head``: the last record's seq and hash, to write down and verify against."""
    seq, digest = engine.audit_head()
    click.echo(f"{seq} {digest}")
    return ExitCode.OK
