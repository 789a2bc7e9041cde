"""Passwords and signing secrets of the channels: from an environment variable or a file that
only its owner may read (never from practice.yaml itself)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import DeliveryConfigError


def secret_from_file(path: str, what: str) -> str:
    """The first line of ``path``; refused when group or others may access the file."""
    file = Path(path).expanduser()
    try:
        mode = file.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise DeliveryConfigError(
                f"{what} {file} may be read by group or others (mode {stat.S_IMODE(mode):04o}); "
                f"run 'chmod 600 {file}' so that only its owner can read it")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DeliveryConfigError(f"cannot read the {what} {file}: {reason}") from exc
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise DeliveryConfigError(f"the {what} {file} is empty")
    return lines[0]


def secret_from_env(name: str, what: str) -> str:
    """The value of the environment variable ``name``; refused when unset or empty."""
    value = os.environ.get(name)
    if not value:
        raise DeliveryConfigError(f"the {what} variable ${name} is not set")
    return value
