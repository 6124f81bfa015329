"""Counter-proposals and refresh (RFC 5546 s3.2.6 REFRESH, s3.2.7 COUNTER,
s3.2.8 DECLINECOUNTER): POSTed to the outbox or received by mail, they
reach the other side's inbox and change nobody's copy; a REFRESH is
answered by the server with the organizer's current object."""


import pytest
from live import smtp_server

from helpers import NS, wait_for
from radicale_scheduling.delivery import incoming
from scheduling_helpers import copies, copy, hrefs, ics, inbox, methods, organize, put, unfold

CAL = "/alice/calendar/"
ALICE = "mailto:alice@example.org"
BOB = "mailto:bob@example.org"
GRANDMA = "mailto:grandma@elsewhere.example"


def message(method, *attendees, organizer=ALICE, uid="m1",
            start="20260106T140000Z", end="20260106T150000Z", extra=""):
    lines = "".join("ATTENDEE;PARTSTAT=NEEDS-ACTION:%s\r\n" % a
                    for a in attendees)
    times = "" if method == "REFRESH" else \
        "DTSTART:%s\r\nDTEND:%s\r\nSUMMARY:Planning\r\n" % (start, end)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
            "METHOD:%s\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
            "DTSTAMP:20260102T000000Z\r\n%sORGANIZER:%s\r\n%s"
            "COMMENT:Tuesday afternoon suits me better\r\n%s"
            "END:VEVENT\r\nEND:VCALENDAR\r\n" % (
                method, uid, times, organizer, lines, extra))


def post(server, user, body, **headers):
    return server.request("POST", "/%s/.schedule-outbox/" % user, body,
                          user=user, content_type="text/calendar", **headers)


def statuses(response):
    assert response.status == 200, response.text
    return {r.findtext("C:recipient/D:href", namespaces=NS):
            r.findtext("C:request-status", namespaces=NS)
            for r in response.xml.findall("C:response", NS)}


def precondition(response, name):
    return response.xml.find(name, NS) is not None


@pytest.fixture
def invited(server):
    """alice invited bob and carol to m1."""
    return organize(server, ics("m1", "bob", "carol"),
                    ("alice", "bob", "carol", "dave@mail.example"))


def snapshot(server):
    return (server.request("GET", CAL + "m1.ics", user="alice").text,
            copy(server, "bob", "m1"), copy(server, "carol", "m1"))


def test_a_counter_reaches_the_organizer_and_changes_no_copy(invited):
    before = snapshot(invited)
    response = post(invited, "bob", message("COUNTER", BOB))
    assert statuses(response) == {ALICE: "2.0;Success"}
    assert methods(invited, "alice") == ["COUNTER"]
    [(_, proposal)] = inbox(invited, "alice")
    assert "DTSTART:20260106T140000Z" in proposal
    assert "Tuesday afternoon" in proposal
    assert snapshot(invited) == before
    assert methods(invited, "bob") == ["REQUEST"]
    assert methods(invited, "carol") == ["REQUEST"]
    # Headers naming the same people are fine too.
    response = post(invited, "bob", message("COUNTER", BOB, start=
                                            "20260107T140000Z", end=
                                            "20260107T150000Z"),
                    originator=BOB, recipient=ALICE)
    assert statuses(response) == {ALICE: "2.0;Success"}
    assert methods(invited, "alice") == ["COUNTER", "COUNTER"]


