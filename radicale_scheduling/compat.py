"""The one boundary with Radicale: every name the package uses that is not
Radicale's public API, and what differs between the versions it supports
(3.1.8 to 3.9).  A Radicale release that moves one of them is fixed here.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import xml.etree.ElementTree as ET
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Optional, Tuple, Union

import radicale
from radicale import app as radicale_app
from radicale import httputils, pathutils, xmlutils
from radicale import item as radicale_item
from radicale.app import propfind as radicale_propfind
from radicale.app import report as radicale_report
from radicale.item import filter as radicale_filter
from radicale.storage import multifilesystem

#: Radicale's file of a collection's properties.
PROPS_FILE = ".Radicale.props"
#: What Radicale's prefilter says for "no time range".
UNBOUNDED = radicale_filter.simplify_prefilters([], "VCALENDAR")[1:3]


class Storage(multifilesystem.Storage):
    """Radicale's filesystem storage, its internals under public names."""

    @property
    def root_folder(self) -> str:
        return self._get_collection_root_folder()

    def fsync(self, f: IO[Any]) -> None:
        """Sync ``f`` if ``[storage] _filesystem_fsync`` says so."""
        self._fsync(f)

    def sync_directory(self, path: str) -> None:
        self._sync_directory(path)

    def makedirs_synced(self, path: str) -> None:
        self._makedirs_synced(path)


class Collection(multifilesystem.Collection):
    """Radicale's filesystem collection, its internals under public names.

    Radicale reads every item through ``_get`` and lists through ``_list``
    (discover, get_all, get_multi); they hand over to ``get_item`` and
    ``hrefs``, which the storage adapter overrides."""

    @property
    def folder(self) -> str:
        return self._filesystem_path

    @property
    def item_encoding(self) -> str:
        return self._encoding

    @property
    def storage(self) -> Any:
        """The storage the collection belongs to."""
        return self._storage

    def radicale_get(self, href: str, verify_href: bool = True
                     ) -> Optional[radicale_item.Item]:
        return super()._get(href, verify_href)

    def get_item(self, href: str, verify_href: bool = True
                 ) -> Optional[radicale_item.Item]:
        return self.radicale_get(href, verify_href)

    def _get(self, href: str, verify_href: bool = True
             ) -> Optional[radicale_item.Item]:
        return self.get_item(href, verify_href)

    def hrefs(self) -> Iterator[str]:
        return super()._list()

    def _list(self) -> Iterator[str]:
        return self.hrefs()

    def cacheable(self, item: radicale_item.Item) -> None:
        """Called before Radicale caches ``item``'s time range."""

    def _item_cache_content(self, item: radicale_item.Item) -> Any:
        self.cacheable(item)
        return super()._item_cache_content(item)

    def cache_folder(self, name: str) -> str:
        """A folder for derived data beside Radicale's own cache (3.6 and
        later may keep caches outside the collection's folder)."""
        getter = getattr(self._storage, "_get_collection_cache_subfolder",
                         None)
        if getter is not None:
            return getter(self._filesystem_path, ".Radicale.cache", name)
        return os.path.join(self._filesystem_path, ".Radicale.cache", name)

    @property
    def listing_limit(self) -> Optional[int]:
        """The size over which 3.9's get_all leaves an item out."""
        if not hasattr(pathutils, "file_check_size"):
            return None
        return getattr(self._storage, "_max_resource_size", None)

    # -- sync-collection (storage/reads.py): Radicale's sync() reads its
    # members through get_all, _update_history_etag and
    # _get_deleted_history_hrefs, handed over here to public names.

    def radicale_update_history_etag(self, href: str, item: Any) -> str:
        """Radicale's history ETag of ``href`` (reads, maybe rewrites, its
        history file); ``item`` needs only ``etag`` (None: deleted)."""
        return super()._update_history_etag(href, item)

    def update_history_etag(self, href: str, item: Any) -> str:
        return self.radicale_update_history_etag(href, item)

    def _update_history_etag(self, href: str, item: Any) -> str:
        return self.update_history_etag(href, item)

    def radicale_deleted_history_hrefs(self) -> Iterator[str]:
        return super()._get_deleted_history_hrefs()

    def deleted_history_hrefs(self) -> Iterator[str]:
        return self.radicale_deleted_history_hrefs()

    def _get_deleted_history_hrefs(self) -> Iterator[str]:
        return self.deleted_history_hrefs()

    def within_listing_limit(self, href: str) -> bool:
        """3.9's get_all check of an item's size (it logs what it skips)."""
        limit = self.listing_limit
        check = getattr(pathutils, "file_check_size", None)
        return limit is None or check is None or bool(
            check(os.path.join(self._filesystem_path, href), limit))


def set_time_range(item: radicale_item.Item, value: Any) -> None:
    item._time_range = value


# -- objects that are instances only ------------------------------------------
# An attendee invited to some instances of a series gets those overrides
# without their master (RFC 6638 s3.2.6, RFC 5546 s3.2.2.6).  Radicale's
# ``visit_time_ranges`` raises "Main component missing" for two or more
# (3.1 also for one): refused on PUT, skipped in listings, breaking reports.
# The walk is wrapped for that shape only: each override is visited as the
# single-instance object Radicale already handles.

