"""``frontdesk passwd`` and ``frontdesk serve`` without a browser (docs/reference.md, "The web
board"): Argon2 hashes in the store (both stores, migration 0007_web_logins), the lockout kept
in the store across restarts, who may set a password, what ``serve`` refuses before it
listens, and HTTPS with a given certificate."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import ssl
import subprocess
import urllib.request
from pathlib import Path

from board_testing import PASSWORD, BoardServer
from frontdesk_testing import Frontdesk, run_main

PEOPLE = """people:
  maria: {name: Maria Alvarez, roles: [front_desk, owner]}
  sam: {name: Sam Ortiz, roles: [front_desk]}
board: {lockout_after: 2, lockout_minutes: 10}
"""


def _passwd(fd: Frontdesk, person: str, password: str = PASSWORD) -> tuple[int, str]:
    done = run_main(fd.arguments(["passwd", person]), fd.env(), stdin=password + "\n")
    return done.returncode, done.stderr


def test_passwd_hash_in_store_and_lockout_kept(frontdesk: Frontdesk) -> None:
    practice = frontdesk.home / "practice.yaml"
    practice.write_text(practice.read_text() + PEOPLE)
    frontdesk.ok("start", "rt-intake", "--set", "client=Ann")  # creates the store
    assert _passwd(frontdesk, "sam") == (0, "board password set for sam\n")
    ((hashed, failures),) = frontdesk.query("SELECT hash, failures FROM web_logins")
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed and failures == 0
    assert PASSWORD not in practice.read_text()

    from frontdesk.model import Board
    from frontdesk.store import open_store
    from frontdesk.web.passwords import WRONG, check_login

    board = Board(lockout_after=2, lockout_minutes=10)
    now = dt.datetime.now(dt.UTC)
    with open_store(frontdesk.store_url, create=False) as store:
        assert check_login(store, "sam", "wrong one", board, now).message == WRONG
        assert "locked for about 10 minute" in check_login(store, "sam", "wrong two", board,
                                                           now).message
    with open_store(frontdesk.store_url, create=False) as store:  # a restart: still locked
        assert not check_login(store, "sam", PASSWORD, board, now).ok
        later = now + dt.timedelta(minutes=11)
        assert check_login(store, "sam", PASSWORD, board, later).ok
    # a new password clears the lockout too
    assert _passwd(frontdesk, "sam", "another long password")[0] == 0
    assert frontdesk.query("SELECT failures, locked_until FROM web_logins") == [(0, None)]


def test_passwd_refusals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(PEOPLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_HOME"] = str(home)

    def passwd(person: str, password: str) -> tuple[int, str]:
        done = run_main(["passwd", person], env, stdin=password + "\n")
        return done.returncode, done.stderr

    assert run_main(["db", "migrate"], env).returncode == 0
    code, err = passwd("nobody", PASSWORD)
    assert code == 5 and "unknown person 'nobody'" in err
    code, err = passwd("sam", "short")
    assert code == 2 and "at least 10 characters; nothing was changed" in err
    assert passwd("sam", PASSWORD)[0] == 0  # trust mode: whoever may write the store
    # authenticated: only the person's own login or an administrator's
    account = pwd.getpwuid(os.getuid()).pw_name
    (home / "practice.yaml").write_text(PEOPLE.replace(
        "roles: [front_desk]}", f"roles: [front_desk], login: [{account}]}}"))
    assert passwd("sam", PASSWORD)[0] == 0
    code, err = passwd("maria", PASSWORD)
    assert code == 5 and f"the account '{account}' may not set the password of 'maria'" in err


def test_serve_refusals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_HOME"] = str(home)
    (home / "practice.yaml").write_text("practice: No People\n")
    done = run_main(["serve"], env)
    assert done.returncode == 2 and "list them under 'people'" in done.stderr
    (home / "practice.yaml").write_text(PEOPLE)
    done = run_main(["serve", "--host", "0.0.0.0"], env)
    assert done.returncode == 2 and "reaches beyond this computer" in done.stderr
    done = run_main(["serve", "--cert", "cert.pem"], env)
    assert done.returncode == 2 and "both a certificate and its key" in done.stderr
    done = run_main(["serve"], env)  # no store yet: nothing is created
    assert done.returncode == 8 and not (home / "frontdesk.db").exists()


def test_serve_https_with_a_certificate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "practice.yaml").write_text(PEOPLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    assert run_main(["--home", str(home), "db", "migrate"], env).returncode == 0
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=60)
    server = BoardServer.start(home, playbooks=None, extra=["--cert", str(cert), "--key",
                                                             str(key)])
    try:
        assert server.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(server.url + "login", context=context,
                                    timeout=30) as response:
            cookie = response.headers["Set-Cookie"]
            assert response.status == 200
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        server.stop()