@pytest.mark.parametrize("user, body, headers, status, condition", [
    # Not invited.
    ("dave@mail.example", message("COUNTER", "mailto:dave@mail.example"),
     {}, 403, "C:valid-scheduling-message"),
    # bob speaking for carol, in the body or by the Originator header.
    ("bob", message("COUNTER", "mailto:carol@example.org"), {}, 403,
     "D:need-privileges"),
    ("bob", message("COUNTER", BOB, "mailto:carol@example.org"),
     {"originator": "mailto:carol@example.org"}, 403, "D:need-privileges"),
    ("bob", message("REFRESH", "mailto:carol@example.org"), {}, 403,
     "D:need-privileges"),
    # A meeting alice does not have, or that someone else organizes.
    ("bob", message("COUNTER", BOB, uid="nope"), {}, 403,
     "C:valid-scheduling-message"),
    ("bob", message("COUNTER", BOB, organizer="mailto:carol@example.org"),
     {}, 403, "C:valid-scheduling-message"),
    # Elsewhere than the organizer.
    ("bob", message("COUNTER", BOB), {"recipient": "mailto:carol@example.org"},
     400, "C:valid-scheduling-message"),
    # Malformed: no time proposed, no ORGANIZER.
    ("bob", message("COUNTER", BOB).replace(
        "DTSTART:20260106T140000Z\r\n", ""), {}, 400,
     "C:valid-scheduling-message"),
    ("bob", message("COUNTER", BOB).replace(
        "ORGANIZER:mailto:alice@example.org\r\n", ""), {}, 400,
     "C:valid-scheduling-message"),
    # Only the organizer declines a proposal.
    ("bob", message("DECLINECOUNTER", BOB), {}, 403, "C:valid-organizer"),
    # ... and only to attendees.
    ("alice", message("DECLINECOUNTER", "mailto:dave@mail.example"), {}, 403,
     "C:valid-scheduling-message"),
    # Other iTIP methods: implicit scheduling does those.
    ("bob", message("REPLY", BOB), {}, 400, "C:valid-scheduling-message"),
    ("alice", message("REQUEST", BOB), {}, 400,
     "C:valid-scheduling-message"),
    ("alice", message("CANCEL", BOB), {}, 400, "C:valid-scheduling-message"),
])
def test_refused_messages_change_nothing(invited, user, body, headers,
                                         status, condition):
    before = snapshot(invited)
    response = post(invited, user, body, **headers)
    assert response.status == status, response.text
    assert precondition(response, condition), response.text
    assert b"responsedescription" in response.body
    assert snapshot(invited) == before
    assert methods(invited, "alice") == []
    assert methods(invited, "bob") == ["REQUEST"]
    assert methods(invited, "carol") == ["REQUEST"]


def test_posting_to_someone_elses_outbox_is_refused(invited):
    response = invited.request("POST", "/alice/.schedule-outbox/",
                               message("COUNTER", BOB), user="bob",
                               content_type="text/calendar")
    assert response.status in (401, 403)
    assert methods(invited, "alice") == []


def test_declinecounter_reaches_the_attendee_and_changes_no_copy(invited):
    assert statuses(post(invited, "bob", message("COUNTER", BOB))) == {
        ALICE: "2.0;Success"}
    before = snapshot(invited)
    response = post(invited, "alice", message("DECLINECOUNTER", BOB,
                                               extra="SEQUENCE:0\r\n"))
    assert statuses(response) == {BOB: "2.0;Success"}
    assert methods(invited, "bob") == ["DECLINECOUNTER", "REQUEST"]
    assert methods(invited, "carol") == ["REQUEST"]
    assert snapshot(invited) == before


def test_accepting_a_counter_is_an_ordinary_update(invited):
    assert statuses(post(invited, "bob", message("COUNTER", BOB))) == {
        ALICE: "2.0;Success"}
    mine = invited.request("GET", CAL + "m1.ics", user="alice").text
    moved = mine.replace("DTSTART:20260105T100000Z",
                         "DTSTART:20260106T140000Z").replace(
        "DTEND:20260105T110000Z", "DTEND:20260106T150000Z")
    assert put(invited, "alice", CAL + "m1.ics", moved).status in (201, 204)
    assert methods(invited, "bob") == ["REQUEST", "REQUEST"]
    assert "DTSTART:20260106T140000Z" in copy(invited, "bob", "m1")
    assert "DTSTART:20260106T140000Z" in copy(invited, "carol", "m1")


def test_refresh_is_answered_with_the_current_object(invited):
    mine = invited.request("GET", CAL + "m1.ics", user="alice").text
    assert put(invited, "alice", CAL + "m1.ics", mine.replace(
        "SUMMARY:Planning", "SUMMARY:Planning the spring")).status in (
            201, 204)
    before_alice = invited.request("GET", CAL + "m1.ics", user="alice").text
    # bob lost his copy and his inbox (deleted without telling alice).
    [(href, _)] = copies(invited, "bob", "m1")
    assert invited.request("DELETE", href, user="bob",
                           schedule_reply="F").status in (200, 204)
    for item in hrefs(invited, "bob", "/bob/.schedule-inbox/"):
        assert invited.request("DELETE", item, user="bob").status in (
            200, 204)
    assert copies(invited, "bob", "m1") == []
    response = post(invited, "bob", message("REFRESH", BOB))
    assert statuses(response) == {ALICE: "2.0;Success"}
    # The server answered for alice: bob has the current version again.
    assert "SUMMARY:Planning the spring" in copy(invited, "bob", "m1")
    [(method, request)] = inbox(invited, "bob")
    assert method == "REQUEST" and "Planning the spring" in request
    assert invited.request("GET", CAL + "m1.ics",
                           user="alice").text == before_alice
    assert methods(invited, "alice") == []


