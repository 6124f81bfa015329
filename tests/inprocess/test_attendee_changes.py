"""What an attendee's client may send back when it saves its copy (issue
19 point 2, issue 16 point 2): cosmetic differences real clients make are
accepted and the answer reaches the organizer; changes to what others see
are refused and change nothing."""

import live
import pytest
import radicale

from helpers import NS
from radicale_scheduling.delivery import incoming
from scheduling_helpers import (
    answer,
    attendee_line,
    copies,
    copy,
    ics,
    inbox,
    methods,
    organize,
    put,
    unfold,
)

CAL = "/alice/calendar/"
USERS = ("alice", "bob", "carol")
WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO\n"
BERLIN = ("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\n"
          "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
          "\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
          "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
          "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\n"
          "TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE"
          "\r\n")


@pytest.fixture
def series(server):
    """alice invited bob and carol to four Monday meetings, w."""
    return organize(server, ics("w", "bob", "carol", extra=WEEKLY), USERS,
                    path=CAL + "w.ics")


def bob_copy(server, uid="w"):
    [(href, text)] = copies(server, "bob", uid)
    return href, unfold(text)


def lines_of(text):
    return text.split("\r\n")


def reorder(text):
    """The event's properties in reverse order, as some clients write."""
    head, rest = text.split("BEGIN:VEVENT\r\n", 1)
    body, tail = rest.split("END:VEVENT\r\n", 1)
    props = [x for x in body.split("\r\n") if x]
    return "%sBEGIN:VEVENT\r\n%s\r\nEND:VEVENT\r\n%s" % (
        head, "\r\n".join(reversed(props)), tail)


def with_timezone(text):
    """The same instants written in Berlin time with its VTIMEZONE."""
    text = text.replace("DTSTART:20260105T100000Z",
                        "DTSTART;TZID=Europe/Berlin:20260105T110000")
    text = text.replace("DTEND:20260105T110000Z",
                        "DTEND;TZID=Europe/Berlin:20260105T120000")
    return text.replace("BEGIN:VEVENT", BERLIN + "BEGIN:VEVENT", 1)


COSMETIC = {
    "changed CN and EMAIL on the other lines": lambda t: t.replace(
        "ORGANIZER;CN=alice:", 'ORGANIZER;CN="Alice Example";'
        "EMAIL=alice@example.org:").replace(
        "ATTENDEE;CN=carol:", "ATTENDEE;CN=Carol C.;EMAIL=carol@example.org;"
        "ROLE=REQ-PARTICIPANT:"),
    "reordered properties": reorder,
    "RRULE parts in another order": lambda t: t.replace(
        "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO",
        "RRULE:BYDAY=MO;COUNT=4;INTERVAL=1;FREQ=WEEKLY"),
    "another time zone for the same instants": with_timezone,
    "DURATION in place of DTEND": lambda t: t.replace(
        "DTEND:20260105T110000Z", "DURATION:PT1H"),
    "mailto: in capitals": lambda t: t.replace(
        ":mailto:carol@example.org", ":MAILTO:Carol@Example.org").replace(
        ":mailto:alice@example.org", ":MAILTO:alice@example.org"),
    "the client's own X- properties": lambda t: t.replace(
        "END:VEVENT", "X-MOZ-GENERATION:2\r\nX-APPLE-TRAVEL-ADVISORY-BEHAVIOR:"
        "AUTOMATIC\r\nEND:VEVENT").replace(
        "BEGIN:VEVENT", "X-WR-CALNAME:Work\r\nBEGIN:VEVENT", 1),
    "the other attendees' PARTSTAT left out": lambda t: t,
}


