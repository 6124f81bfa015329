"""The HTTP surface Radicale offers plugins no hook for.

Radicale dispatches a request to ``Application.do_<METHOD>`` and builds
PROPFIND answers in ``radicale.app.propfind.xml_propfind``.  ``install``
wraps exactly those entry points, once per process.  Each wrapper first asks
whether the application's storage is the scheduling storage; if not, it
calls Radicale's own code untouched, so an application configured with
another storage type in the same process behaves as plain Radicale.

The wrapped entry points exist, with these signatures, in every Radicale
the package declares (``SUPPORTED``); ``install`` refuses to start on any
other version rather than guess.
"""

from __future__ import annotations

import functools
import threading
from http import client
from typing import Any, Callable, Dict

import radicale
from defusedxml import DefusedXmlException
from radicale import app as radicale_app
from radicale.app import propfind as radicale_propfind
from radicale.app import report as radicale_report

from radicale_scheduling.http import compat, handlers, polls, properties, xml

#: Radicale versions the wrappers were checked against (>= low, < high).
SUPPORTED = ((3, 1, 8), (3, 10))

_installed = False
_install_lock = threading.Lock()


def _version_tuple(version: str) -> tuple:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_version(version: str = radicale.VERSION) -> None:
    low, high = SUPPORTED
    if not (low <= _version_tuple(version) < high):
        raise RuntimeError(
            "radicale-scheduling supports Radicale %s to before %s, not %s"
            % (".".join(map(str, low)), ".".join(map(str, high)), version))


def _wrap_method(method: str, handler: Callable[..., Any]) -> None:
    application = radicale_app.Application
    original = getattr(application, "do_" + method)

    @functools.wraps(original)
    def do_method(self: Any, environ: Dict[str, Any], base_prefix: str,
                  path: str, user: str, *rest: Any) -> Any:
        def call_next() -> Any:
            return original(self, environ, base_prefix, path, user, *rest)
        if not handlers.is_scheduling_app(self):
            return call_next()
        try:
            compat.content_length(environ)
        except ValueError as e:
            # Radicale answers 500 for this; it is the client's error.
            return compat.text_error(client.BAD_REQUEST, str(e))
        request = handlers.Request(self, environ, base_prefix, path, user,
                                   call_next)
        try:
            return handler(request)
        except xml.RefusedBody as e:
            return compat.text_error(client.BAD_REQUEST, str(e))

    setattr(application, "do_" + method, do_method)


def _wrap_read_xml() -> None:
    """Refuse hostile XML bodies where Radicale reads them, before any
    handler acts on them.

    Radicale parses with defusedxml but only catches ParseError: an entity
    declaration (billion laughs, external entities) escapes as a 500, and
    so does a body nested a thousand levels deep (RecursionError in
    Radicale's logging and in ElementTree's serialization, the latter in
    PROPPATCH after the properties were already written).
    """
    application = radicale_app.Application
    original = application._read_xml_request_body

    @functools.wraps(original)
    def read_xml(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not handlers.is_scheduling_app(self):
            return original(self, *args, **kwargs)
        try:
            root = original(self, *args, **kwargs)
        except DefusedXmlException as e:
            raise xml.RefusedBody(
                "XML with entity declarations or external references is "
                "not accepted (%s)." % type(e).__name__) from e
        xml.check_body(root)
        return root

    application._read_xml_request_body = read_xml  # type: ignore[method-assign]


def install() -> None:
    """Extend Radicale's request handling (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        check_version()
        application = radicale_app.Application
        missing = [m for m in handlers.HANDLERS
                   if not callable(getattr(application, "do_" + m, None))]
        if not callable(getattr(application, "_read_xml_request_body",
                                None)):
            missing.append("_read_xml_request_body")
        for module, name in ((radicale_propfind, "xml_propfind"),
                             (radicale_propfind, "xml_propfind_response"),
                             (radicale_report, "xml_report")):
            if not callable(getattr(module, name, None)):
                missing.append(name)
        if missing:
            raise RuntimeError(
                "radicale-scheduling cannot extend this Radicale %s: "
                "missing %s" % (radicale.VERSION, ", ".join(missing)))
        for method, handler in handlers.HANDLERS.items():
            _wrap_method(method, handler)
        _wrap_read_xml()
        radicale_propfind.xml_propfind = properties.wrap_xml_propfind(
            radicale_propfind.xml_propfind)
        radicale_propfind.xml_propfind_response = \
            polls.wrap_xml_propfind_response(
                radicale_propfind.xml_propfind_response)
        radicale_report.xml_report = properties.wrap_xml_report(
            radicale_report.xml_report)
        _installed = True
