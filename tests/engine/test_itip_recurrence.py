"""Recurrence rules of the organizer engine on their own (no Radicale):
which overrides still name an instance (RFC 5545 s3.8.4.4), and what a
truncated series, a removed rule, an attendee on one instance, instances
without a master, DST and all-day instances mean for each attendee."""

import datetime

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip.instances import stale_overrides, view
from radicale_scheduling.itip.organizer import organizer_change

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
ALICE = frozenset({"mailto:alice@example.org"})
BOB, CAROL = "mailto:bob@example.org", "mailto:carol@example.org"
BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def comp(start, *attendees, rid=None, extra=""):
    lines = ["BEGIN:VEVENT", "UID:r", "DTSTAMP:20260101T000000Z",
             "DTSTART" + start, "SUMMARY:Weekly",
             "ORGANIZER:mailto:alice@example.org"]
    if rid:
        lines.append("RECURRENCE-ID" + rid)
    lines += ["ATTENDEE" + (";" if a.startswith("PARTSTAT") else ":") + a
              for a in attendees]
    lines += [x for x in extra.split("\n") if x]
    return "\n".join(lines + ["END:VEVENT"]) + "\n"


def cal(*comps, tz=""):
    return ical.parse("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n" + tz +
                      "".join(comps) + "END:VCALENDAR\n")


def methods(change):
    return sorted((m.recipient, m.method) for m in change.messages)


def keys(components):
    return sorted(k or "" for k in components)


def test_overrides_beyond_count_or_until_are_stale():
    master = comp(":20260105T100000Z", BOB, extra="RRULE:FREQ=WEEKLY;COUNT=3")
    inside = comp(":20260112T150000Z", BOB, rid=":20260112T100000Z")
    beyond = comp(":20260126T100000Z", BOB, rid=":20260126T100000Z")
    off = comp(":20260113T100000Z", BOB, rid=":20260113T100000Z")
    comps = ical.by_rid(cal(master, inside, beyond, off))
    assert stale_overrides(comps) == {"20260126T100000Z",
                                      "20260113T100000Z"}
    until = comp(":20260105T100000Z", BOB,
                 extra="RRULE:FREQ=WEEKLY;UNTIL=20260112T100000Z")
    assert stale_overrides(ical.by_rid(cal(until, inside, beyond))) == {
        "20260126T100000Z"}
    # An EXDATE does not make an override stale (that is a cancellation).
    excluded = comp(":20260105T100000Z", BOB, extra=(
        "RRULE:FREQ=WEEKLY;COUNT=3\nEXDATE:20260112T100000Z"))
    assert stale_overrides(ical.by_rid(cal(excluded, inside))) == set()


def test_without_a_rule_every_override_is_stale_and_without_master_none():
    single = comp(":20260105T100000Z", BOB)
    other = comp(":20260112T100000Z", BOB, rid=":20260112T100000Z")
    same = comp(":20260105T120000Z", BOB, rid=":20260105T100000Z")
    assert stale_overrides(ical.by_rid(cal(single, other, same))) == {
        "20260112T100000Z"}
    assert stale_overrides(ical.by_rid(cal(other, same))) == set()
    rdate = comp(":20260105T100000Z", BOB, extra="RDATE:20260112T100000Z")
    assert stale_overrides(ical.by_rid(cal(rdate, other))) == set()


def test_dst_overrides_match_the_series_by_instant():
    master = comp(";TZID=Europe/Berlin:20260316T100000", BOB,
                  extra="RRULE:FREQ=WEEKLY;COUNT=4")
    cet = comp(";TZID=Europe/Berlin:20260323T110000", BOB,
               rid=";TZID=Europe/Berlin:20260323T100000")
    cest_utc = comp(";TZID=Europe/Berlin:20260330T110000", BOB,
                    rid=":20260330T080000Z")
    wrong = comp(";TZID=Europe/Berlin:20260330T110000", BOB,
                 rid=":20260330T090000Z")  # 11:00 in Berlin: no instance
    comps = ical.by_rid(cal(master, cet, cest_utc, wrong, tz=BERLIN))
    assert stale_overrides(comps) == {"20260330T090000Z"}


def test_all_day_overrides():
    master = comp(";VALUE=DATE:20260105", BOB,
                  extra="RRULE:FREQ=WEEKLY;UNTIL=20260112")
    kept = comp(";VALUE=DATE:20260113", BOB, rid=";VALUE=DATE:20260112")
    gone = comp(";VALUE=DATE:20260119", BOB, rid=";VALUE=DATE:20260119")
    assert stale_overrides(ical.by_rid(cal(master, kept, gone))) == {
        "20260119"}


