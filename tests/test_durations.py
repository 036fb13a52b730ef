"""hookbin.durations: durations and sizes users type, and the one Retry-After reader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookbin.durations import (
    HTTP_DATE,
    format_duration,
    format_size,
    parse_duration,
    parse_http_date,
    parse_retry_after,
    parse_size,
)

NOW = datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC)

# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("2s", 2.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("90", 90.0),
        ("1m30s", 90.0),
        ("1h30m", 5400.0),
        ("65s", 65.0),
        ("0", 0.0),
        (" 2S ", 2.0),
        ("1M30S", 90.0),
        ("1s500ms", 1.5),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.25, "250ms"),
        (2, "2s"),
        (1.5, "1.5s"),
        (90, "1m30s"),
        (65, "1m5s"),
        (120, "2m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (600, "10m"),
        (0, "0s"),
        (3600.5, "1h0.5s"),
        (0.0001, "0.1ms"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_bad_duration_message_names_the_text():
    with pytest.raises(ValueError) as info:
        parse_duration("2x")
    assert str(info.value) == "bad duration '2x': use e.g. 250ms, 2s, 1m30s"


@pytest.mark.parametrize("text", ["", "-1s", "-5", "2x", "s", "1e3", "inf", "nan", "1s1m", "1m1m", "1.s", "1 s"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="bad duration") as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


def test_parse_duration_negative_says_so():
    with pytest.raises(ValueError, match=r"^bad duration '-1s': must not be negative$"):
        parse_duration("-1s")


def test_format_duration_rejects_negative_and_infinite():
    for value in (-1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            format_duration(value)


@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_format_duration_reads_back_exactly(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512k", 512 * 1024),
        ("2m", 2 * 1024**2),
        ("10MiB", 10 * 1024**2),
        ("10mb", 10 * 1024**2),
        ("1g", 1024**3),
        ("1GB", 1024**3),
        ("100", 100),
        ("100b", 100),
        ("1.5m", 1536 * 1024),
        ("1KIB", 1024),
        ("10 MiB", 10 * 1024**2),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "junk", "-5k", "0", "0k", "10x", "k", "10ib", "1.5.3m"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="bad size") as info:
        parse_size(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (10 * 1024**2, "10 MiB"),
        (512 * 1024, "512 KiB"),
        (37, "37 B"),
        (0, "0 B"),
        (1536, "1.5 KiB"),
        (1024**3, "1 GiB"),
        (1024**2 - 1, "1 MiB"),
    ],
)
def test_format_size(size, text):
    assert format_size(size) == text


def test_format_size_reads_back_for_whole_units():
    for text in ("10 MiB", "512 KiB", "37 B", "1 GiB"):
        assert format_size(parse_size(text)) == text


# --------------------------------------------------------------------------- Retry-After


def test_parse_retry_after(retry_after_case):
    _, make, expected = retry_after_case
    assert parse_retry_after(make(NOW), NOW) == expected


def test_parse_retry_after_without_a_header_or_with_a_naive_now():
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("", NOW) is None
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Sun, 01 Mar 2026 14:06:09 GMT", naive) == 60.0


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "sun, 06 nov 1994 08:49:37 gmt",
        "Sun, 6 Nov 1994 08:49:37 GMT",
    ],
)
def test_the_three_http_date_forms_name_one_moment(text):
    assert parse_http_date(text, NOW) == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "1994-11-06T08:49:37Z",
        "Sun, 06 Nov 0000 08:49:37 GMT",
    ],
)
def test_other_dates_are_not_http_dates(text):
    assert parse_http_date(text, NOW) is None


def test_two_digit_years_are_at_most_fifty_years_ahead():
    assert parse_http_date("Monday, 01-Mar-76 00:00:00 GMT", NOW).year == 2076
    assert parse_http_date("Tuesday, 01-Mar-77 00:00:00 GMT", NOW).year == 1977


def test_a_leap_second_is_the_next_minute():
    assert parse_http_date("Sun, 01 Mar 2026 14:05:60 GMT", NOW) == NOW.replace(second=0, minute=6)


def test_http_date_pattern_matches_where_a_spec_word_starts():
    text = "429 retry-after=Sun, 06 Nov 1994 08:49:37 GMT,200"
    match = HTTP_DATE.match(text, len("429 retry-after="))
    assert match is not None and text[match.end() :] == ",200"
