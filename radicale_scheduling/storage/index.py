"""A per-collection index: each item's UID, component, time range, ETag.

Radicale answers "is this UID here?" (every PUT), "what overlaps this
week?" (reports, free-busy) and "where is this meeting?" by loading every
item.  This index answers from one small file of derived data in the
collection's cache folder, never trusted on its own: every use lists the
folder and compares each file's inode, size and mtime (Radicale writes by
atomic rename, so a rewrite changes the inode).  A file changed by hand or
while the plugin was off is read again through Radicale's item cache, so
time ranges are Radicale's own; a missing or corrupt index is rebuilt.
UID lookups check less (names and candidates, see ``find_uid``).
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Set, Tuple

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
        names = set()
        with listing:
            for entry in listing:
                href = entry.name
                names.add(href)
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
        self._listed(current, names)
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
               time_range: Tuple[int, int], etag: str = "",
               name: str = "") -> None:
        """Note an item the server just wrote, so that nobody has to read
        it back to index it (the folder is still checked on every use);
        ``etag`` and ``name`` only as Radicale gave them."""
        st = stat(os.path.join(self._folder, href))
        if st is None:
            return
        before = self._uid_view()
        entries = self._load()
        if before is not None and not self._is_current(before):
            before = None  # reloaded: another process saved the index
        entries[href] = Entry(st.st_ino, st.st_size, st.st_mtime_ns, uid,
                              component, int(time_range[0]),
                              int(time_range[1]), etag, name)
        self._keep(entries, 1)
        if before is not None:
            self._recorded(before, href, entries[href])

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
        the file with that stat; kept with the entries in memory (and saved
        with their next change), so that it is read once per file version,
        and in place, so that the UID lookups' view stays valid."""
        for href, (st, legacy) in found.items():
            self._amend(href, st, lambda entry: entry.legacy_tag is None,
                        legacy_tag=legacy)

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

    # -- UID lookups -------------------------------------------------------------
    #
    # "Which hrefs hold this UID?" is asked for every attendee's calendars on
    # every invitation, where a full validation (a stat per file) costs more
    # than the delivery.  It is answered from the entries of the last full
    # validation, checked by the folder's names (one listdir) and a stat of
    # each file the index names for the UID.  Every write of Radicale and of
    # the server replaces a file by rename, and Radicale refuses a PUT or a
    # MOVE that changes the UID of an existing href (409 no-uid-conflict), so
    # this sees every change that can alter the answer but one: a file
    # rewritten by hand in place with another UID under the same name.  Any
    # listing, poll or report validates in full and catches that one too.

    def find_uid(self, uid: str) -> List[str]:
        """The hrefs whose file holds ``uid``, sorted."""
        try:
            names = set(os.listdir(self._folder))
        except FileNotFoundError:
            return []
        view = self._uid_view()
        if view is not None and view.listed(names):
            hrefs = view.uid_map().get(uid, ())
            if all(_unchanged(view.entries.get(href),
                              os.path.join(self._folder, href))
                   for href in hrefs):
                return sorted(hrefs)
        # Names came or went, or a candidate changed: validate in full.
        entries = self.entries()
        view = self._uid_view()
        if view is not None:
            return sorted(view.uid_map().get(uid, ()))
        return sorted(href for href, entry in entries.items()
                      if entry.uid == uid)

    def _uid_view(self) -> Optional[_UidView]:
        """The view of the entries in memory, None if there is none (it is
        made by a full validation) or another process saved the index."""
        with _memory_lock:
            cached = _memory.get(self._path)
            view = _uid_views.get(self._path)
            if cached is None or view is None or view.entries is not cached[1]:
                return None
        if cached[0] != self._file_stamp():
            return None
        return view

    def _listed(self, current: Dict[str, Entry], names: set) -> None:
        """A full validation listed ``names`` and found ``current``: the
        view of the entries memory now holds, if they are ``current``."""
        stamp = self._file_stamp()
        with _memory_lock:
            cached = _memory.get(self._path)
            if cached is None and not current:
                # Nothing kept yet: the first change is saved, as before.
                cached = _memory[self._path] = [stamp, {}, SAVE_EVERY]
            if cached is not None and cached[1] == current:
                _uid_views[self._path] = _UidView(cached[1], frozenset(
                    name for name in names if name not in current))

    def _is_current(self, view: _UidView) -> bool:
        with _memory_lock:
            cached = _memory.get(self._path)
            return cached is not None and view.entries is cached[1]

    def _recorded(self, before: _UidView, href: str, entry: Entry) -> None:
        """``record`` wrote ``href``: the view carries over, with its name."""
        with _memory_lock:
            cached = _memory.get(self._path)
            if cached is None or cached[1].get(href) != entry:
                return
            by_uid = before.by_uid
            if by_uid is not None:
                by_uid = dict(by_uid)
                old = before.entries.get(href)
                if old is not None:
                    by_uid[old.uid] = [h for h in by_uid[old.uid] if h != href]
                by_uid[entry.uid] = by_uid.get(entry.uid, []) + [href]
            _uid_views[self._path] = _UidView(
                cached[1], before.others - {href}, by_uid)


class _UidView:
    """The entries of a full validation (the very dict memory holds), the
    other names listed then (dot-files, folders, unreadable items), and
    uid -> hrefs, made on first use.  The listed names are the entries'
    keys and ``others``: no second copy of every name is kept (a listing's
    fresh strings, kept past it, would pin the memory of its temporaries)."""

    __slots__ = ("entries", "others", "by_uid")

    def __init__(self, entries: Dict[str, Entry], others: FrozenSet[str],
                 by_uid: Optional[Dict[str, List[str]]] = None) -> None:
        self.entries = entries
        self.others = others
        self.by_uid = by_uid

    def listed(self, names: Set[str]) -> bool:
        """``names`` (a folder's listing) are the names listed then."""
        return self.others <= names and \
            names - self.others == self.entries.keys()

    def uid_map(self) -> Dict[str, List[str]]:
        if self.by_uid is None:
            by_uid: Dict[str, List[str]] = {}
            for href, entry in self.entries.items():
                by_uid.setdefault(entry.uid, []).append(href)
            self.by_uid = by_uid
        return self.by_uid


# index file -> the view of its entries in _memory
_uid_views: Dict[str, _UidView] = {}


def _unchanged(entry: Optional[Entry], path: str) -> bool:
    st = stat(path)
    return entry is not None and st is not None and same_file(entry, st)


def _no_legacy_tag(item: Any) -> Optional[str]:
    """"" when Radicale's item surely holds no legacy schedule tag, None
    when that is not sure: its text names none, and is the text of its
    ETag (a tag taken out by storage/reads.py leaves the ETag the file's)."""
    text = item.serialize()
    if SCHEDULE_TAG.lower() in text.lower() or \
            radicale_item.get_etag(text) != item.etag:
        return None
    return ""


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
        """href -> packed value, to read only (``update`` replaces the
        mapping, never changes it: no copy per sync of a large calendar)."""
        stamp = file_key(stat(self._path))
        with _memory_lock:
            cached = _histories.get(self._path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
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
        return values

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
