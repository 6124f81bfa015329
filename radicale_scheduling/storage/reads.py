"""Reads: the running operation's staged writes (storage/journal.py), else
the index when its entry describes the file as it is now (no read), else
Radicale's read, which teaches the index the item's ETag."""

from __future__ import annotations

import hashlib
import json
import os
import time
import xml.etree.ElementTree as ET
from stat import S_ISREG
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set, Tuple, cast

from radicale import item as radicale_item
from radicale import pathutils
from radicale.item import filter as radicale_filter
from radicale.log import logger

from radicale_scheduling import compat
from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.text import SCHEDULE_TAG, without_private
from radicale_scheduling.storage import journal
from radicale_scheduling.storage.index import (
    Entry,
    HistoryEtags,
    HistoryKey,
    ItemIndex,
    file_key,
    same_file,
    stat,
)

#: Where a collection object keeps its validated entries for one more use
#: (Reads._entries_of_request).
_ENTRIES_OF_REQUEST = "_scheduling_entries_of_request"


class Reads(compat.Collection):
    """A collection read through the journal and the index."""

    schedule_kind: Optional[str] = None

    @property
    def index(self) -> ItemIndex:
        index = self.__dict__.get("_scheduling_index")
        if index is None:
            index = self.__dict__["_scheduling_index"] = ItemIndex(self)
        return index

    @property
    def exists(self) -> bool:
        return os.path.isdir(self.folder)

    def exists_href(self, href: str) -> bool:
        path = os.path.join(self.folder, href)
        staged = journal.staged(path)
        if staged is not None:
            return staged.text is not None
        return os.path.isfile(path)

    def read_raw(self, href: str) -> Optional[str]:
        try:
            with open(os.path.join(self.folder, href), encoding="utf-8",
                      newline="") as f:
                return f.read()
        except OSError:
            return None

    def read_text(self, href: str) -> Optional[str]:
        """The file's text without server-private properties; None: none."""
        staged = journal.staged(os.path.join(self.folder, href))
        if staged is not None:
            return staged.text
        text = self.read_raw(href)
        return None if text is None else without_private(text)[0]

    def hrefs(self) -> Iterator[str]:
        # The index validated once per listing: a file added by hand is
        # read (by Radicale) once, not on every listing.
        if self.tag:
            self._entries_of_request()
        return super().hrefs()

    def _entries_of_request(self) -> Dict[str, Entry]:
        """``index.entries()``, validated once for the two uses a PROPFIND
        depth 1 makes of it (the listing, then the calendar's ETag): the
        second use right after the first takes its result, if no operation
        runs and the folder's stamp did not change (Radicale and the
        plugin add, replace and remove items by rename)."""
        txn = journal.current()
        stamp = file_key(stat(self.folder))
        kept = self.__dict__.pop(_ENTRIES_OF_REQUEST, None)
        if kept is not None and txn is None and kept[0] == stamp:
            return kept[1]
        entries = self.index.entries()
        if txn is None and stamp is not None:
            self.__dict__[_ENTRIES_OF_REQUEST] = (stamp, entries)
        return entries

    @property
    def etag(self) -> str:
        """Radicale's collection ETag (a hash of every item's href and ETag,
        and the properties), from the index when it knows every item's
        ETag: a poll for getetag or getctag then reads no item."""
        txn = journal.current()
        if self.tag and (txn is None or not txn.in_folder(self.folder)):
            indexed = self._etag_from_index()
            if indexed is not None:
                return indexed
        return super().etag

    def _etag_from_index(self) -> Optional[str]:
        entries = self._entries_of_request()
        limit = self.listing_limit
        digest = hashlib.sha256()
        for href in compat.Collection.hrefs(self):
            entry = entries.get(href)
            if entry is None or not entry.etag or \
                    limit is not None and entry.size > limit:
                return None  # Radicale's own answer, with its logging
            digest.update((href + "/" + entry.etag).encode())
        digest.update(json.dumps(self.get_meta(), sort_keys=True).encode())
        return '"%s"' % digest.hexdigest()

    def get_item(self, href: str, verify_href: bool = True
                 ) -> Optional[radicale_item.Item]:
        staged = journal.staged(os.path.join(self.folder, href))
        if staged is None:
            indexed = self._get_indexed(href)
            if indexed is not None:
                return indexed
            return self.read_item(href, verify_href)
        if staged.text is None:
            return None
        return radicale_item.Item(collection_path=self.path, href=href,
                                  text=staged.text)

    def _get_indexed(self, href: str) -> Optional[radicale_item.Item]:
        """The item from its index entry, if that matches the file and
        holds Radicale's ETag."""
        if not self.tag or not pathutils.is_safe_filesystem_path_component(
                href):
            return None
        entry = self.index.known(href)
        if entry is None or not entry.etag:
            return None
        st = stat(os.path.join(self.folder, href))
        if st is None or not S_ISREG(st.st_mode) or not same_file(entry, st):
            return None
        return IndexedItem(self, href, entry, st)

    def read_item(self, href: str, verify_href: bool = True
                  ) -> Optional[radicale_item.Item]:
        """Radicale's read of ``href``; its ETag is noted in the index."""
        path = os.path.join(self.folder, href)
        before = file_key(stat(path))
        item = _without_private(self.radicale_get(href, verify_href))
        if item is not None and before is not None and self.tag:
            after = stat(path)
            if after is not None and file_key(after) == before:
                self.index.learn(href, after, item.etag, item.name)
        return item

    def text_with_etag(self, href: str, etag: str) -> Optional[str]:
        """The file's text if Radicale's ETag of it is ``etag``."""
        try:
            with open(os.path.join(self.folder, href), "rb") as f:
                raw = f.read().decode(self.item_encoding)  # as Radicale
        except (OSError, ValueError):
            return None
        if SCHEDULE_TAG in raw or radicale_item.get_etag(raw) != etag:
            return None
        return raw

    def cacheable(self, item: radicale_item.Item) -> None:
        """An inbox holds iTIP messages: a DECLINECOUNTER or REFRESH has no
        DTSTART (RFC 5546 s3.2.7, s3.2.8), a CANCEL of some instances no
        master, and Radicale's time-range indexing skips both as broken, so
        the owner could neither see nor delete them: they get the unbounded
        range of an item without one."""
        if self.schedule_kind:
            try:
                _ = item.time_range  # computed once, kept by the item
            except Exception as e:
                logger.debug("Scheduling: %r in %r has no time range (%s)",
                             item.href, self.path, e)
                compat.set_time_range(item, compat.UNBOUNDED)

    def sync(self, old_token: str = ""):
        """Radicale's sync, without removed members in an initial sync
        (RFC 6578 s3.4): a client starting afresh must not be told of items
        it never saw."""
        return self.sync_members(old_token)[:2]

    def sync_members(self, old_token: str = ""
                     ) -> Tuple[str, List[str], Dict[str, Member]]:
        """Radicale's sync (same token, token file, history files, order
        of changes) and the present members: href -> (ETag, vobject name,
        component).  Radicale reads every item and one history pickle per
        item; here the members come from the index and the history ETags
        from a cache checked against the history folder's listing, so only
        what changed is read or written, by Radicale's own code."""
        txn = journal.current()
        if not self.tag or txn is not None and txn.in_folder(self.folder):
            token, changes = super().sync(old_token)
            present = None
            members: Dict[str, Member] = {}
        else:
            plan = self._sync_plan()
            self.__dict__["_scheduling_sync"] = plan
            try:
                token, changes = super().sync(old_token)
            finally:
                del self.__dict__["_scheduling_sync"]
                HistoryEtags(self).update(plan.learnt, plan.history)
            present = plan.listing
            members = plan.members
        changes = list(changes)
        if not old_token:
            changes = [href for href in changes if (
                href in present if present is not None else
                os.path.isfile(os.path.join(self.folder, href)))]
        return token, changes, members

    def _sync_plan(self) -> _SyncPlan:
        """What Radicale's sync would read: its listing (folder order), each
        item it yields with its ETag, the history folder's files."""
        entries = self.index.entries()
        limit = self.listing_limit
        plan = _SyncPlan()
        for href in compat.Collection.hrefs(self):  # Radicale's listing
            plan.listing.add(href)
            entry = entries.get(href)
            if entry is not None and entry.etag:
                if limit is not None and entry.size > limit and \
                        not self.within_listing_limit(href):
                    continue
                member: Member = (entry.etag, entry.name, entry.component)
            else:  # not indexed (broken?): Radicale's own read
                item = self.get_item(href, verify_href=False)
                if item is None or not self.within_listing_limit(href):
                    continue
                member = (item.etag, item.name or "",
                          item.component_name or "")
            plan.members[href] = member
            plan.items.append(_Listed(href, member[0]))
        plan.folder = self.cache_folder("history")
        try:
            with os.scandir(plan.folder) as listing:
                for found in listing:
                    try:
                        key = file_key(found.stat())
                    except OSError:
                        key = None
                    plan.history[found.name] = key
        except FileNotFoundError:
            pass
        plan.known = HistoryEtags(self).known()
        return plan

    def get_all(self) -> Iterator[radicale_item.Item]:
        plan = self.__dict__.get("_scheduling_sync")
        if plan is None:
            return super().get_all()
        # Within sync(): it uses each item's href and etag only.
        return iter(cast(List[radicale_item.Item], plan.items))

    def update_history_etag(self, href: str, item) -> str:
        plan = self.__dict__.get("_scheduling_sync")
        if plan is None:
            return super().update_history_etag(href, item)
        etag = item.etag if item else ""
        known = HistoryEtags.lookup(plan.known, href, etag,
                                    plan.history.get(href))
        if known is not None:
            return known
        history_etag = super().update_history_etag(href, item)
        key = file_key(stat(os.path.join(plan.folder, href)))
        if key is not None:
            plan.learnt[href] = [etag, history_etag, *key]
            plan.history[href] = key
        return history_etag

    def deleted_history_hrefs(self) -> Iterator[str]:
        """Radicale's: the history folder's names that are no item file."""
        plan = self.__dict__.get("_scheduling_sync")
        if plan is None:
            return super().deleted_history_hrefs()
        return iter([href for href in list(plan.history)
                     if href not in plan.listing and
                     pathutils.is_safe_filesystem_path_component(href)])

    def facts(self, href: str) -> Optional[journal.Facts]:
        """(UID, component, time range) of ``href`` as last known."""
        staged = journal.staged(os.path.join(self.folder, href))
        if staged is not None:
            return staged.facts
        entry = self.index.entries().get(href)
        return None if entry is None else (
            entry.uid, entry.component, (entry.start, entry.end))

    def find_uid(self, uid: str) -> List[str]:
        """The hrefs holding ``uid`` (normally one), from the index."""
        txn = journal.current()
        if txn is None:
            return self.index.find_uid(uid)
        hrefs = txn.uid_lookups.get((self.folder, uid))
        if hrefs is None:
            hrefs = txn.uid_lookups[self.folder, uid] = \
                self.index.find_uid(uid)
        staged = txn.in_folder(self.folder)
        if not staged:
            return list(hrefs)
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
        if start <= compat.UNBOUNDED[0] and end >= compat.UNBOUNDED[1]:
            yield from super().get_filtered(filters)
            return
        hrefs = self.index.overlapping(start, end,
                                       None if tag is None else [tag])
        for _href, item in self.get_multi(hrefs):
            if item is None or tag is not None and \
                    tag != item.component_name:
                continue
            istart, iend = item.time_range
            if istart >= end or iend <= start:
                continue
            yield item, simple and (start <= istart or iend <= end)


