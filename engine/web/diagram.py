"""An instance's state diagram as SVG: ``frontdesk graph --format dot`` with the current
state filled, drawn by Graphviz ``dot -Tsvg`` where it is installed, else a plain list of the
states drawn here. Kept per playbook digest and state (a diagram never changes)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from xml.sax.saxutils import escape

from .. import graph
from ..model import Playbook

TIMEOUT = 10  # seconds for one dot run
_CACHE: dict[tuple[str, str | None], str] = {}
_LOCK = threading.Lock()
MAX_CACHED = 256


def svg(playbook: Playbook, digest: str, current: str | None) -> str:
    """The diagram of ``playbook`` (whose source has the content hash ``digest``) with
    ``current`` highlighted."""
    key = (digest, current)
    with _LOCK:
        found = _CACHE.get(key)
    if found is not None:
        return found
    drawn = _graphviz(graph.dot(playbook, current)) or plain(playbook, current)
    with _LOCK:
        if len(_CACHE) >= MAX_CACHED:
            _CACHE.clear()
        _CACHE[key] = drawn
    return drawn


def _graphviz(text: str) -> str | None:
    """``dot -Tsvg`` of ``text``; None when Graphviz is missing or fails."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = subprocess.run([program, "-Tsvg"], input=text.encode("utf-8"),
                              capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def plain(playbook: Playbook, current: str | None) -> str:
    """The states as a column of boxes, the current one filled (without Graphviz)."""
    width, height, gap = 320, 28, 8
    rows = []
    for index, name in enumerate(playbook.states):
        y = 10 + index * (height + gap)
        fill = "#ffe08a" if name == current else "#ffffff"
        weight = "bold" if name == current else "normal"
        rows.append(f'<rect x="10" y="{y}" width="{width}" height="{height}" rx="6" '
                    f'fill="{fill}" stroke="#555"/>'
                    f'<text x="20" y="{y + 19}" font-family="sans-serif" font-size="14" '
                    f'font-weight="{weight}">{escape(name)}</text>')
    total = 20 + len(playbook.states) * (height + gap)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 20}" height="{total}" '
            f'viewBox="0 0 {width + 20} {total}">' + "".join(rows) + "</svg>")
