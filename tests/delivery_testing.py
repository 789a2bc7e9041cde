"""Real servers on loopback for the delivery tests and the send benchmark: an SMTP server
(``aiosmtpd``; plain, STARTTLS or implicit TLS with a throwaway self-signed certificate, a
login, and failures injected on demand) and an HTTP webhook receiver that checks the HMAC
signature. Nothing here talks to anything outside the machine."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "frontdesk", "s3cret-relay-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for ``localhost`` and 127.0.0.1: (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def outbox_id(self) -> int:
        return int(str(self.message["X-Frontdesk-Outbox"]))


@dataclass
class SmtpHandler:
    """Records every message; ``replies`` injects the reply to the next DATA commands
    (``"451 ..."``, ``"550 ..."``, or ``"drop"``: keep the message, then cut the connection
    before replying, as a crash between acceptance and reply would)."""

    received: list[Received] = field(default_factory=list)
    replies: deque[str] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds before each reply (a slow server: room for a crash)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = self.replies.popleft() if self.replies else "250 OK"
        if reply.startswith("250") or reply == "drop":
            message = email.message_from_bytes(envelope.content or b"",
                                               policy=email.policy.default)
            with self.lock:
                self.received.append(Received(str(envelope.mail_from),
                                              list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        if reply == "drop":
            assert server.transport is not None
            server.transport.close()
            return "250 OK"  # never reaches the client
        return reply


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and \
        data.password == PASSWORD.encode()
    return AuthResult(success=ok)


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1: ``security`` ``none``, ``starttls`` (login
    required) or ``tls``; ``stop`` and ``start`` again on the same port (a server down)."""

    def __init__(self, security: str = "none", cert: tuple[Path, Path] | None = None) -> None:
        self.security = security
        self.port = free_port()
        self.handler = SmtpHandler()
        self._context: ssl.SSLContext | None = None
        if cert is not None:
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._context.load_cert_chain(*cert)
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.security == "starttls":
            kwargs.update(tls_context=self._context, require_starttls=True,
                          authenticator=_authenticate, auth_required=True)
        elif self.security == "tls":
            kwargs.update(ssl_context=self._context)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def practice(self, extra: str = "", phi: str = "none", people: str = "") -> str:
        """A practice.yaml delivering to this server."""
        login = ("         username: frontdesk, password_env: FD_SMTP_PASSWORD,\n"
                 if self.security == "starttls" else "")
        return (f"practice: Riverside Therapy\ntimezone: America/New_York\n"
                f"people:\n{people or PEOPLE}"
                f"delivery:\n  from: frontdesk@riverside.example\n  phi: {phi}\n"
                f"  smtp: {{host: 127.0.0.1, port: {self.port}, security: {self.security},\n"
                f"{login}         timeout: 5}}\n{extra}")


PEOPLE = ("  maria: {roles: [front_desk, owner], email: maria@riverside.example}\n"
          "  sam: {roles: [front_desk], email: sam@riverside.example}\n"
          "  drlee: {roles: [clinician], email: drlee@riverside.example}\n"
          "  kim: {roles: [clinician]}\n")


@dataclass
class Hook:
    """What the webhook receiver got: the document and whether its signature held."""

    document: dict[str, Any]
    signed: bool


class WebhookServer:
    """An HTTP server on 127.0.0.1 recording each POST; ``statuses`` injects replies."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[Hook] = []
        self.statuses: deque[int] = deque()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(outer.secret.encode(), body,
                                                hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(expected,
                                             self.headers.get("X-Frontdesk-Signature", ""))
                status = outer.statuses.popleft() if outer.statuses else 204
                if status < 300:
                    outer.received.append(Hook(json.loads(body), signed))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/frontdesk"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
