"""``frontdesk serve`` (the staff web board) and ``frontdesk passwd PERSON``."""

from __future__ import annotations

import datetime as dt
import sys

import click

from ..errors import ExitCode, RefusedError, UsageError
from ..service import Engine
from ..settings import Options


def run_serve(options: Options, *, host: str, port: int, cert: str | None,
              key: str | None) -> int:
    """Serve the board on ``host:port`` until stopped. Refused before listening when the
    practice lists no people (nobody could log in) or TLS is missing beyond the loopback."""
    from ..web.app import create_app
    from ..web.server import options_tls, serve

    tls = options_tls(options, host, cert, key)
    with Engine(options, access="write") as engine:
        people = engine.workspace.practice.people
        if not people:
            raise UsageError("the board logs people in: list them under 'people' in "
                             "practice.yaml, then set each one's password with "
                             "'frontdesk passwd PERSON'")
        engine.store.clock_kind()  # opens (and migrates) the store now: exit 8 if missing
        if not any(engine.store.web_login(pid) for pid in people):
            click.echo("frontdesk: note: nobody has a board password yet; set one with "
                       "'frontdesk passwd PERSON'", err=True)
    serve(create_app(options, secure=tls is not None), host, port, tls)
    return ExitCode.OK


def _may_set(engine: Engine, person: str) -> None:
    """In an authenticated practice only the person's own login or an administrator's may
    set a password; in trust mode whoever may write the store may."""
    ws = engine.workspace
    ws.check_actor(person)
    practice = ws.practice
    if not practice.people:
        raise RefusedError("the board logs people in: list them under 'people' in "
                           "practice.yaml first")
    if not practice.authenticated:
        return
    principal = engine.store.principal
    mine = practice.persons_for_login(principal)
    if person in mine or any(practice.is_administrator(p) for p in mine):
        return
    raise RefusedError(f"the account '{principal}' may not set the password of '{person}' "
                       "(only that person's own login or an administrator's)")


def _read_password(person: str) -> str:
    """The new password: asked twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(f"New board password for {person}: ")
        if getpass.getpass("The same again: ") != first:
            raise UsageError("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def run_passwd(options: Options, *, person: str) -> int:
    """``passwd PERSON``: store the Argon2 hash of a new board password for ``person``."""
    from ..web.passwords import hash_password, password_problem

    with Engine(options, access="write") as engine:
        _may_set(engine, person)
        password = _read_password(person)
        problem = password_problem(password)
        if problem:
            raise UsageError(f"{problem}; nothing was changed")
        engine.store.set_web_password(person, hash_password(password),
                                      dt.datetime.now(dt.UTC))
    click.echo(f"board password set for {person}", err=True)
    return ExitCode.OK
