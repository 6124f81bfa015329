"""The request every handler receives, and the answers they build."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from http import client
from typing import Any, Callable, Dict, Optional
from urllib.parse import unquote, urlparse

from radicale import pathutils

from radicale_scheduling import compat
from radicale_scheduling.compat import Response
from radicale_scheduling.http import xml
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.storage import Storage, paths


def is_scheduling_app(app: Any) -> bool:
    return isinstance(compat.storage_of(app), Storage)


@dataclass
class Request:
    app: Any
    environ: Dict[str, Any]
    base_prefix: str
    path: str
    user: str
    call_next: Callable[[], Response]

    @property
    def storage(self) -> Storage:
        return compat.storage_of(self.app)

    @functools.cached_property
    def sane_path(self) -> str:
        """The path without leading and trailing slash."""
        return self.path.strip("/")

    @functools.cached_property
    def schedule(self) -> Optional[paths.SchedulePath]:
        return paths.parse(self.path)

    @property
    def owns_path(self) -> bool:
        """The path is the user's principal or lies below it."""
        return bool(self.user) and \
            self.sane_path.split("/", 1)[0] == self.user

    def destination(self) -> Optional[str]:
        """The path of a MOVE's Destination."""
        raw = self.environ.get("HTTP_DESTINATION", "")
        return local_path(self.base_prefix, raw) if raw else None

    def body(self) -> bytes:
        """The body, put back for Radicale to read again."""
        length = content_length(self.environ)
        if not length:
            return b""
        body = self.environ["wsgi.input"].read(length)
        # CONTENT_LENGTH stays: Radicale refuses a body shorter than declared.
        self.environ["wsgi.input"] = io.BytesIO(body)
        return body

    def decode(self, body: bytes) -> str:
        """As Radicale decodes it (the request's charset, fallbacks)."""
        return compat.decode_request(self.app.configuration, self.environ,
                                     body)


def local_path(base_prefix: str, url: str) -> str:
    """The sanitized path of a URL, without the base prefix."""
    path = pathutils.sanitize_path(urlparse(unquote(url.strip())).path)
    if base_prefix and (path + "/").startswith(base_prefix + "/"):
        path = path[len(base_prefix):] or "/"
    return path


def content_length(environ: Dict[str, Any]) -> int:
    """The request's Content-Length; ValueError unless it is digits
    (RFC 9110 s8.6): a negative length would read the whole stream."""
    value = str(environ.get("CONTENT_LENGTH") or "0").strip()
    if not value.isdigit() or not value.isascii():
        raise ValueError("Malformed Content-Length: %r" % value[:40])
    return int(value)


def text_error(status: int, reason: str) -> Response:
    """A plain-text error, like Radicale's own refusals, with a reason."""
    return compat.response(status, {"Content-Type": "text/plain; charset=utf-8"},
                           reason.encode("utf-8"))


def forbidden(reason: str) -> Response:
    return text_error(client.FORBIDDEN, reason)


def refused(e: SchedulingError, precondition: Optional[str] = None
            ) -> Response:
    """An error naming the RFC's precondition element (RFC 4918 s16), its
    own or else ``precondition``; plain text where there is none."""
    name = e.precondition or precondition
    if name is None:
        return text_error(e.status, e.reason)
    return xml_response(e.status, xml.error_body(name, e.reason, e.href))


def xml_response(status: int, body: bytes, kind: str = "application/xml"
                 ) -> Response:
    return compat.response(status, {"Content-Type": kind + "; charset=utf-8"},
                           body)


def with_header(result: Response, name: str, value: Optional[str]) -> Response:
    """``result`` with a header set (``None``: removed)."""
    headers = dict(result[1])  # a mapping or (name, value) pairs
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value
    return (result[0], headers) + tuple(result[2:])
