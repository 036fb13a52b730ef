"""Parsing and formatting of durations and sizes: `250ms`, `1m30s`, `10MiB`, and Retry-After values.

Durations are seconds as floats; sizes are whole bytes. Parsing is exact (decimal
arithmetic), so `parse_duration(format_duration(x)) == x` for every finite `x >= 0`.

Durations: a bare number is seconds (`90`); otherwise one or more number-unit parts
with units `h`, `m`, `s`, `ms`, largest first, each at most once (`1h30m`, `1m30s`,
`1.5s`, `250ms`). Sizes: a number with an optional unit `k`, `m`, `g` or `t`
(powers of 1024) and an optional `b` or `ib` suffix (`512k`, `10MiB`, `1.5m`,
`100`). Both are case-insensitive.

Retry-After (RFC 9110 section 10.2.3) is delay-seconds (ASCII digits, nothing else) or an
HTTP date in one of the three forms of section 5.6.7; `parse_retry_after` is the one reader
that the sender simulator and the deliveries view share.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction

__all__ = [
    "HTTP_DATE",
    "format_duration",
    "format_size",
    "parse_duration",
    "parse_http_date",
    "parse_retry_after",
    "parse_size",
]

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_BARE = re.compile(_NUMBER, re.ASCII)
_PART = re.compile(rf"({_NUMBER})(ms|h|m|s)", re.ASCII)
_UNIT_SECONDS = {"h": Fraction(3600), "m": Fraction(60), "s": Fraction(1), "ms": Fraction(1, 1000)}
_UNIT_ORDER = {"h": 0, "m": 1, "s": 2, "ms": 3}

_SIZE = re.compile(rf"({_NUMBER})[ \t]*(?:([kmgt])(i?b)?|(b)?)", re.ASCII | re.IGNORECASE)
_SIZE_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
_SIZE_NAMES = ("B", "KiB", "MiB", "GiB", "TiB")


def _bad_duration(text: str, why: str = "use e.g. 250ms, 2s, 1m30s") -> ValueError:
    return ValueError(f"bad duration {text!r}: {why}")


def parse_duration(text: str) -> float:
    """Seconds in `text`: `250ms`, `2s`, `1.5s`, `2m`, `1h`, `1m30s`, or a bare `90` (seconds).

    Raises ValueError naming `text` for an empty, negative or unreadable duration.
    """
    if not isinstance(text, str):
        raise TypeError(f"duration must be a str, not {type(text).__name__}")
    clean = text.strip().lower()
    if clean.startswith("-"):
        raise _bad_duration(text, "must not be negative")
    if _BARE.fullmatch(clean):
        total = Fraction(clean)
    else:
        if not clean:
            raise _bad_duration(text)
        total = Fraction(0)
        pos = 0
        last = -1
        while pos < len(clean):
            match = _PART.match(clean, pos)
            if match is None:
                raise _bad_duration(text)
            number, unit = match.groups()
            if _UNIT_ORDER[unit] <= last:
                raise _bad_duration(text, "give units largest first, each once, e.g. 1h30m, 1m30s")
            last = _UNIT_ORDER[unit]
            total += Fraction(number) * _UNIT_SECONDS[unit]
            pos = match.end()
    try:
        seconds = float(total)
    except OverflowError:
        raise _bad_duration(text, "too long") from None
    if not math.isfinite(seconds):
        raise _bad_duration(text, "too long")
    return seconds


def _plain(value: Decimal) -> str:
    """`value` in plain notation without trailing zeros: 1.50 -> 1.5, 3.6E+3 -> 3600."""
    return format(value.normalize(), "f")


def format_duration(seconds: float) -> str:
    """The canonical text for `seconds`: `250ms`, `2s`, `1.5s`, `1m5s`, `1h30m`, `0s`.

    Exact: `parse_duration(format_duration(x)) == x`. Raises ValueError for negative or
    non-finite values.
    """
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"bad duration {seconds!r}: must be a finite number of seconds >= 0")
    if seconds == 0:
        return "0s"
    # repr() is the shortest decimal that reads back as the same float; splitting it
    # exactly into h/m/s keeps the text exact.
    with localcontext() as ctx:
        ctx.prec = 1000
        value = Decimal(repr(seconds))
        if value < 1:
            return _plain(value * 1000) + "ms"
        hours, rest = divmod(value, 3600)
        minutes, secs = divmod(rest, 60)
        parts = []
        if hours:
            parts.append(_plain(hours) + "h")
        if minutes:
            parts.append(_plain(minutes) + "m")
        if secs:
            parts.append(_plain(secs) + "s")
        return "".join(parts)


def parse_size(text: str) -> int:
    """Bytes in `text`: `512k`, `2m`, `10MiB`, `1g`, `1.5m`, `100` (bytes); k = 1024.

    Case-insensitive, optional `b`/`ib` suffix after the unit, fractions rounded to whole
    bytes. Raises ValueError naming `text` when it is unreadable, negative or zero.
    """
    if not isinstance(text, str):
        raise TypeError(f"size must be a str, not {type(text).__name__}")
    clean = text.strip()
    if clean.startswith("-"):
        raise ValueError(f"bad size {text!r}: must not be negative")
    match = _SIZE.fullmatch(clean)
    if match is None:
        raise ValueError(f"bad size {text!r}: use e.g. 512k, 2m, 10MiB, 1g or 100 (bytes)")
    number, unit = match.group(1), (match.group(2) or "").lower()
    size = round(Fraction(number) * 1024 ** _SIZE_UNITS[unit])
    if size < 1:
        raise ValueError(f"bad size {text!r}: must be at least 1 byte")
    return size


def format_size(n: int) -> str:
    """A short readable size: `37 B`, `512 KiB`, `10 MiB`, `1.5 GiB` (one decimal at most)."""
    n = int(n)
    if n < 0:
        raise ValueError(f"bad size {n!r}: must not be negative")
    power = 0
    while power + 1 < len(_SIZE_NAMES) and n >= 1024 ** (power + 1):
        power += 1
    if power == 0:
        return f"{n} B"
    value = f"{n / 1024**power:.1f}"
    if value == "1024.0" and power + 1 < len(_SIZE_NAMES):  # 1023.96 KiB and up
        power += 1
        value = "1.0"
    if value.endswith(".0"):
        value = value[:-2]
    return f"{value} {_SIZE_NAMES[power]}"


HTTP_DATE = re.compile(
    r"""(?:
        [a-z]{3},[ \t]+[0-9]{1,2}[ \t]+[a-z]{3}[ \t]+[0-9]{4}[ \t]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}[ \t]+gmt
      | [a-z]{6,9},[ \t]+[0-9]{1,2}-[a-z]{3}-[0-9]{2}[ \t]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}[ \t]+gmt
      | [a-z]{3}[ \t]+[a-z]{3}[ \t]+[0-9]{1,2}[ \t]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}[ \t]+[0-9]{4}
    )""",
    re.ASCII | re.IGNORECASE | re.VERBOSE,
)
"""The three HTTP date forms (RFC 9110 section 5.6.7): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`,
RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`. Case and the
width of spacing are not checked, as recipients are asked to be lenient; the values are."""

_DELAY_SECONDS = re.compile(r"[0-9]+", re.ASCII)
_DATE_PARTS = re.compile(r"[a-z]+|[0-9]+", re.ASCII)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def parse_http_date(text: str, now: datetime) -> datetime | None:
    """The moment an HTTP date names, in UTC; None when `text` is not one of the three forms.

    `now` only settles the century of an RFC 850 date's two-digit year: RFC 9110 reads a
    year more than 50 years ahead of `now` as the most recent past year with those digits.
    """
    if not HTTP_DATE.fullmatch(text):
        return None
    parts = _DATE_PARTS.findall(text.lower())
    if parts[1].isalpha():  # asctime: weekday month day hh mm ss year
        month, day, hour, minute, second, year = parts[1], parts[2], *parts[3:6], parts[6]
    else:  # IMF-fixdate and RFC 850: weekday day month year hh mm ss gmt
        day, month, year, hour, minute, second = parts[1], parts[2], parts[3], *parts[4:7]
    if month not in _MONTHS or int(second) > 60:
        return None
    number = int(year)
    if len(year) == 2:
        now_year = now.year
        number += now_year - now_year % 100
        if number > now_year + 50:
            number -= 100
    try:
        # A leap second (60) is the first moment of the next minute.
        start = datetime(number, _MONTHS.index(month) + 1, int(day), int(hour), int(minute), tzinfo=UTC)
        return start + timedelta(seconds=int(second))
    except (ValueError, OverflowError):
        return None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After value asks the sender to wait; None when missing or unreadable.

    The value is delay-seconds, ASCII digits only (no sign, fraction or exponent: `1.5`,
    `-5` and `+5` are unreadable), or an HTTP date counted from `now`, the moment the
    answer was sent (a date already past means 0). Spaces and tabs around it are ignored.
    A naive `now` is taken as UTC.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if _DELAY_SECONDS.fullmatch(text):
        try:
            return float(int(text))
        except (ValueError, OverflowError):  # more digits than int() or a float can hold
            return None
    when = parse_http_date(text, now)
    if when is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
