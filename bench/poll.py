"""What polling clients send, against plain Radicale, same data, same run
(issue 18).

DAVx5 and Thunderbird poll each calendar every few minutes with a
PROPFIND depth 1 for ETags or a sync-collection REPORT.  Data is written
into both storage folders before either server reads it, as Radicale
stores what clients PUT (its own serialization: vobject's property order),
and one poll warms both as a running server is.  Targets: PROPFIND depth 1 and the
initial and incremental sync-collection at most 0.5x plain on 2,000
items.  ``--rss`` prints each server's resident memory after answering
those polls on the largest calendar (a process per server).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from common import event, make_server, measure, report, servers
from freebusy import fill
from radicale import item as radicale_item

NS = ('xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
      'xmlns:CS="http://calendarserver.org/ns/"')
#: Thunderbird's listing of a calendar.
THUNDERBIRD = ('<?xml version="1.0"?><D:propfind %s><D:prop><D:getetag/>'
               '<D:getcontenttype/><D:resourcetype/></D:prop></D:propfind>'
               % NS)
#: DAVx5's listing (it also asks for the schedule tag).
DAVX5 = ('<?xml version="1.0"?><D:propfind %s><D:prop><D:resourcetype/>'
         '<D:getetag/><C:schedule-tag/></D:prop></D:propfind>' % NS)


def sync_body(token: str = "") -> str:
    return ('<?xml version="1.0"?><D:sync-collection %s><D:sync-token>%s'
            '</D:sync-token><D:sync-level>1</D:sync-level><D:prop>'
            '<D:getetag/></D:prop></D:sync-collection>' % (NS, token))


def sync(app, user: str, token: str = "") -> str:
    response = app.request("REPORT", "/%s/cal/" % user, sync_body(token),
                           user=user)
    assert response.status == 207, response.status
    return re.findall(rb"sync-token>([^<]+)<", response.body)[-1].decode()


def fill_as_stored(app, user: str, count: int) -> None:
    """freebusy.fill's events, each file as Radicale writes a PUT's."""
    fill(app, user, count)
    folder = os.path.join(app.collection_root(), user, "cal")
    for name in os.listdir(folder):
        if name.endswith(".ics"):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8", newline="") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(radicale_item.read_components(text)[0].serialize())


def prepare(apps, sizes) -> None:
    for app in apps.values():
        app.propfind("/alice/", "D:resourcetype")
        users = ["size%d" % size for size in sizes]
        for size, user in zip(sizes, users):
            fill_as_stored(app, user, size)
        with open(os.path.join(app.folder, "users"), "a") as f:
            f.writelines("%s:radicale\n" % user for user in users)
        for user in users:  # a running server: caches warm
            app.request("PROPFIND", "/%s/cal/" % user, THUNDERBIRD,
                        user=user, depth="1")
            sync(app, user)


def run(sizes: List[int], repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        apps = servers(folder)
        prepare(apps, sizes)
        for size in sizes:
            user = "size%d" % size
            report("PROPFIND depth 1 getetag+contenttype, %d" % size,
                   measure(apps, lambda app, i, user=user: app.request(
                       "PROPFIND", "/%s/cal/" % user, THUNDERBIRD, user=user,
                       depth="1"), repeat))
        user = "size2000" if 2000 in sizes else "size%d" % sizes[0]
        report("PROPFIND depth 1 as DAVx5 (schedule-tag)", measure(
            apps, lambda app, i: app.request(
                "PROPFIND", "/%s/cal/" % user, DAVX5, user=user,
                depth="1"), repeat))
        report("sync-collection, initial", measure(
            apps, lambda app, i: sync(app, user), repeat))
        tokens = {name: sync(app, user) for name, app in apps.items()}
        times: Dict[str, List[float]] = {name: [] for name in apps}
        names = list(apps)
        for i in range(repeat):
            for name in (names if i % 2 == 0 else reversed(names)):
                app = apps[name]
                response = app.request(
                    "PUT", "/%s/cal/e%d.ics" % (user, i),
                    event("%s-%d" % (user, i), i + 1), user=user)
                assert response.status in (201, 204), response.status
                start = time.perf_counter()
                tokens[name] = sync(app, user, tokens[name])
                times[name].append(time.perf_counter() - start)
        report("sync-collection after one change", {
            name: statistics.median(values)
            for name, values in times.items()})


def rss(size: int) -> None:
    """Resident memory of each server after polls on ``size`` items: the
    data and caches are made here, each server then runs alone in a new
    process (VmRSS after the polls, VmHWM its peak)."""
    with tempfile.TemporaryDirectory() as folder:
        prepare(servers(folder), [size])
        figures = {}
        for kind in ("plain", "plugin"):
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", kind,
                 "--sizes", str(size), folder],
                check=True, capture_output=True, text=True).stdout
            figures[kind] = [int(v) for v in out.split()[-2:]]
        for i, what in enumerate(("after polls", "peak")):
            print("%-46s plain %8.1f MB  plugin %8.1f MB  ratio %5.2f" % (
                "server RSS %s, %d items" % (what, size),
                figures["plain"][i] / 1024, figures["plugin"][i] / 1024,
                figures["plugin"][i] / figures["plain"][i]))


def rss_child(kind: str, size: int, folder: str) -> None:
    options = {"_filesystem_fsync": "True"}
    if kind == "plain":
        app = make_server(os.path.join(folder, "plain"),
                          storage_type="multifilesystem", **options)
    else:
        app = make_server(os.path.join(folder, "plugin"),
                          scheduling_domain="example.org", **options)
    user = "size%d" % size
    with open(os.path.join(app.folder, "users"), "a") as f:
        f.write("%s:radicale\n" % user)  # make_server wrote the file anew
    for _ in range(3):
        app.request("PROPFIND", "/%s/cal/" % user, THUNDERBIRD, user=user,
                    depth="1")
        sync(app, user)
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f)
    print(status["VmRSS"].split()[0], status["VmHWM"].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="200,2000,20000")
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--rss-child")
    parser.add_argument("folder", nargs="?")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.rss_child:
        rss_child(args.rss_child, sizes[-1], args.folder)
        return
    print("Polls: plugin vs plain Radicale, same data, median of %d"
          % args.repeat)
    run(sizes, args.repeat)
    if args.rss:
        rss(sizes[-1])


if __name__ == "__main__":
    main()
