"""An on-disk cache of what was derived from a source text, keyed by that text's content.

Parsing a playbook (YAML with marks) and validating it (JSON Schema, semantic checks) costs
a few hundred milliseconds, mostly importing ``yaml``, ``jsonschema`` and ``jinja2``, yet the
validated ``Playbook`` is a pure function of the source text and of this frontdesk's code. So
a command that has seen a source before loads its model from ``<home>/cache/compiled/`` and
never imports ``yaml`` or ``jsonschema``. The same goes for the practice config, for the facts
the search-path index keeps of each file (``index``) and for the issues ``validate`` reported
(``validation``).

Keys and invalidation: an entry's file name holds the SHA-256 of the source text it was built
from and a *code key* (this frontdesk's version plus the size and modification time of the
modules, schemas and libraries that decide what a valid model is). A changed source has
another digest, so it can never be served a stale entry; the code key retires every entry
when frontdesk or one of those libraries changes. Nothing is keyed by a source file's
modification time: callers read the file and hash the text they read.

Format: pickle, because the models are frozen dataclasses holding dates and arbitrary setting
values that pickle round-trips exactly and loads in about 0.1 ms. Unpickling runs code, so
the cache is used only when its folder is ``0700`` and it and the file belong to this user
(as the home folder and the store holding the practice's data already are); anything else,
and any entry that is truncated, corrupt or for another key, counts as a miss: the caller
rebuilds the model and the entry is rewritten (temp file + rename, mode ``0600``). A cache
that cannot be written (read-only home) is skipped silently: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
from pathlib import Path
from typing import Any

from .. import __version__

MAGIC = "frontdesk-cache-2"
_PACKAGE = Path(__file__).resolve().parents[1]


def content_hash(text: str) -> str:
    """The SHA-256 of a source text (the key it is stored and cached under)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The libraries whose version decides what is valid: YAML syntax errors, schema messages,
# template syntax, the countries and subdivisions a calendar may name, the patterns RE2 takes.
_LIBRARIES = ("yaml", "jsonschema", "referencing", "jinja2", "holidays", "re2")


def _code_files() -> list[Path]:
    """The modules, schemas and libraries that decide what a valid model is."""
    from importlib.util import find_spec

    from ..resources import data_dir

    files = [_PACKAGE / "model.py", _PACKAGE / "values.py", _PACKAGE / "sandbox.py",
             _PACKAGE / "limits.py", _PACKAGE / "errors.py"]
    files += sorted((_PACKAGE / "loading").glob("*.py"))
    try:
        files += sorted(data_dir("schemas").glob("*.json"))
    except FileNotFoundError:
        pass
    for name in _LIBRARIES:  # found, not imported: an upgrade rewrites its __init__.py
        spec = find_spec(name)
        if spec is not None and spec.origin is not None:
            files.append(Path(spec.origin))
    return files


_code_key: str | None = None


def code_key() -> str:
    """This frontdesk's version and a fingerprint of its model-deciding code (16 hex digits)."""
    global _code_key
    if _code_key is None:
        digest = hashlib.sha256(__version__.encode())
        for path in _code_files():
            try:
                info = path.stat()
            except OSError:
                continue
            digest.update(f"{path.name}:{info.st_size}:{info.st_mtime_ns};".encode())
        _code_key = digest.hexdigest()[:16]
    return _code_key


class DiskCache:
    """Pickled values in one private folder; ``load`` misses rather than fails."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._usable: bool | None = None

    @classmethod
    def for_home(cls, home: Path) -> DiskCache:
        return cls(home / "cache" / "compiled")

    @classmethod
    def disabled(cls) -> DiskCache:
        return cls(None)

    def _path(self, kind: str, digest: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{kind}-{digest}-{code_key()}.pickle"

    def _folder_ok(self, create: bool) -> bool:
        """Whether the folder exists (or was created) as a 0700 folder of this user."""
        if self._usable is not None and (self._usable or not create):
            return self._usable
        folder = self.folder
        if folder is None or not hasattr(os, "geteuid"):
            self._usable = False  # no owner to check (Windows): no cache rather than trust it
            return False
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            if not create or not folder.parent.parent.is_dir():
                return False  # no home folder yet: do not create one just for the cache
            try:
                for path in (folder.parent, folder):
                    path.mkdir(mode=0o700, exist_ok=True)
                info = os.lstat(folder)
            except OSError:
                self._usable = False
                return False
        except OSError:
            self._usable = False
            return False
        self._usable = (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                        and stat.S_IMODE(info.st_mode) & 0o077 == 0)
        return self._usable

    def load(self, kind: str, digest: str) -> Any | None:
        """The value saved under ``(kind, digest)`` for this code, or None."""
        if not self._folder_ok(create=False):
            return None
        path = self._path(kind, digest)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
                return None
            with os.fdopen(fd, "rb", closefd=False) as stream:
                payload = stream.read()
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            magic, key, found_digest, value = pickle.loads(payload)
        except Exception:  # truncated or corrupt: a miss; the caller rewrites it
            return None
        if (magic, key, found_digest) != (MAGIC, f"{kind}-{code_key()}", digest):
            return None
        return value

    def save(self, kind: str, digest: str, value: Any) -> None:
        """Save ``value`` under ``(kind, digest)`` atomically; a failure is ignored."""
        if not self._folder_ok(create=True):
            return
        assert self.folder is not None
        path = self._path(kind, digest)
        payload = pickle.dumps((MAGIC, f"{kind}-{code_key()}", digest, value),
                               protocol=pickle.HIGHEST_PROTOCOL)
        import tempfile  # only on a miss: it imports shutil, random, ...

        try:
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)  # mode 0600
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(payload)
            os.replace(temp, path)
        except OSError:
            try:
                os.unlink(temp)
            except OSError:
                pass
            return
        self._prune()

    def _prune(self) -> None:
        """Remove entries of other code keys (an upgraded frontdesk) and stale temp files.
        Runs only after a miss was saved, so a warm command never lists the folder."""
        import time

        assert self.folder is not None
        suffix = f"-{code_key()}.pickle"
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            path = self.folder / name
            try:
                if name.endswith(".pickle") and not name.endswith(suffix):
                    path.unlink()
                elif name.startswith(".tmp-") and path.stat().st_mtime < time.time() - 3600:
                    path.unlink()  # left by a process that died while writing
            except OSError:
                continue
