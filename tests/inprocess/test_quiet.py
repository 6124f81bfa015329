"""Quiet by default: a change sends messages only when it is news, and only
to the people it concerns (RFC 6638 s3.2.1, RFC 5546 s2.1.4).  Each test
counts the inbox messages a change produces for every user, and the mails
queued for dave, who is not a user of this server."""

import json
import os

import pytest

from helpers import make_server
from scheduling_helpers import attendee_line, copies, copy, ics, put, unfold

CAL = "/alice/calendar/"
USERS = ("alice", "bob", "carol")
DAVE = "ATTENDEE;CN=dave:mailto:dave@elsewhere.example\n"
ALARM = ("BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Soon\n"
         "TRIGGER:-PT%dM\nEND:VALARM\n")
WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4\n"


class Counter:
    """What each change produced: new or rewritten inbox messages per user
    (by href and ETag) and new mails in the queue."""

    def __init__(self, server):
        self.server = server
        self.queue = os.path.join(server.folder, "collections",
                                  "scheduling-queue", "pending")
        self.seen = self._state()

    def _state(self):
        state = set()
        for user in USERS:
            path = "/%s/.schedule-inbox/" % user
            response = self.server.propfind(path, "D:getetag", user=user,
                                            depth="1")
            for href, element in response.responses().items():
                if href != path:
                    etag = element.findtext(".//{DAV:}getetag")
                    state.add((user, href, etag))
        if os.path.isdir(self.queue):
            for name in os.listdir(self.queue):
                with open(os.path.join(self.queue, name)) as f:
                    entry = json.load(f)
                state.add(("mail:" + entry["recipient"], name,
                           entry["method"]))
        return state

    def new(self):
        """{user: sorted methods} of what appeared since the last call."""
        state = self._state()
        result = {}
        for who, href, tag in sorted(state - self.seen):
            if who.startswith("mail:"):
                method = tag
            else:
                text = self.server.request("GET", href, user=who).text
                method = text.split("METHOD:", 1)[1].split("\r\n", 1)[0]
            result.setdefault(who, []).append(method)
        self.seen = state
        return {k: sorted(v) for k, v in result.items()}


@pytest.fixture
def office(tmp_path, mail_clock):  # mails stay queued
    server = make_server(str(tmp_path), scheduling_domain="example.org",
                         scheduling_smtp_host="127.0.0.1",
                         scheduling_smtp_port="9",
                         scheduling_smtp_security="none",
                         scheduling_smtp_from="calendar@example.org")
    for user in USERS:
        server.propfind("/%s/" % user, "D:resourcetype", user=user)
    assert server.mkcalendar(CAL).status == 201
    return server


ME = "ATTENDEE;CN=alice;PARTSTAT=ACCEPTED:mailto:alice@example.org\n"
MAIL = "mail:mailto:dave@elsewhere.example"


def meeting(*people, extra="", **kwargs):
    return ics("m1", ME, *people, extra=extra, **kwargs)


@pytest.fixture
def invited(office):
    """m1: alice invited bob, carol and dave (by mail)."""
    assert put(office, "alice", CAL + "m1.ics",
               meeting("bob", "carol", DAVE)).status == 201
    counter = Counter(office)
    return office, counter


def save(server, text, user="alice", path=CAL + "m1.ics"):
    response = put(server, user, path, text)
    assert response.status in (201, 204), response.text
    return response


def test_the_invitation_itself(office):
    counter = Counter(office)
    save(office, meeting("bob", "carol", DAVE))
    assert counter.new() == {"bob": ["REQUEST"], "carol": ["REQUEST"],
                             MAIL: ["REQUEST"]}


def test_an_alarm_of_the_organizer_tells_nobody(invited):
    server, counter = invited
    save(server, meeting("bob", "carol", DAVE, extra=ALARM % 15))
    save(server, meeting("bob", "carol", DAVE, extra=ALARM % 30))
    assert counter.new() == {}


def test_the_organizers_own_answer_tells_nobody(invited):
    server, counter = invited
    save(server, meeting("bob", "carol", DAVE).replace(
        "alice;PARTSTAT=ACCEPTED", "alice;PARTSTAT=TENTATIVE"))
    assert counter.new() == {}


@pytest.mark.parametrize("extra, kwargs", [
    ("DESCRIPTION:Bring the numbers\n", {}),
    ("", {"summary": "Planning (second round)"}),
    ("LOCATION:Room 2\n", {}),
])
def test_details_users_see_are_one_update_each(invited, extra, kwargs):
    server, counter = invited
    save(server, meeting("bob", "carol", DAVE, extra=extra, **kwargs))
    assert counter.new() == {"bob": ["REQUEST"], "carol": ["REQUEST"],
                             MAIL: ["REQUEST"]}


