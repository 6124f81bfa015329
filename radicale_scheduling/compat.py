"""Every use of a Radicale name that is not plugin API, and the differences
between the Radicale versions the package supports, in one place."""

from __future__ import annotations

import functools
import inspect
import re
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple, Union

import radicale
from radicale import app as radicale_app
from radicale import httputils, xmlutils
from radicale import item as radicale_item
from radicale.app import propfind as radicale_propfind
from radicale.app import report as radicale_report

# -- HTTP ----------------------------------------------------------------
# Radicale has no hook into request handling: the HTTP layer wraps
# Application.do_<METHOD>, Application._read_xml_request_body and the
# functions building PROPFIND and REPORT answers.  What follows ``user`` in
# a do_<METHOD> call differs by version (3.5.9: remote_host,
# remote_useragent; 3.7: request_info; 3.9: user_groups, request_info) and
# is passed through; from 3.5.10 a response has a fourth element.

#: Radicale versions the wrappers were checked against (>= low, < high).
SUPPORTED = ((3, 1, 8), (3, 10))

Response = Tuple[Any, ...]
#: ``arg(name, default=None)``: an argument of a wrapped call, by name.
Args = Callable[..., Any]
Around = Callable[[Args, Callable[[], Any]], Any]
#: Radicale's refusal (makes it ask an anonymous client to log in).
NOT_ALLOWED: Response = httputils.NOT_ALLOWED
NOT_FOUND: Response = httputils.NOT_FOUND
clark = xmlutils.make_clark
make_href = xmlutils.make_href
status_line = xmlutils.make_response
content_type = xmlutils.get_content_type
decode_request = httputils.decode_request
#: iCalendar text as Radicale reads it (its fix-ups, quoted-printable).
read_components = radicale_item.read_components
#: The functions answering PROPFIND and REPORT, by their module.
_FUNCTIONS = {"xml_propfind_response": radicale_propfind,
              "xml_report": radicale_report}


def version_tuple(version: str) -> Tuple[int, ...]:
    """The release numbers of a version: ``3.5.10.dev1`` is (3, 5, 10)
    (PEP 440's release segment)."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    if match is None:
        raise ValueError("Not a version: %r" % version)
    return tuple(int(part) for part in match.group().split("."))


def response(status: int, headers: Mapping[str, str],
             body: Union[bytes, str, None]) -> Response:
    extra = (None,) * (len(NOT_ALLOWED) - 3)
    return (status, dict(headers), body) + extra


def storage_of(app: Any) -> Any:
    return getattr(app, "_storage", None)


def _wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = getattr(owner, name)
    setattr(owner, name, functools.wraps(original)(make(original)))


def wrap_method(method: str, around: Callable[..., Response]) -> None:
    """``do_<method>`` calls ``around(app, environ, base_prefix, path,
    user, call_next)``."""
    def make(original: Any) -> Any:
        def do_method(self: Any, environ: Dict[str, Any], base_prefix: str,
                      path: str, user: str, *rest: Any) -> Response:
            return around(self, environ, base_prefix, path, user, lambda:
                          original(self, environ, base_prefix, path, user,
                                   *rest))
        return do_method
    _wrap(radicale_app.Application, "do_" + method, make)


def wrap_read_xml(around: Callable[[Any, Callable[[], Any]], Any]) -> None:
    """Radicale's reading of XML bodies calls ``around(app, read)``."""
    def make(original: Any) -> Any:
        return lambda self, *args, **kwargs: around(
            self, lambda: original(self, *args, **kwargs))
    _wrap(radicale_app.Application, "_read_xml_request_body", make)


def wrap_function(name: str, around: Around) -> None:
    """``xml_propfind_response`` (called once per resource of a PROPFIND)
    or ``xml_report`` calls ``around(arg, call_next)``."""
    def make(original: Any) -> Any:
        position = {p: i for i, p in
                    enumerate(inspect.signature(original).parameters)}

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            def arg(name: str, default: Any = None) -> Any:
                i = position.get(name, len(args))
                return args[i] if i < len(args) else kwargs.get(name, default)
            return around(arg, lambda: original(*args, **kwargs))
        return wrapper
    _wrap(_FUNCTIONS[name], name, make)


def report_multistatus(result: Any) -> Optional[ET.Element]:
    """The multistatus of an ``xml_report`` result (status, multistatus)."""
    return result[1] if isinstance(result, tuple) else result


def check_http(methods: Iterable[str]) -> None:
    """Refuse to start on a Radicale the wrappers do not fit."""
    low, high = SUPPORTED
    if not low <= version_tuple(radicale.VERSION) < high:
        raise RuntimeError(
            "radicale-scheduling supports Radicale %s to before %s, not %s"
            % (".".join(map(str, low)), ".".join(map(str, high)),
               radicale.VERSION))
    app = radicale_app.Application
    missing = [name for owner, name in [(app, "do_" + m) for m in methods] +
               [(app, "_read_xml_request_body")] +
               [(module, name) for name, module in _FUNCTIONS.items()]
               if not callable(getattr(owner, name, None))]
    if missing:
        raise RuntimeError(
            "radicale-scheduling cannot extend this Radicale %s: missing %s"
            % (radicale.VERSION, ", ".join(missing)))
