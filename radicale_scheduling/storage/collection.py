"""Radicale's filesystem collection, taught where scheduling folders live."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
import xml.etree.ElementTree as ET
from typing import (
    TYPE_CHECKING,
    Any,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    cast,
)

from radicale import item as radicale_item
from radicale import pathutils
from radicale.item import filter as radicale_filter
from radicale.log import logger
from radicale.storage import multifilesystem

from radicale_scheduling import context
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.storage import journal, paths
from radicale_scheduling.storage.index import Entry, ItemIndex, same_file

if TYPE_CHECKING:
    from radicale_scheduling.storage import Storage

#: Meta key (as Radicale stores PROPPATCHed properties) of a calendar's
#: CALDAV:schedule-calendar-transp value: "opaque" or "transparent".
TRANSP_KEY = "C:schedule-calendar-transp"
#: Meta key of the inbox's CALDAV:schedule-default-calendar-URL: a path.
DEFAULT_CALENDAR_KEY = "C:schedule-default-calendar-URL"
#: What Radicale's prefilter says for "no time range".
_UNBOUNDED = radicale_filter.simplify_prefilters([], "VCALENDAR")[1:3]
#: Folder, in a calendar's folder, of its objects' schedule tags (RFC 6638
#: s3.2.10): one small file per scheduling object, named as the item.  The
#: tag is server bookkeeping, so it is kept out of the object a client
#: reads; Radicale never lists dot-names as items or collections.
TAGS_FOLDER = ".Radicale.scheduling-tags"


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

    # Radicale's multifilesystem reads every item through ``_get(href,
    # verify_href)``: discover (PROPFIND depth 1), get_all (sync tokens,
    # the collection's ETag), get_multi (REPORTs).  Overriding it, and the
    # ``_list`` discover and get_all call first, is the one place the fast
    # path relies on Radicale's internals.

    def _list(self) -> Iterator[str]:
        # Validate the index once per listing, so that files added or
        # edited by hand are read (by Radicale) once, not on every listing.
        if self.tag:
            self.index.entries()
        return super()._list()

    @property
    def etag(self) -> str:
        """Radicale's collection ETag (a hash of every item's href and ETag,
        in listing order, and the properties), from the index when it knows
        every item's ETag: a poll asking the calendar's getetag or getctag
        then reads no item."""
        txn = journal.current()
        if self.tag and (txn is None or not txn.in_folder(
                self._filesystem_path)):  # staged writes: Radicale's way
            indexed = self._etag_from_index()
            if indexed is not None:
                return indexed
        return super().etag

    def _etag_from_index(self) -> Optional[str]:
        entries = self.index.entries()
        # Radicale 3.9's get_all leaves out items over max_resource_size.
        limit = getattr(self._storage, "_max_resource_size", None) \
            if hasattr(pathutils, "file_check_size") else None
        digest = hashlib.sha256()
        for href in super()._list():
            entry = entries.get(href)
            if entry is None or not entry.etag or \
                    limit is not None and entry.size > limit:
                return None  # Radicale's own answer, with its logging
            digest.update((href + "/" + entry.etag).encode())
        digest.update(json.dumps(self.get_meta(), sort_keys=True).encode())
        return '"%s"' % digest.hexdigest()

    def _get(self, href: str, verify_href: bool = True
             ) -> Optional[radicale_item.Item]:
        staged = _staged(os.path.join(self._filesystem_path, href))
        if staged is None:
            indexed = self._get_indexed(href)
            if indexed is not None:
                return indexed
            return self._read_item(href, verify_href)
        if staged.text is None:
            return None
        return radicale_item.Item(collection_path=self.path, href=href,
                                  text=staged.text)

    def _get_indexed(self, href: str) -> Optional[radicale_item.Item]:
        """The item from the index when its entry describes the file as it
        is now (inode, size, mtime) and holds Radicale's ETag: no read."""
        if not self.tag or not pathutils.is_safe_filesystem_path_component(
                href):
            return None
        index = self.index
        entry = index.known(href)
        if entry is None or not entry.etag:
            return None
        try:
            st = os.stat(os.path.join(self._filesystem_path, href))
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or not same_file(entry, st):
            return None
        return IndexedItem(self, href, entry, st)

    def _read_item(self, href: str, verify_href: bool = True
                   ) -> Optional[radicale_item.Item]:
        """Radicale's read of ``href``; its ETag is noted in the index."""
        path = os.path.join(self._filesystem_path, href)
        try:
            before = os.stat(path)
        except OSError:
            before = None
        item = _without_private(super()._get(href, verify_href))
        if item is not None and before is not None and self.tag:
            try:
                after = os.stat(path)
            except OSError:
                return item
            if (after.st_ino, after.st_size, after.st_mtime_ns) == (
                    before.st_ino, before.st_size, before.st_mtime_ns):
                self.index.learn(href, after, item.etag, item.name)
        return item

    def _text_with_etag(self, href: str, etag: str) -> Optional[str]:
        """The file's text if Radicale's ETag of it is ``etag``."""
        try:
            with open(os.path.join(self._filesystem_path, href), "rb") as f:
                # Decoded as Radicale reads items (multifilesystem's _get).
                raw = f.read().decode(self._encoding)
        except (OSError, ValueError):
            return None
        if ical.SCHEDULE_TAG in raw or radicale_item.get_etag(raw) != etag:
            return None
        return raw

    def _item_cache_content(self, item: radicale_item.Item):
        """An inbox holds iTIP messages, not calendar objects: a
        DECLINECOUNTER or REFRESH has no DTSTART (RFC 5546 s3.2.7, s3.2.8)
        and a CANCEL of some instances has no master component, and
        Radicale's time-range indexing refuses both ("Skip broken item"),
        so the owner could neither see nor delete them.  Such a message
        gets the unbounded time range of an item without one."""
        if self.schedule_kind:
            try:
                _ = item.time_range  # computed once, kept by the item
            except Exception as e:
                logger.debug("Scheduling: %r in %r has no time range (%s)",
                             item.href, self.path, e)
                item._time_range = _UNBOUNDED
        return super()._item_cache_content(item)

    def sync(self, old_token: str = ""):
        """Radicale's sync, without removed members in an initial sync
        (RFC 6578 s3.4): a client that starts afresh (python-caldav's
        ``get_items()``) must not be told of items it never saw."""
        token, changes = super().sync(old_token)
        if old_token:
            return token, changes
        return token, [href for href in changes if os.path.isfile(
            os.path.join(self._filesystem_path, href))]

    def read_text(self, href: str) -> Optional[str]:
        """The text of the item file ``href``, None if there is none (no
        server-private property in it, see ``_without_private``)."""
        path = os.path.join(self._filesystem_path, href)
        staged = _staged(path)
        if staged is not None:
            return staged.text
        text = self._read_raw(href)
        return None if text is None else ical.without_private(text)[0]

    def _read_raw(self, href: str) -> Optional[str]:
        try:
            with open(os.path.join(self._filesystem_path, href),
                      encoding="utf-8", newline="") as f:
                return f.read()
        except OSError:
            return None

    # -- schedule tags (RFC 6638 s3.2.10) ---------------------------------------

    def _tag_path(self, href: str) -> str:
        return os.path.join(self._filesystem_path, TAGS_FOLDER, href)

    def _stored_tag(self, href: str) -> str:
        """The tag file's content (staged or on disk), "" for none."""
        path = self._tag_path(href)
        staged = _staged(path)
        if staged is not None:
            return staged.text or ""
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return ""

    def schedule_tag(self, href: str) -> Optional[str]:
        """The schedule tag of item ``href``, None if it has none.

        Objects written before tags moved out of them keep theirs in an
        ``X-RADICALE-SCHEDULE-TAG`` property until their next write,
        which moves it here (``write_delivered``); clients never see it
        (``_without_private``)."""
        if not pathutils.is_safe_filesystem_path_component(href) or \
                not self.exists_href(href):
            return None
        tag = self._stored_tag(href)
        if tag:
            return tag
        staged = _staged(os.path.join(self._filesystem_path, href))
        text = staged.text if staged is not None else self._read_raw(href)
        return ical.without_private(text or "")[1]

    def set_schedule_tag(self, href: str, tag: Optional[str]) -> None:
        """Give ``href`` the schedule tag ``tag`` (None: no tag), in the
        running operation's journal, so that tag and object change
        together."""
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        if (self._stored_tag(href) or None) == tag:
            return
        path = self._tag_path(href)
        txn = journal.current()
        if txn is not None:
            txn.stage(journal.Write(path, tag))
        else:
            self._storage.journal.write_file(path, tag)

    def _keep_legacy_tag(self, href: str) -> None:
        """Before an object's text is replaced: an old object's tag, held
        in the object itself, moves to its tag file."""
        if self.schedule_kind or self._stored_tag(href):
            return
        text = self._read_raw(href)
        legacy = ical.without_private(text)[1] if text else None
        if legacy:
            self.set_schedule_tag(href, legacy)

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
        index = self.__dict__.get("_scheduling_index")
        if index is None:
            index = self.__dict__["_scheduling_index"] = ItemIndex(self)
        return index

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
        self._keep_legacy_tag(href)
        cast("Storage", self._storage).check_size(
            text, "The scheduling object /%s/%s" % (self.path, href))
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

    def store_last(self, href: str, item: radicale_item.Item,
                   schedule_tag: Optional[str] = None):
        """Store the client's object as the operation's last step, after
        the messages its change sent (see storage/journal.py), with its
        schedule tag (None: it is no scheduling object, or no longer)."""
        self.set_schedule_tag(href, schedule_tag)
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
                if href is not None:
                    self.set_schedule_tag(name, None)
            record = {"tree": self._filesystem_path} if href is None else {
                "path": os.path.join(self._filesystem_path, href),
                "text": None}
            txn.finish_with(record, lambda: super(Collection, self).delete(
                href))


