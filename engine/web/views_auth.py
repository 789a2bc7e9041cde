"""Logging in and out of the board."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from .app import LOGIN_CSRF, Board, _token_ok, csrf_refused, render
from .passwords import WRONG, check_login
from .sessions import COOKIE

MESSAGES = {"idle": "You were logged off after {idle:g} idle minutes. Log in again.",
            "out": "You have logged out."}
MAX_FIELD = 1024  # a name or password longer than this is not one


def register(app: Flask, board: Board) -> None:
    """Add the login and logout pages to ``app``."""

    @app.get("/login")
    def login() -> BaseResponse | tuple[str, int]:
        # The same token for every login page of this browser (another tab, a favicon
        # request redirected here): a new one would spoil the form already shown.
        token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(32)
        message = MESSAGES.get(request.args.get("m", ""), "").format(idle=board.idle_minutes)
        page, status = render("login.html", notice=message, login_csrf=token)
        response = app.make_response((page, status))
        board.set_cookie(response, LOGIN_CSRF, token)
        return response

    @app.post("/login")
    def login_post() -> BaseResponse | tuple[str, int]:
        if not _token_ok(request.form.get("csrf"), request.cookies.get(LOGIN_CSRF, "")):
            return csrf_refused()
        person = request.form.get("person", "").strip()[:MAX_FIELD]
        password = request.form.get("password", "")[:MAX_FIELD + 1]
        engine = board.engines.get()
        if person not in engine.workspace.practice.people:
            from .passwords import hash_password

            hash_password(password)  # the same time as for a person: no tell
            result_ok, message = False, WRONG
        else:
            result = check_login(engine.store, person, password,
                                 engine.workspace.practice.board, dt.datetime.now(dt.UTC))
            result_ok, message = result.ok, result.message
        if not result_ok:
            token = secrets.token_urlsafe(32)
            page, status = render("login.html", 401, error=message, person=person,
                                  login_csrf=token)
            response = app.make_response((page, status))
            board.set_cookie(response, LOGIN_CSRF, token)
            return response
        board.sessions.close(request.cookies.get(COOKIE))  # never keep a session id given
        sid, _session = board.sessions.open(person)
        done = redirect(url_for("my_day"))
        board.set_cookie(done, COOKIE, sid)
        done.delete_cookie(LOGIN_CSRF, path="/")
        return done

    @app.post("/logout")
    def logout() -> BaseResponse:
        board.sessions.close(request.cookies.get(COOKIE))
        g.pop("session", None)
        response = redirect(url_for("login", m="out"))
        response.delete_cookie(COOKIE, path="/")
        return response
