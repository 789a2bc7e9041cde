"""Commands on the practice and its store: init, audit verify / export / head."""

from __future__ import annotations

import datetime as dt
import sys

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
#     settings: {commercial_appeal_days: 90}
#     roles: {biller: billing}        # the playbook's role -> your role
#     tasks: {correct_claim: {title: "Fix claim {{ claim_id }}", due: 2 business days}}
#     disabled_tasks: [check_claim_status]
"""


def run_init(options: Options) -> int:
    """``init``: create the home folder, a practice.yaml template and the store."""
    from ..store import open_store

    home = options.home_path
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "playbooks").mkdir(exist_ok=True, mode=0o700)
    practice = options.practice_path
    if practice.exists():
        click.echo(f"kept existing {practice}", err=True)
    else:
        practice.write_text(PRACTICE_TEMPLATE, "utf-8")
        practice.chmod(0o600)
        click.echo(f"created {practice}", err=True)
    with open_store(options.db_url, clock_override=options.now_text is not None) as store:
        store.migrate()
    click.echo(f"store ready: {options.db_url}", err=True)
    click.echo(str(home))
    return ExitCode.OK


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