@pytest.mark.parametrize("how", sorted(COSMETIC))
def test_cosmetic_differences_of_an_accepted_copy_are_accepted(series, how):
    href, text = bob_copy(series)
    sent = COSMETIC[how](answer(text, "bob", "ACCEPTED"))
    response = put(series, "bob", href, sent)
    assert response.status in (201, 204), response.text
    organizer = series.request("GET", CAL + "w.ics", user="alice").text
    assert "PARTSTAT=ACCEPTED" in attendee_line(organizer, "bob")
    assert methods(series, "alice") == ["REPLY"]
    assert "PARTSTAT=ACCEPTED" in attendee_line(copy(series, "carol", "w"),
                                                "bob")
    # The other people's lines stay as the organizer wrote them.
    stored = unfold(series.request("GET", href, user="bob").text)
    assert "ATTENDEE;CN=carol:mailto:carol@example.org" in stored
    assert [x for x in lines_of(stored) if x.startswith("ORGANIZER")][0] \
        .endswith(";CN=alice:mailto:alice@example.org") or \
        "ORGANIZER;CN=alice" in stored
    assert "EMAIL=" not in stored


def test_an_attendee_of_an_all_day_series_declines_one_instance(server):
    organize(server, ics("d", "bob", extra=WEEKLY, start="20260105",
                         end="20260106").replace(
        "DTSTART:20260105", "DTSTART;VALUE=DATE:20260105").replace(
        "DTEND:20260106", "DTEND;VALUE=DATE:20260106"), USERS,
        path=CAL + "d.ics")
    href, text = bob_copy(server, "d")
    # The client's override: a date-time RECURRENCE-ID for the day, no
    # DTEND (one day), DECLINED.
    override = ("BEGIN:VEVENT\r\nUID:d\r\nRECURRENCE-ID:20260112T000000\r\n"
                "DTSTAMP:20260102T000000Z\r\nDTSTART;VALUE=DATE:20260112\r\n"
                "SUMMARY:Planning\r\nORGANIZER;CN=alice:mailto:alice@example.org"
                "\r\nATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.org\r\n"
                "END:VEVENT\r\n")
    sent = text.replace("END:VCALENDAR", override + "END:VCALENDAR")
    response = put(server, "bob", href, sent)
    assert response.status in (201, 204), response.text
    if not radicale.VERSION.startswith("3.1."):
        # Radicale 3.1 cannot list a message about one instance only.
        [(method, reply)] = inbox(server, "alice")
        assert method == "REPLY"
        assert "RECURRENCE-ID;VALUE=DATE:20260112" in unfold(reply)
    organizer = unfold(server.request("GET", CAL + "d.ics", user="alice").text)
    instance = organizer.split("RECURRENCE-ID;VALUE=DATE:20260112")[1]
    assert "PARTSTAT=DECLINED" in attendee_line(instance, "bob")


REFUSED = {
    "summary": lambda t: t.replace("SUMMARY:Planning", "SUMMARY:Bob's"),
    "description": lambda t: t.replace(
        "END:VEVENT", "DESCRIPTION:Bring cake\r\nEND:VEVENT"),
    "location": lambda t: t.replace("END:VEVENT",
                                    "LOCATION:My office\r\nEND:VEVENT"),
    "time": lambda t: t.replace("DTSTART:20260105T100000Z",
                                "DTSTART:20260105T090000Z"),
    "duration": lambda t: t.replace("DTEND:20260105T110000Z",
                                    "DURATION:PT2H"),
    "recurrence": lambda t: t.replace("COUNT=4", "COUNT=5"),
    "an added attendee": lambda t: t.replace(
        "END:VEVENT", "ATTENDEE:mailto:dave@example.org\r\nEND:VEVENT"),
    "a removed attendee": lambda t: t.replace(
        "ATTENDEE;CN=carol:mailto:carol@example.org\r\n", ""),
    "another's PARTSTAT": lambda t: t.replace(
        "ATTENDEE;CN=carol:", "ATTENDEE;CN=carol;PARTSTAT=ACCEPTED:"),
    "the organizer": lambda t: t.replace(
        "ORGANIZER;CN=alice:mailto:alice@example.org",
        "ORGANIZER;CN=carol:mailto:carol@example.org"),
    "bob as organizer": lambda t: t.replace(
        "ORGANIZER;CN=alice:mailto:alice@example.org",
        "ORGANIZER;CN=bob:mailto:bob@example.org"),
    # Issue 16 point 2: occurrences the organizer's meeting does not have.
    "an override off the pattern": lambda t: t.replace(
        "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:"
        "20260107T100000Z\r\nDTSTART:20260107T100000Z\r\nDTEND:"
        "20260107T110000Z\r\nSUMMARY:Planning\r\nORGANIZER;CN=alice:mailto:"
        "alice@example.org\r\nATTENDEE;CN=bob;PARTSTAT=ACCEPTED:mailto:"
        "bob@example.org\r\nATTENDEE;CN=carol:mailto:carol@example.org\r\n"
        "END:VEVENT\r\nEND:VCALENDAR"),
    "an override after the last instance": lambda t: t.replace(
        "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:"
        "20260202T100000Z\r\nDTSTART:20260202T100000Z\r\nDTEND:"
        "20260202T110000Z\r\nSUMMARY:Planning\r\nORGANIZER;CN=alice:mailto:"
        "alice@example.org\r\nATTENDEE;CN=bob;PARTSTAT=ACCEPTED:mailto:"
        "bob@example.org\r\nATTENDEE;CN=carol:mailto:carol@example.org\r\n"
        "END:VEVENT\r\nEND:VCALENDAR"),
    "an EXDATE off the pattern": lambda t: t.replace(
        "END:VEVENT", "EXDATE:20260108T100000Z\r\nEND:VEVENT", 1),
}


