"""Objects that are instances only: overrides of a series without its master.

An attendee invited to some instances of a series only gets those
instances, each a component with a RECURRENCE-ID and no master (RFC 6638
s3.2.6, RFC 5546 s3.2.2.6); Apple's server stores and serves such
objects like any other.  Radicale's time-range walk
(``radicale.item.filter.visit_time_ranges``) raises "Main component
missing" for two or more overrides (3.1 also for a lone one), so such
an object is refused on PUT (400), skipped when listing ("Skip broken
item") and breaks calendar-query and free-busy reports.

``install`` wraps that one function, for objects of this shape only:
each override is visited as the single-instance object Radicale already
handles; every other object goes to Radicale's code unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

from radicale.item import filter as radicale_filter

_ORIGINAL: Callable[..., None] = radicale_filter.visit_time_ranges


class _AsMaster:
    """An override seen without its RECURRENCE-ID: Radicale 3.1 takes no
    override as a master, not even a lone one."""

    def __init__(self, comp: Any) -> None:
        self._comp = comp

    def __getattr__(self, name: str) -> Any:
        if name == "recurrence_id":
            raise AttributeError(name)
        return getattr(self._comp, name)


class _OneInstance:
    """The part of a VCALENDAR that ``visit_time_ranges`` reads, holding
    one override (its time zones are already resolved in its values)."""

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
    return bool(comps) and all("recurrence-id" in c.contents
                                  for c in comps)


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
        _ORIGINAL(_OneInstance(child_name, _AsMaster(comp)), child_name, each_range,
                  each_infinity, *args, **kwargs)
        if stopped:
            return


def install() -> None:
    """Replace the walk in Radicale's module (every caller reads it from
    there: items' time range, storage cache, reports, free-busy)."""
    radicale_filter.visit_time_ranges = visit_time_ranges