#: A present member of a collection: ETag, vobject name, component.
Member = Tuple[str, str, str]


class _Listed(NamedTuple):
    """What Radicale's sync reads of an item."""
    href: str
    etag: str


class _SyncPlan:
    """One sync's members and history files (Reads.sync_members)."""

    def __init__(self) -> None:
        self.listing: Set[str] = set()
        self.members: Dict[str, Member] = {}
        self.items: List[_Listed] = []
        self.folder = ""
        self.history: Dict[str, Optional[HistoryKey]] = {}
        self.known: Dict[str, Any] = {}
        self.learnt: Dict[str, list] = {}


class IndexedItem(radicale_item.Item):
    """An item whose ETag, UID, component and time range come from the
    index; its text is read (through Radicale) on first use only, so a
    poll for ETags costs a stat per item instead of a read and a parse.
    Relies on Radicale's Item reading its text only through ``serialize``
    and ``vobject_item`` (3.1 to 3.9)."""

    def __init__(self, collection: Reads, href: str, entry: Entry,
                 st: os.stat_result) -> None:
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
            collection = cast(Reads, self.collection)
            assert self.href is not None
            full = collection.read_item(self.href, verify_href=False)
            if full is None:
                raise RuntimeError("Failed to load item %r in %r: gone" % (
                    self.href, collection.path))
            self._full = full
        return self._full

    def serialize(self) -> str:
        if self._full is None and self._entry.verbatim:
            # The file itself when it hashes to Radicale's ETag: then it is
            # the text Radicale's item cache holds.
            collection = cast(Reads, self.collection)
            assert self.href is not None
            text = collection.text_with_etag(self.href, self.etag)
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
    if SCHEDULE_TAG not in text:
        return item
    return radicale_item.Item(
        collection=item.collection, href=item.href,
        last_modified=item.last_modified, etag=item.etag,
        text=without_private(text)[0], uid=item.uid,
        name=item.name, component_name=item.component_name,
        time_range=item.time_range)


def _uid_of(write: journal.Write) -> Optional[str]:
    if write.facts is not None:
        return write.facts[0]
    comps = ical.components(ical.parse(write.text or ""))
    return ical.text(comps[0], "uid") if comps else None
