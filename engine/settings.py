"""Where things are: home folder, store URL, clock and actor, from options then environment.

As docs/reference.md ("CLI") documents them: ``--home`` else ``$FRONTDESK_HOME`` else the
platform's user data dir; ``--db`` else ``$FRONTDESK_DB`` else ``sqlite:///<home>/frontdesk.db``;
``--now`` else ``$FRONTDESK_NOW`` else the real clock; actor ``--as`` else ``$FRONTDESK_USER``
else the OS user. ``workspace.Workspace`` turns these into the practice's config and clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathlib is imported when a path is first asked for: --help needs none
    from pathlib import Path


def default_home() -> Path:
    """The platform's user data folder for frontdesk."""
    from pathlib import Path

    from platformdirs import user_data_dir

    return Path(user_data_dir("frontdesk", appauthor=False))


@dataclass(slots=True)
class Options:
    """The global options of one command, before the environment fills the gaps."""

    home: str | None = None
    db: str | None = None
    now: str | None = None
    playbooks: tuple[str, ...] = ()
    debug: bool = False
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def home_path(self) -> Path:
        from pathlib import Path

        value = self.home or self.env.get("FRONTDESK_HOME")
        return Path(value).expanduser() if value else default_home()

    @property
    def db_url(self) -> str:
        value = self.db or self.env.get("FRONTDESK_DB")
        return value or f"sqlite:///{self.home_path / 'frontdesk.db'}"

    @property
    def now_text(self) -> str | None:
        return self.now or self.env.get("FRONTDESK_NOW") or None

    @property
    def practice_path(self) -> Path:
        return self.home_path / "practice.yaml"

    def actor(self, given: str | None) -> str:
        """The name asked for: ``--as``, else ``$FRONTDESK_USER``, else the OS account's name
        (which of the practice's people that may be is the engine's to decide). An empty
        ``--as`` is a usage error, never a silent fallback to the account."""
        if given is not None:
            if not given.strip():
                from .errors import UsageError

                raise UsageError("--as needs a person's id (it was empty)")
            return given
        if self.env.get("FRONTDESK_USER"):
            return self.env["FRONTDESK_USER"]
        import getpass

        try:
            return getpass.getuser()
        except (OSError, KeyError):
            return "unknown"
