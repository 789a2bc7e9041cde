"""Serve the board with cheroot: a threaded, pure-Python WSGI server that speaks TLS itself.

Why cheroot and not waitress: waitress has no TLS, and the board must serve HTTPS on its own
when it is bound beyond the loopback (a small office has no reverse proxy to lean on).
cheroot (CherryPy's server, maintained with it) serves TLS with Python's ``ssl`` module,
runs a WSGI app such as Flask's on a thread pool (the engine is synchronous), and writes no
access log, so no request's details reach a log.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from ..errors import UsageError
from ..network import is_loopback
from ..settings import Options

THREADS = 8


def tls_files(host: str, cert: str | None, key: str | None) -> tuple[str, str] | None:
    """The certificate and key to serve with; refused (exit 2) when only one is given, or
    when neither is and ``host`` reaches beyond this computer."""
    if bool(cert) != bool(key):
        raise UsageError("TLS needs both a certificate and its key (--cert and --key, or "
                         "board.cert and board.key in practice.yaml)")
    if cert and key:
        return cert, key
    if not is_loopback(host):
        raise UsageError(f"serving on {host} reaches beyond this computer: give a TLS "
                         "certificate and key (--cert FILE --key FILE, or board.cert and "
                         "board.key in practice.yaml), or serve on 127.0.0.1")
    return None


def serve(app: Any, host: str, port: int, tls: tuple[str, str] | None) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; print where, once it listens (stderr)."""
    from cheroot import wsgi

    server = wsgi.Server((host, port), app, numthreads=THREADS, server_name="frontdesk")
    if tls is not None:
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        server.ssl_adapter = BuiltinSSLAdapter(tls[0], tls[1])
    server.prepare()
    bound = server.bind_addr
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
    scheme = "https" if tls else "http"
    print(f"frontdesk: the board is at {scheme}://{shown}:{bound[1]}/ (Ctrl-C stops it)",
          file=sys.stderr, flush=True)

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # as Ctrl-C: serve() ends, then stop() below

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def options_tls(options: Options, host: str, cert: str | None,
                key: str | None) -> tuple[str, str] | None:
    """The TLS files of ``--cert``/``--key``, else the practice's ``board`` settings."""
    if not cert and not key:
        from ..workspace import Workspace

        board = Workspace(options).practice.board
        cert, key = board.cert, board.key
    return tls_files(host, cert, key)