GRANDMA_LINE = "ATTENDEE;CN=Grandma:%s\n" % GRANDMA


def mail(method, body, sender="Grandma <grandma@elsewhere.example>",
         to="alice@example.org"):
    return ("From: %s\nTo: %s\nSubject: %s\nMIME-Version: 1.0\n"
            "Content-Type: text/calendar; charset=UTF-8; method=%s\n\n%s"
            % (sender, to, method, method, body)).encode()


def test_counter_and_refresh_by_mail_and_declinecounter_mailed(mailing,
                                                               mail_port,
                                                               mail_clock):
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        assert put(server, "alice", CAL + "m1.ics",
                   ics("m1", "bob", GRANDMA_LINE)).status == 201
        storage = server.storage
        storage.scheduler.outbound.run_once()
        assert len(sink.envelopes) == 1  # the invitation

        def invitation_status_recorded():
            text = server.request("GET", CAL + "m1.ics", user="alice").text
            return "SCHEDULE-STATUS=1.1" in unfold(text)
        # The sender recorded the invitation's 1.1 when the mail server
        # took it: compare with the copy from then on.
        assert invitation_status_recorded()
        before = server.request("GET", CAL + "m1.ics", user="alice").text
        # Outlook's "propose new time": a COUNTER from grandma.
        code, why = incoming.process(storage, mail(
            "COUNTER", message("COUNTER", GRANDMA)))
        assert code == incoming.OK, why
        assert methods(server, "alice") == ["COUNTER"]
        # Not from an attendee, or a REFRESH for someone else: refused.
        code, _ = incoming.process(storage, mail(
            "COUNTER", message("COUNTER", GRANDMA),
            sender="mallory@evil.example"))
        assert code == incoming.NOPERM
        code, _ = incoming.process(storage, mail(
            "REFRESH", message("REFRESH", BOB)))
        assert code == incoming.NOPERM
        assert methods(server, "alice") == ["COUNTER"]
        # alice declines: the DECLINECOUNTER is mailed to grandma.
        response = post(server, "alice", message("DECLINECOUNTER", GRANDMA))
        assert statuses(response) == {GRANDMA: "1.0;Pending"}
        storage.scheduler.outbound.run_once()
        assert len(sink.envelopes) == 2
        # grandma asks for the current version: mailed back as a REQUEST.
        code, why = incoming.process(storage, mail(
            "REFRESH", message("REFRESH", GRANDMA)))
        assert code == incoming.OK, why
        storage.scheduler.outbound.run_once()
        assert len(sink.envelopes) == 3
        mail_clock.advance(3600)
        storage.scheduler.outbound.run_once()  # nothing else is mailed
        assert len(sink.envelopes) == 3
    finally:
        controller.stop()
    mails = sink.mails()
    assert [e.rcpt_tos for e in sink.envelopes[1:]] == [
        ["grandma@elsewhere.example"]] * 2
    declined, refreshed = mails[1], mails[2]
    parts = {p.get_content_type(): p for p in declined.iter_parts()}
    assert parts["text/calendar"].get_param("method") == "DECLINECOUNTER"
    assert "declined your proposal" in parts["text/plain"].get_content()
    parts = {p.get_content_type(): p for p in refreshed.iter_parts()}
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    # Nobody's copy changed, and no delivery status was written for them.
    after = server.request("GET", CAL + "m1.ics", user="alice").text
    assert unfold(after) == unfold(before)


def test_bob_counters_an_outside_organizer_by_mail(mailing, mail_port):
    sink, controller = smtp_server(mail_port)
    try:
        server = mailing()
        invitation = message("REQUEST", BOB, organizer=GRANDMA).replace(
            "COMMENT:Tuesday afternoon suits me better\r\n", "")
        code, why = incoming.process(server.storage, mail(
            "REQUEST", invitation, to="bob@example.org"))
        assert code == incoming.OK, why
        before = copy(server, "bob", "m1")
        response = post(server, "bob", message(
            "COUNTER", BOB, organizer=GRANDMA, start="20260108T090000Z",
            end="20260108T100000Z"))
        assert statuses(response) == {GRANDMA: "1.0;Pending"}
        assert wait_for(lambda: len(sink.envelopes) == 1)
    finally:
        controller.stop()
    [counter_mail] = sink.mails()
    parts = {p.get_content_type(): p for p in counter_mail.iter_parts()}
    assert parts["text/calendar"].get_param("method") == "COUNTER"
    assert "proposes a change" in parts["text/plain"].get_content()
    assert copy(server, "bob", "m1") == before
