"""Quiet by default, in the engine (RFC 5546 s2.1.4, RFC 6638 s3.2.1):
which changes are news for which attendee."""

from test_itip_organizer import ALICE, BOB, CAROL, DAN, NOW, event

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.organizer import organizer_change


def sent(change):
    return sorted((m.recipient, m.method, m.quiet) for m in change.messages)


def test_a_new_attendee_is_news_only_for_them():
    change = organizer_change(event(BOB), event(BOB, CAROL), ALICE, NOW)
    # bob's copy is kept current (it lists carol), quietly.
    assert sent(change) == [(BOB, "REQUEST", True),
                            (CAROL, "REQUEST", False)]
    assert change.attempted == {CAROL}


def test_a_removed_attendee_is_news_only_for_them():
    change = organizer_change(event(BOB, CAROL), event(BOB), ALICE, NOW)
    assert sent(change) == [(BOB, "REQUEST", True),
                            (CAROL, "CANCEL", False)]


def test_quiet_attendees_keep_their_delivery_status():
    old = event(";SCHEDULE-STATUS=2.0:" + BOB)
    change = organizer_change(old, event(BOB, DAN), ALICE, NOW)
    line = ical.attendee(ical.components(change.stored)[0], BOB)
    assert ical.param(line, "SCHEDULE-STATUS") == "2.0"


def test_an_unchanged_attendee_keeps_their_delivery_status():
    old = event(";SCHEDULE-STATUS=1.2:" + BOB)
    change = organizer_change(old, event(BOB, extra="BEGIN:VALARM\n"
                                         "ACTION:DISPLAY\nTRIGGER:-PT5M\n"
                                         "END:VALARM\n"), ALICE, NOW)
    assert change.messages == []
    line = ical.attendee(ical.components(change.stored)[0], BOB)
    assert ical.param(line, "SCHEDULE-STATUS") == "1.2"


def test_a_real_change_with_a_new_attendee_is_news_for_everyone():
    change = organizer_change(event(BOB), event(
        BOB, CAROL, extra="DESCRIPTION:Agenda\n"), ALICE, NOW)
    assert sent(change) == [(BOB, "REQUEST", False),
                            (CAROL, "REQUEST", False)]


def test_force_send_is_never_quiet():
    change = organizer_change(event(BOB), event(
        ";SCHEDULE-FORCE-SEND=REQUEST:" + BOB, CAROL), ALICE, NOW)
    assert sent(change) == [(BOB, "REQUEST", False),
                            (CAROL, "REQUEST", False)]


def test_alarms_the_organizers_answer_and_stamps_are_no_news():
    old = event(BOB)
    new = event(BOB, extra="BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT5M\n"
                           "END:VALARM\nLAST-MODIFIED:20260201T000000Z\n")
    comp = ical.components(new)[0]
    ical.set_param(ical.attendee(comp, "mailto:alice@example.org"),
                   "PARTSTAT", "TENTATIVE")
    ical.set_single(comp, "dtstamp", NOW)
    assert organizer_change(old, new, ALICE, NOW).messages == []
