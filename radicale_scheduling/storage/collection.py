"""Radicale's filesystem collection, taught where scheduling folders live."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, Iterable, Iterator, List, Optional, Tuple

from radicale import item as radicale_item
from radicale import pathutils
from radicale.item import filter as radicale_filter
from radicale.storage import multifilesystem

from radicale_scheduling import context
from radicale_scheduling.storage import journal, paths
from radicale_scheduling.storage.index import ItemIndex

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

#: Meta key (as Radicale stores PROPPATCHed properties) of a calendar's
#: CALDAV:schedule-calendar-transp value: "opaque" or "transparent".
TRANSP_KEY = "C:schedule-calendar-transp"
#: Meta key of the inbox's CALDAV:schedule-default-calendar-URL: a path.
DEFAULT_CALENDAR_KEY = "C:schedule-default-calendar-URL"
#: What Radicale's prefilter says for "no time range".
_UNBOUNDED = radicale_filter.simplify_prefilters([], "VCALENDAR")[1:3]


class Collection(multifilesystem.Collection):
    """A collection that may be a scheduling inbox or outbox.

    Radicale derives a collection's folder from its path and refuses names
    with a leading dot; the scheduling folders are given their folder here,
    so every inherited operation (listing, reading, deleting items, props)
    works on them unchanged.  They carry Radicale's ``VCALENDAR`` tag, as
    RFC 6638 s2.2 lets an inbox hold only calendar objects, and Radicale's
    rights grant access below a principal to tagged collections only; the
    HTTP layer reports them as inbox and outbox, never as calendars.
    """

    _storage: Storage

    def __init__(self, storage_: Storage, path: str,
                 filesystem_path: Optional[str] = None) -> None:
        schedule = paths.parse(path)
        if filesystem_path is None and schedule is not None:
            filesystem_path = storage_.schedule_folder(schedule.user,
                                                       schedule.kind)
        super().__init__(storage_, path, filesystem_path)
        self.schedule_kind: Optional[str] = (
            schedule.kind if schedule is not None and schedule.href is None
            else None)

    @property
    def accepts_events(self) -> bool:
        """A calendar that can hold VEVENTs (RFC 6638 section 4.3)."""
        return self.accepts("VEVENT")

    def accepts(self, component: str) -> bool:
        """A calendar whose supported-calendar-component-set (RFC 4791
        s5.2.3; all components when unset) has ``component``."""
        if self.tag != "VCALENDAR" or self.schedule_kind:
            return False
        components = self.get_meta("C:supported-calendar-component-set")
        return not components or component in components.split(",")

    @property
    def exists(self) -> bool:
        return os.path.isdir(self._filesystem_path)

    def exists_href(self, href: str) -> bool:
        path = os.path.join(self._filesystem_path, href)
        staged = _staged(path)
        if staged is not None:
            return staged.text is not None
        return os.path.isfile(path)

    # -- reads that see the running operation's staged writes --------------

    def _get(self, href: str, verify_href: bool = True
             ) -> Optional[radicale_item.Item]:
        staged = _staged(os.path.join(self._filesystem_path, href))
        if staged is None:
            return super()._get(href, verify_href)
        if staged.text is None:
            return None
        return radicale_item.Item(collection_path=self.path, href=href,
                                  text=staged.text)

    def read_text(self, href: str) -> Optional[str]:
        """The text of the item file ``href``, None if there is none."""
        path = os.path.join(self._filesystem_path, href)
        staged = _staged(path)
        if staged is not None:
            return staged.text
        try:
            with open(path, encoding="utf-8", newline="") as f:
                return f.read()
        except OSError:
            return None

    def facts(self, href: str) -> Optional[journal.Facts]:
        """(UID, component, time range) of ``href`` as last known."""
        staged = _staged(os.path.join(self._filesystem_path, href))
        if staged is not None:
            return staged.facts
        entry = self.index.entries().get(href)
        return None if entry is None else (
            entry.uid, entry.component, (entry.start, entry.end))

    def cache_folder(self, name: str) -> str:
        """A folder for derived data beside Radicale's own cache."""
        getter = getattr(self._storage, "_get_collection_cache_subfolder",
                         None)
        if getter is not None:
            return getter(self._filesystem_path, ".Radicale.cache", name)
        return os.path.join(self._filesystem_path, ".Radicale.cache", name)

    @property
    def index(self) -> ItemIndex:
        return ItemIndex(self)

    def find_uid(self, uid: str) -> List[str]:
        """The hrefs holding ``uid`` (normally one), from the index."""
        hrefs = self.index.hrefs_with_uid(uid)
        txn = journal.current()
        if txn is None or not txn.writes:
            return hrefs
        staged = txn.in_folder(self._filesystem_path)
        if not staged:
            return hrefs
        result = [h for h in hrefs if h not in staged]
        for href, write in staged.items():
            if write.text is not None and _uid_of(write) == uid:
                result.append(href)
        return result

    def has_uid(self, uid: str) -> bool:
        # Radicale's own check loads every item of the collection.
        return bool(self.find_uid(uid))

    def get_filtered(self, filters: Iterable[ET.Element]
                     ) -> Iterator[Tuple[radicale_item.Item, bool]]:
        """Radicale's prefilter, answered from the index: only the items
        whose time range meets the filter's are loaded."""
        if not self.tag:
            return
        tag, start, end, simple = radicale_filter.simplify_prefilters(
            filters, self.tag)
        if start <= _UNBOUNDED[0] and end >= _UNBOUNDED[1]:
            yield from super().get_filtered(filters)
            return
        hrefs = self.index.overlapping(start, end,
                                       None if tag is None else [tag])
        for _href, item in self.get_multi(hrefs):
            if item is None:
                continue
            if tag is not None and tag != item.component_name:
                continue
            istart, iend = item.time_range
            if istart >= end or iend <= start:
                continue
            yield item, simple and (start <= istart or iend <= end)

    # -- writes ----------------------------------------------------------------

    def store(self, href: str, item: radicale_item.Item):
        """Radicale's own upload, without scheduling (server writes)."""
        return super().upload(href, item)

    def write_delivered(self, href: str, text: str,
                        indexed: Optional[journal.Facts] = None) -> None:
        """A server-made write: the file alone, atomically and synced.

        Inside a scheduling operation the write is staged and made at its
        commit (storage/journal.py).  Radicale's item cache and sync
        history are derived from the files and validated against them
        (content hash or mtime and size), so they catch up on the next
        read or sync; skipping them here makes a delivery cost one synced
        write instead of three.
        """
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        write = journal.Write(os.path.join(self._filesystem_path, href),
                              text, self, href, indexed)
        txn = journal.current()
        if txn is not None:
            txn.stage(write)
        else:
            self.apply_staged(write)

    def apply_staged(self, write: journal.Write) -> None:
        assert write.href is not None and write.text is not None
        # Radicale types the file IO[AnyStr], which nothing binds here.
        atomic: Any = self._atomic_write(write.path, newline="")
        with atomic as f:
            f.write(write.text)
        if write.facts is not None:
            self.index.record(write.href, *write.facts)

    def store_last(self, href: str, item: radicale_item.Item):
        """Store the client's object as the operation's last step, after
        the messages its change sent (see storage/journal.py)."""
        txn = journal.current()
        if txn is None:
            return self.store(href, item)
        text = item.serialize()
        txn.finish_with(
            {"path": os.path.join(self._filesystem_path, href), "text": text},
            lambda: self.store(href, item))
        return None

    def upload(self, href: str, item: radicale_item.Item):
        """A client's write: implicit scheduling (RFC 6638 s3.2.3.1)."""
        ctx = context.current()
        if ctx is None or self.schedule_kind or self.tag != "VCALENDAR":
            return super().upload(href, item)
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        with self._storage.journal.transaction() as txn:
            self._storage.scheduler.upload(self, href, item, ctx)
        return txn.result

    def delete(self, href: Optional[str] = None) -> None:
        """A client's removal (RFC 6638 s3.2.3.2): every scheduling object
        removed sends what its removal means, then Radicale deletes."""
        ctx = context.current()
        if ctx is None or self.schedule_kind or self.tag != "VCALENDAR":
            super().delete(href)
            return
        hrefs = [href] if href is not None else list(self._list())
        with self._storage.journal.transaction() as txn:
            for name in hrefs:
                self._storage.scheduler.delete(self, name, ctx)
            record = {"tree": self._filesystem_path} if href is None else {
                "path": os.path.join(self._filesystem_path, href),
                "text": None}
            txn.finish_with(record, lambda: super(Collection, self).delete(
                href))


def _staged(path: str) -> Optional[journal.Write]:
    txn = journal.current()
    return None if txn is None or not txn.writes else txn.staged(path)


def _uid_of(write: journal.Write) -> Optional[str]:
    if write.facts is not None:
        return write.facts[0]
    from radicale_scheduling.itip import calendar as ical
    comps = ical.components(ical.parse(write.text or ""))
    return ical.text(comps[0], "uid") if comps else None