_ORIGINAL: Callable[..., None] = radicale_filter.visit_time_ranges


class _AsMaster:
    """An override without its RECURRENCE-ID (3.1 takes none as master)."""

    def __init__(self, comp: Any) -> None:
        self._comp = comp

    def __getattr__(self, name: str) -> Any:
        if name == "recurrence_id":
            raise AttributeError(name)
        return getattr(self._comp, name)


class _OneInstance:
    """What ``visit_time_ranges`` reads of a VCALENDAR, with one override."""

    def __init__(self, name: str, comp: Any) -> None:
        self._list_name = name.lower() + "_list"
        self._comps = [comp]
        self.contents = {name.lower(): self._comps}

    def __getattr__(self, name: str) -> Any:
        if name == self._list_name:
            return self._comps
        raise AttributeError(name)


def instances_only(vobject_item: Any, child_name: str) -> bool:
    """``child_name`` components, each with a RECURRENCE-ID."""
    contents = getattr(vobject_item, "contents", None)
    if not isinstance(contents, dict):
        return False
    comps = contents.get(child_name.lower(), [])
    return bool(comps) and all("recurrence-id" in c.contents for c in comps)


def visit_time_ranges(vobject_item: Any, child_name: str,
                      range_fn: Callable[..., bool],
                      infinity_fn: Callable[..., bool],
                      *args: Any, **kwargs: Any) -> None:
    """Radicale's walk, also over objects made of overrides only."""
    if not instances_only(vobject_item, child_name):
        _ORIGINAL(vobject_item, child_name, range_fn, infinity_fn,
                  *args, **kwargs)
        return
    stopped = False

    # Each instance is reported as a recurrence: Radicale's visitors stop
    # at the first non-recurring range past their window, which would
    # skip the other instances (they are in no particular order).
    def each_range(start: Any, end: Any, is_recurrence: bool) -> bool:
        nonlocal stopped
        stopped = bool(range_fn(start, end, True))
        return stopped

    def each_infinity(start: Any) -> bool:
        nonlocal stopped
        stopped = bool(infinity_fn(start))
        return stopped

    for comp in vobject_item.contents[child_name.lower()]:
        _ORIGINAL(_OneInstance(child_name, _AsMaster(comp)), child_name,
                  each_range, each_infinity, *args, **kwargs)
        if stopped:
            return


_logged: set = set()


def log_once(log: Callable[..., None], message: str, *args: object) -> None:
    """A start line, once per process: Radicale 3.9 loads the storage twice
    (its sharing backend has its own), and the same lines need not be
    logged twice."""
    text = message % args
    if text not in _logged:
        _logged.add(text)
        log("%s", text)


def install_time_ranges() -> None:
    """Replace the walk in Radicale's module, where every caller reads it
    (items' time range, storage cache, reports, free-busy)."""
    radicale_filter.visit_time_ranges = visit_time_ranges


# -- HTTP ----------------------------------------------------------------
# Radicale has no hook into request handling: the HTTP layer wraps
# Application.do_<METHOD>, _read_xml_request_body and the functions building
# PROPFIND and REPORT answers.  Arguments after ``user`` differ by version
# and are passed through; from 3.5.10 a response has a fourth element.

#: Radicale versions the wrappers were checked against (>= low, < high).
SUPPORTED = ((3, 1, 8), (3, 10))

Response = Tuple[Any, ...]
#: ``arg(name, default=None)``: an argument of a wrapped call, by name.
Args = Callable[..., Any]
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
    """PEP 440's release segment: ``3.5.10.dev1`` is (3, 5, 10)."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    if match is None:
        raise ValueError("Not a version: %r" % version)
    return tuple(int(part) for part in match.group().split("."))


def response(status: int, headers: Mapping[str, str],
             body: Union[bytes, str, None]) -> Response:
    extra = (None,) * (len(NOT_ALLOWED) - 3)
    return (status, dict(headers), body) + extra


def _wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = getattr(owner, name)
    setattr(owner, name, functools.wraps(original)(make(original)))


def wrap_app(name: str, around: Callable[..., Any]) -> None:
    """``Application.<name>`` (``do_<METHOD>``, ``_read_xml_request_body``)
    calls ``around(app, call_next, *its arguments)``."""
    def make(original: Any) -> Any:
        return lambda self, *args, **kwargs: around(
            self, lambda: original(self, *args, **kwargs), *args, **kwargs)
    _wrap(radicale_app.Application, name, make)


def wrap_function(name: str, around: Callable[[Args, Callable[[], Any]], Any]
                  ) -> None:
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


def storage_of(app: Any) -> Any:
    return getattr(app, "_storage", None)


def uploaded_item(result: Any) -> Any:
    """The item a collection's ``upload`` stored: 3.9 returns it with the
    item it replaced, earlier versions alone."""
    return result[0] if isinstance(result, tuple) else result


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
