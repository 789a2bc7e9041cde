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


def open_store(url: str, *, create: bool = True, read_only: bool = False,
               clock_override: bool = False) -> Store:
    """The store for ``url``: ``sqlite:///PATH`` (PATH absolute or relative), a plain file path,
    or ``postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?PARAMS]`` (libpq's URL; psycopg is
    imported only then). Nothing is opened until the store is first used.

    ``create=False``: a store that does not exist (no SQLite file, or no frontdesk tables) is
    refused (exit 8) on first use, and nothing is created. ``read_only=True``: the store is
    opened for reading only and never migrated (implies ``create=False``).
    ``clock_override``: the command runs on a simulated clock (``--now``): a store it creates
    is *simulated*, and a real store refuses its writes (exit 2).
    """
    create = create and not read_only
    if "://" not in url:
        if not url.strip():
            raise StoreUnavailableError("the store URL is empty")
        return _sqlite(url, create, read_only, clock_override)
    scheme, _, rest = url.partition("://")
    name = scheme.lower()
    if name == "sqlite":
        if not rest.startswith("/") or len(rest) < 2:
            raise StoreUnavailableError(
                f"bad SQLite store URL '{url}': write sqlite:///PATH, e.g. "
                "sqlite:////srv/frontdesk/frontdesk.db or sqlite:///frontdesk.db")
        return _sqlite(rest[1:], create, read_only, clock_override)
    if name in _POSTGRES_SCHEMES:
        from .postgres import PostgresStore

        return PostgresStore(url, create=create, read_only=read_only,
                             clock_override=clock_override)
    raise StoreUnavailableError(
        f"unsupported store URL scheme '{scheme}' (use sqlite:///PATH or postgresql://...)")


def _sqlite(path: str, create: bool, read_only: bool, clock_override: bool) -> SQLiteStore:
    if path == ":memory:" or path.startswith("file:"):
        raise StoreUnavailableError(
            f"'{path}' is not a store file (an in-memory store would forget every change)")
    return SQLiteStore(Path(path).expanduser(), create=create, read_only=read_only,
                       clock_override=clock_override)
