"""The storage adapter: Radicale's multifilesystem storage plus scheduling.

Radicale loads ``radicale_scheduling.Storage`` for
``[storage] type = radicale_scheduling``.  It is Radicale's own filesystem
storage (a subclass, so existing collection folders are used as they are)
that also knows each principal's schedule inbox and outbox, the default
calendar of RFC 6638 section 4.3, and the server's calendar-user addresses.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Dict, Iterable, Iterator, Optional, Set, Tuple

from radicale import config, pathutils, types
from radicale import item as radicale_item
from radicale.log import logger
from radicale.storage import multifilesystem

from radicale_scheduling import context, options, principals
from radicale_scheduling.storage import instances, paths
from radicale_scheduling.storage.collection import (
    DEFAULT_CALENDAR_KEY,
    TRANSP_KEY,
    Collection,
)
from radicale_scheduling.storage.journal import Journal

__all__ = ["Collection", "Storage", "DEFAULT_CALENDAR_KEY", "TRANSP_KEY"]

#: The lock file waiting writers hold, beside Radicale's ``.Radicale.lock``.
TURNSTILE_FILE = ".Radicale.lock.turnstile"
#: Radicale's file of a collection's properties (multifilesystem).
_PROPS_FILE = ".Radicale.props"
#: Name and properties of the calendar created for a user who has none.
DEFAULT_CALENDAR_NAME = "calendar"
DEFAULT_CALENDAR_PROPS = {
    "tag": "VCALENDAR",
    "D:displayname": "Calendar",
    "C:supported-calendar-component-set": "VEVENT,VTODO,VJOURNAL",
}
#: Folder and display name of a calendar made for a component the user's
#: calendars do not take.
COMPONENT_CALENDARS = {"VTODO": ("tasks", "Tasks"),
                       "VJOURNAL": ("journal", "Journal")}


_logged: Set[str] = set()


def _log_once(log: Callable[..., None], message: str, *args: object) -> None:
    """A start line, once per process: Radicale 3.9 loads the storage
    twice (its sharing backend has its own), and the same configuration
    need not be announced twice."""
    text = message % args
    if text not in _logged:
        _logged.add(text)
        log("%s", text)


def _check_hook(configuration: config.Configuration,
                settings: options.Settings) -> None:
    """Radicale's own ``[hook] type = email`` (3.5.5 and later) mails every
    attendee of a saved event itself; with the plugin's iMIP mail on too,
    an outside attendee would get two mails for one change."""
    try:
        hook = configuration.get("hook", "type")
    except KeyError:
        return
    if hook == "email" and settings.smtp_enabled:
        raise RuntimeError(
            "[hook] type = email and [storage] scheduling_smtp_host are both "
            "set: attendees would get two mails for one change; keep one "
            "(scheduling_smtp_host sends standard iTIP invitations)")


class Storage(multifilesystem.Storage):
    """Radicale's filesystem storage with scheduling collections."""

    _collection_class = Collection

    def __init__(self, configuration: config.Configuration) -> None:
        configuration = configuration.copy(options.PLUGIN_CONFIG_SCHEMA)
        # Checked before Radicale's storage creates any folder.
        settings = options.Settings.from_configuration(configuration)
        _check_hook(configuration, settings)
        super().__init__(configuration)
        # Writers before new readers (acquire_lock): Radicale's own file
        # lock code, on a file beside Radicale's lock.
        self._turnstile = pathutils.RwLock(
            os.path.join(self._filesystem_folder, TURNSTILE_FILE))
        self._lock_depth = threading.local()
        self.settings = settings
        self.journal = Journal(self)
        self._principal_names: Dict[str, Tuple[Optional[Tuple[int, int]],
                                               Optional[str]]] = {}
        htpasswd = None
        if configuration.get("auth", "type") == "htpasswd":
            htpasswd = os.path.expanduser(
                configuration.get("auth", "htpasswd_filename"))
        self.directory = principals.Directory(
            self.settings.domain, self.settings.addresses_file,
            self._get_collection_root_folder(), htpasswd,
            lambda message: logger.error("%s (keeping the previous version)",
                                         message))
        if not self.settings.domain:
            _log_once(logger.info, "Scheduling: no scheduling_domain; only user names "
                        "that are e-mail addresses and the addresses file "
                        "give users mailto: addresses")
        from radicale_scheduling import delivery
        self.scheduler = delivery.connect(self)
        # Imported here: the HTTP layer imports this module.
        from radicale_scheduling import http
        http.install()
        instances.install()
        if self.journal.pending():
            with self.acquire_lock("w"):
                pass  # finishes what a crashed process left
        _log_once(logger.info, "Scheduling (RFC 6638) enabled: domain %r, "
                  "addresses file %r", self.settings.domain,
                  self.settings.addresses_file)

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, *args, **kwargs) -> Iterator[None]:
        """Radicale's lock, taken writer first; a writer first finishes
        any scheduling operation a killed process left half done
        (storage/journal.py).

        Radicale's lock is a shared/exclusive lock on one file, which
        grants new readers while a writer waits: under a stream of
        free-busy lookups a PUT waited for ever.  Everyone first passes
        a turnstile, a second file lock held exclusively only while
        taking Radicale's: a writer holds it while it waits, so readers
        that come after it wait behind it, in every thread and process
        sharing the folder.  A thread that already holds the lock (a
        nested read, as Radicale's PROPFIND of shared collections does)
        takes Radicale's at once: waiting at the turnstile for a writer
        that waits for it would never end."""
        depth = getattr(self._lock_depth, "value", 0)
        with contextlib.ExitStack() as stack:
            if depth:
                stack.enter_context(super().acquire_lock(mode, *args,
                                                         **kwargs))
            else:
                with self._turnstile.acquire("w"):
                    stack.enter_context(super().acquire_lock(mode, *args,
                                                             **kwargs))
            self._lock_depth.value = depth + 1
            try:
                if mode == "w":
                    self.journal.recover()
                yield
            finally:
                self._lock_depth.value = depth

    # -- where things are ----------------------------------------------------

    def schedule_folder(self, user: str, kind: str) -> str:
        if not pathutils.is_safe_filesystem_path_component(user):
            raise pathutils.UnsafePathError(user)
        return os.path.join(self._get_collection_root_folder(), user,
                            paths.KIND_FOLDERS[kind])

    def discover(self, path: str, depth: str = "0", *args, **kwargs
                 ) -> Iterator[types.CollectionOrItem]:
        schedule = paths.parse(path)
        if schedule is None:
            yield from super().discover(path, depth, *args, **kwargs)
            return
        if not pathutils.is_safe_filesystem_path_component(schedule.user):
            return
        collection = self._collection_class(
            self, paths.collection_path(schedule.user, schedule.kind))
        if not collection.exists:
            return
        if schedule.href is not None:
            if not pathutils.is_safe_filesystem_path_component(schedule.href):
                return
            item = collection._get(schedule.href)
            if item is not None:
                yield item
            return
        yield collection
        if depth != "0":
            for href in collection._list():
                item = collection._get(href, verify_href=False)
                if item is not None:
                    yield item

    def create_collection(self, href: str, *args, **kwargs):
        if paths.parse(href) is not None:
            raise ValueError("Scheduling collections are created by the "
                             "server: %r" % href)
        return super().create_collection(href, *args, **kwargs)

    def move(self, item, to_collection, to_href, *args, **kwargs) -> None:
        for collection in (item.collection, to_collection):
            if getattr(collection, "schedule_kind", None):
                raise ValueError("Items cannot be moved into or out of a "
                                 "scheduling inbox or outbox")
        source = item.collection

        def plain_move() -> None:
            tag = source.schedule_tag(item.href) \
                if isinstance(source, Collection) else None
            super(Storage, self).move(item, to_collection, to_href, *args,
                                      **kwargs)
            # The schedule tag goes with the object (RFC 6638 s3.2.10: MOVE
            # answers with the destination's tag).
            if isinstance(to_collection, Collection):
                to_collection.set_schedule_tag(to_href, tag)
            if isinstance(source, Collection) and (
                    source.path, item.href) != (to_collection.path, to_href):
                source.set_schedule_tag(item.href, None)
        ctx = context.current()
        if ctx is None or not isinstance(source, Collection) or \
                not isinstance(to_collection, Collection) or \
                source.tag != "VCALENDAR" or item.href is None:
            plain_move()
            return
        # RFC 6638 s3.2.3.4: scheduling on the source and destination.
        self.scheduler.move(source, item.href, to_collection, to_href, ctx,
                            plain_move)

    def item_schedule_tag(self, path: str) -> Optional[str]:
        """The schedule tag of the item at ``path`` (no base prefix)."""
        sane = pathutils.strip_path(pathutils.sanitize_path(path))
        parent, _, href = sane.rpartition("/")
        if not parent or not pathutils.is_safe_filesystem_path_component(
                href):
            return None
        try:
            return self.collection("/%s/" % parent).schedule_tag(href)
        except ValueError:
            return None

    # -- users ---------------------------------------------------------------

    def principal_display_name(self, user: str) -> Optional[str]:
        """The DAV:displayname set on the user's principal folder ("" for
        none), or None when that folder is a calendar or address book, no
        principal.  Cached per props file (mtime and size), so a principal
        search over many users reads only what changed."""
        folder = os.path.join(self._get_collection_root_folder(), user)
        try:
            st = os.stat(os.path.join(folder, _PROPS_FILE))
            stamp: Optional[Tuple[int, int]] = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        cached = self._principal_names.get(user)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        meta = self._collection_class(self, "/%s/" % user).get_meta() \
            if stamp is not None else {}
        name = None if meta.get("tag") else meta.get("D:displayname") or ""
        self._principal_names[user] = (stamp, name)
        return name

    def find_uid_file(self, user: str, uid: str
                      ) -> Optional[Tuple[Collection, str, str]]:
        """As find_uid, with the file's text instead of a parsed item."""
        for collection in self.user_calendars(user):
            for href in collection.find_uid(uid):
                text = collection.read_text(href)
                if text is not None:
                    return collection, href, text
        return None

    def set_delivery_status(self, owner: str, uid: str, method: str,
                            recipient: str, status: str,
                            superseded: Callable[[], bool] = lambda: False
                            ) -> None:
        """Record how a mailed message fared (RFC 6638 s3.2.9): on the
        attendee in the organizer's copy, or on the ORGANIZER in an
        attendee's copy for a REPLY.  Not a change by the user: the
        schedule tag stays.

        The mail sender runs beside requests: a message ``superseded`` by
        a newer one (whose status the request set) says nothing, and an
        answer the recipient sent meanwhile (2.x) says more than how an
        earlier mail fared."""
        from radicale_scheduling.itip import calendar as ical
        with self.acquire_lock("w", owner):
            if superseded():
                return
            found = self.find_uid_file(owner, uid)
            if found is None:
                return
            collection, href, text = found
            cal = ical.parse(text)
            changed = False
            for comp in ical.components(cal):
                lines = ical.lines(comp, "organizer") if method == "REPLY" \
                    else [x for x in ical.attendees(comp)
                          if ical.address(x) == recipient]
                for line in lines:
                    if method == "REPLY" and ical.address(line) != recipient:
                        continue
                    current = ical.param(line, "SCHEDULE-STATUS") or ""
                    if method != "REPLY" and current.startswith("2."):
                        continue  # answered since this mail was queued
                    if current != status:
                        ical.set_param(line, "SCHEDULE-STATUS", status)
                        changed = True
            if changed:
                collection.write_delivered(href, cal.serialize(),
                                           collection.facts(href))

    def collection(self, path: str) -> Collection:
        return self._collection_class(self, path)

    def check_size(self, text: str, what: str) -> None:
        """Refuse an object the server would write for scheduling that is
        over ``scheduling_max_resource_size`` (at most Radicale's
        max_content_length): every later read of it would be slow, under
        the storage lock (RFC 4791 s5.3.2.1 CALDAV:max-resource-size)."""
        limit = self.settings.max_resource_size
        if len(text) <= limit // 4:
            return  # even in UTF-8 at 4 bytes a character
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if size > limit:
            from radicale_scheduling.itip.errors import SchedulingError
            raise SchedulingError(
                "C:max-resource-size", "%s would be %d bytes; this server "
                "allows at most %d (scheduling_max_resource_size)."
                % (what, size, limit))

    def find_uid(self, user: str, uid: str, exclude: Optional[str] = None
                 ) -> Optional[Tuple[Collection, str, radicale_item.Item]]:
        """Where ``uid`` is among the user's calendars (collection, href,
        item), skipping the collection at path ``exclude``."""
        for collection in self.user_calendars(user):
            if collection.path == (exclude or "").strip("/"):
                continue
            for href in collection.find_uid(uid):
                item = collection._get(href, verify_href=False)
                if item is not None and item.uid == uid:
                    return collection, href, item
        return None

    # -- provisioning (RFC 6638 sections 2.2, 2.1, 4.3) -------------------

    def scheduling_ready(self, user: str) -> bool:
        try:
            return (os.path.isdir(self.schedule_folder(user, paths.INBOX)) and
                    os.path.isdir(self.schedule_folder(user, paths.OUTBOX)))
        except ValueError:
            return False

    def ensure_scheduling(self, user: str) -> None:
        """Create the user's inbox, outbox and default calendar if missing.

        Must be called without holding the storage lock.
        """
        if self.scheduling_ready(user):
            return
        with self.acquire_lock("w", user):
            self.provision_locked(user)

    def provision_locked(self, user: str) -> None:
        """As ensure_scheduling, for a caller holding the write lock."""
        if self.scheduling_ready(user):
            return
        principal_folder = os.path.join(self._get_collection_root_folder(),
                                        user)
        self._makedirs_synced(principal_folder)
        for kind in (paths.OUTBOX, paths.INBOX):  # inbox last: it is the flag
            folder = self.schedule_folder(user, kind)
            if not os.path.isdir(folder):
                self._create_folder_with_meta(folder, {
                    "tag": "VCALENDAR",
                    "D:displayname": "Inbox" if kind == paths.INBOX
                    else "Outbox"})
        logger.info("Scheduling: created schedule inbox and outbox of %r",
                    user)

    def ensure_default_calendar(self, user: str, create: bool = True
                                ) -> Optional[str]:
        """The user's default calendar, chosen or created on first need.

        RFC 6638 s4.3: an attendee needs a calendar to receive invitations
        into.  The first calendar (by name) that takes events is chosen;
        the choice is stored on the inbox so that later calendars do not
        change it.  Without one, a calendar is created only when
        ``create`` (an invitation needs it): reading the scheduling
        properties creates nothing, and the inbox then shows no default
        calendar (s9.2).  Must be called without the lock.
        """
        current = self.default_calendar(user)
        if current and self.is_valid_default_calendar(user, current):
            return current
        if not create and not current and self.scheduling_ready(user) and \
                not any(c.accepts_events for c in self.user_calendars(user)):
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
        chosen = self._choose_default_calendar(user, create)
        if chosen is None and not current:
            return None
        inbox = self._collection_class(
            self, paths.collection_path(user, paths.INBOX))
        meta = dict(inbox.get_meta())
        if chosen is None:
            meta.pop(DEFAULT_CALENDAR_KEY, None)
        else:
            meta[DEFAULT_CALENDAR_KEY] = chosen
        inbox.set_meta(meta)
        return chosen

    def _create_folder_with_meta(self, folder: str, meta: dict) -> None:
        """Create a folder whose props exist the moment it appears."""
        from tempfile import TemporaryDirectory
        parent = os.path.dirname(folder)
        with TemporaryDirectory(prefix=".Radicale.tmp-", dir=parent) as tmp:
            staged = os.path.join(tmp, "collection")
            os.makedirs(staged)
            col = self._collection_class(self, "/", filesystem_path=staged)
            col.set_meta(meta)
            os.rename(staged, folder)
        self._sync_directory(parent)

    def user_calendars(self, user: str) -> Iterable[Collection]:
        """The user's own calendar collections, sorted by path."""
        folder = os.path.join(self._get_collection_root_folder(), user)
        try:
            names = sorted(entry.name for entry in os.scandir(folder)
                           if entry.is_dir())
        except FileNotFoundError:
            return []
        result = []
        for name in names:
            if not pathutils.is_safe_filesystem_path_component(name):
                continue
            collection = self._collection_class(self, "/%s/%s/" % (user, name))
            if collection.tag == "VCALENDAR":
                result.append(collection)
        return result

    def _choose_default_calendar(self, user: str, create: bool
                                 ) -> Optional[str]:
        for collection in self.user_calendars(user):
            if collection.accepts_events:
                return pathutils.unstrip_path(collection.path, True)
        if not create:
            return None
        return self._create_calendar(user, DEFAULT_CALENDAR_NAME,
                                     DEFAULT_CALENDAR_PROPS, "default")

    def _create_calendar(self, user: str, base: str, props: dict,
                         what: str) -> str:
        """A new calendar of ``user`` under the first free name."""
        name = base
        taken = set()
        folder = os.path.join(self._get_collection_root_folder(), user)
        if os.path.isdir(folder):
            taken = {entry.name for entry in os.scandir(folder)}
        counter = 1
        while name in taken:
            counter += 1
            name = "%s-%d" % (base, counter)
        path = "/%s/%s/" % (user, name)
        super().create_collection(path, props=dict(props))
        logger.info("Scheduling: created %s calendar %r of %r", what, path,
                    user)
        return path

    def delivery_calendar_locked(self, user: str, component: str) -> str:
        """Where a new invitation with a ``component`` goes (RFC 6638
        s4.3): the default calendar if it takes that component, else the
        user's first calendar (by name) that does, else a new one made
        for it (a "tasks" calendar for to-dos, as Apple's and Cyrus'
        servers do).  Caller holds the write lock."""
        default = self.ensure_default_calendar_locked(user)
        assert default is not None  # created when there was none
        if self.collection(default).accepts(component):
            return default
        for collection in self.user_calendars(user):
            if collection.accepts(component):
                return pathutils.unstrip_path(collection.path, True)
        base, name = COMPONENT_CALENDARS.get(component, (component.lower(),
                                                         component))
        return self._create_calendar(user, base, {
            "tag": "VCALENDAR", "D:displayname": name,
            "C:supported-calendar-component-set": component}, name.lower())

    def default_calendar(self, user: str) -> Optional[str]:
        """The path of the user's schedule-default-calendar-URL, if valid."""
        inbox = self._collection_class(
            self, paths.collection_path(user, paths.INBOX))
        if not inbox.exists:
            return None
        value = inbox.get_meta(DEFAULT_CALENDAR_KEY)
        if not value:
            return None
        return value

    def is_valid_default_calendar(self, user: str, path: str) -> bool:
        """A calendar of ``user`` that accepts events (section 4.3)."""
        sane = pathutils.strip_path(pathutils.sanitize_path(path))
        parts = sane.split("/")
        if len(parts) != 2 or parts[0] != user or \
                not pathutils.is_safe_filesystem_path_component(parts[1]):
            return False
        collection = self._collection_class(self, "/%s/" % sane)
        return collection.exists and collection.accepts_events