def test_adding_an_attendee_invites_only_them(invited):
    """The new attendee gets the invitation; the others' copies learn of
    them without an inbox message or a mail (the organizer decides whom
    an update goes to, RFC 5546 s2.1.4; SabreDAV marks it not
    significant and mails nothing)."""
    server, counter = invited
    save(server, meeting("bob", "carol", DAVE, "dave@mail.example"))
    assert counter.new() == {}  # dave@mail.example: no such user here yet
    save(server, meeting("bob", DAVE))  # carol removed...
    assert counter.new() == {"carol": ["CANCEL"]}
    save(server, meeting("bob", DAVE, "carol"))  # ...and invited again
    assert counter.new() == {"carol": ["REQUEST"]}
    assert attendee_line(copy(server, "bob", "m1"), "carol") is not None


def test_removing_an_attendee_cancels_only_for_them(invited):
    server, counter = invited
    save(server, meeting("bob", DAVE))
    assert counter.new() == {"carol": ["CANCEL"]}
    assert "STATUS:CANCELLED" in copy(server, "carol", "m1")
    # bob's copy no longer lists carol: it was kept current, quietly.
    assert attendee_line(copy(server, "bob", "m1"), "carol") is None
    save(server, meeting("bob"))
    assert counter.new() == {MAIL: ["CANCEL"]}


OVERRIDE = ("BEGIN:VEVENT\nUID:m1\nDTSTAMP:20260101T000000Z\n"
            "RECURRENCE-ID:20260112T100000Z\nDTSTART:20260112T100000Z\n"
            "DTEND:20260112T110000Z\nSUMMARY:%s\n"
            "ORGANIZER;CN=alice:mailto:alice@example.org\n" + ME +
            "ATTENDEE;CN=bob:mailto:bob@example.org\nEND:VEVENT\n")


def series(summary):
    return meeting("bob", "carol", extra=WEEKLY,
                   components=(OVERRIDE % summary).replace("\n", "\r\n"))


def test_one_instance_changed_tells_only_its_attendees(office):
    """The instance of 12 January is bob's only (carol is not in it): a
    change of it is news for bob alone."""
    save(office, series("Planning with bob"))
    counter = Counter(office)
    save(office, series("Planning with bob in the garden"))
    assert counter.new() == {"bob": ["REQUEST"]}


def test_an_attendee_changing_their_alarm_or_x_props_sends_no_reply(
        invited):
    server, counter = invited
    href, text = copies(server, "bob", "m1")[0]
    text = unfold(text).replace("END:VEVENT", (
        ALARM % 10 + "X-MOZ-LASTACK:20260102T000000Z\n"
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\n").replace(
            "\n", "\r\n") + "END:VEVENT")
    save(server, text, user="bob", path=href)
    assert counter.new() == {}


def test_an_unchanged_answer_saved_again_sends_no_reply(invited):
    server, counter = invited
    href, text = copies(server, "bob", "m1")[0]
    text = unfold(text).replace("CN=bob:", "CN=bob;PARTSTAT=ACCEPTED:")
    save(server, text, user="bob", path=href)
    assert counter.new() == {"alice": ["REPLY"]}
    text = server.request("GET", href, user="bob").text
    save(server, text, user="bob", path=href)
    save(server, text, user="bob", path=href)
    assert counter.new() == {}


def test_a_retried_put_sends_nothing_new(invited):
    server, counter = invited
    body = meeting("bob", "carol", DAVE, extra="DESCRIPTION:Agenda\n")
    save(server, body)
    assert counter.new() == {"bob": ["REQUEST"], "carol": ["REQUEST"],
                             MAIL: ["REQUEST"]}
    save(server, body)  # the client did not see the answer and retries
    assert counter.new() == {}
    # The same for a reschedule, whose first PUT reset the answers.
    moved = meeting("bob", "carol", DAVE, start="20260105T120000Z",
                    end="20260105T130000Z")
    save(server, moved)
    assert counter.new() == {"bob": ["REQUEST"], "carol": ["REQUEST"],
                             MAIL: ["REQUEST"]}
    save(server, moved)
    assert counter.new() == {}


def test_task_progress_is_news_for_the_organizer_only(office):
    from test_tasks import todo, work
    save(office, todo("t1", "bob", "carol"), path=CAL + "t1.ics")
    counter = Counter(office)
    href, text = copies(office, "bob", "t1")[0]
    save(office, work(text, "bob", "IN-PROCESS", percent_complete="50"),
         user="bob", path=href)
    assert counter.new() == {"alice": ["REPLY"]}
    # The same progress saved again, or with an alarm: nothing.
    text = office.request("GET", href, user="bob").text
    save(office, text, user="bob", path=href)
    save(office, unfold(text).replace("END:VTODO", (ALARM % 5).replace(
        "\n", "\r\n") + "END:VTODO"), user="bob", path=href)
    assert counter.new() == {}
    # alice's client saves back what it read (the server's record of
    # bob's progress): nothing either.
    mine = office.request("GET", CAL + "t1.ics", user="alice").text
    save(office, mine, path=CAL + "t1.ics")
    assert counter.new() == {}
