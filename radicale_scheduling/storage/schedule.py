"""Where collections are: the scheduling inbox and outbox beside Radicale's
own, found by discovery, never created or moved by clients."""

from __future__ import annotations

from typing import Any, Iterator, Optional

from radicale import pathutils, types

from radicale_scheduling import compat, context
from radicale_scheduling.storage import paths
from radicale_scheduling.storage.collection import Collection, Scheduler


class ScheduleCollections(compat.Storage):

    _collection_class = Collection  # Radicale makes its collections so
    #: Set by the composition root (radicale_scheduling/plugin.py).
    scheduler: Scheduler

    def collection(self, path: str) -> Collection:
        return Collection(self, path)

    def schedule_folder(self, user: str, kind: str) -> str:
        return paths.folder(self.root_folder, user, kind)

    def discover(self, path: str, depth: str = "0", *args: Any,
                 **kwargs: Any) -> Iterator[types.CollectionOrItem]:
        schedule = paths.parse(path)
        if schedule is None:
            yield from super().discover(path, depth, *args, **kwargs)
            return
        if not pathutils.is_safe_filesystem_path_component(schedule.user):
            return
        collection = self.collection(paths.collection_path(schedule.user,
                                                           schedule.kind))
        if not collection.exists:
            return
        if schedule.href is not None:
            if pathutils.is_safe_filesystem_path_component(schedule.href):
                item = collection.get_item(schedule.href)
                if item is not None:
                    yield item
            return
        yield collection
        if depth != "0":
            for href in collection.hrefs():
                item = collection.get_item(href, verify_href=False)
                if item is not None:
                    yield item

    def create_collection(self, href: str, *args: Any, **kwargs: Any
                          ) -> Any:
        if paths.parse(href) is not None:
            raise ValueError("Scheduling collections are created by the "
                             "server: %r" % href)
        return super().create_collection(href, *args, **kwargs)

    def move(self, item: Any, to_collection: Any, to_href: str, *args: Any,
             **kwargs: Any) -> None:
        for collection in (item.collection, to_collection):
            if getattr(collection, "schedule_kind", None):
                raise ValueError("Items cannot be moved into or out of a "
                                 "scheduling inbox or outbox")
        source = item.collection

        def plain_move() -> None:
            tag = source.schedule_tag(item.href) \
                if isinstance(source, Collection) else None
            super(ScheduleCollections, self).move(item, to_collection,
                                                  to_href, *args, **kwargs)
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
