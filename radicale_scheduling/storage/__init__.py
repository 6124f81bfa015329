"""The storage adapter: Radicale's filesystem storage (existing folders
used as they are) plus scheduling, one part per concern: lock.py,
schedule.py, provision.py, collection.py.  ``radicale_scheduling.plugin``
wires in the scheduler and the HTTP layer; the storage imports neither.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

from radicale import config
from radicale import item as radicale_item

from radicale_scheduling import compat, options, principals
from radicale_scheduling.itip.errors import SchedulingError
from radicale_scheduling.storage import paths
from radicale_scheduling.storage.collection import (
    DEFAULT_CALENDAR_KEY,
    TRANSP_KEY,
    Collection,
)
from radicale_scheduling.storage.journal import Journal
from radicale_scheduling.storage.lock import TURNSTILE_FILE
from radicale_scheduling.storage.provision import Provisioning

__all__ = ["Collection", "Storage", "DEFAULT_CALENDAR_KEY", "TRANSP_KEY",
           "TURNSTILE_FILE", "paths"]


class Storage(Provisioning):
    """Radicale's filesystem storage with scheduling collections."""

    def __init__(self, configuration: config.Configuration) -> None:
        configuration = configuration.copy(options.PLUGIN_CONFIG_SCHEMA)
        # Checked before Radicale's storage creates any folder.
        self.settings = options.Settings.from_configuration(configuration)
        super().__init__(configuration)
        self.journal = Journal(self)
        self._principal_names: Dict[str, Tuple[principals.Stamp,
                                               Optional[str]]] = {}
        htpasswd = None
        if configuration.get("auth", "type") == "htpasswd":
            htpasswd = os.path.expanduser(
                configuration.get("auth", "htpasswd_filename"))
        self.directory = principals.Directory(
            self.settings.domain, self.settings.addresses, self.root_folder,
            htpasswd)
        compat.install_time_ranges()
        if self.journal.pending():
            with self.acquire_lock("w"):
                pass  # finishes what a crashed process left

    def principal_display_name(self, user: str) -> Optional[str]:
        """The DAV:displayname of the user's principal folder ("" for none),
        None when that folder is a calendar or address book.  Cached per
        props file, so a principal search reads only what changed."""
        stamp = principals.file_stamp(
            os.path.join(self.root_folder, user, compat.PROPS_FILE))
        cached = self._principal_names.get(user)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        meta = self.collection("/%s/" % user).get_meta() \
            if stamp is not None else {}
        name = None if meta.get("tag") else meta.get("D:displayname") or ""
        self._principal_names[user] = (stamp, name)
        return name

    def find_uid(self, user: str, uid: str, exclude: Optional[str] = None
                 ) -> Optional[Tuple[Collection, str, radicale_item.Item]]:
        """Where ``uid`` is among the user's calendars (collection, href,
        item), skipping the collection at path ``exclude``."""
        for collection in self.user_calendars(user):
            if collection.path == (exclude or "").strip("/"):
                continue
            for href in collection.find_uid(uid):
                item = collection.get_item(href, verify_href=False)
                if item is not None and item.uid == uid:
                    return collection, href, item
        return None

    def find_uid_file(self, user: str, uid: str
                      ) -> Optional[Tuple[Collection, str, str]]:
        """As find_uid, with the file's text instead of a parsed item."""
        for collection in self.user_calendars(user):
            for href in collection.find_uid(uid):
                text = collection.read_text(href)
                if text is not None:
                    return collection, href, text
        return None

    def check_size(self, text: str, what: str) -> None:
        """Refuse an object the server would write for scheduling that is
        over ``scheduling_max_resource_size``: every later read of it would
        be slow, under the lock (RFC 4791 s5.3.2.1 max-resource-size)."""
        limit = self.settings.max_resource_size
        if len(text) <= limit // 4:
            return  # even in UTF-8 at 4 bytes a character
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if size > limit:
            raise SchedulingError(
                "C:max-resource-size", "%s would be %d bytes; this server "
                "allows at most %d (scheduling_max_resource_size)."
                % (what, size, limit))
