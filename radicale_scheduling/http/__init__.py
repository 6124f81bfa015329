"""The HTTP surface Radicale offers plugins no hook for.

``install`` routes Radicale's request handling through this package
(compat.py says where), once per process.  An application with another
storage type in the same process runs Radicale's code untouched.
"""

from __future__ import annotations

import threading
from http import client
from typing import Any, Callable, Dict

from defusedxml import DefusedXmlException

from radicale_scheduling import compat
from radicale_scheduling.compat import Response
from radicale_scheduling.http import handlers, propfind, xml
from radicale_scheduling.http.request import Request, content_length, is_scheduling_app, text_error

_installed = False
_install_lock = threading.Lock()


def _route(handler: Callable[[Request], Response]) -> Callable[..., Response]:
    def around(app: Any, call_next: Callable[[], Response],
               environ: Dict[str, Any], base_prefix: str, path: str,
               user: str, *_rest: Any) -> Response:
        if not is_scheduling_app(app):
            return call_next()
        try:
            content_length(environ)
        except ValueError as e:
            # Radicale answers 500 for this; it is the client's error.
            return text_error(client.BAD_REQUEST, str(e))
        try:
            return handler(Request(app, environ, base_prefix, path, user,
                                   call_next))
        except xml.RefusedBody as e:
            return text_error(client.BAD_REQUEST, str(e))
    return around


def _read_xml(app: Any, read: Callable[[], Any], *_args: Any) -> Any:
    """Refuse hostile XML bodies where Radicale reads them.  Radicale's
    defusedxml errors (entity declarations) and a body nested a thousand
    levels deep (RecursionError, in PROPPATCH after the properties were
    written) would be 500s."""
    if not is_scheduling_app(app):
        return read()
    try:
        root = read()
    except DefusedXmlException as e:
        raise xml.RefusedBody(
            "XML with entity declarations or external references is "
            "not accepted (%s)." % type(e).__name__) from e
    xml.check_body(root)
    return root


def install() -> None:
    """Extend Radicale's request handling (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        compat.check_http(handlers.HANDLERS)
        for method, handler in handlers.HANDLERS.items():
            compat.wrap_app("do_" + method, _route(handler))
        compat.wrap_app("_read_xml_request_body", _read_xml)
        compat.wrap_function("xml_propfind_response",
                             propfind.around_response)
        compat.wrap_function("xml_report", propfind.around_report)
        _installed = True
