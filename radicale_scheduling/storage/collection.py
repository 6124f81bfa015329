"""Radicale's filesystem collection, taught scheduling: composed, as
Radicale composes its own, of one part per concern (reads, schedule tags,
writes)."""

from __future__ import annotations

from typing import Callable, Optional, Protocol

from radicale import item as radicale_item

from radicale_scheduling import compat, context
from radicale_scheduling.storage import paths
from radicale_scheduling.storage.tags import TAGS_FOLDER
from radicale_scheduling.storage.writes import Writes

__all__ = ["Collection", "Scheduler", "TAGS_FOLDER", "TRANSP_KEY",
           "DEFAULT_CALENDAR_KEY"]

#: Meta key (as Radicale stores PROPPATCHed properties) of a calendar's
#: CALDAV:schedule-calendar-transp value: "opaque" or "transparent".
TRANSP_KEY = "C:schedule-calendar-transp"
#: Meta key of the inbox's CALDAV:schedule-default-calendar-URL: a path.
DEFAULT_CALENDAR_KEY = "C:schedule-default-calendar-URL"


class Collection(Writes):
    """A calendar, address book, or a scheduling inbox or outbox.

    The scheduling folders are given their folder here (Radicale refuses
    names with a leading dot), so every inherited operation works on them
    unchanged.  They carry the ``VCALENDAR`` tag, as RFC 6638 s2.2 lets an
    inbox hold only calendar objects and Radicale's rights grant access
    below a principal to tagged collections only; the HTTP layer reports
    them as inbox and outbox, never as calendars."""

    def __init__(self, storage_: compat.Storage, path: str,
                 filesystem_path: Optional[str] = None) -> None:
        schedule = paths.parse(path)
        if filesystem_path is None and schedule is not None:
            filesystem_path = paths.folder(storage_.root_folder,
                                           schedule.user, schedule.kind)
        super().__init__(storage_, path, filesystem_path)
        self.schedule_kind = (schedule.kind if schedule is not None and
                              schedule.href is None else None)

    def accepts(self, component: str) -> bool:
        """A calendar whose supported-calendar-component-set (RFC 4791
        s5.2.3; all components when unset) has ``component``."""
        if self.tag != "VCALENDAR" or self.schedule_kind:
            return False
        components = self.get_meta("C:supported-calendar-component-set")
        return not components or component in components.split(",")


class Scheduler(Protocol):
    """What the storage asks of scheduling (delivery.connect gives it)."""

    def upload(self, collection: Collection, href: str,
               item: radicale_item.Item, ctx: context.RequestContext
               ) -> None: ...

    def delete(self, collection: Collection, href: str,
               ctx: context.RequestContext) -> None: ...

    def move(self, source: Collection, href: str, target: Collection,
             to_href: str, ctx: context.RequestContext,
             plain_move: Callable[[], None]) -> None: ...
