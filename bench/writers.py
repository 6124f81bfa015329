"""Writers under free-busy readers (issue 16: writers starved by readers).

Real ``python -m radicale`` processes, plain Radicale and the plugin in
the same run, Radicale's defaults (fsync on, threaded server), each
request on a new connection.  One client PUTs new events into a calendar
of 2,000 events, one after the other; first alone, then while four
clients ask for free-busy in a loop, each over another user's calendar of
2,000 events (the plugin: a POST to the outbox; plain Radicale: its
free-busy-query REPORT, its nearest equivalent), a one-month window.

Prints, per server: one free-busy answer alone (p50), PUT latency p50 and
max without and with the readers, the free-busy answers per second under
load, and the PUT max under load as a multiple of one free-busy answer.
Radicale's lock lets new readers in while a writer waits, so without
writer preference that multiple grows with the run (the writer waits for
a moment with no reader at all).
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.client
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, Tuple

import radicale
from radicale import Application, config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import live  # noqa: E402
from freebusy import EVENT, fill_folder, post_body, report_body  # noqa: E402

import helpers  # noqa: E402

PASSWORD = "radicale"
READERS = 4
WINDOW = ("20260301T000000Z", "20260401T000000Z")


def fill(collections: str, user: str, count: int) -> None:
    fill_folder(os.path.join(collections, "collection-root"), user, count)


def request(url: str, user: str, method: str, path: str, body: str = "",
            **headers: str) -> int:
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    token = base64.b64encode(("%s:%s" % (user, PASSWORD)).encode()).decode()
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    try:
        connection.request(method, path, body.encode(), {
            "Authorization": "Basic " + token, **headers})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def warm(collections: str, users_file: str, storage_type: str,
         storage: Dict[str, str], users: List[str]) -> None:
    """Radicale's item caches (and the plugin's index) of the filled
    calendars, made in this process without fsync, which only saves time:
    the measured servers run with Radicale's defaults."""
    configuration = config.load()
    configuration.update({
        "storage": {"type": storage_type, "filesystem_folder": collections,
                    "_filesystem_fsync": "False", **storage},
        "auth": {"type": "htpasswd", "htpasswd_filename": users_file,
                 "htpasswd_encryption": "plain", "delay": "0"},
        "logging": {"level": "warning"}}, "bench", privileged=True)
    app = helpers.Server(Application(configuration), "")
    for user in users:
        assert app.request("REPORT", "/%s/cal/" % user, report_body(*WINDOW),
                           user=user, depth="1").status == 200


def template(folder: str, events: int) -> str:
    """One filled calendar with Radicale's item cache, copied to every
    user of both servers (the same files make the same cache)."""
    collections = os.path.join(folder, "template")
    fill(collections, "template", events)
    users_file = live.write_users(folder, ["template"], PASSWORD)
    warm(collections, users_file, "multifilesystem", {}, ["template"])
    return os.path.join(collections, "collection-root", "template", "cal")


class Server:
    def __init__(self, folder: str, name: str, storage_type: str,
                 calendar: str) -> None:
        self.name = name
        users = ["writer"] + ["busy%d" % i for i in range(READERS)] + \
            ["reader%d" % i for i in range(READERS)]
        users_file = live.write_users(os.path.join(folder), users, PASSWORD)
        collections = os.path.join(folder, name)
        for user in users[:READERS + 1]:
            shutil.copytree(calendar, os.path.join(
                collections, "collection-root", user, "cal"))
        storage = {"scheduling_domain": "example.org"} \
            if storage_type == "radicale_scheduling" else {}
        self.plugin = storage_type == "radicale_scheduling"
        self.counter = 0
        if self.plugin:  # its index of each calendar
            warm(collections, users_file, storage_type, storage,
                 users[:READERS + 1])
        self.live = live.start(folder, name, collections, users_file,
                               storage_type=storage_type, storage=storage)

    def freebusy(self, i: int) -> int:
        if self.plugin:
            return request(self.live.url, "reader%d" % i, "POST",
                           "/reader%d/.schedule-outbox/" % i,
                           post_body(["busy%d" % i], *WINDOW).replace(
                               "alice@", "reader%d@" % i),
                           **{"Content-Type": "text/calendar"})
        return request(self.live.url, "busy%d" % i, "REPORT",
                       "/busy%d/cal/" % i, report_body(*WINDOW),
                       **{"Depth": "1", "Content-Type": "application/xml"})

    def put(self) -> int:
        self.counter += 1
        uid = "new-%d" % self.counter
        return request(self.live.url, "writer", "PUT",
                       "/writer/cal/%s.ics" % uid, EVENT.format(
                           uid=uid, start="20260310T120000Z",
                           end="20260310T130000Z", rule=""),
                       **{"Content-Type": "text/calendar"})


