"""The board's Flask application: sessions, CSRF, one engine per server thread, error pages.

Every request but the login page and the static files needs a live session (``sessions``);
every POST carries the session's CSRF token (the login form a token of its own, kept in a
cookie beside it). The engine a request uses is its thread's, opened on the practice's store
with the person who logged in as the one actor and ``web:<person>`` as the principal
(``Engine.sign_in``), and opened anew when ``practice.yaml`` changes. A ``FrontdeskError``
shows its message (the text the CLI prints after ``frontdesk: error:``); anything else is
logged by its type only, never its text (it may hold a patient's data).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from ..errors import ExitCode, FrontdeskError
from ..service import Engine
from ..settings import Options
from .sessions import COOKIE, Session, Sessions
from .tasklists import TaskLists

LOG = logging.getLogger("frontdesk.web")
LOGIN_CSRF = "frontdesk_login_csrf"
OPEN_PATHS = ("/login", "/static/", "/favicon.ico", "/healthz")

STATUS = {ExitCode.USAGE: 400, ExitCode.INVALID: 500, ExitCode.NOT_FOUND: 404,
          ExitCode.REFUSED: 403, ExitCode.CONFLICT: 409, ExitCode.AUDIT_BROKEN: 500,
          ExitCode.STORE_UNAVAILABLE: 503}


class Engines:
    """One engine per server thread (a SQLite connection belongs to its thread), made anew
    when practice.yaml changes, so the board follows the practice's people and settings."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._local = threading.local()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.options.practice_path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def get(self) -> Engine:
        """This thread's engine, signed in as nobody yet."""
        stamp = self._stamp()
        engine: Engine | None = getattr(self._local, "engine", None)
        if engine is None or self._local.stamp != stamp:
            if engine is not None:
                engine.close()
            engine = Engine(self.options, access="write")
            self._local.engine, self._local.stamp = engine, stamp
        engine.workspace.web_person = None
        return engine


class Board:
    """What the board's requests share: options, sessions, engines, the task lists' rows
    kept while the store is unchanged, whether it runs TLS."""

    def __init__(self, options: Options, secure: bool) -> None:
        self.options = options
        self.secure = secure
        self.engines = Engines(options)
        self.task_lists = TaskLists()
        idle = self.engines.get().workspace.practice.board.idle_minutes
        self.sessions = Sessions(idle * 60)

    @property
    def idle_minutes(self) -> float:
        return self.sessions.idle_seconds / 60

    def set_cookie(self, response: BaseResponse, name: str, value: str) -> None:
        """A cookie the page scripts never see, sent back only by this site's own pages."""
        response.set_cookie(name, value, httponly=True, samesite="Lax", secure=self.secure,
                            path="/")


def create_app(options: Options, *, secure: bool = False) -> Flask:
    """The board's application over the practice of ``options``; ``secure``: served over
    TLS (cookies are then Secure)."""
    here = Path(__file__).parent
    app = Flask("frontdesk.web", template_folder=str(here / "templates"),
                static_folder=str(here / "static"), static_url_path="/static")
    board = Board(options, secure)
    app.extensions["frontdesk"] = board
    app.before_request(_before(board))
    app.after_request(_headers)
    app.register_error_handler(FrontdeskError, _frontdesk_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    from . import views_auth, views_instances, views_reports, views_tasks

    app.add_url_rule("/healthz", "healthz", _healthz)
    views_auth.register(app, board)
    for rule, view, method in (*views_tasks.ROUTES, *views_instances.ROUTES,
                              *views_reports.ROUTES):
        app.add_url_rule(rule, view.__name__, view, methods=[method])
    app.jinja_env.globals["csrf"] = lambda: g.session.csrf if g.get("session") else ""
    app.jinja_env.filters["pathpart"] = pathpart
    return app


_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]+")


def pathpart(value: object) -> str:
    """``value`` as one segment of a path: an id as it is, anything else percent-encoded;
    either way only letters, digits and ``._~%-``, safe in HTML as it is. (The pages build
    their links on ``g.root`` with this: ``url_for`` for each row of a long list costs more
    than the rest of the row.)"""
    text = str(value)
    return text if _PLAIN_ID.fullmatch(text) else quote(text, safe="")


def _healthz() -> Response:
    """``ok``: the server answers (for a monitor; no login, no store, nothing private)."""
    return Response("ok\n", mimetype="text/plain")


def _before(board: Board) -> Callable[[], BaseResponse | None]:
    def before() -> BaseResponse | None:
        g.board = board
        g.root = request.script_root + "/"  # the board's own root, where its pages hang
        if request.path.startswith(OPEN_PATHS):
            return None
        engine = board.engines.get()
        # practice.yaml may have changed the idle time since the server started
        board.sessions.idle_seconds = engine.workspace.practice.board.idle_minutes * 60
        sid = request.cookies.get(COOKIE)
        session, expired = board.sessions.get(sid)
        if session is None:
            return redirect(url_for("login", m="idle" if expired else None))
        people = engine.workspace.practice.people
        if people and session.person not in people:  # removed from practice.yaml meanwhile
            board.sessions.close(sid)
            return redirect(url_for("login"))
        if request.method == "POST" and not _token_ok(request.form.get("csrf"), session.csrf):
            return csrf_refused()
        _sign_in(engine, session)
        return None

    return before


def _sign_in(engine: Engine, session: Session) -> None:
    engine.sign_in(session.person)
    g.session, g.person, g.engine = session, session.person, engine
    g.practice = engine.workspace.practice
    g.notice, session.notice = session.notice, None


def _token_ok(given: str | None, expected: str) -> bool:
    return bool(given) and secrets.compare_digest(str(given), expected)


def csrf_refused() -> Response:
    """The plain page of a form that did not carry this session's CSRF token."""
    return Response("The form was refused: it was not sent by this board's own page, or the "
                    "page was too old (CSRF check). Go back, reload the page and try again.\n",
                    status=403, mimetype="text/plain")


def _headers(response: Response) -> Response:
    """No caching of pages (they hold patient data), no framing, scripts and styles from
    this board only, and no referrer to any other site."""
    # A report's charts are inline SVG whose styles pygal writes inline: that page alone
    # allows inline styles (never inline scripts).
    styles = "'self' 'unsafe-inline'" if request.endpoint == "report_page" else "'self'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src 'self' data:; style-src {styles}; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def render(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    """A page of the board (``templates/``), with the session's person and notice."""
    return render_template(template, **values), status


def error_page(message: str, status: int) -> tuple[str, int]:
    """A page that says what was refused and why, in the CLI's words."""
    return render("error.html", status, message=message)


def _frontdesk_error(exc: FrontdeskError) -> tuple[str, int]:
    return error_page(exc.message, STATUS.get(exc.exit_code, 500))


def _http_error(exc: HTTPException) -> BaseResponse | tuple[str, int]:
    if exc.code == 404:
        return error_page("There is no such page.", 404)
    return exc.get_response()


def _internal_error(exc: Exception) -> tuple[str, int]:
    # Only the type: an exception's text may hold a patient's data.
    LOG.error("internal error (%s) on %s %s", type(exc).__name__, request.method,
              request.path)
    return error_page(f"internal error ({type(exc).__name__}); the server's log has no "
                      "more, ask whoever runs the board to reproduce it with the CLI", 500)
