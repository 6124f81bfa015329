"""Shared helpers of the benchmarks: two Radicale apps side by side.

Both apps run in this process with Radicale's defaults (fsync on); each
request is timed with perf_counter and the two apps take turns, so that
machine noise hits both alike.  Figures are medians; the printed ratio is
plugin / plain (below 1.00 is faster than plain Radicale).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Callable, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from helpers import Server, make_server  # noqa: E402

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//bench//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20260101T000000Z\r
DTSTART:{start}\r
DTEND:{end}\r
SUMMARY:Event {uid}\r
END:VEVENT\r
END:VCALENDAR\r
"""


def event(uid: str, day: int, hour: int = 10) -> str:
    day = day % 365
    month, mday = 1 + day // 31 % 12, 1 + day % 28
    start = "2026%02d%02dT%02d0000Z" % (month, mday, hour % 24)
    end = "2026%02d%02dT%02d3000Z" % (month, mday, hour % 24)
    return EVENT.format(uid=uid, start=start, end=end)


def servers(folder: str) -> Dict[str, Server]:
    """Plain Radicale and Radicale with the plugin, fsync on as by default."""
    options = {"_filesystem_fsync": "True"}
    return {
        "plain": make_server(os.path.join(folder, "plain"),
                             storage_type="multifilesystem", **options),
        "plugin": make_server(os.path.join(folder, "plugin"),
                              scheduling_domain="example.org", **options),
    }


def add_users(app: Server, names) -> None:
    """More users who can log in (the htpasswd file is re-read)."""
    with open(os.path.join(app.folder, "users"), "a") as f:
        for name in names:
            f.write("%s:radicale\n" % name)


def measure(apps: Dict[str, Server], action: Callable[[Server, int], None],
            repeat: int) -> Dict[str, float]:
    """Median seconds of ``action`` per app, the apps taking turns."""
    times: Dict[str, List[float]] = {name: [] for name in apps}
    names = list(apps)
    for i in range(repeat):
        for name in (names if i % 2 == 0 else reversed(names)):
            start = time.perf_counter()
            action(apps[name], i)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report(title: str, medians: Dict[str, float]) -> float:
    ratio = medians["plugin"] / medians["plain"]
    print("%-46s plain %8.2f ms  plugin %8.2f ms  ratio %5.2f" % (
        title, medians["plain"] * 1000, medians["plugin"] * 1000, ratio))
    return ratio