class IndexedItem(radicale_item.Item):
    """An item whose ETag, UID, component and time range come from the
    index; its text is read (through Radicale) on first use only.

    PROPFIND and sync-collection ask most items for their ETag alone, so
    a poll costs a stat per item instead of a read, a hash and a parse.
    Relies on Radicale's Item reading its text only through
    ``serialize()`` and ``vobject_item``, and taking the rest from its
    constructor's arguments (3.1 to 3.9)."""

    def __init__(self, collection: Collection, href: str, entry: Entry,
                 st: os.stat_result) -> None:
        # As Radicale's multifilesystem gives last_modified.
        super().__init__(
            collection=collection, href=href,
            last_modified=time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                        time.gmtime(st.st_mtime)),
            text="", etag=entry.etag, uid=entry.uid, name=entry.name,
            component_name=entry.component,
            time_range=(entry.start, entry.end))
        self._full: Optional[radicale_item.Item] = None
        self._entry = entry
        self._stat = st

    def _read(self) -> radicale_item.Item:
        if self._full is None:
            collection = cast(Collection, self.collection)
            assert self.href is not None
            full = collection._read_item(self.href, verify_href=False)
            if full is None:
                raise RuntimeError("Failed to load item %r in %r: gone" % (
                    self.href, collection.path))
            self._full = full
        return self._full

    def serialize(self) -> str:
        if self._full is None and self._entry.verbatim:
            # The file itself when it hashes to Radicale's ETag: then it is
            # the text Radicale's item cache holds (the ETag is its hash).
            collection = cast(Collection, self.collection)
            assert self.href is not None
            text = collection._text_with_etag(self.href, self.etag)
            if text is not None:
                return text
            collection.index.not_verbatim(self.href, self._stat)
        return self._read().serialize()

    @property
    def vobject_item(self):
        return self._read().vobject_item


def _without_private(item: Optional[radicale_item.Item]
                     ) -> Optional[radicale_item.Item]:
    """``item`` as a client may see it: an object stored by an earlier
    version still holds its schedule tag; it is left out, and the ETag
    stays that of the file, so a client's copy stays valid."""
    if item is None:
        return None
    text = item.serialize()
    if ical.SCHEDULE_TAG not in text:
        return item
    return radicale_item.Item(
        collection=item.collection, href=item.href,
        last_modified=item.last_modified, etag=item.etag,
        text=ical.without_private(text)[0], uid=item.uid,
        name=item.name, component_name=item.component_name,
        time_range=item.time_range)


def _staged(path: str) -> Optional[journal.Write]:
    txn = journal.current()
    return None if txn is None or not txn.writes else txn.staged(path)


def _uid_of(write: journal.Write) -> Optional[str]:
    if write.facts is not None:
        return write.facts[0]
    comps = ical.components(ical.parse(write.text or ""))
    return ical.text(comps[0], "uid") if comps else None
