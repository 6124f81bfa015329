"""Provisioning (RFC 6638 s2.1, s2.2, s4.3): each user's inbox and outbox,
the default calendar, and the calendar a new invitation goes to."""

from __future__ import annotations

import json
import os
import tempfile
from typing import List, Optional

from radicale import pathutils
from radicale.log import logger

from radicale_scheduling import compat
from radicale_scheduling.storage import paths
from radicale_scheduling.storage.collection import (
    DEFAULT_CALENDAR_KEY,
    Collection,
)
from radicale_scheduling.storage.lock import Locking
from radicale_scheduling.storage.schedule import ScheduleCollections

#: Folder and display name of the calendar made for a user who has none,
#: and of one made for a component the user's calendars do not take (as
#: Apple's and Cyrus' servers do).
DEFAULT_CALENDAR = ("calendar", "Calendar", "VEVENT,VTODO,VJOURNAL")
COMPONENT_CALENDARS = {"VTODO": ("tasks", "Tasks"),
                       "VJOURNAL": ("journal", "Journal")}


class Provisioning(ScheduleCollections, Locking):

    def scheduling_ready(self, user: str) -> bool:
        try:
            return (os.path.isdir(self.schedule_folder(user, paths.INBOX)) and
                    os.path.isdir(self.schedule_folder(user, paths.OUTBOX)))
        except ValueError:
            return False

    def ensure_scheduling(self, user: str) -> None:
        """Create the user's inbox and outbox if missing; without the lock."""
        if not self.scheduling_ready(user):
            with self.acquire_lock("w", user):
                self.provision_locked(user)

    def provision_locked(self, user: str) -> None:
        """As ensure_scheduling, for a caller holding the write lock."""
        if self.scheduling_ready(user):
            return
        self.makedirs_synced(os.path.join(self.root_folder, user))
        for kind in (paths.OUTBOX, paths.INBOX):  # inbox last: it is the flag
            folder = self.schedule_folder(user, kind)
            if not os.path.isdir(folder):
                self._create_folder_with_meta(folder, {
                    "tag": "VCALENDAR", "D:displayname":
                    "Inbox" if kind == paths.INBOX else "Outbox"})
        logger.info("Scheduling: created schedule inbox and outbox of %r",
                    user)

    def _create_folder_with_meta(self, folder: str, meta: dict) -> None:
        """A folder whose props exist the moment it appears."""
        parent = os.path.dirname(folder)
        with tempfile.TemporaryDirectory(prefix=".Radicale.tmp-",
                                         dir=parent) as tmp:
            staged = os.path.join(tmp, "collection")
            self.journal.write_file(os.path.join(staged, compat.PROPS_FILE),
                                    json.dumps(meta, sort_keys=True))
            os.rename(staged, folder)
        self.sync_directory(parent)

    def ensure_default_calendar(self, user: str, create: bool = True
                                ) -> Optional[str]:
        """The user's default calendar, chosen or created on first need.

        RFC 6638 s4.3: an attendee needs a calendar to receive invitations
        into.  The first calendar (by name) that takes events is chosen and
        the choice stored on the inbox, so later calendars do not change
        it.  A calendar is created only when ``create`` (an invitation
        needs one): reading the properties creates nothing, and the inbox
        then shows no default calendar (s9.2).  Without the lock."""
        current = self.default_calendar(user)
        if current and self.is_valid_default_calendar(user, current):
            return current
        if not create and not current and self.scheduling_ready(user) and \
                not any(c.accepts("VEVENT") for c in self.user_calendars(user)):
            return None  # nothing to choose: no need for the write lock
        with self.acquire_lock("w", user):
            return self.ensure_default_calendar_locked(user, create)

    def ensure_default_calendar_locked(self, user: str, create: bool = True
                                       ) -> Optional[str]:
        self.provision_locked(user)
        current = self.default_calendar(user)
        if current and self.is_valid_default_calendar(user, current):
            return current
        if current:
            logger.warning("Scheduling: default calendar %r of %r is gone; "
                           "choosing another", current, user)
        chosen = next((pathutils.unstrip_path(c.path, True)
                       for c in self.user_calendars(user)
                       if c.accepts("VEVENT")), None)
        if chosen is None and create:
            chosen = self._create_calendar(user, *DEFAULT_CALENDAR)
        if chosen is None and not current:
            return None
        inbox = self.collection(paths.collection_path(user, paths.INBOX))
        meta = dict(inbox.get_meta())
        if chosen is None:
            meta.pop(DEFAULT_CALENDAR_KEY, None)
        else:
            meta[DEFAULT_CALENDAR_KEY] = chosen
        inbox.set_meta(meta)
        return chosen

    def user_calendars(self, user: str) -> List[Collection]:
        """The user's own calendar collections, sorted by path."""
        try:
            with os.scandir(os.path.join(self.root_folder, user)) as entries:
                names = sorted(e.name for e in entries if e.is_dir())
        except FileNotFoundError:
            return []
        collections = [self.collection("/%s/%s/" % (user, name))
                       for name in names
                       if pathutils.is_safe_filesystem_path_component(name)]
        return [c for c in collections if c.tag == "VCALENDAR"]

    def _create_calendar(self, user: str, base: str, name: str,
                         components: str) -> str:
        """A new calendar of ``user`` under the first free folder name."""
        folder = os.path.join(self.root_folder, user)
        taken = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        folder_name, counter = base, 1
        while folder_name in taken:
            counter += 1
            folder_name = "%s-%d" % (base, counter)
        path = "/%s/%s/" % (user, folder_name)
        super().create_collection(path, props={
            "tag": "VCALENDAR", "D:displayname": name,
            "C:supported-calendar-component-set": components})
        logger.info("Scheduling: created calendar %r of %r", path, user)
        return path

    def delivery_calendar_locked(self, user: str, component: str) -> str:
        """Where a new invitation with a ``component`` goes (RFC 6638
        s4.3): the default calendar if it takes it, else the first
        calendar (by name) that does, else a new one made for it.  Caller
        holds the write lock."""
        default = self.ensure_default_calendar_locked(user)
        assert default is not None  # created when there was none
        if self.collection(default).accepts(component):
            return default
        for collection in self.user_calendars(user):
            if collection.accepts(component):
                return pathutils.unstrip_path(collection.path, True)
        base, name = COMPONENT_CALENDARS.get(component, (component.lower(),
                                                         component))
        return self._create_calendar(user, base, name, component)

    def default_calendar(self, user: str) -> Optional[str]:
        """The path of the user's schedule-default-calendar-URL, if set."""
        inbox = self.collection(paths.collection_path(user, paths.INBOX))
        if not inbox.exists:
            return None
        return inbox.get_meta(DEFAULT_CALENDAR_KEY) or None

    def is_valid_default_calendar(self, user: str, path: str) -> bool:
        """A calendar of ``user`` that accepts events (section 4.3)."""
        sane = pathutils.strip_path(pathutils.sanitize_path(path))
        parts = sane.split("/")
        if len(parts) != 2 or parts[0] != user or \
                not pathutils.is_safe_filesystem_path_component(parts[1]):
            return False
        collection = self.collection("/%s/" % sane)
        return collection.exists and collection.accepts("VEVENT")
