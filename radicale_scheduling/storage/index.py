"""A per-collection index: each item's UID, component, time range, ETag.

Radicale answers "is this UID here?" (every PUT), "what overlaps this
week?" (reports, free-busy) and "where is this meeting?" by loading every
item.  This index answers from one small file of derived data in the
collection's cache folder, never trusted on its own: every use lists the
folder and compares each file's inode, size and mtime (Radicale writes by
atomic rename, so a rewrite changes the inode).  A file changed by hand or
while the plugin was off is read again through Radicale's item cache, so
time ranges are Radicale's own; a missing or corrupt index is rebuilt.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from radicale import item as radicale_item
from radicale import pathutils
from radicale.log import logger

from radicale_scheduling import compat
from radicale_scheduling.itip.text import SCHEDULE_TAG

VERSION = 3
#: Index files this version reads (2: no etags yet, learnt on reads).
READS_VERSIONS = (2, 3)
FILE_NAME = "index.json"
#: Log how long a first build takes from this many items on.
LOG_BUILD_FROM = 1000


class Entry(NamedTuple):
    ino: int
    size: int
    mtime_ns: int
    uid: str
    component: str
    start: int
    end: int
    #: Radicale's ETag and vobject name ("": not yet; only an item Radicale
    #: read gives them, so they are Radicale's by construction).
    etag: str = ""
    name: str = ""
    #: 0 once the file was seen not to be Radicale's text of the item
    #: (written by hand): it is then read through Radicale at once.
    verbatim: int = 1
    #: The schedule tag an object stored by an earlier version holds in
    #: itself (X-RADICALE-SCHEDULE-TAG, storage/tags.py): "" none, None
    #: not known yet (the file is read once to learn it).
    legacy_tag: Optional[str] = None


#: Changes kept in memory before the file is rewritten (every time would
#: make a PUT O(items) again; what is lost is derived again).
SAVE_EVERY = 64

# index file -> [stamp of the file as loaded or saved, entries, unsaved]
_memory: Dict[str, list] = {}
_memory_lock = threading.Lock()


def stat(path: str) -> Optional[os.stat_result]:
    """``os.stat``, None when the file cannot be seen."""
    try:
        return os.stat(path)
    except OSError:
        return None


def file_key(st: Optional[os.stat_result]) -> Optional[Tuple[int, int, int]]:
    """What tells a file version apart: inode, size, mtime (Radicale
    replaces items by rename, so a rewrite changes the inode)."""
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)


def same_file(entry: Entry, st: os.stat_result) -> bool:
    """The entry describes the file with this stat."""
    return tuple(entry[:3]) == file_key(st)


class ItemIndex:
    def __init__(self, collection: compat.Collection) -> None:
        self._collection = collection
        self._folder = collection.folder
        self._path = os.path.join(collection.cache_folder("scheduling"),
                                  FILE_NAME)

    # -- the file ------------------------------------------------------------

    def _file_stamp(self) -> Optional[Tuple[int, int, int]]:
        return file_key(stat(self._path))

    def _load(self) -> Dict[str, Entry]:
        stamp = self._file_stamp()
        with _memory_lock:
            cached = _memory.get(self._path)
            if cached is not None and cached[0] == stamp:
                return dict(cached[1])
        if stamp is None:
            return {}
        try:
            with open(self._path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("version") not in READS_VERSIONS:
                raise ValueError("version %r" % data.get("version"))
            entries = {href: Entry(*values)
                       for href, values in data["entries"].items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            logger.warning("Scheduling: rebuilding the index of %r (%s)",
                           self._collection.path, e)
            return {}
        with _memory_lock:
            _memory[self._path] = [stamp, entries, 0]
        return dict(entries)

    def _keep(self, entries: Dict[str, Entry], changes: int) -> None:
        """Remember validated entries; write the file now and then."""
        with _memory_lock:
            cached = _memory.get(self._path)
            unsaved = (cached[2] if cached is not None and
                       cached[0] == self._file_stamp() else SAVE_EVERY)
            unsaved += changes
            if unsaved < SAVE_EVERY:
                assert cached is not None  # else unsaved is SAVE_EVERY
                _memory[self._path] = [cached[0], dict(entries), unsaved]
                return
        self._save(entries)

    def _save(self, entries: Dict[str, Entry]) -> None:
        try:
            self._collection.storage.journal.write_file(self._path, json.dumps(
                {"version": VERSION, "entries": {
                    href: list(entry) for href, entry in entries.items()}}))
        except OSError as e:  # derived data: answers stay right without it
            logger.warning("Scheduling: cannot save the index of %r: %s",
                           self._collection.path, e)
            return
        stamp = self._file_stamp()
        with _memory_lock:
            _memory[self._path] = [stamp, dict(entries), 0]

    # -- validation ------------------------------------------------------------

    def entries(self) -> Dict[str, Entry]:
        """href -> Entry for every item file, checked against the folder."""
        known = self._load()
        current: Dict[str, Entry] = {}
        changed = 0
        started = time.monotonic()
        try:
            listing = os.scandir(self._folder)
        except FileNotFoundError:
            return {}
        with listing:
            for entry in listing:
                href = entry.name
                if href.startswith(".") or \
                        not pathutils.is_safe_filesystem_path_component(href):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                old = known.get(href)
                if old is not None and same_file(old, st):
                    current[href] = old
                    continue
                fresh = self._read(href, st)
                if fresh is not None:
                    current[href] = fresh
                    changed += 1
        if changed or len(current) != len(known):
            self._keep(current, changed + abs(len(known) - len(current)))
            if not known and len(current) >= LOG_BUILD_FROM:
                logger.info("Scheduling: indexed %d items of %r in %.1f s",
                            len(current), self._collection.path,
                            time.monotonic() - started)
        return current

    def _read(self, href: str, st: os.stat_result) -> Optional[Entry]:
        try:
            item = self._collection.get_item(href, verify_href=False)
            if item is None:
                return None
            start, end = item.time_range
            return Entry(st.st_ino, st.st_size, st.st_mtime_ns,
                         item.uid or "", item.component_name or "",
                         int(start), int(end), item.etag, item.name or "",
                         legacy_tag=_no_legacy_tag(item))
        except Exception as e:  # a broken item: Radicale skips it too
            logger.warning("Scheduling: cannot index %r in %r: %s", href,
                           self._collection.path, e)
            return None

    def record(self, href: str, uid: str, component: str,
               time_range: Tuple[int, int]) -> None:
        """Note an item the server just wrote, so that nobody has to read
        it back to index it (the folder is still checked on every use)."""
        st = stat(os.path.join(self._folder, href))
        if st is None:
            return
        entries = self._load()
        entries[href] = Entry(st.st_ino, st.st_size, st.st_mtime_ns, uid,
                              component, int(time_range[0]),
                              int(time_range[1]))
        self._keep(entries, 1)

    def known(self, href: str) -> Optional[Entry]:
        """What the index last knew of ``href``, unvalidated: the caller
        compares it with the file's stat (``same_file``)."""
        if self._path not in _memory:
            self._load()
        with _memory_lock:
            cached = _memory.get(self._path)
        return None if cached is None else cached[1].get(href)

    def _amend(self, href: str, st: os.stat_result,
               when: Callable[[Entry], Any], **change: Any) -> None:
        """Change the entry of ``href`` if it describes the file with the
        stat ``st``; in memory only (a lost change costs one more read), so
        a listing stays O(items)."""
        with _memory_lock:
            cached = _memory.get(self._path)
            entry = None if cached is None else cached[1].get(href)
            if cached is not None and entry is not None and when(entry) \
                    and same_file(entry, st):
                cached[1][href] = entry._replace(**change)
                cached[2] += 1

    def not_verbatim(self, href: str, st: os.stat_result) -> None:
        """The file ``href`` is not Radicale's text of its item."""
        self._amend(href, st, lambda entry: entry.verbatim, verbatim=0)

    def learn(self, href: str, st: os.stat_result, etag: str,
              name: str) -> None:
        """The ETag and name Radicale gave the file ``href``."""
        self._amend(href, st, lambda entry: not entry.etag, etag=etag,
                    name=name)

    # -- legacy schedule tags (storage/tags.py) -------------------------------

    def learn_legacy_tags(self, found: Dict[str, Tuple[os.stat_result, str]]
                          ) -> None:
        """The legacy tag ("" none) of each file in ``found``, read from
        the file with that stat; kept (and saved now and then) with the
        entries, so that it is read once per file version."""
        entries = self._load()
        changes = 0
        for href, (st, legacy) in found.items():
            entry = entries.get(href)
            if entry is not None and entry.legacy_tag is None and \
                    same_file(entry, st):
                entries[href] = entry._replace(legacy_tag=legacy)
                changes += 1
        if changes:
            self._keep(entries, changes)

    # -- questions -------------------------------------------------------------

    def overlapping(self, start: float, end: float,
                    components: Optional[Iterable[str]] = None
                    ) -> List[str]:
        """Items whose time range meets [start, end), as Radicale's
        prefilter decides (``istart >= end or iend <= start`` is out)."""
        wanted = set(components) if components is not None else None
        return sorted(
            href for href, entry in self.entries().items()
            if (wanted is None or entry.component in wanted)
            and not (entry.start >= end or entry.end <= start))


def _no_legacy_tag(item: Any) -> Optional[str]:
    """"" when Radicale's item surely holds no legacy schedule tag, None
    when that is not sure: its text names none, and is the text of its
    ETag (a tag taken out by storage/reads.py leaves the ETag the file's)."""
    text = item.serialize()
    if SCHEDULE_TAG.lower() in text.lower() or \
            radicale_item.get_etag(text) != item.etag:
        return None
    return ""
