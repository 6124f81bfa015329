"""The one recurrence path (``recurrence.occurrences``) on its own: free-busy,
availability and rooms all expand through it."""

import datetime

from radicale_scheduling.itip import calendar as ical
from radicale_scheduling.itip import freebusy, recurrence

UTC = datetime.timezone.utc


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def event(rule, extra=""):
    return ical.components(ical.parse(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT"
        "\r\nUID:e\r\nDTSTAMP:19900101T000000Z\r\nDTSTART:19900101T100000Z"
        "\r\nDTEND:19900101T110000Z\r\nRRULE:%s\r\n%sEND:VEVENT\r\n"
        "END:VCALENDAR\r\n" % (rule, extra)))[0]


def starts(comp, start, end, budget=None):
    return [begin for _native, begin, _end in recurrence.occurrences(
        comp, start, end, UTC, budget or recurrence.Budget(1000))]


def test_a_long_daily_series_skips_ahead_and_keeps_its_exdates():
    comp = event("FREQ=DAILY", "EXDATE:20260303T100000Z\r\n")
    budget = recurrence.Budget(50)  # 13,000 days from 1990 would not fit
    assert starts(comp, at(2026, 3, 2), at(2026, 3, 5), budget) == [
        at(2026, 3, 2, 10), at(2026, 3, 4, 10)]


def test_rules_dateutil_would_loop_on_give_their_start_only():
    for rule in ("FREQ=DAILY;INTERVAL=0", "FREQ=YEARLY;BYMONTH=2;"
                 "BYMONTHDAY=30"):
        assert starts(event(rule), at(1989, 1, 1), at(2030, 1, 1)) == [
            at(1990, 1, 1, 10)], rule


def test_the_budget_stops_an_expansion():
    comp = event("FREQ=MINUTELY;BYHOUR=10")
    try:
        starts(comp, at(1990, 1, 1), at(1991, 1, 1), recurrence.Budget(100))
    except recurrence.TooManyOccurrences:
        return
    raise AssertionError("the budget was not spent")


def test_availability_recurs_through_the_same_path():
    cal = ical.parse(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        "BEGIN:VAVAILABILITY\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260105T000000Z\r\nBEGIN:AVAILABLE\r\nUID:b\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n"
        "DTEND:20260105T170000Z\r\nRRULE:FREQ=DAILY\r\nEND:AVAILABLE\r\n"
        "END:VAVAILABILITY\r\nEND:VCALENDAR\r\n")
    periods = freebusy.busy_periods(cal, at(2026, 1, 6), at(2026, 1, 7),
                                    UTC, recurrence.Budget(100))
    assert periods == [
        (at(2026, 1, 6), at(2026, 1, 6, 9), freebusy.UNAVAILABLE),
        (at(2026, 1, 6, 17), at(2026, 1, 7), freebusy.UNAVAILABLE)]
