"""The webhook channel: each message POSTed as JSON to one URL, signed with HMAC-SHA256.

The body is the UTF-8 JSON document of ``content.webhook_payload``; the header
``X-Frontdesk-Signature: sha256=<hex>`` is the HMAC-SHA256 of exactly those bytes under the
secret read from ``secret_file``, so a receiver can check that frontdesk sent it. The URL must
be https (plain http only to this machine, for a local relay or a test). Redirects are not
followed and environment proxies are not used: the document goes to the URL configured, or
nowhere. 2xx is delivered; 408, 425, 429 and 5xx are temporary; any other status permanent; a
connection that cannot be made is temporary.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from ..model import WebhookSettings
from ..network import is_loopback
from .outcome import DELIVERED, Outcome, permanent, temporary

SIGNATURE_HEADER = "X-Frontdesk-Signature"
_TEMPORARY_STATUS = {408, 425, 429}


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be a webhook (None when it may): https, or http to loopback."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return None
    return f"webhook URL '{url}' must use https:// (plain http:// only to this machine)"


def signature(secret: str, body: bytes) -> str:
    """The value of ``X-Frontdesk-Signature`` for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx response is then an HTTPError: a permanent failure


class WebhookChannel:
    """POSTs documents to the configured URL."""

    def __init__(self, settings: WebhookSettings, secret: str) -> None:
        self.settings = settings
        self._secret = secret
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   _NoRedirect())
        self.down: str | None = None

    def send(self, document: dict[str, Any]) -> Outcome:
        """POST ``document``; how it went."""
        if self.down is not None:
            return temporary(self.down)
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        request = urllib.request.Request(self.settings.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(self._secret, body),
            "X-Frontdesk-Message-Id": str(document.get("message_id", "")),
            "User-Agent": "frontdesk"})
        try:
            with self._opener.open(request, timeout=self.settings.timeout) as response:
                response.read()
        except urllib.error.HTTPError as e:
            return _by_status(e.code, e.reason)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            self.down = f"cannot reach the webhook {self._where()}: {getattr(e, 'reason', e)}"
            return temporary(self.down)
        return DELIVERED

    def _where(self) -> str:
        parts = urlsplit(self.settings.url)
        return f"{parts.scheme}://{parts.netloc}"  # never the path: it may hold a token


def _by_status(code: int, reason: object) -> Outcome:
    text = f"HTTP {code} {reason}".strip()
    return temporary(text) if code in _TEMPORARY_STATUS or code >= 500 else permanent(text)
