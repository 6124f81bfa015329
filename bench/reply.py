"""An attendee's answer (PARTSTAT PUT) vs a plain Radicale PUT of the same
object (issue: attendee side).

Accepting updates the organizer's copy, drops the REPLY in the organizer's
inbox and shows the new answer in every other local attendee's copy: one
synced write per other attendee is the floor of that fan-out.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from common import add_users, measure, report, servers
from invite import invitation


def accepted(text: str) -> str:
    return text.replace("ATTENDEE;CN=User 0:mailto:user0@example.org",
                        "ATTENDEE;CN=User 0;PARTSTAT=ACCEPTED:"
                        "mailto:user0@example.org")


def run(attendees: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        apps = servers(folder)
        plugin, plain = apps["plugin"], apps["plain"]
        for app in apps.values():
            app.propfind("/alice/", "D:resourcetype")
            assert app.mkcalendar("/alice/cal/").status == 201
            for i in range(attendees):
                os.makedirs(os.path.join(app.collection_root(),
                                         "user%d" % i), exist_ok=True)
            add_users(app, ["user%d" % i for i in range(attendees)])
        texts = {}
        for i in range(repeat):
            uid = "r%d-%d" % (attendees, i)
            response = plugin.request("PUT", "/alice/cal/%s.ics" % uid,
                                      invitation(uid, attendees),
                                      user="alice")
            assert response.status == 201
            href = "/user0/calendar/%s.ics" % uid
            texts[i] = (href, plugin.request("GET", href,
                                             user="user0").text)
            plain.request("PUT", "/alice/cal/%s.ics" % uid,
                          invitation(uid, attendees), user="alice")

        def answer(app, i):
            href, text = texts[i]
            if app is plugin:
                response = app.request("PUT", href, accepted(text),
                                       user="user0")
            else:
                response = app.request(
                    "PUT", "/alice/cal/r%d-%d.ics" % (attendees, i),
                    accepted(invitation("r%d-%d" % (attendees, i),
                                        attendees)), user="alice")
            assert response.status in (201, 204), response.status

        report("answer to a meeting of %d attendees" % attendees,
               measure(apps, answer, repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attendees", default="10,100")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("Attendee PARTSTAT PUT, plain = PUT of the same object into plain "
          "Radicale")
    for n in (int(n) for n in args.attendees.split(",")):
        run(n, args.repeat)


if __name__ == "__main__":
    main()
