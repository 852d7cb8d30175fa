"""Recognise a time column's format from a sample and read its values as seconds (for gap checks).

A time column is passed through to the output as text; seqinfer reads its values only to find gaps, so a
format that is recognised but ambiguous (03/04/2020: March 4 or April 3?) is still a time column, with
`seconds` None and no gap check. Numbers and dates are read in bulk: numpy's datetime64 parser in C.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from .compiled import lookup

# Header names that say "time" (compared lower-cased, spaces and dashes as underscores).
TIME_NAMES = frozenset({
    "date", "time", "timestamp", "datetime", "ds", "dt", "ts", "t", "year", "yr", "quarter", "month", "week",
    "day", "hour", "minute", "period", "epoch", "time_idx", "date_time", "time_stamp", "obs_date",
})
TIME_SUFFIXES = ("_date", "_time", "_timestamp", "_at", "_ts")
TIME_PREFIXES = ("date_", "time_", "timestamp_")
# What pandas writes for an unnamed index column (df.to_csv() with index=True): a row key, passed through.
INDEX_NAMES = frozenset({"", "index", "unnamed: 0", "unnamed:_0"})

# A zone: Z, +02:00, +0200, PostgreSQL's +00 / +05:30, or BigQuery's ` UTC`; `date`'s ` +0000` has a space
# before it.
_ISO = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)?"
                  r"( ?(Z|UTC|GMT|[+-]\d{2}(:?\d{2})?))?$")
_ZONE = re.compile(r" ?(Z|UTC|GMT|([+-])(\d{2})(?::?(\d{2}))?)$")
ZONE_CHARS = 7                      # the longest _ZONE match: " +hh:mm"
# A clock after a y/m/d or x/y/yyyy date: 24-hour, or 12-hour with AM/PM (a spreadsheet's 3/1/2024 1:00 PM).
_CLOCK_TEXT = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?)?"
_CLOCK = "(" + _CLOCK_TEXT + ")"
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _CLOCK + "$")
_XYZ = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4})" + _CLOCK + "$")
# A month's English name or its 3-letter abbreviation, with a four-digit year: 01-Mar-2024, 1 March 2024
# 13:00, Mar 1, 2024, Mar 2024, Mar-2024, 2024 MAR (statistics offices). Two-digit years are not read.
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
               "october", "november", "december")
_MONTH_NUMBER = {**{m: i + 1 for i, m in enumerate(MONTH_NAMES)},
                 **{m[:3]: i + 1 for i, m in enumerate(MONTH_NAMES)}, "sept": 9}
_MONTHS = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
_MON = "(?P<mon>" + _MONTHS + r")\.?"
# A month's name beside a two-digit number (Excel's Mar-24, Oracle's 01-MAR-24): a time, in a form not read.
MONTH_SHAPE = rf"\b(?:{_MONTHS})\.?[ -]'?\d{{2}}\b|\b\d{{1,2}}[ -](?:{_MONTHS})\b"
# Also SAS's and Stata's 01MAR2024 (SAS datetimes: 01MAR2024:13:00:00), and RFC 2822's (email, HTTP, RSS)
# `Fri, 01 Mar 2024 13:00:00 +0100`, its zone applied.
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?"
_RFC_ZONE = r"(?: (?P<zone>[+-]\d{4}|GMT|UTC|UT|Z))?"
_NAMED = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"^" + _WEEKDAY + r"(?P<d>\d{1,2})[ -]" + _MON + r"[ -](?P<y>\d{4})(?P<clock>" + _CLOCK_TEXT + ")"
    + _RFC_ZONE + "$",
    r"^(?P<d>\d{1,2})" + _MON + r"(?P<y>\d{4})(?P<clock>(?::\d{1,2}:\d{2}(?::\d{2})?)?)$",
    r"^" + _MON + r" (?P<d>\d{1,2}),? (?P<y>\d{4})(?P<clock>" + _CLOCK_TEXT + ")$",
    r"^" + _MON + r"[ -](?P<y>\d{4})$",
    r"^(?P<y>\d{4})[ -]" + _MON + "$",
))
_QUARTER = re.compile(r"^(\d{4})[- ]?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})M(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")                  # ISO 8601 weeks: 2020-W01 (its Monday)
_INT = re.compile(r"^[+-]?\d+$")
# A month and its year, as German and French statistics write it (01.2010, 1/2010, 01-2010): read as a number
# it was 1.201, and train sorted a monthly file by it (every January first). The year 1800-2199, so that
# numbers with four decimals are not taken for it.
_MONTH_YEAR = re.compile(r"^(0?[1-9]|1[0-2])[./-](1[89]\d\d|2[01]\d\d)$")


def is_time_name(name: str) -> bool:
    n = re.sub(r"[\s-]+", "_", name.strip().lower())
    return n in TIME_NAMES or n.endswith(TIME_SUFFIXES) or n.startswith(TIME_PREFIXES)


def is_index_name(name: str) -> bool:
    return name.strip().lower() in INDEX_NAMES


@dataclass(frozen=True)
class TimeFormat:
    """How a time column is written: `name` is shown to the user; `order` fixes day/month for x/y/yyyy."""

    name: str     # iso | yyyymmdd | yyyymm | number | y/m/d | d/m/y | m/d/y | d/m/y or m/d/y | quarter
    #               | yyyyMmm | mm.yyyy | month name | iso week
    order: str = ""           # "dm" | "md" for the x/y/yyyy forms

    @property
    def gap_check(self) -> bool:
        return self.name != "d/m/y or m/d/y"

    def seconds(self, fields: Sequence[str | bytes]) -> np.ndarray:
        """float64 seconds (numbers: the number itself) per field; NaN where a field does not read.

        Each distinct field is read once where they repeat (several series at each time): 1M rows of
        10,000 series at 100 times took 4 us a row to read one by one (ISO, with a zone), 0.1 us so."""
        distinct = dict.fromkeys(fields)
        if len(fields) >= 2 and 2 * len(distinct) <= len(fields):
            index = {k: i for i, k in enumerate(distinct)}
            return self._read(list(index))[lookup(fields, index)[0]]   # 1.6 ms a 28,571-row block, 3.1 before
        return self._read(fields)

    def _read(self, fields: Sequence[str | bytes]) -> np.ndarray:
        text = [f.decode("utf-8", "replace") if isinstance(f, bytes) else f for f in fields]
        text = [t.strip() for t in text]
        if self.name == "number":
            return _numbers(text)
        if self.name == "yyyymmdd":
            return _dates([f"{t[:4]}-{t[4:6]}-{t[6:8]}" if len(t) == 8 and t.isdigit() else "" for t in text])
        if self.name == "iso":
            return _iso(text)
        if self.name == "quarter":
            return _dates([_sub(_QUARTER, t, lambda m: f"{m[1]}-{3 * int(m[2]) - 2:02d}") for t in text])
        if self.name == "yyyymm":
            return _dates([f"{t[:4]}-{t[4:6]}" if len(t) == 6 and t.isdigit() else "" for t in text])
        if self.name == "mm.yyyy":
            return _dates([_sub(_MONTH_YEAR, t, lambda m: f"{m[2]}-{int(m[1]):02d}") for t in text])
        if self.name == "yyyyMmm":
            return _dates([_sub(_MONTH, t, lambda m: f"{m[1]}-{m[2]}") for t in text])
        if self.name == "iso week":
            return _dates([_sub(_WEEK, t, _week_monday) for t in text])
        if self.name == "month name":
            iso, offset = zip(*(_month_named(t) for t in text), strict=True) if text else ((), ())
            return _dates(list(iso)) - np.array(offset, np.float64)
        if self.name == "y/m/d":
            return _dates([_sub(_YMD, t, lambda m: _iso_text(m[1], m[2], m[3], m[4])) for t in text])
        if self.name in ("d/m/y", "m/d/y"):
            def conv(m: re.Match[str]) -> str:
                day, month = (m[1], m[3]) if self.order == "dm" else (m[3], m[1])
                return _iso_text(m[4], month, day, m[5])
            return _dates([_sub(_XYZ, t, conv) for t in text])
        return np.full(len(text), np.nan)


def _iso_text(y: str, m: str, d: str, clock: str) -> str:
    """ISO text for numpy; '' (no time) for a 12-hour clock outside 1..12."""
    out = f"{y}-{int(m):02d}-{int(d):02d}"
    if clock:
        hour, rest = clock.strip().lstrip("T").split(":", 1)
        h, half = int(hour), rest[-2:].upper()
        if half in ("AM", "PM"):
            if not 1 <= h <= 12:
                return ""
            h, rest = h % 12 + (12 if half == "PM" else 0), rest[:-2].rstrip()
        out += f"T{h:02d}:{rest}"
    return out


def _named_match(text: str) -> re.Match[str] | None:
    return next((m for m in (rx.match(text) for rx in _NAMED) if m is not None), None)


def _month_named(text: str) -> tuple[str, float]:
    """01-Mar-2024 13:00 -> (2024-03-01T13:00, its zone's offset in seconds); ('', 0) when it is not a
    month-name date."""
    m = _named_match(text)
    if m is None:
        return "", 0.0
    g = m.groupdict()
    clock = g.get("clock") or ""
    clock = " " + clock[1:] if clock.startswith(":") else clock          # SAS: 01MAR2024:13:00:00
    zone = _ZONE.search(" " + g["zone"]) if g.get("zone") else None
    return _iso_text(g["y"], str(_MONTH_NUMBER[g["mon"].lower()]), g.get("d") or "1", clock), _offset(zone)


def _week_monday(m: re.Match[str]) -> str:
    """2020-W01 -> the ISO date of its Monday; '' for a week the year does not have (W53 of most years)."""
    try:
        return date.fromisocalendar(int(m[1]), int(m[2]), 1).isoformat()
    except ValueError:
        return ""


def _sub(rx: re.Pattern[str], text: str, conv: object) -> str:
    m = rx.match(text)
    return conv(m) if m is not None else ""  # type: ignore[operator]


def _numbers(text: list[str]) -> np.ndarray:
    out = np.full(len(text), np.nan)
    for i, t in enumerate(text):
        try:
            out[i] = float(t)
        except ValueError:
            pass
    out[np.isinf(out)] = np.nan                  # 1e400, -inf: no time (it made an infinite gap)
    return out


def _dates(iso: list[str]) -> np.ndarray:
    """ISO strings (no zone) -> seconds since 1970; '' or an invalid date -> NaN. A zone left in a field
    (one _ZONE does not read: `+1`) is numpy's to refuse, quietly: the field is counted as unread."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "no explicit representation of timezones", UserWarning)
        try:
            stamps = np.array(iso, dtype="datetime64[s]")        # '' reads as NaT
        except ValueError:                                       # one bad value: read them one by one
            stamps = np.array([_one_date(t) for t in iso], dtype="datetime64[s]")
    out = stamps.astype(np.float64)
    out[np.isnat(stamps)] = np.nan
    return out


def _one_date(text: str) -> np.datetime64:
    try:
        return np.datetime64(text, "s")
    except ValueError:
        return np.datetime64("NaT", "s")


def _iso(text: list[str]) -> np.ndarray:
    """ISO dates/datetimes; a zone (Z, +hh:mm) is applied, so every value is UTC seconds.

    A zone is the end of the field, at most ZONE_CHARS long, so it is found once per distinct ending (a
    file has few: Z, +00:00, +01:00 and +02:00 across daylight saving time): a regex search per field cost
    2.8 us a row, 65,536 ISO times in 184 ms; by ending, a fifth of that."""
    if not any(t.endswith(("Z", "UTC", "GMT")) or "+" in t or t.count("-") > 2 for t in text):
        return _dates(text)
    plain, shift = [], np.zeros(len(text))
    zones: dict[str, tuple[int, float]] = {}         # an ending -> (the zone's length, its seconds east)
    for i, t in enumerate(text):
        if "T" not in t and " " not in t:
            plain.append(t)
            continue
        end = t[-ZONE_CHARS:]
        if (zone := zones.get(end)) is None:
            m = _ZONE.search(end)
            zone = zones[end] = (len(end) - m.start(), _offset(m)) if m is not None else (0, 0.0)
        plain.append(t[:len(t) - zone[0]])
        shift[i] = zone[1]
    return _dates(plain) - shift


def _offset(zone: re.Match[str] | None) -> float:
    """A _ZONE match -> its seconds east of UTC (Z, UTC, GMT or none: 0)."""
    if zone is None or not zone[2]:
        return 0.0
    return (1 if zone[2] == "+" else -1) * (int(zone[3]) * 3600 + int(zone[4] or 0) * 60)


def detect(values: Sequence[str]) -> TimeFormat | None:
    """The one time format that every value of the sample is written in, or None."""
    vals = [v.strip() for v in values if v.strip()]
    if not vals:
        return None
    if all(_INT.match(v) for v in vals):
        if all(len(v) == 8 and _valid_yyyymmdd(v) for v in vals):
            return TimeFormat("yyyymmdd")
        if all(len(v) == 6 and 1800 <= int(v[:4]) < 2200 and 1 <= int(v[4:]) <= 12 for v in vals):
            return TimeFormat("yyyymm")          # 201001: monthly (as a number, 201012 -> 201101 was a gap)
        return None          # plain integers: a time only by name or by increasing order (see columns.py)
    if all(_MONTH_YEAR.match(v) for v in vals):
        return TimeFormat("mm.yyyy")
    if all(_ISO.match(v) for v in vals) and not np.isnan(_iso(vals)).any():
        return TimeFormat("iso")
    if all(_QUARTER.match(v) for v in vals):
        return TimeFormat("quarter")
    if all(_MONTH.match(v) for v in vals):
        return TimeFormat("yyyyMmm")
    if all(_WEEK.match(v) for v in vals):
        return TimeFormat("iso week")
    if all(_YMD.match(v) for v in vals):
        return TimeFormat("y/m/d")
    if all(_named_match(v) for v in vals):
        return TimeFormat("month name")
    matches = [_XYZ.match(v) for v in vals]
    if all(matches):
        first = [int(m[1]) for m in matches if m]
        second = [int(m[3]) for m in matches if m]
        if max(first) > 12 or all(m[2] == "." for m in matches if m):
            return TimeFormat("d/m/y", "dm")
        if max(second) > 12:
            return TimeFormat("m/d/y", "md")
        return TimeFormat("d/m/y or m/d/y")
    return None


def with_order(fmt: TimeFormat, order: str, values: Sequence[str]) -> tuple[TimeFormat, str | None]:
    """An x/y/yyyy format read as `order` ("dmy" | "mdy"; "auto" keeps it), and the first value that cannot
    be read so (its month field above 12), else None. Other formats are returned as they are."""
    if order == "auto" or fmt.name not in ("d/m/y", "m/d/y", "d/m/y or m/d/y"):
        return fmt, None
    dm = order == "dmy"
    for v in values:
        m = _XYZ.match(v.strip())
        if m is not None and int(m[3] if dm else m[1]) > 12:
            return fmt, v.strip()
    return (TimeFormat("d/m/y", "dm") if dm else TimeFormat("m/d/y", "md")), None


def _valid_yyyymmdd(v: str) -> bool:
    y, m, d = int(v[:4]), int(v[4:6]), int(v[6:])
    if not (1000 <= y <= 2999 and 1 <= m <= 12 and 1 <= d <= 31):
        return False
    try:
        np.datetime64(f"{v[:4]}-{v[4:6]}-{v[6:]}")
    except ValueError:
        return False
    return True
