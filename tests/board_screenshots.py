"""Screenshots of the web board's main pages for docs/board/, on the demo practice.

    python tests/board_screenshots.py [OUT_DIR]      (default: docs/board)

Runs ``frontdesk demo`` in a temporary home, sets the demo people's board passwords, serves
the board on a free loopback port at the morning after the demo's last record, and drives
Debian's Chromium through Playwright (as the browser tests do) at 1280x800 and at a tablet's
768x1024.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from board_testing import PASSWORD, BoardServer, frontdesk, launch, set_passwords  # noqa: E402


def _next_morning(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        (last,) = conn.execute("SELECT max(at) FROM audit_log").fetchone()
    day = datetime.fromisoformat(last).date() + timedelta(days=1)
    return f"{day.isoformat()}T09:00"


def _login(browser: object, url: str, person: str, width: int = 1280,
           height: int = 800) -> object:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()  # type: ignore[attr-defined]
    page.goto(url)
    page.get_by_label("Your name").fill(person)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def take(out: Path) -> list[Path]:
    """Make the screenshots into ``out``; the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="frontdesk-shots-") as scratch:
        home = Path(scratch) / "demo"
        done = frontdesk(home, "demo", playbooks=None)
        assert done.returncode == 0, done.stderr
        set_passwords(home, ["maria", "sam", "drlee"], playbooks=None)
        server = BoardServer.start(home, now=_next_morning(home / "frontdesk.db"),
                                   playbooks=None)
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                shots += _pages(browser, server.url, out)
                browser.close()  # type: ignore[attr-defined]
        finally:
            server.stop()
    return shots


def _shot(page: object, path: Path, shots: list[Path]) -> None:
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    shots.append(path)


def _pages(browser: object, url: str, out: Path) -> list[Path]:
    shots: list[Path] = []
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()  # type: ignore[attr-defined]
    page.goto(url)
    _shot(page, out / "login.png", shots)
    owner = _login(browser, url, "drlee")  # the demo's administrator (role owner)
    owner.get_by_role("link", name="Everyone").first.click()
    _shot(owner, out / "everyone.png", shots)
    page = _login(browser, url, "maria")
    _shot(page, out / "my-day.png", shots)
    page.locator("table.tasks a").first.click()
    page.get_by_role("button", name="Mark done").click()  # an empty form: its errors
    _shot(page, out / "task-form-errors.png", shots)
    page.locator("dl.facts a").first.click()
    _shot(page, out / "instance.png", shots)
    page.goto(url + "start/intake")
    _shot(page, out / "start.png", shots)
    page.goto(url + "outbox")
    _shot(page, out / "outbox.png", shots)
    page.goto(url + "print")
    page.emulate_media(media="print")
    _shot(page, out / "print.png", shots)
    tablet = _login(browser, url, "maria", 768, 1024)
    _shot(tablet, out / "my-day-tablet.png", shots)
    return shots


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/board")
    for shot in take(target):
        print(shot)
