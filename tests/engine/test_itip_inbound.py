"""Applying received iTIP messages to an attendee's copy (RFC 6638 s4.1,
RFC 5546 s3.2.2, s3.2.5), on its own."""

import datetime

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import inbound, instances
from radicale_scheduling.itip.organizer import organizer_change
from radicale_scheduling.itip.text import patch_partstat

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = frozenset({"mailto:alice@example.org"})
BOB = "mailto:bob@example.org"


def organizer_event(extra="", components=""):
    return ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\n"
        "UID:m1\nDTSTAMP:20260101T000000Z\nDTSTART:20260105T100000Z\n"
        "DURATION:PT1H\nSUMMARY:Planning\nORGANIZER:mailto:alice@example.org"
        "\nATTENDEE:%s\n%sEND:VEVENT\n%sEND:VCALENDAR\n"
        % (BOB, extra, components))


def request_for_bob(old, new):
    change = organizer_change(old, new, ALICE, NOW)
    return change, [m for m in change.messages if m.recipient == BOB]


def test_rfc6638_b2_invitation_becomes_the_attendees_copy():
    _, [request] = request_for_bob(None, organizer_event())
    copy = inbound.apply("REQUEST", request.calendar, None)
    assert "METHOD" not in copy.serialize()
    comp = ical.components(copy)[0]
    assert ical.text(comp, "summary") == "Planning"
    assert ical.partstat(ical.attendee(comp, BOB)) == "NEEDS-ACTION"


def test_update_keeps_the_attendees_alarms_and_transparency():
    first, [request] = request_for_bob(None, organizer_event())
    copy = inbound.apply("REQUEST", request.calendar, None)
    comp = ical.components(copy)[0]
    alarm = comp.add("valarm")
    alarm.add("action").value = "DISPLAY"
    alarm.add("trigger").value = datetime.timedelta(minutes=-10)
    alarm.add("description").value = "Bob's reminder"
    ical.set_single(comp, "transp", "TRANSPARENT")
    moved = organizer_event()
    ical.components(moved)[0].summary.value = "Planning, new agenda"
    _, [update] = request_for_bob(first.stored, moved)
    updated = inbound.apply("REQUEST", update.calendar, copy)
    comp = ical.components(updated)[0]
    assert ical.text(comp, "summary") == "Planning, new agenda"
    assert "Bob's reminder" in updated.serialize()
    assert ical.text(comp, "transp") == "TRANSPARENT"


def test_outdated_request_changes_nothing():
    _, [request] = request_for_bob(None, organizer_event(extra="SEQUENCE:1\n"))
    copy = inbound.apply("REQUEST", request.calendar, None)
    _, [older] = request_for_bob(None, organizer_event(extra="SEQUENCE:0\n"))
    assert inbound.apply("REQUEST", older.calendar, copy) is None


def test_cancel_marks_the_copy_cancelled():
    first, [request] = request_for_bob(None, organizer_event())
    copy = inbound.apply("REQUEST", request.calendar, None)
    change = organizer_change(first.stored, None, ALICE, NOW)
    [cancel] = change.messages
    cancelled = inbound.apply("CANCEL", cancel.calendar, copy)
    assert ical.text(ical.components(cancelled)[0], "status") == "CANCELLED"
    assert inbound.apply("CANCEL", cancel.calendar, None) is None


def test_cancel_of_one_instance_adds_an_exdate_and_drops_the_override():
    weekly = "RRULE:FREQ=WEEKLY;COUNT=4\n"
    override = ("BEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:20260112T100000Z\n"
                "DTSTAMP:20260101T000000Z\nDTSTART:20260112T150000Z\n"
                "DURATION:PT1H\nORGANIZER:mailto:alice@example.org\n"
                "ATTENDEE:%s\nEND:VEVENT\n" % BOB)
    first, [request] = request_for_bob(
        None, organizer_event(weekly, override))
    copy = inbound.apply("REQUEST", request.calendar, None)
    assert len(ical.components(copy)) == 2
    change = organizer_change(first.stored, organizer_event(
        weekly + "EXDATE:20260112T100000Z\n"), ALICE, NOW)
    [cancel] = [m for m in change.messages if m.method == "CANCEL"]
    updated = inbound.apply("CANCEL", cancel.calendar, copy)
    comps = ical.by_rid(updated)
    assert list(comps) == [None]
    assert list(instances.excluded(comps[None])) == ["20260112T100000Z"]


def test_cancel_of_the_only_instance_an_attendee_has():
    copy = ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:m1\n"
        "RECURRENCE-ID:20260112T100000Z\nDTSTAMP:20260101T000000Z\n"
        "DTSTART:20260112T100000Z\nDURATION:PT1H\n"
        "ORGANIZER:mailto:alice@example.org\nATTENDEE:%s\nEND:VEVENT\n"
        "END:VCALENDAR\n" % BOB)
    cancel = ical.parse(copy.serialize().replace(
        "BEGIN:VEVENT", "BEGIN:VEVENT\nSTATUS:CANCELLED").replace(
        "VERSION:2.0", "VERSION:2.0\nMETHOD:CANCEL"))
    updated = inbound.apply("CANCEL", cancel, copy)
    assert ical.text(ical.components(updated)[0], "status") == "CANCELLED"


def test_request_for_one_instance_adds_it_to_the_copy():
    weekly = "RRULE:FREQ=WEEKLY;COUNT=4\n"
    _, [request] = request_for_bob(None, organizer_event(weekly))
    copy = inbound.apply("REQUEST", request.calendar, None)
    instance = ical.parse(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nMETHOD:REQUEST\n"
        "BEGIN:VEVENT\nUID:m1\nRECURRENCE-ID:20260119T100000Z\n"
        "DTSTAMP:20260302T000000Z\nDTSTART:20260119T160000Z\nDURATION:PT1H\n"
        "ORGANIZER:mailto:alice@example.org\nATTENDEE:%s\nEND:VEVENT\n"
        "END:VCALENDAR\n" % BOB)
    updated = inbound.apply("REQUEST", instance, copy)
    assert sorted(map(str, ical.by_rid(updated))) == ["20260119T100000Z",
                                                      "None"]


def test_patch_partstat_rewrites_one_folded_line_and_keeps_quotes():
    text = ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n"
            "ATTENDEE;CN=\"Doe, J: x\";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:"
            "bob@exa\r\n mple.org\r\nATTENDEE:mailto:carol@example.org\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    patched = patch_partstat(text, BOB, "ACCEPTED")
    parsed = ical.components(ical.parse(patched))[0]
    bob = ical.attendee(parsed, BOB)
    assert ical.partstat(bob) == "ACCEPTED"
    assert ical.param(bob, "CN") == "Doe, J: x"
    assert ical.param(bob, "RSVP") is None
    carol = ical.attendee(parsed, "mailto:carol@example.org")
    assert ical.param(carol, "PARTSTAT") is None
    assert patch_partstat(text, "mailto:nobody@example.org",
                               "ACCEPTED") is None
    two = text.replace("END:VEVENT\r\nEND:VCALENDAR",
                       "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\n"
                       "RECURRENCE-ID:20260101T000000Z\r\nEND:VEVENT\r\n"
                       "END:VCALENDAR")
    assert patch_partstat(two, BOB, "ACCEPTED") is None
