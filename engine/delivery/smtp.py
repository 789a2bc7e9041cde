"""The email channel: one SMTP connection per delivery run, with STARTTLS, implicit TLS or
none, and a login when a username is configured (stdlib ``smtplib``).

Replies map to outcomes: 2xx delivered; 4xx temporary (retried with backoff); 5xx permanent,
kept with the server's reply. A connection that cannot be opened or logged into makes the
channel "down" for the rest of the run (every message it would carry is retried later, without
hammering the server once per message); one dropped mid-message (after DATA, say) fails that
message temporarily and the next message opens a new connection.
"""

from __future__ import annotations

import smtplib
import ssl
from types import TracebackType

from ..model import SmtpSettings
from .outcome import DELIVERED, ChannelDown, Outcome, by_code, permanent, temporary
from .secrets import secret_from_env, secret_from_file


def smtp_password(settings: SmtpSettings) -> str | None:
    """The login password: from ``password_env`` or ``password_file`` (owner-only)."""
    if settings.password_env:
        return secret_from_env(settings.password_env, "SMTP password")
    if settings.password_file:
        return secret_from_file(settings.password_file, "SMTP password file")
    return None


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


class SmtpChannel:
    """Sends emails over one connection, opened on first use and closed by ``close``."""

    def __init__(self, settings: SmtpSettings, password: str | None) -> None:
        self.settings = settings
        self._password = password
        self._conn: smtplib.SMTP | None = None
        self.down: str | None = None  # why the channel is unusable in this run

    def __enter__(self) -> SmtpChannel:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """End the session politely (QUIT), or just drop a broken connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.host}:{s.port}"
        context = ssl.create_default_context()
        try:
            conn: smtplib.SMTP
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                conn.ehlo()
                if s.security == "starttls":
                    conn.starttls(context=context)
                    conn.ehlo()
                if s.username:
                    conn.login(s.username, self._password or "")
            except BaseException:
                conn.close()
                raise
        except smtplib.SMTPAuthenticationError as e:
            raise ChannelDown(f"SMTP login to {where} refused: {e.smtp_code} {_reply(e)}") from e
        except smtplib.SMTPNotSupportedError as e:
            raise ChannelDown(f"SMTP server {where} does not offer STARTTLS") from e
        except smtplib.SMTPResponseException as e:
            raise ChannelDown(f"SMTP server {where}: {e.smtp_code} {_reply(e)}") from e
        except (smtplib.SMTPException, OSError) as e:  # refused, timeout, TLS, DNS
            raise ChannelDown(f"cannot reach SMTP server {where}: {e}") from e
        except UnicodeEncodeError as e:
            raise ChannelDown(f"SMTP login to {where}: the user name or password is not "
                              "plain ASCII") from e
        return conn

    def send(self, message: bytes, sender: str,
             addresses: list[str]) -> dict[str, Outcome]:
        """Send ``message`` from ``sender`` to ``addresses``; the outcome for each address."""
        if self.down is not None:
            return {a: temporary(self.down) for a in addresses}
        if self._conn is None:
            try:
                self._conn = self._connect()
            except ChannelDown as down:
                self.down = down.reason
                return {a: temporary(down.reason) for a in addresses}
        return self._send(self._conn, message, sender, addresses)

    def _send(self, conn: smtplib.SMTP, message: bytes, sender: str,
              addresses: list[str]) -> dict[str, Outcome]:
        try:
            refused = conn.sendmail(sender, addresses, message)
        except smtplib.SMTPRecipientsRefused as e:  # every recipient refused
            return {a: by_code(code, _text(reply)) for a, (code, reply) in e.recipients.items()}
        except smtplib.SMTPServerDisconnected as e:
            self._conn = None  # the next message reconnects
            conn.close()
            return {a: temporary(f"connection lost: {e}") for a in addresses}
        except smtplib.SMTPResponseException as e:  # sender refused, DATA refused, ...
            self._reset(conn)
            return {a: by_code(e.smtp_code, _reply(e)) for a in addresses}
        except UnicodeEncodeError:  # an address smtplib cannot say (non-ASCII, no SMTPUTF8)
            self._reset(conn)
            return {a: permanent("the address is not plain ASCII; this SMTP client cannot "
                                 "send to it") for a in addresses}
        except (smtplib.SMTPException, OSError) as e:
            self._conn = None
            conn.close()
            return {a: temporary(f"connection failed: {e}") for a in addresses}
        return {a: by_code(*_code_text(refused[a])) if a in refused else DELIVERED
                for a in addresses}

    def _reset(self, conn: smtplib.SMTP) -> None:
        """After a refused transaction, RSET so the next message starts clean."""
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._conn = None
            conn.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _code_text(item: tuple[int, bytes]) -> tuple[int, str]:
    return item[0], _text(item[1])
