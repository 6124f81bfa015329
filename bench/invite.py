"""Invitation PUTs with N local attendees vs a plain Radicale PUT of the
same event (issue: organizer-side scheduling).

Target: each attendee costs at most one plain PUT (10 attendees <= 11x),
growing linearly in attendees.  Each attendee writes two files (their copy
and the inbox message), each with fsync, so 2 per attendee is the floor of
this design and about 1 plain PUT per attendee is what fsync costs.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from common import measure, report, servers

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//bench//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260305T100000Z\r
DTEND:20260305T110000Z\r
SUMMARY:Team meeting\r
ORGANIZER:mailto:alice@example.org\r
{attendees}END:VEVENT\r
END:VCALENDAR\r
"""


def invitation(uid: str, attendees: int) -> str:
    lines = "".join("ATTENDEE;CN=User %d:mailto:user%d@example.org\r\n"
                    % (i, i) for i in range(attendees))
    return EVENT.format(uid=uid, attendees=lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attendees", default="1,10,100")
    parser.add_argument("--repeat", type=int, default=0,
                        help="default: 11, 7, 3 by size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        apps = servers(folder)
        biggest = max(int(n) for n in args.attendees.split(","))
        for app in apps.values():
            app.propfind("/alice/", "D:resourcetype")
            assert app.mkcalendar("/alice/cal/").status == 201
            for i in range(biggest):  # users that exist on the server
                os.makedirs(os.path.join(app.collection_root(),
                                         "user%d" % i), exist_ok=True)
        print("Invitation PUT with N local attendees, plain = same PUT "
              "into plain Radicale")
        for n in (int(n) for n in args.attendees.split(",")):
            repeat = args.repeat or (11 if n <= 1 else 7 if n <= 10 else 3)
            def put(app, i, n=n):
                response = app.request(
                    "PUT", "/alice/cal/n%d-%d.ics" % (n, i),
                    invitation("n%d-%d" % (n, i), n), user="alice",
                    content_type="text/calendar")
                assert response.status == 201, response.status

            medians = measure(apps, put, repeat)
            ratio = report("invitation to %d attendees" % n, medians)
            print("%-46s %.2f plain PUTs per attendee" % (
                "", (ratio - 1) / n))


if __name__ == "__main__":
    main()