def assert_refused_and_unchanged(server, href, sent, uid="w"):
    before = server.request("GET", href, user="bob").text
    organizer = server.request("GET", CAL + uid + ".ics", user="alice").text
    response = put(server, "bob", href, sent)
    assert response.status == 403, response.text
    assert response.xml.find("C:allowed-attendee-scheduling-object-change",
                             NS) is not None
    assert server.request("GET", href, user="bob").text == before
    assert server.request("GET", CAL + uid + ".ics",
                          user="alice").text == organizer
    assert methods(server, "alice") == []
    assert methods(server, "carol") == ["REQUEST"]


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_changes_others_would_see_are_refused(series, what):
    href, text = bob_copy(series)
    sent = REFUSED[what](answer(text, "bob", "ACCEPTED"))
    assert sent != answer(text, "bob", "ACCEPTED")
    assert_refused_and_unchanged(series, href, sent)


def test_no_override_for_a_one_off_meeting_or_an_excluded_date(server):
    organize(server, ics("m1", "bob", "carol"), USERS)
    href, text = bob_copy(server, "m1")
    override = ("BEGIN:VEVENT\r\nUID:{uid}\r\nRECURRENCE-ID:{rid}\r\n"
                "DTSTART:{rid}\r\nDTEND:20260112T110000Z\r\n"
                "SUMMARY:Planning\r\nORGANIZER;CN=alice:mailto:alice@"
                "example.org\r\nATTENDEE;CN=bob;PARTSTAT=ACCEPTED:mailto:bob@"
                "example.org\r\nATTENDEE;CN=carol:mailto:carol@example.org"
                "\r\nEND:VEVENT\r\n")
    sent = text.replace("END:VCALENDAR", override.format(
        uid="m1", rid="20260112T100000Z") + "END:VCALENDAR")
    assert_refused_and_unchanged(server, href, sent, uid="m1")
    # A series with the 12th excluded by the organizer.
    assert put(server, "alice", CAL + "x.ics", ics(
        "x", "bob", "carol", extra=WEEKLY + "EXDATE:20260112T100000Z\n"
    )).status == 201
    href, text = bob_copy(server, "x")
    sent = text.replace("END:VCALENDAR", override.format(
        uid="x", rid="20260112T100000Z") + "END:VCALENDAR")
    for user in ("alice", "carol"):
        for message_href in [h for h in inbox_hrefs(server, user)]:
            server.request("DELETE", message_href, user=user)
    before_carol = copy(server, "carol", "x")
    response = put(server, "bob", href, sent)
    assert response.status == 403
    assert "RECURRENCE-ID" not in server.request("GET", CAL + "x.ics",
                                                 user="alice").text
    assert copy(server, "carol", "x") == before_carol
    assert methods(server, "alice") == []


