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
import struct
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from radicale import pathutils
from radicale.log import logger

from radicale_scheduling import compat

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
                         int(start), int(end), item.etag, item.name or "")
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


# -- history ETags (sync-collection) ------------------------------------------

#: Beside the index: each href's Radicale history ETag as last read.
HISTORY_FILE = "history.json"
HISTORY_VERSION = 1
#: A history file's state: inode, size, mtime (Radicale rewrites one by
#: atomic rename, so any rewrite changes it).
HistoryKey = Tuple[int, int, int]
_PACKED = struct.Struct("<32s32sQQQ")

# history.json path -> [stamp of the file, {href: packed value}, unsaved]
_histories: Dict[str, list] = {}


def _pack(value: List[Any]) -> Any:
    """[etag, history etag, inode, size, mtime_ns] in 88 bytes when the
    ETags are Radicale's SHA-256 ones (a third of the memory), else as is."""
    etag, history_etag = value[0], value[1]
    if len(etag) == 66 and etag[0] == etag[-1] == '"' and \
            len(history_etag) == 64:
        try:
            digest = bytes.fromhex(etag[1:-1])
            history_digest = bytes.fromhex(history_etag)
            if digest.hex() == etag[1:-1] and \
                    history_digest.hex() == history_etag:  # lower case
                return _PACKED.pack(digest, history_digest, *value[2:])
        except (ValueError, TypeError, struct.error):
            pass
    return tuple(value)


def _unpack(value: Any) -> List[Any]:
    if isinstance(value, bytes):
        etag, history_etag, *key = _PACKED.unpack(value)
        return ['"%s"' % etag.hex(), history_etag.hex(), *key]
    return list(value)


class HistoryEtags:
    """What Radicale's history file of each href held (its ETag and history
    ETag), keyed by that file's inode, size and mtime: a sync answers from
    one listing of the history folder instead of reading a pickle per item
    (Radicale's ``_update_history_etag``).  Derived data: a file that
    changed or an entry lost is read the Radicale way, and the cache is
    rewritten now and then (SAVE_EVERY), never trusted on its own."""

    def __init__(self, collection: compat.Collection) -> None:
        self._collection = collection
        self._path = os.path.join(collection.cache_folder("scheduling"),
                                  HISTORY_FILE)

    def known(self) -> Dict[str, Any]:
        """href -> packed value (a copy of the mapping; see ``lookup``)."""
        stamp = file_key(stat(self._path))
        with _memory_lock:
            cached = _histories.get(self._path)
            if cached is not None and cached[0] == stamp:
                return dict(cached[1])
        values: Dict[str, Any] = {}
        if stamp is not None:
            try:
                with open(self._path, encoding="utf-8") as f:
                    data = json.load(f)
                if data.get("version") != HISTORY_VERSION:
                    raise ValueError("version %r" % data.get("version"))
                values = {href: _pack(value) for href, value in
                          data["history"].items() if len(value) == 5}
            except (OSError, ValueError, KeyError, TypeError,
                    AttributeError) as e:
                logger.warning("Scheduling: rebuilding the history cache of "
                               "%r (%s)", self._collection.path, e)
                values = {}
        with _memory_lock:
            _histories[self._path] = [stamp, values, 0]
        return dict(values)

    @staticmethod
    def lookup(known: Dict[str, Any], href: str, etag: str,
               key: Optional[HistoryKey]) -> Optional[str]:
        """The history ETag if the history file (with stat ``key``) is
        the one last read and holds ``etag``, else None."""
        value = known.get(href)
        if value is None or key is None:
            return None
        if not isinstance(value, bytes):
            cached_etag, history_etag, *cached_key = value
            return history_etag if cached_etag == etag and \
                tuple(cached_key) == key else None
        digest, history_digest, *cached_key = _PACKED.unpack(value)
        if tuple(cached_key) != key or len(etag) != 66 or \
                etag[1:-1] != digest.hex():
            return None
        return history_digest.hex()

    def update(self, learnt: Dict[str, List[Any]], present: Iterable[str]
               ) -> None:
        """Keep what a sync learnt ([etag, history etag, inode, size,
        mtime_ns] by href); forget hrefs whose history file is gone
        (``present``: the history folder's names)."""
        names = set(present)
        with _memory_lock:
            cached = _histories.get(self._path)
            if cached is None:
                cached = _histories[self._path] = [None, {}, SAVE_EVERY]
            values = cached[1]
            gone = [href for href in values if href not in names]
            if not learnt and not gone:
                return
            values = dict(values)
            for href in gone:
                del values[href]
            values.update((href, _pack(value))
                          for href, value in learnt.items())
            cached[1] = values
            cached[2] += len(learnt) + len(gone)
            if cached[2] < SAVE_EVERY:
                return
        try:
            self._collection.storage.journal.write_file(
                self._path, json.dumps({"version": HISTORY_VERSION, "history": {
                    href: _unpack(value) for href, value in values.items()}}))
        except OSError as e:  # derived data: answers stay right without it
            logger.warning("Scheduling: cannot save the history cache of "
                           "%r: %s", self._collection.path, e)
            return
        stamp = file_key(stat(self._path))
        with _memory_lock:
            _histories[self._path] = [stamp, values, 0]
