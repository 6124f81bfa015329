"""Writes: a client's PUT or DELETE of a scheduling object (RFC 6638
s3.2.3) runs ``storage.scheduler`` (a ``collection.Scheduler`` the
composition root sets) in one journal transaction, where the server's own
writes are staged (storage/journal.py)."""

from __future__ import annotations

import os
from typing import Any, Optional

from radicale import item as radicale_item
from radicale import pathutils
from radicale.log import logger

from radicale_scheduling import compat, context
from radicale_scheduling.storage import journal
from radicale_scheduling.storage.tags import ScheduleTags


class Writes(ScheduleTags):

    def write_delivered(self, href: str, text: str,
                        indexed: Optional[journal.Facts] = None) -> None:
        """A server-made write: the file alone, atomically and synced.

        Radicale's item cache and sync history are validated against the
        files, so they catch up on the next read: a delivery costs one
        synced write instead of three."""
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        self.keep_legacy_tag(href)
        self.storage.check_size(
            text, "The scheduling object /%s/%s" % (self.path, href))
        self.storage.journal.stage(journal.Write(
            os.path.join(self.folder, href), text, self, href, indexed))

    def apply_staged(self, write: journal.Write) -> None:
        assert write.href is not None and write.text is not None
        self.storage.journal.write_file(write.path, write.text)
        if write.facts is not None:
            self.index.record(write.href, *write.facts)

    def store_last(self, href: str, item: radicale_item.Item,
                   schedule_tag: Optional[str] = None) -> Any:
        """Store the client's object as the operation's last step, after
        the messages its change sent, with its schedule tag (None: not, or
        no longer, a scheduling object)."""
        self.set_schedule_tag(href, schedule_tag)
        txn = journal.current()
        if txn is None:
            return self._radicale_upload(href, item)
        txn.finish_with({"path": os.path.join(self.folder, href),
                         "text": item.serialize()},
                        lambda: self._radicale_upload(href, item))
        return None

    def _radicale_upload(self, href: str, item: radicale_item.Item) -> Any:
        """Radicale's upload; the item it gives back is noted in the index,
        so that the next UID lookup need not validate the whole folder."""
        result = super().upload(href, item)
        uploaded = compat.uploaded_item(result)
        if self.tag and isinstance(uploaded, radicale_item.Item):
            try:
                self.index.record(href, uploaded.uid or "",
                                  uploaded.component_name or "",
                                  uploaded.time_range, uploaded.etag,
                                  uploaded.name or "")
            except Exception as e:  # derived data: the next use reads it
                logger.debug("Scheduling: %r not indexed on upload: %s",
                             href, e)
        return result

    def upload(self, href: str, item: radicale_item.Item) -> Any:
        """A client's write: implicit scheduling (RFC 6638 s3.2.3.1)."""
        ctx = context.current()
        if ctx is None or self.schedule_kind or self.tag != "VCALENDAR":
            return self._radicale_upload(href, item)
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        with self.storage.journal.transaction() as txn:
            self.storage.scheduler.upload(self, href, item, ctx)
        return txn.result

    def delete(self, href: Optional[str] = None) -> None:
        """A client's removal (RFC 6638 s3.2.3.2): every scheduling object
        removed sends what its removal means, then Radicale deletes."""
        ctx = context.current()
        if ctx is None or self.schedule_kind or self.tag != "VCALENDAR":
            super().delete(href)
            return
        hrefs = [href] if href is not None else list(self.hrefs())
        with self.storage.journal.transaction() as txn:
            for name in hrefs:
                self.storage.scheduler.delete(self, name, ctx)
                if href is not None:
                    self.set_schedule_tag(name, None)
            record = {"tree": self.folder} if href is None else {
                "path": os.path.join(self.folder, href), "text": None}
            txn.finish_with(record, lambda: super(Writes, self).delete(href))
