"""The collection index against plain Radicale, same data, same run
(issue: speed, index).

Data is written into both storage folders before either server reads it,
as an existing install holds it.  Targets: a PUT of a new event no longer
depends on the calendar's size (at most 0.3x plain at 2,000 items); GET,
PROPFIND depth 1 and a one-week calendar-query at most 1.10x plain; an
invitation to 10 attendees with 2,000 events each at most 1x a plain PUT
into a 2,000-item calendar (issue 18; it was 2x).
"""

from __future__ import annotations

import argparse
import tempfile

from common import add_users, event, measure, report, servers
from freebusy import fill
from invite import invitation
from ordinary import CALENDAR_PROPFIND, WEEK_QUERY


def run(sizes, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        apps = servers(folder)
        attendees = ["user%d" % i for i in range(10)]
        for app in apps.values():
            app.propfind("/alice/", "D:resourcetype")
            for size in sizes:
                fill(app, "size%d" % size, size)
            for user in attendees:
                fill(app, user, 2000)
            add_users(app, ["size%d" % s for s in sizes] + attendees)
            for user in ["size%d" % s for s in sizes] + attendees:
                # Warm Radicale's item cache (and the index) as a running
                # server has them.
                app.request("PROPFIND", "/%s/cal/" % user, CALENDAR_PROPFIND,
                            user=user, depth="1")
                app.request("PUT", "/%s/cal/warm.ics" % user,
                            event("warm-" + user, 1), user=user)
        for size in sizes:
            user = "size%d" % size

            def put(app, i, user=user):
                response = app.request(
                    "PUT", "/%s/cal/new-%d.ics" % (user, i),
                    event("new-%s-%d" % (user, i), i), user=user)
                assert response.status == 201, response.status
            report("PUT of a new event, %d items" % size,
                   measure(apps, put, repeat))
        user = "size2000" if 2000 in sizes else "size%d" % sizes[0]
        report("GET of one event", measure(apps, lambda app, i: app.request(
            "GET", "/%s/cal/e%d.ics" % (user, i), user=user), repeat))
        report("PROPFIND depth 1 of the calendar", measure(
            apps, lambda app, i: app.request(
                "PROPFIND", "/%s/cal/" % user, CALENDAR_PROPFIND, user=user,
                depth="1"), repeat))
        report("calendar-query REPORT, one week", measure(
            apps, lambda app, i: app.request(
                "REPORT", "/%s/cal/" % user, WEEK_QUERY, user=user,
                depth="1"), repeat))
        plain = apps["plain"]

        def invite(app, i):
            if app is plain:  # the plain PUT of the same event, no attendees
                response = app.request(
                    "PUT", "/%s/cal/inv-%d.ics" % (user, i),
                    event("inv-%d" % i, i), user=user)
            else:
                response = app.request(
                    "PUT", "/%s/cal/inv-%d.ics" % (user, i),
                    invitation("inv-%d" % i, 10).replace(
                        "alice@example.org", "%s@example.org" % user),
                    user=user)
            assert response.status == 201, response.status
        report("invitation to 10 attendees of 2,000 events", measure(
            apps, invite, repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="200,2000,20000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print("Index: plugin vs plain Radicale, same data, median of %d"
          % args.repeat)
    run([int(s) for s in args.sizes.split(",")], args.repeat)


if __name__ == "__main__":
    main()
