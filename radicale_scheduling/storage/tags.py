"""Schedule tags (RFC 6638 s3.2.10), kept beside the objects.

The tag is server bookkeeping, so it stays out of the object a client
reads: one small file per scheduling object, named as the item, in a
dot-folder Radicale never lists.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from stat import S_ISREG
from typing import AbstractSet, Any, Dict, List, Optional, Tuple

from radicale import pathutils

from radicale_scheduling.itip.text import without_private
from radicale_scheduling.storage import journal
from radicale_scheduling.storage.index import Entry, file_key, same_file
from radicale_scheduling.storage.reads import IndexedItem, Reads

TAGS_FOLDER = ".Radicale.scheduling-tags"
#: Where a collection object keeps its listing's tags (see listed_tag).
_LISTED = "_scheduling_listed_tags"
FileKey = Tuple[int, int, int]
#: tags folder -> {name: (file key, content)}: a poll reads only the tag
#: files that changed since the last (the journal writes them by rename).
_tag_files: Dict[str, Dict[str, Tuple[FileKey, str]]] = {}
_tag_files_lock = threading.Lock()


@dataclass
class _Listing:
    """What a listing of one collection object learnt of its tags."""

    #: Tag file contents by name (None: staged writes, read one by one).
    stored: Optional[Dict[str, str]]
    hrefs: AbstractSet[str] = frozenset()
    #: schedule_tags() with the hrefs it answered, once needed.
    tags: Optional[Dict[str, str]] = None


class ScheduleTags(Reads):

    def _tag_path(self, href: str) -> str:
        return os.path.join(self.folder, TAGS_FOLDER, href)

    def _stored_tag(self, href: str) -> str:
        """The tag file's content (staged or on disk), "" for none."""
        path = self._tag_path(href)
        staged = journal.staged(path)
        if staged is not None:
            return staged.text or ""
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return ""

    def schedule_tag(self, href: str) -> Optional[str]:
        """The schedule tag of item ``href``, None if it has none.

        An object written before tags moved out of objects keeps its own in
        ``X-RADICALE-SCHEDULE-TAG`` until its next write moves it here."""
        if not pathutils.is_safe_filesystem_path_component(href) or \
                not self.exists_href(href):
            return None
        tag = self._stored_tag(href)
        if tag:
            return tag
        staged = journal.staged(os.path.join(self.folder, href))
        text = staged.text if staged is not None else self.read_raw(href)
        return without_private(text or "")[1]

    def schedule_tags(self) -> Dict[str, str]:
        """href -> schedule tag of each item of the collection that has
        one, as ``schedule_tag(href)`` answers for each: from one listing
        of the tags folder and the legacy tags the index knows."""
        return self._listing_tags()[1]

    def listed_tag(self, item: Any) -> Optional[str]:
        """``schedule_tag(item.href)`` for one item of a listing (PROPFIND
        depth 1 asks it of every item, on one collection object per
        request): from the second item on, from one look at the tags
        folder for this object, and the legacy tag of the index entry the
        item was read from (validated by its stat), else from
        ``schedule_tags()``, worked out once for this object."""
        href = item.href
        listing = self.__dict__.get(_LISTED)
        if listing is None:  # perhaps an item alone (depth 0, a report)
            self.__dict__[_LISTED] = False
            return self.schedule_tag(href)
        if listing is False:
            listing = self.__dict__[_LISTED] = _Listing(
                None if self._staged_here() else self._tag_files())
        entry: Optional[Entry] = getattr(item, "_entry", None) \
            if isinstance(item, IndexedItem) else None
        if listing.stored is not None and entry is not None and \
                entry.legacy_tag is not None:
            return listing.stored.get(href) or entry.legacy_tag or None
        if listing.tags is None:
            listing.hrefs, listing.tags = self._listing_tags()
        return listing.tags.get(href) if href in listing.hrefs else \
            self.schedule_tag(href)

    def _staged_here(self) -> bool:
        """The running operation staged writes of items or tags here."""
        txn = journal.current()
        return txn is not None and bool(
            txn.in_folder(self.folder) or
            txn.in_folder(os.path.join(self.folder, TAGS_FOLDER)))

    def _listing_tags(self) -> Tuple[AbstractSet[str], Dict[str, str]]:
        """(the hrefs answered, href -> tag of those that have one)."""
        entries = self.index.entries() if self.tag else {}
        txn = journal.current()
        if txn is not None and self._staged_here():
            # The running operation's staged writes: one by one.
            hrefs = set(entries)
            for href, write in txn.in_folder(self.folder).items():
                (hrefs.add if write.text is not None else hrefs.discard)(href)
            found = {href: self.schedule_tag(href) for href in hrefs}
            return hrefs, {h: tag for h, tag in found.items() if tag}
        stored = self._tag_files()
        tags: Dict[str, str] = {}
        unknown: List[str] = []
        for href, entry in entries.items():
            tag = stored.get(href) or entry.legacy_tag
            if tag:
                tags[href] = tag
            elif tag is None:
                unknown.append(href)
        if unknown:
            tags.update(self._read_legacy_tags(unknown, entries))
        return entries.keys(), tags

    def _tag_files(self) -> Dict[str, str]:
        """name -> content of each tag file ("" for an empty one)."""
        folder = os.path.join(self.folder, TAGS_FOLDER)
        with _tag_files_lock:
            known = _tag_files.get(folder, {})
        current: Dict[str, Tuple[FileKey, str]] = {}
        try:
            listing = os.scandir(folder)
        except OSError:  # none yet
            listing = None
        if listing is not None:
            with listing:
                for entry in listing:
                    try:
                        st = entry.stat()
                    except OSError:
                        continue
                    if not S_ISREG(st.st_mode):
                        continue  # _stored_tag cannot read it: ""
                    key = file_key(st)
                    assert key is not None
                    old = known.get(entry.name)
                    if old is not None and old[0] == key:
                        current[entry.name] = old
                        continue
                    try:
                        with open(entry.path, encoding="utf-8") as f:
                            text = f.read().strip()
                    except OSError:
                        continue
                    current[entry.name] = (key, text)
        with _tag_files_lock:
            if current:
                _tag_files[folder] = current
            else:
                _tag_files.pop(folder, None)
        return {name: text for name, (_key, text) in current.items()}

    def _read_legacy_tags(self, hrefs: List[str], entries: Dict[str, Entry]
                          ) -> Dict[str, str]:
        """The legacy tags of items the index does not know them of yet,
        read as ``schedule_tag`` reads them, and taught to the index."""
        tags: Dict[str, str] = {}
        learnt: Dict[str, Tuple[os.stat_result, str]] = {}
        for href in hrefs:
            try:
                with open(os.path.join(self.folder, href), encoding="utf-8",
                          newline="") as f:
                    st = os.fstat(f.fileno())
                    text = f.read()
            except (OSError, ValueError):
                continue  # as read_raw's None: no tag
            legacy = without_private(text)[1] or ""
            if legacy:
                tags[href] = legacy
            if same_file(entries[href], st):
                learnt[href] = (st, legacy)
        if learnt:
            self.index.learn_legacy_tags(learnt)
        return tags

    def set_schedule_tag(self, href: str, tag: Optional[str]) -> None:
        """Give ``href`` the tag ``tag`` (None: none), in the running
        operation's journal, so that tag and object change together."""
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        if (self._stored_tag(href) or None) == tag:
            return
        self.storage.journal.stage(journal.Write(self._tag_path(href), tag))

    def keep_legacy_tag(self, href: str) -> None:
        """Before an object's text is replaced: a tag held in the object
        itself moves to its tag file."""
        if self.schedule_kind or self._stored_tag(href):
            return
        text = self.read_raw(href)
        legacy = without_private(text)[1] if text else None
        if legacy:
            self.set_schedule_tag(href, legacy)
