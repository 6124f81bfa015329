"""A per-collection UID index: which file holds which UID.

Scheduling looks up an attendee's copy by UID in each of their calendars,
and Radicale's own UID check on PUT loads every item of the collection.
This index answers both from one small file, kept as derived data in the
collection's cache folder (Radicale ignores it; deleting it is harmless).

Derived data is never trusted on its own: every lookup lists the
collection folder and compares each file's inode, size and mtime with the
index.  Radicale writes items by atomic rename, so any rewrite gives the
file a new inode; a file added, edited or removed by hand, or written while
the plugin was off, is noticed the same way.  Only changed files are read,
and only far enough to find their UID.  A missing or corrupt index file is
rebuilt (with a log line) and rewritten atomically.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from radicale import pathutils
from radicale.log import logger

if TYPE_CHECKING:
    from radicale_scheduling.storage.collection import Collection

VERSION = 1
FILE_NAME = "uid-index.json"
Stamp = Tuple[int, int, int]  # inode, size, mtime_ns


def read_uid(path: str) -> Optional[str]:
    """The first UID property of an iCalendar/vCard file (unfolded)."""
    try:
        with open(path, encoding="utf-8", errors="replace",
                  newline="") as f:
            text = f.read()
    except OSError:
        return None
    text = text.replace("\r\n ", "").replace("\r\n\t", "").replace(
        "\n ", "").replace("\n\t", "")
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.split(";", 1)[0].strip().upper() == "UID":
            return value.strip()
    return None


class UidIndex:
    def __init__(self, collection: Collection) -> None:
        self._collection = collection
        self._folder = collection._filesystem_path
        self._path = os.path.join(collection.cache_folder("scheduling"),
                                  FILE_NAME)

    def _load(self) -> Dict[str, Tuple[Stamp, str]]:
        try:
            with open(self._path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("version") != VERSION:
                raise ValueError("version %r" % data.get("version"))
            return {href: (tuple(entry[0]), entry[1])  # type: ignore[misc]
                    for href, entry in data["entries"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            logger.warning("Scheduling: rebuilding the UID index of %r (%s)",
                           self._collection.path, e)
            return {}

    def _save(self, entries: Dict[str, Tuple[Stamp, str]]) -> None:
        folder = os.path.dirname(self._path)
        try:
            os.makedirs(folder, exist_ok=True)
            tmp = "%s.%d.%d.tmp" % (self._path, os.getpid(),
                                    time.monotonic_ns())
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"version": VERSION, "entries": {
                    href: [list(stamp), uid]
                    for href, (stamp, uid) in entries.items()}}, f)
            os.replace(tmp, self._path)
        except OSError as e:  # derived data: the answer stays right
            logger.warning("Scheduling: cannot save the UID index of %r: %s",
                           self._collection.path, e)

    def entries(self) -> Dict[str, str]:
        """href -> UID for every item file, validated against the folder."""
        known = self._load()
        current: Dict[str, Tuple[Stamp, str]] = {}
        changed = False
        started = time.monotonic()
        try:
            listing = list(os.scandir(self._folder))
        except FileNotFoundError:
            return {}
        for entry in listing:
            href = entry.name
            if not pathutils.is_safe_filesystem_path_component(href):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            old = known.get(href)
            if old is not None and old[0] == stamp:
                current[href] = old
                continue
            uid = read_uid(entry.path)
            if uid is None:
                continue
            current[href] = (stamp, uid)
            changed = True
        if changed or len(current) != len(known):
            self._save(current)
            if not known and len(current) > 1000:
                logger.info("Scheduling: indexed %d items of %r in %.1f s",
                            len(current), self._collection.path,
                            time.monotonic() - started)
        return {href: uid for href, (_, uid) in current.items()}

    def find(self, uid: str) -> List[str]:
        return sorted(href for href, value in self.entries().items()
                      if value == uid)
