"""``send``, ``tick`` and ``outbox`` against real servers on loopback: an aiosmtpd SMTP server
(plain, STARTTLS with login, implicit TLS) and an HTTP webhook receiver checking the HMAC;
with failures injected (server down, 4xx then success, 5xx, a connection cut after DATA)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from delivery_testing import PASSWORD, SmtpServer, WebhookServer, self_signed
from frontdesk_testing import REPO, Frontdesk, frontdesk_argv

PLAYBOOKS = REPO / "tests" / "playbooks" / "delivery"
UNDELIVERED = 9

pytestmark = pytest.mark.xdist_group("delivery")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def make_home(tmp_path: Path) -> Callable[[str], Frontdesk]:
    """A SQLite home with the delivery playbook and ``practice`` as practice.yaml."""
    def make(practice: str) -> Frontdesk:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        (home / "practice.yaml").write_text(practice, "utf-8")
        playbooks = tmp_path / "playbooks"
        if not playbooks.exists():
            shutil.copytree(PLAYBOOKS, playbooks)
        return Frontdesk(home, playbooks, tuple(frontdesk_argv()), user="maria")

    return make


def outbox(fd: Frontdesk) -> list[dict[str, object]]:
    return fd.json("outbox")  # type: ignore[no-any-return]


def test_send_to_role_person_and_template_under_phi_none(plain: SmtpServer,
                                                         make_home: Callable[..., Frontdesk]
                                                         ) -> None:
    """A role goes to every holder with an address, a person and a template's person to
    that person; nothing of the client leaves the machine under ``phi: none``; ``send``
    exits 0 and ``outbox --json`` shows each message sent with its recipients."""
    fd = make_home(plain.practice())
    instance = fd.ok("start", "notify", "--set", "client=Jane Roe").strip()
    fd.ok("fire", instance, "page")
    fd.ok("fire", instance, "direct")
    assert fd.json("send") == {"sent": [1, 2, 3], "retry": [], "failed": [], "pending": 0,
                               "failed_total": 0, "configured": True}
    got = {r.outbox_id: r for r in plain.received}
    assert sorted(got[1].recipients) == ["maria@riverside.example", "sam@riverside.example"]
    assert got[2].recipients == ["drlee@riverside.example"]
    assert got[3].recipients == ["maria@riverside.example"]
    for received in plain.received:
        text = received.message.as_string()
        assert "Jane" not in text and "Roe" not in text
        assert received.sender == "frontdesk@riverside.example"
        assert f"frontdesk show {instance}" in received.message.get_content()
    messages = outbox(fd)
    assert [m["status"] for m in messages] == ["sent"] * 3
    assert [m["message_id"] for m in messages] == [got[i].message_id for i in (1, 2, 3)]
    assert messages[0]["subject"] == "Call Jane Roe"  # the store keeps the full message
    from frontdesk.store.sqlite import os_account

    assert {m["sent_by"] for m in messages} == {os_account()}  # the principal, not --as
    assert messages[1]["to"] == "drlee" and messages[1]["to_kind"] == "name"
    assert {r["person"]: r["status"] for r in messages[0]["recipients"]} == {  # type: ignore[union-attr]
        "maria": "sent", "sam": "sent"}
    assert fd.json("send")["sent"] == []  # nothing is sent twice
    assert len(plain.received) == 3
    assert "sent " in fd.ok("outbox")


def test_phi_titles_sends_the_rendered_message(plain: SmtpServer,
                                               make_home: Callable[..., Frontdesk]) -> None:
    fd = make_home(plain.practice(phi="titles"))
    fd.ok("start", "notify", "--set", "client=Jane Roe")
    fd.ok("send")
    (received,) = plain.received
    assert received.message["Subject"] == "Call Jane Roe"
    assert received.message.get_content().strip() == "Jane Roe asked for a call back"


def test_nobody_to_deliver_to_fails_with_the_reason(plain: SmtpServer,
                                                    make_home: Callable[..., Frontdesk]
                                                    ) -> None:
    """A role whose holders have no address: failed at once, with why; exit 9; after the
    address is added, ``send --retry-failed`` delivers it."""
    people = ("  maria: {roles: [front_desk, owner], email: maria@riverside.example}\n"
              "  kim: {roles: [clinician]}\n")
    fd = make_home(plain.practice(people=people))
    instance = fd.ok("start", "notify", "--set", "client=X").strip()
    fd.ok("fire", instance, "nobody")
    result = fd.run("send")
    assert result.returncode == UNDELIVERED
    assert "failed 1" in result.stderr
    failed = outbox(fd)[1]
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert "no one of role 'clinician' has an email address" in str(failed["last_error"])
    (fd.home / "practice.yaml").write_text(plain.practice(people=people.replace(
        "{roles: [clinician]}", "{roles: [clinician], email: kim@riverside.example}")))
    assert fd.json("send", "--retry-failed")["sent"] == [2]
    assert plain.received[-1].recipients == ["kim@riverside.example"]


def test_server_down_then_up_and_tick_backoff(make_home: Callable[..., Frontdesk]) -> None:
    """Connection refused: the message stays pending (attempts 1, the error kept, exit 9);
    ``tick`` does not retry before the backoff ends, ``send`` retries at once."""
    server = SmtpServer("none")  # not started: connection refused
    fd = make_home(server.practice())
    fd.ok("start", "notify", "--set", "client=X")
    result = fd.run("send")
    assert result.returncode == UNDELIVERED
    (message,) = outbox(fd)
    assert (message["status"], message["attempts"]) == ("pending", 1)
    assert "cannot reach SMTP server" in str(message["last_error"])
    server.start()
    try:
        assert fd.json("tick")["delivery"]["sent"] == []  # backing off
        fd.now = "2026-01-05T09:01:30"
        assert fd.json("tick")["delivery"]["sent"] == [1]
        assert len(server.received) == 1
    finally:
        server.stop()


def test_temporary_then_permanent_replies(plain: SmtpServer,
                                          make_home: Callable[..., Frontdesk]) -> None:
    """451 keeps the message pending with the reply; the retry delivers it. 550 fails it
    for good with the server's reply."""
    fd = make_home(plain.practice())
    fd.ok("start", "notify", "--set", "client=X")
    plain.handler.replies.extend(["451 4.3.0 try again later"])
    assert fd.run("send").returncode == UNDELIVERED
    (message,) = outbox(fd)
    assert message["status"] == "pending" and "451 4.3.0 try again later" in str(
        message["last_error"])
    assert fd.run("send").returncode == 0
    assert outbox(fd)[0]["status"] == "sent" and outbox(fd)[0]["attempts"] == 2
    fd.ok("start", "notify", "--set", "client=Y")
    plain.handler.replies.extend(["550 5.1.1 mailbox unavailable"])
    assert fd.run("send").returncode == UNDELIVERED
    failed = outbox(fd)[1]
    assert failed["status"] == "failed"
    assert failed["last_error"] == "550 5.1.1 mailbox unavailable"


