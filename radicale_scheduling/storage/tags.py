"""Schedule tags (RFC 6638 s3.2.10), kept beside the objects.

The tag is server bookkeeping, so it stays out of the object a client
reads: one small file per scheduling object, named as the item, in a
dot-folder Radicale never lists.
"""

from __future__ import annotations

import os
from typing import Optional

from radicale import pathutils

from radicale_scheduling.itip.text import without_private
from radicale_scheduling.storage import journal
from radicale_scheduling.storage.reads import Reads

TAGS_FOLDER = ".Radicale.scheduling-tags"


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
