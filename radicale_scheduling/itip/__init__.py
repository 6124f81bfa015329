"""The iTIP engine (RFC 5546 as RFC 6638 uses it): pure, no I/O, no
Radicale.  ``broker`` holds its two entry points: what a change of a
stored object sends (``parse_event``) and what a received message does
(``process_message``); both work on vobject components."""

from radicale_scheduling.itip.errors import SchedulingError

__all__ = ["SchedulingError"]
