"""Where scheduling collections live, in URLs and on disk.

Each principal gets ``/<user>/.schedule-inbox/`` and
``/<user>/.schedule-outbox/``.  A leading dot makes a name that plain
Radicale can never have created (it refuses such collection names) and that
its discovery skips, so the names cannot clash with a user's existing
collections, and turning the plugin off leaves a plain Radicale that does
not show them.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Optional

from radicale import pathutils

INBOX = "inbox"
OUTBOX = "outbox"
#: Every scheduling path contains this; a cheap test before parsing.
MARKER = "/.schedule-"
FOLDER_NAMES = {".schedule-inbox": INBOX, ".schedule-outbox": OUTBOX}
KIND_FOLDERS = {kind: name for name, kind in FOLDER_NAMES.items()}


class SchedulePath(NamedTuple):
    """A sanitized path that points into a scheduling collection."""

    user: str
    kind: str  # INBOX or OUTBOX
    href: Optional[str]  # an item inside it, or None for the collection


def parse(sane_path: str) -> Optional[SchedulePath]:
    """Split a sanitized path, if it points into a scheduling collection
    (by hand: Radicale's ``strip_path`` re-sanitizes, on every request)."""
    if MARKER not in "/" + sane_path:
        return None
    parts = sane_path.strip("/").split("/", 2)
    if len(parts) < 2:
        return None
    kind = FOLDER_NAMES.get(parts[1])
    if kind is None:
        return None
    href = parts[2] if len(parts) == 3 and parts[2] else None
    return SchedulePath(parts[0], kind, href)


def folder(root: str, user: str, kind: str) -> str:
    """The folder of ``user``'s collection of ``kind`` under ``root``."""
    if not pathutils.is_safe_filesystem_path_component(user):
        raise pathutils.UnsafePathError(user)
    return os.path.join(root, user, KIND_FOLDERS[kind])


def collection_path(user: str, kind: str) -> str:
    """The collection's path with leading and trailing slash."""
    return "/%s/%s/" % (user, KIND_FOLDERS[kind])