def inbox_hrefs(server, user):
    from scheduling_helpers import hrefs
    return hrefs(server, user, "/%s/.schedule-inbox/" % user)


def test_a_dropped_override_comes_back_from_the_organizer(series):
    # alice moved the second meeting to 14:00.
    moved = ("BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:20260112T100000Z\r\n"
             "DTSTAMP:20260101T000000Z\r\nDTSTART:20260112T140000Z\r\n"
             "DTEND:20260112T150000Z\r\nSUMMARY:Planning\r\n"
             "ORGANIZER;CN=alice:mailto:alice@example.org\r\n"
             "ATTENDEE;CN=bob:mailto:bob@example.org\r\n"
             "ATTENDEE;CN=carol:mailto:carol@example.org\r\nEND:VEVENT\r\n")
    assert put(series, "alice", CAL + "w.ics", ics(
        "w", "bob", "carol", extra=WEEKLY, components=moved)).status in (201, 204)
    href, text = bob_copy(series)
    master_only = text.split("BEGIN:VEVENT")[0] + "BEGIN:VEVENT" + [
        part for part in text.split("BEGIN:VEVENT")[1:]
        if "RECURRENCE-ID" not in part][0]
    if not master_only.rstrip().endswith("END:VCALENDAR"):
        master_only = master_only.split("END:VEVENT")[0] + \
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
    response = put(series, "bob", href, answer(master_only, "bob", "ACCEPTED"))
    assert response.status in (201, 204), response.text
    stored = unfold(series.request("GET", href, user="bob").text)
    assert "DTSTART:20260112T140000Z" in stored


def test_the_organizer_learns_the_reply_was_delivered(series):
    """RFC 6638 s3.2.9: SCHEDULE-STATUS on ORGANIZER in bob's copy, also
    after a save with cosmetic differences and per instance."""
    href, text = bob_copy(series)
    sent = COSMETIC["changed CN and EMAIL on the other lines"](
        answer(text, "bob", "TENTATIVE"))
    assert put(series, "bob", href, sent).status in (201, 204)
    stored = unfold(series.request("GET", href, user="bob").text)
    [organizer] = [x for x in lines_of(stored) if x.startswith("ORGANIZER")]
    assert "SCHEDULE-STATUS=1.2" in organizer


# -- the same by mail (issue 16 point 2) ---------------------------------------


@pytest.mark.parametrize("meeting, rid, code", [
    ("", "20260112T100000Z", incoming.NOPERM),  # a one-off meeting
    (WEEKLY, "20260107T100000Z", incoming.NOPERM),  # off the pattern
    (WEEKLY + "EXDATE:20260112T100000Z\n", "20260112T100000Z",
     incoming.NOPERM),  # a date alice excluded
    (WEEKLY, "20260112T100000Z", incoming.OK),  # a real instance
])
def test_a_mailed_answer_cannot_add_an_instance(mail_clock, mailing, meeting,
                                                rid, code):
    # The queue is run by the test (never here): no sender thread writes a
    # delivery status between the two readings compared below.
    server = mailing()
    assert put(server, "alice", CAL + "m1.ics", ics(
        "m1", "bob", live.GRANDMA, extra=meeting)).status == 201
    before = server.request("GET", CAL + "m1.ics", user="alice").text
    bobs = copy(server, "bob", "m1")
    mail = live.THUNDERBIRD_REPLY.replace(
        "UID:m1\n", "UID:m1\nRECURRENCE-ID:%s\n" % rid).replace(
        "DTSTART:20260105T100000Z", "DTSTART:%s" % rid)
    result, text = incoming.process(server.storage, mail.encode())
    assert result == code, text
    after = server.request("GET", CAL + "m1.ics", user="alice").text
    if code == incoming.OK:
        assert "RECURRENCE-ID:%s" % rid in after
        return
    assert after == before
    assert copy(server, "bob", "m1") == bobs
    assert methods(server, "alice") == []
