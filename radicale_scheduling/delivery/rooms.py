"""Delivery to rooms and resources (calendar-user-type ROOM or
RESOURCE): local delivery, and the room answers on its own from its busy
time (``itip.rooms``)."""

from __future__ import annotations

from typing import Optional

from radicale_scheduling.delivery.local import LocalTransport
from radicale_scheduling.itip import rooms
from radicale_scheduling.storage import busy


class RoomTransport(LocalTransport):
    def handles(self, recipient: str) -> bool:
        user = self.storage.directory.user_for_address(recipient)
        return user is not None and self.room(user) is not None

    def room(self, user: str) -> Optional[rooms.Room]:
        return busy.room(self.storage, user)