def timed(call: Callable[[], int], into: List[float]) -> int:
    start = time.perf_counter()
    status = call()
    into.append(time.perf_counter() - start)
    return status


def phase(server: Server, seconds: float, readers: bool
          ) -> Tuple[List[float], List[float]]:
    """PUT latencies, and free-busy latencies of the readers."""
    stop = threading.Event()
    reads: List[float] = []
    bad: List[int] = []

    def loop(i: int) -> None:
        while not stop.is_set():
            status = timed(lambda: server.freebusy(i), reads)
            if status not in (200, 207):
                bad.append(status)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True)
               for i in range(READERS if readers else 0)]
    for thread in threads:
        thread.start()
    puts: List[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status = timed(server.put, puts)
        if status not in (201, 204):
            bad.append(status)
    stop.set()
    for thread in threads:
        thread.join()
    if bad:
        raise RuntimeError("%s: unexpected statuses %s" % (server.name,
                                                          sorted(set(bad))))
    return puts, reads


def ms(value: float) -> str:
    return "%.0f ms" % (value * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8,
                        help="seconds of each phase (default 8)")
    parser.add_argument("--events", type=int, default=2000,
                        help="events per calendar (default 2000)")
    args = parser.parse_args()
    print("Writers under free-busy readers: %d-event calendars, %d reader "
          "loops, %.0f s per phase; %s, %d CPUs, Python %s, Radicale %s"
          % (args.events, READERS, args.duration, platform.machine(),
             os.cpu_count() or 0, platform.python_version(),
             radicale.VERSION))
    results: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        calendar = template(folder, args.events)
        servers = [Server(folder, "plain", "multifilesystem", calendar),
                   Server(folder, "plugin", "radicale_scheduling",
                          calendar)]
        try:
            for server in servers:
                results[server.name] = {}
            for server in servers:
                alone: List[float] = []
                for _ in range(10):
                    timed(functools.partial(server.freebusy, 0), alone)
                results[server.name]["fb"] = statistics.median(alone)
            for readers in (False, True):
                for server in servers:
                    puts, reads = phase(server, args.duration, readers)
                    key = "loaded" if readers else "quiet"
                    row = results[server.name]
                    row[key + " p50"] = statistics.median(puts)
                    row[key + " max"] = max(puts)
                    row[key + " puts"] = len(puts)
                    if readers:
                        row["fb/s"] = len(reads) / args.duration
                        row["fb p50 loaded"] = statistics.median(reads)
        finally:
            for server in servers:
                server.live.stop()
    print("%-44s %16s %16s" % ("", "plain", "plugin"))
    lines = [("one free-busy answer alone, p50", "fb", ms),
             ("PUT p50 / max, no readers", "quiet", None),
             ("PUT p50 / max, 4 free-busy loops", "loaded", None),
             ("PUTs done without / with readers", "puts", None),
             ("free-busy answers/s under load (p50)", "fb/s", None),
             ("PUT max under load / one free-busy answer", "multiple",
              None)]
    for title, key, _ in lines:
        cells = []
        for name in ("plain", "plugin"):
            row = results[name]
            if key == "fb":
                cells.append(ms(row["fb"]))
            elif key in ("quiet", "loaded"):
                cells.append("%s / %s" % (ms(row[key + " p50"]),
                                          ms(row[key + " max"])))
            elif key == "puts":
                cells.append("%d / %d" % (row["quiet puts"],
                                          row["loaded puts"]))
            elif key == "fb/s":
                cells.append("%.1f (%s)" % (row["fb/s"],
                                            ms(row["fb p50 loaded"])))
            else:
                cells.append("%.1f x" % (row["loaded max"] / row["fb"]))
        print("%-44s %16s %16s" % (title, cells[0], cells[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
