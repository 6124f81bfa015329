"""The engine's few edits of iCalendar text (``itip.text``), on their own;
``patch_partstat`` is also tested in test_itip_inbound.py."""

import pytest

from radicale_scheduling.itip import text
from radicale_scheduling.itip.errors import InvalidCalendar

BODY = ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        "DTSTAMP:20260101T000000Z\r\nX-RADICALE-SCHEDULE-TAG:abc\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")


def test_method_and_stamps_are_removed_and_nothing_else():
    assert text.without_method(BODY) == BODY.replace(
        "METHOD:REQUEST\r\n", "")
    assert text.without_stamps(BODY) == BODY.replace(
        "DTSTAMP:20260101T000000Z\r\n", "")


def test_the_private_schedule_tag_is_taken_out():
    assert text.without_private(BODY) == (
        BODY.replace("X-RADICALE-SCHEDULE-TAG:abc\r\n", ""), "abc")
    plain = BODY.replace("X-RADICALE-SCHEDULE-TAG:abc\r\n", "")
    assert text.without_private(plain) == (plain, None)


def test_patch_partstat_changes_one_line():
    patched = text.patch_partstat(BODY, "mailto:bob@example.org",
                                  "ACCEPTED")
    assert "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org" in patched
    assert patched.replace("ACCEPTED", "NEEDS-ACTION") == BODY


def test_param_text_quotes_or_refuses():
    assert text.param_text("a,b") == '"a,b"'
    assert text.param_text("plain") == "plain"
    with pytest.raises(InvalidCalendar):
        text.param_text('a"b')
