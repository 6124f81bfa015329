"""A user's busy time, read from their calendars (RFC 6638 s5, s9.1).

Every opaque calendar of the user counts (``schedule-calendar-transp``);
the collection index (Radicale's time range of each item) rules out,
without opening them, the items that cannot touch the window.  Dates and
floating times are in the calendar's ``calendar-timezone``, else UTC.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, FrozenSet, List, Optional, Tuple

import vobject
from radicale import item as radicale_item
from radicale.log import logger

from radicale_scheduling.itip import freebusy, recurrence, rooms
from radicale_scheduling.storage import paths
from radicale_scheduling.storage.collection import TRANSP_KEY

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage
    from radicale_scheduling.storage.collection import Collection

#: Floating times and dates may be up to 14 hours from UTC.
_SLACK = 14 * 3600
TIMEZONE_KEY = "C:calendar-timezone"
_BUSY_COMPONENTS = ("VEVENT", "VFREEBUSY")
#: RFC 7953 s7.2.4, stored as PROPPATCHed on the inbox.
AVAILABILITY_KEY = "C:calendar-availability"


@functools.lru_cache(maxsize=256)
def _timezone(text: str) -> datetime.tzinfo:
    try:
        cal = vobject.readOne(text)
        return cal.vtimezone.gettzinfo() or datetime.timezone.utc
    except Exception as e:
        logger.warning("Scheduling: unusable calendar-timezone (%s); "
                       "using UTC", e)
        return datetime.timezone.utc


def calendar_timezone(collection: Collection) -> datetime.tzinfo:
    text = collection.get_meta(TIMEZONE_KEY)
    return _timezone(text) if text else datetime.timezone.utc


def is_opaque(collection: Collection) -> bool:
    return (collection.get_meta(TRANSP_KEY) or "opaque") != "transparent"


@dataclass
class Sources:
    """What a user's busy time is computed from, read under the storage
    lock; expanding it (the costly part) needs no lock."""

    me: FrozenSet[str]
    items: List[Tuple[radicale_item.Item, datetime.tzinfo]] = \
        field(default_factory=list)
    availability: Optional[str] = None
    user: str = ""


def gather(storage: Storage, user: str, start: datetime.datetime,
           end: datetime.datetime, skip_uid: Optional[str] = None
           ) -> Sources:
    """The items of ``user``'s opaque calendars that may touch [start,
    end), and their availability.  Caller holds the storage lock."""
    sources = Sources(frozenset(storage.directory.principal(user).addresses),
                      user=user)
    first, last = start.timestamp() - _SLACK, end.timestamp() + _SLACK
    for collection in storage.user_calendars(user):
        if not is_opaque(collection):
            continue
        tz = calendar_timezone(collection)
        hrefs = collection.index.overlapping(first, last, _BUSY_COMPONENTS)
        for _href, item in collection.get_multi(hrefs):
            if item is None:
                continue
            if skip_uid is not None and item.uid == skip_uid:
                continue
            sources.items.append((item, tz))
    inbox = storage.collection(paths.collection_path(user, paths.INBOX))
    sources.availability = inbox.get_meta(AVAILABILITY_KEY) \
        if inbox.exists else None
    return sources


def periods_of(sources: Sources, start: datetime.datetime,
               end: datetime.datetime, budget: recurrence.Budget
               ) -> List[freebusy.Period]:
    """Merged busy periods in [start, end) of what ``gather`` read."""
    periods: List[freebusy.Period] = []
    for item, tz in sources.items:
        periods.extend(freebusy.busy_periods(item.vobject_item, start, end,
                                             tz, budget, sources.me))
    if sources.availability:
        try:
            cal = vobject.readOne(sources.availability)
        except Exception as e:
            logger.warning("Scheduling: unusable calendar-availability of "
                           "%r: %s", sources.user, e)
        else:
            periods.extend(freebusy.busy_periods(
                cal, start, end, datetime.timezone.utc, budget))
    return freebusy.merge(periods)


def busy_time(storage: Storage, user: str, start: datetime.datetime,
              end: datetime.datetime, budget: recurrence.Budget,
              skip_uid: Optional[str] = None) -> List[freebusy.Period]:
    """Merged busy periods of ``user`` in [start, end)."""
    return periods_of(gather(storage, user, start, end, skip_uid), start,
                      end, budget)


def room(storage: Storage, user: str) -> Optional[rooms.Room]:
    """What a room or resource answers from (``itip.rooms``); None for
    other principals."""
    if storage.directory.principal(user).cutype not in rooms.AUTO_TYPES:
        return None
    return rooms.Room(
        lambda start, end, uid, budget: busy_time(
            storage, user, start, end, budget, skip_uid=uid),
        storage.settings.freebusy_max_occurrences)
