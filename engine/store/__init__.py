"""The store: where instances, playbook sources, the outbox and the audit log live.

``open_store`` picks the implementation from the store URL (``--db``, docs/reference.md,
"CLI"). The protocol and the row conversions are in ``base``, the queries both backends share
in ``sql``; ``sqlite`` and ``postgres`` hold what differs (connections, locks, error
translation). The PostgreSQL module is imported only when its URL is used, and ``psycopg``
only when that store is first used, so importing this package never imports ``psycopg``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreUnavailableError
from .base import Store, Txn
from .sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "Txn", "open_store"]

_POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_store(url: str) -> Store:
    """The store for ``url``: ``sqlite:///PATH`` (PATH absolute or relative), a plain file path,
    or ``postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?PARAMS]`` (libpq's URL; psycopg is
    imported only then). Nothing is opened until the store is first used."""
    if "://" not in url:
        if not url.strip():
            raise StoreUnavailableError("the store URL is empty")
        return _sqlite(url)
    scheme, _, rest = url.partition("://")
    name = scheme.lower()
    if name == "sqlite":
        if not rest.startswith("/") or len(rest) < 2:
            raise StoreUnavailableError(
                f"bad SQLite store URL '{url}': write sqlite:///PATH, e.g. "
                "sqlite:////srv/frontdesk/frontdesk.db or sqlite:///frontdesk.db")
        return _sqlite(rest[1:])
    if name in _POSTGRES_SCHEMES:
        from .postgres import PostgresStore

        return PostgresStore(url)
    raise StoreUnavailableError(
        f"unsupported store URL scheme '{scheme}' (use sqlite:///PATH or postgresql://...)")


def _sqlite(path: str) -> SQLiteStore:
    if path == ":memory:" or path.startswith("file:"):
        raise StoreUnavailableError(
            f"'{path}' is not a store file (an in-memory store would forget every change)")
    return SQLiteStore(Path(path).expanduser())