def test_truncation_replaces_the_series_and_cancels_who_was_only_beyond():
    rule = "RRULE:FREQ=WEEKLY;COUNT=%d"
    review = comp(":20260126T100000Z", BOB, CAROL, rid=":20260126T100000Z")
    old = cal(comp(":20260105T100000Z", BOB, extra=rule % 6), review)
    new = cal(comp(":20260105T100000Z", BOB, extra=rule % 3), review)
    change = organizer_change(old, new, ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST"), (CAROL, "CANCEL")]
    [request] = [m for m in change.messages if m.recipient == BOB]
    assert keys(ical.by_rid(request.calendar)) == [""]
    assert "COUNT=3" in request.serialize()
    [cancel] = [m for m in change.messages if m.recipient == CAROL]
    assert keys(ical.by_rid(cancel.calendar)) == ["20260126T100000Z"]
    # The new revision: SEQUENCE grew on the master.
    assert ical.sequence(ical.by_rid(change.stored)[None]) == 1
    assert view(change.stored, CAROL) == {}


def test_removing_the_rule_resets_answers_and_drops_overrides():
    old = cal(comp(":20260105T100000Z", "PARTSTAT=ACCEPTED:" + BOB,
                   extra="RRULE:FREQ=WEEKLY;COUNT=4"),
              comp(":20260112T100000Z", BOB, CAROL, rid=":20260112T100000Z"))
    new = cal(comp(":20260105T100000Z", "PARTSTAT=ACCEPTED:" + BOB),
              comp(":20260112T100000Z", BOB, CAROL, rid=":20260112T100000Z"))
    change = organizer_change(old, new, ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST"), (CAROL, "CANCEL")]
    master = ical.by_rid(change.stored)[None]
    assert ical.partstat(ical.attendee(master, BOB)) == "NEEDS-ACTION"
    assert keys(view(change.stored, BOB)) == [""]


def test_adding_the_rule_is_a_new_revision():
    old = cal(comp(":20260105T100000Z", "PARTSTAT=ACCEPTED:" + BOB))
    new = cal(comp(":20260105T100000Z", "PARTSTAT=ACCEPTED:" + BOB,
                   extra="RRULE:FREQ=WEEKLY;COUNT=4"))
    change = organizer_change(old, new, ALICE, NOW)
    assert methods(change) == [(BOB, "REQUEST")]
    master = ical.by_rid(change.stored)[None]
    assert ical.partstat(ical.attendee(master, BOB)) == "NEEDS-ACTION"
    assert ical.sequence(master) == 1


def test_an_attendee_on_one_instance_gets_it_and_later_its_cancel():
    master = comp(":20260105T100000Z", BOB, extra="RRULE:FREQ=WEEKLY")
    old = cal(master)
    new = cal(master, comp(":20260119T100000Z", BOB, CAROL,
                           rid=":20260119T100000Z"))
    change = organizer_change(old, new, ALICE, NOW)
    assert (CAROL, "REQUEST") in methods(change)
    [invite] = [m for m in change.messages if m.recipient == CAROL]
    assert keys(ical.by_rid(invite.calendar)) == ["20260119T100000Z"]
    back = cal(master, comp(":20260119T100000Z", BOB,
                            rid=":20260119T100000Z"))
    change = organizer_change(change.stored, back, ALICE, NOW)
    [cancel] = [m for m in change.messages if m.recipient == CAROL]
    assert cancel.method == "CANCEL"
    assert keys(ical.by_rid(cancel.calendar)) == ["20260119T100000Z"]


def test_instances_only_are_invited_and_cancelled_together():
    two = cal(comp(":20260105T100000Z", BOB, rid=":20260105T100000Z"),
              comp(":20260112T100000Z", BOB, rid=":20260112T100000Z"))
    change = organizer_change(None, two, ALICE, NOW)
    [request] = change.messages
    assert keys(ical.by_rid(request.calendar)) == ["20260105T100000Z",
                                                   "20260112T100000Z"]
    change = organizer_change(change.stored, None, ALICE, NOW)
    [cancel] = change.messages
    assert cancel.method == "CANCEL"
    assert keys(ical.by_rid(cancel.calendar)) == ["20260105T100000Z",
                                                  "20260112T100000Z"]


def test_a_long_expansion_keeps_every_override():
    """A rule by the second with an override a year on: deciding would
    expand millions of instances, so nothing is dropped."""
    master = comp(":20260105T100000Z", BOB, extra="RRULE:FREQ=SECONDLY")
    late = comp(":20270105T100001Z", BOB, rid=":20270105T100000Z")
    assert stale_overrides(ical.by_rid(cal(master, late))) == set()
    # Floating start, zoned RECURRENCE-ID: undecided, kept.
    floating = comp(":20260105T100000", BOB, extra="RRULE:FREQ=DAILY")
    zoned = comp(":20260107T100000Z", BOB, rid=":20260107T100000Z")
    assert stale_overrides(ical.by_rid(cal(floating, zoned))) == set()


def test_an_override_inviting_someone_else_is_quiet_for_the_others():
    """RFC 5546 s2.1.4 leaves whom an update goes to to the organizer: an
    override that only adds carol to one instance refreshes bob's copy
    without news; one that moves the instance is news."""
    master = comp(":20260105T100000Z", BOB, extra="RRULE:FREQ=WEEKLY\n"
                  "DTEND:20260105T110000Z")
    old = cal(master)
    extra = cal(master, comp(":20260119T100000Z", BOB, CAROL,
                             rid=":20260119T100000Z",
                             extra="DTEND:20260119T110000Z"))
    change = organizer_change(old, extra, ALICE, NOW)
    [to_bob] = [m for m in change.messages if m.recipient == BOB]
    assert to_bob.method == "REQUEST" and to_bob.quiet
    [to_carol] = [m for m in change.messages if m.recipient == CAROL]
    assert not to_carol.quiet
    moved = cal(master, comp(":20260119T150000Z", BOB, CAROL,
                             rid=":20260119T100000Z",
                             extra="DTEND:20260119T160000Z"))
    change = organizer_change(old, moved, ALICE, NOW)
    [to_bob] = [m for m in change.messages if m.recipient == BOB]
    assert not to_bob.quiet