def test_connection_cut_after_data_resends_the_same_message_id(
        plain: SmtpServer, make_home: Callable[..., Frontdesk]) -> None:
    """The server kept the message but the reply never came: the next run sends it again,
    with the same Message-ID (at least once), and the message after it still goes out."""
    fd = make_home(plain.practice())
    fd.ok("start", "notify", "--set", "client=X")
    fd.ok("start", "notify", "--set", "client=Y")
    plain.handler.replies.extend(["drop"])
    result = fd.run("send", "--json")
    assert result.returncode == UNDELIVERED
    fd.ok("send")
    ids = [r.message_id for r in plain.received]
    assert len(ids) == 3 and ids[0] == ids[2] and ids[0] != ids[1]
    assert [m["status"] for m in outbox(fd)] == ["sent", "sent"]


def test_starttls_login_and_password_file(cert: tuple[Path, Path], tmp_path: Path,
                                          make_home: Callable[..., Frontdesk],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """STARTTLS against a certificate the client trusts (SSL_CERT_FILE), with a login whose
    password comes from a 0600 file; a file others may read is refused (exit 3), sending
    nothing."""
    server = SmtpServer("starttls", cert).start()
    try:
        secret = tmp_path / "smtp-password"
        secret.write_text(PASSWORD + "\n")
        secret.chmod(0o644)
        practice = server.practice().replace("password_env: FD_SMTP_PASSWORD",
                                             f"password_file: {secret}")
        fd = make_home(practice)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
        fd.ok("start", "notify", "--set", "client=X")
        result = fd.run("send")
        assert result.returncode == 3
        assert "may be read by group or others" in result.stderr and "chmod 600" in result.stderr
        assert outbox(fd)[0]["attempts"] == 0
        before = outbox(fd)
        for refused in (("send", "--retry-failed"), ("digest", "--send")):
            assert fd.run(*refused).returncode == 3  # checked before anything is written
            assert outbox(fd) == before
        secret.chmod(0o600)
        assert fd.run("send").returncode == 0
        assert len(server.received) == 1
    finally:
        server.stop()


def test_implicit_tls_and_untrusted_certificate(cert: tuple[Path, Path],
                                                make_home: Callable[..., Frontdesk],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Implicit TLS: an untrusted certificate is a temporary failure (nothing sent in
    clear), a trusted one delivers."""
    server = SmtpServer("tls", cert).start()
    try:
        fd = make_home(server.practice())
        fd.ok("start", "notify", "--set", "client=X")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        assert fd.run("send").returncode == UNDELIVERED
        assert "CERTIFICATE_VERIFY_FAILED" in str(outbox(fd)[0]["last_error"])
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
        assert fd.run("send").returncode == 0
        assert len(server.received) == 1
    finally:
        server.stop()


def test_webhook_signed_json(tmp_path: Path, make_home: Callable[..., Frontdesk]) -> None:
    """The webhook gets each message once as JSON signed with HMAC-SHA256; a 503 is
    retried; under ``phi: none`` the document carries no rendered text."""
    hook = WebhookServer("hook-secret")
    try:
        secret = tmp_path / "hook-secret"
        secret.write_text("hook-secret\n")
        secret.chmod(0o600)
        practice = ("practice: Riverside Therapy\npeople:\n  maria: {roles: [front_desk]}\n"
                    f"delivery:\n  webhook: {{url: '{hook.url}', secret_file: {secret}}}\n")
        fd = make_home(practice)
        instance = fd.ok("start", "notify", "--set", "client=Jane Roe").strip()
        hook.statuses.append(503)
        assert fd.run("send").returncode == UNDELIVERED
        assert "HTTP 503" in str(outbox(fd)[0]["last_error"])
        fd.ok("send")
        (got,) = hook.received
        assert got.signed
        document = got.document
        assert (document["instance"], document["playbook"], document["persons"]) == (
            instance, "notify", ["maria"])
        assert document["message_id"] == outbox(fd)[0]["message_id"]
        assert "Jane" not in str(document)
    finally:
        hook.stop()


def test_validation_of_delivery_settings(make_home: Callable[..., Frontdesk]) -> None:
    """A plain-http webhook off this machine and smtp without a sender are located errors."""
    fd = make_home("delivery:\n  smtp: {host: smtp.example.org}\n"
                   "  webhook: {url: 'http://chat.example.org/x', secret_file: /x}\n")
    result = fd.run("validate", str(fd.home / "practice.yaml"))
    assert result.returncode == 3
    assert "delivery.smtp needs delivery.from" in result.stderr + result.stdout
    assert "must use https://" in result.stderr + result.stdout


def test_no_channel_keeps_messages_pending(make_home: Callable[..., Frontdesk]) -> None:
    """Without ``delivery``, ``send`` sends nothing, says why and exits 9; ``tick`` is quiet."""
    fd = make_home("practice: P\n")
    fd.ok("start", "notify", "--set", "client=X")
    result = fd.run("send")
    assert result.returncode == UNDELIVERED and "no channel is configured" in result.stderr
    assert "send:" not in fd.run("tick").stderr
    assert outbox(fd)[0]["status"] == "pending"


def test_the_guide_practice_validates(make_home: Callable[..., Frontdesk]) -> None:
    """The practice.yaml of docs/delivery.md is valid as written."""
    import re

    text = (REPO / "docs" / "delivery.md").read_text("utf-8")
    (practice,) = re.findall(r"<!-- example: delivery-practice -->\n```yaml\n(.*?)```", text,
                             re.S)
    fd = make_home(practice)
    result = fd.run("validate", str(fd.home / "practice.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_message_to_an_unlisted_person_is_a_practice_warning(
        make_home: Callable[..., Frontdesk]) -> None:
    """The notify playbook writes to the person 'maria': a practice without her is warned."""
    fd = make_home("people:\n  mario: {roles: [front_desk, clinician]}\n")
    result = fd.run("validate", str(fd.home / "practice.yaml"))
    assert result.returncode == 0
    assert ("warning[unknown-person]: playbook 'notify' sends messages to 'maria', not a "
            "person in 'people' (did you mean 'mario'?)") in result.stdout
