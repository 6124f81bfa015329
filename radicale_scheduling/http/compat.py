"""What differs between the Radicale versions the package supports.

Radicale 3.1.8 to 3.5.8 call ``do_<METHOD>(environ, base_prefix, path,
user)`` and expect ``(status, headers, body)``.  After ``user``, 3.5.9 and
3.6 pass ``remote_host, remote_useragent``, 3.7 and 3.8 ``request_info``,
3.9 ``user_groups, request_info``: the wrappers (``http.install``) pass
whatever follows ``user`` through untouched.  From 3.5.10 on a response
has a fourth element (the parsed XML request, for logging); its length is
read from Radicale's own ``NOT_ALLOWED``.  tests/run checks the newest
release of every minor series.  Everything else in the HTTP layer goes
through here.
"""

from __future__ import annotations

import io
from http import client
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from radicale import httputils

from radicale_scheduling.http import xml

#: Length of the tuple a ``do_<METHOD>`` returns in this Radicale.
RESPONSE_LENGTH = len(httputils.NOT_ALLOWED)

Response = Tuple[Any, ...]


def response(status: int, headers: Mapping[str, str],
             body: Union[bytes, str, None]) -> Response:
    if RESPONSE_LENGTH == 4:
        return (status, dict(headers), body, None)
    return (status, dict(headers), body)


def text_error(status: int, reason: str) -> Response:
    """A plain-text error, like Radicale's own refusals, with a reason."""
    return response(status, {"Content-Type": "text/plain; charset=utf-8"},
                    reason.encode("utf-8"))


def forbidden(reason: str) -> Response:
    return text_error(client.FORBIDDEN, reason)


def precondition_failed(status: int, precondition: str, reason: str,
                        href: Optional[str] = None) -> Response:
    """An error naming the RFC's precondition element (RFC 4918 s16)."""
    return response(status,
                    {"Content-Type": "application/xml; charset=utf-8"},
                    xml.error_body(precondition, reason, href))


def headers_dict(headers: Any) -> Dict[str, str]:
    return dict(headers.items() if hasattr(headers, "items") else headers)


def content_length(environ: Dict[str, Any]) -> int:
    """The request's Content-Length; ValueError unless it is digits
    (RFC 9110 s8.6): a negative length would read the whole stream."""
    value = str(environ.get("CONTENT_LENGTH") or "0").strip()
    if not value.isdigit() or not value.isascii():
        raise ValueError("Malformed Content-Length: %r" % value[:40])
    return int(value)


def read_body(environ: Dict[str, Any]) -> bytes:
    """Read the request body and put it back for Radicale to read again."""
    length = content_length(environ)
    if not length:
        return b""
    body = environ["wsgi.input"].read(length)
    # CONTENT_LENGTH stays: Radicale refuses a body shorter than declared.
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def replace_body(environ: Dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
