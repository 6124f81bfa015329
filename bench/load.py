"""Many clients at once against real ``python -m radicale`` processes
(issue 7: concurrency).

1. The scheduling mix of tests/loadmix.py (organizers updating meetings,
   attendees answering, free-busy POSTs, GET / PROPFIND / REPORT, inbox
   clean-up) against the plugin, on one or more processes sharing one
   collections folder; then the same checks as tests/live/test_concurrency.py
   (nothing lost, no duplicates).
2. The part plain Radicale can do too (PUT, GET, PROPFIND depth 1,
   calendar-query REPORT on ordinary calendars of 20 events) with the
   same clients, against plain Radicale and then the plugin: ratio
   plugin / plain of requests per second and latencies.

Radicale's defaults (fsync on, threaded server, max_connections 8), each
request on a new connection (http.client).  Prints requests per second,
latency percentiles and status counts per request kind.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from typing import Dict, List

import radicale

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import live  # noqa: E402
import loadmix  # noqa: E402


def start(folder: str, name: str, processes: int, storage_type: str
          ) -> List[live.LiveServer]:
    users = live.write_users(folder, loadmix.USERS, loadmix.PASSWORD)
    addresses = os.path.join(folder, "addresses")
    with open(addresses, "w") as f:
        f.write(loadmix.ADDRESSES)
    collections = os.path.join(folder, name)
    storage = {"scheduling_domain": loadmix.DOMAIN,
               "scheduling_addresses": addresses} \
        if storage_type == "radicale_scheduling" else {}
    return [live.start(folder, "%s-%d" % (name, i), collections, users,
                       storage_type=storage_type, storage=storage)
            for i in range(processes)]


def stop(servers: List[live.LiveServer]) -> None:
    for server in servers:
        server.stop()
        errors = [line for line in server.log().splitlines()
                  if "ERROR" in line or "CRITICAL" in line]
        if errors:
            print("  %s logged %d errors, first: %s" % (
                server.log_path, len(errors), errors[0]))


def scheduling(folder: str, args: argparse.Namespace) -> int:
    servers = start(folder, "scheduling", args.processes,
                    "radicale_scheduling")
    try:
        stats = loadmix.Stats()
        scenario = loadmix.build([s.url for s in servers], stats)
        mix = loadmix.scaled_mix(args.clients)
        print("Scheduling mix, plugin, %d process(es) on one folder, %d "
              "clients %s, %.0f s" % (args.processes, sum(mix.values()),
                                      mix, args.duration))
        hung = loadmix.run(scenario, args.duration, 10 ** 6, mix)
        print(loadmix.report(stats))
        problems = [] if hung else loadmix.verify(scenario)
        saved = sum(len(m.saved) - 1 for m in scenario.meetings)
        print("organizer saves %d, answers recorded %d; hung clients %d; "
              "lost or duplicated: %d" % (saved, len(scenario.answers),
                                          len(hung), len(problems)))
        for line in (stats.failures + stats.unexpected + problems)[:10]:
            print("  " + line)
        return len(hung) + len(problems) + len(stats.failures) + \
            len(stats.unexpected)
    finally:
        stop(servers)


def ordinary(folder: str, args: argparse.Namespace) -> int:
    """Plain Radicale and the plugin running side by side, taking turns
    (plain, plugin, plugin, plain), so that machine noise hits both."""
    users = loadmix.USERS
    servers: Dict[str, List[live.LiveServer]] = {}
    results: Dict[str, loadmix.Stats] = {}
    bad = 0
    try:
        for name, storage_type in (("plain", "multifilesystem"),
                                   ("plugin", "radicale_scheduling")):
            servers[name] = start(folder, name, 1, storage_type)
            loadmix.seed_calendars([s.url for s in servers[name]],
                                   loadmix.Stats(), users, args.events)
            results[name] = loadmix.Stats()
        for name in ("plain", "plugin", "plugin", "plain"):
            stats = results[name]
            hung = loadmix.run_ordinary([s.url for s in servers[name]],
                                        stats, users, args.clients,
                                        args.duration / 2, 10 ** 6)
            bad += len(hung)
    finally:
        for group in servers.values():
            stop(group)
    bad += sum(len(s.failures) + len(s.unexpected) for s in results.values())
    print("\nOrdinary CalDAV, %d clients, %.0f s each, one process, "
          "calendars of %d events" % (args.clients, args.duration,
                                      args.events))
    for name, stats in results.items():
        print("-- %s" % name)
        print(loadmix.report(stats))
        for line in (stats.failures + stats.unexpected)[:5]:
            print("  " + line)
    print("\n%-10s %11s %11s %6s %11s %11s %6s %11s %11s %6s" % (
        "request", "plain r/s", "plugin r/s", "ratio", "plain p50",
        "plugin p50", "ratio", "plain p90", "plugin p90", "ratio"))
    for kind in ("PUT", "GET", "PROPFIND", "REPORT", "all"):
        row = []
        for name in ("plain", "plugin"):
            stats = results[name]
            values = sorted(v for k, vs in stats.latencies.items()
                            for v in vs if kind in ("all", k))
            elapsed = stats.elapsed
            row.append((len(values) / elapsed,
                        loadmix.percentile(values, 0.5) * 1000,
                        loadmix.percentile(values, 0.9) * 1000))
        (a_rate, a50, a90), (b_rate, b50, b90) = row
        print("%-10s %11.1f %11.1f %6.2f %8.1f ms %8.1f ms %6.2f %8.1f ms "
              "%8.1f ms %6.2f" % (kind, a_rate, b_rate, b_rate / a_rate,
                                  a50, b50, b50 / a50, a90, b90, b90 / a90))
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=6,
                        help="seconds of the scheduling mix, and of each of "
                        "plain and plugin (default 6)")
    parser.add_argument("--clients", type=int, default=12,
                        help="client threads (default 12)")
    parser.add_argument("--processes", type=int, default=2,
                        help="radicale processes sharing the folder in the "
                        "scheduling mix (default 2)")
    parser.add_argument("--events", type=int, default=20,
                        help="events per ordinary calendar (default 20)")
    args = parser.parse_args()
    print("Machine: %s, %d CPUs, Python %s, Radicale %s" % (
        platform.machine(), os.cpu_count() or 0, platform.python_version(),
        radicale.VERSION))
    with tempfile.TemporaryDirectory() as folder:
        bad = scheduling(folder, args)
        bad += ordinary(folder, args)
    if bad:
        print("\nFAILED: %d problems (see above)" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
