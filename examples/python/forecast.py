"""Forecasts from a seqinfer model.onnx with only numpy and onnxruntime: the same CSV as `seqinfer predict`.

    python forecast.py model.onnx < series.csv > forecasts.csv

Input: one observation per line, with or without a header: `value`, `series,value`, `time,value` or
`series,time,value`, columns in any order. Header and columns are decided from the first 50 lines by
`seqinfer predict`'s rules (see `decide` and docs/embedding.md); a file those rules cannot settle without
options, or that predict would read as whole windows, stops with an error that points at `seqinfer predict`.
For each series, once `window` values have been seen, every new value yields one forecast of the next
`horizon` values. Output: a header, then [series,] [time columns,] row, yhat_1..yhat_H per forecast, in
input order; row is the 1-based line number of the input line (header counted). No seqinfer, no torch: the
window, horizon and tensor names all come from the model file's metadata.
"""
from __future__ import annotations

import csv
import itertools
import json
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

META_PREFIX = "seqinfer."
BATCH = 512  # windows per session.run

# --- seqinfer's CSV rules (its infer/columns.py and infer/timecol.py), for the shapes this example reads ---
SAMPLE_LINES = 50        # lines, header included, that header and columns are decided from
MISSING = {"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "#n/a", "nat", "missing", "\\n", ".", "-",
           "--", "?", "<na>", "#na", "#n/a n/a", "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan"}
F32_OVERFLOW = 3.4028235677973366e38   # the smallest magnitude that rounds to inf in float32
SERIES_NAMES = {"series", "id", "series_id", "unique_id", "item_id", "ts_id", "key"}
VALUE_NAMES = ("value", "y", "target")
TIME_NAMES = {"date", "time", "timestamp", "datetime", "ds", "dt", "ts", "t", "year", "yr", "quarter",
              "month", "week", "day", "hour", "minute", "period", "epoch", "time_idx", "date_time",
              "time_stamp", "obs_date"}
INDEX_NAMES = {"", "index", "unnamed: 0", "unnamed:_0"}   # pandas' unnamed index: a time if it holds numbers
FLAGS = {"true", "false", "t", "f", "yes", "no"}          # a TRUE/FALSE column is never the series id
# Numbers formatted for reading (1,234.5  12%  $5  decimal commas: 0,5  1 234,5): never a series id.
FORMATTED = re.compile(r"[-+(]?[$€£¥]?\s*[-+]?((\d{1,3}([, \u00a0\u202f]\d{3})+|\d+)(\.\d*)?"
                       r"|(\d{1,3}([. \u00a0\u202f]\d{3})+|\d+),\d+)\s*[%)€]?")
# A spreadsheet's summary row (Total, Grand total, Sum, Average) where a time is: not held against dates.
SUMMARY = re.compile(r"(grand\s+|sub)?totals?:?|sum:?|average:?|avg:?|mean:?", re.IGNORECASE)
# A clock time or a date's shape in every cell (03/01/24 1:00 PM, Mar-24, 01-MAR-24): a time in a form not
# read below, never a series id.
MON = (r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
       r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?")       # a month's English name
TIMEISH = re.compile(r"\d{1,2}:\d{2}|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
                     r"|\b" + MON + r"[ -]'?\d{2}\b|\b\d{1,2}[ -]" + MON + r"\b", re.IGNORECASE)
TIME_AFFIXES = (("_date", "_time", "_timestamp", "_at", "_ts"), ("date_", "time_", "timestamp_"))
ISO = re.compile(r"(\d{4})-(\d\d)(?:-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?)?)?"
                 r"(?: ?(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?))?")   # zones: Z, +02:00, +0200, +00, ` +0000`, ` UTC`
CLOCK = r"(?:[ T]\d{1,2}:\d\d(?::\d\d)?(?: ?[AaPp][Mm])?)?"   # 13:00, 1:00 PM
WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?"         # RFC 2822: Fri, 01 Mar 2024 13:00 +0100
RFC_ZONE = r"(?: (?:[+-]\d{4}|GMT|UTC|UT|Z))?"
DATES = [re.compile(p) for p in (
    r"\d{8}",                                                          # 19580329 (checked in dates())
    r"\d{4}[- ]?[Qq][1-4]",                                            # 1959Q1
    r"\d{4}M\d\d",                                                     # 2020M01
    r"(1[89]\d\d|2[01]\d\d)(0[1-9]|1[0-2])",                           # 201001
    r"(0?[1-9]|1[0-2])[./-](1[89]\d\d|2[01]\d\d)",                      # 01.2010, 1/2010
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}" + CLOCK,                              # y/m/d
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}" + CLOCK,                              # d/m/y, m/d/y
)] + [re.compile("|".join((                                           # a month's name, a 4-digit year:
    WEEKDAY + r"\d{1,2}[ -]" + MON + r"[ -]\d{4}" + CLOCK + RFC_ZONE,       # 01-Mar-2024, 1 March 2024
    r"\d{1,2}" + MON + r"\d{4}(?::\d{1,2}:\d\d(?::\d\d)?)?",                   # SAS, Stata: 01MAR2024
    MON + r" \d{1,2},? \d{4}" + CLOCK,                                      # Mar 1, 2024
    MON + r"[ -]\d{4}",                                                     # Mar 2024, Mar-2024
    r"\d{4}[ -]" + MON,                                                     # 2024 MAR
)), re.IGNORECASE)]
PREDICT_HINT = "use `seqinfer predict` with --value-col, --series-col, --time-col or --keep"


class InputError(Exception):
    """Bad input or not a seqinfer model: one line on stderr, exit status 2."""


def load(path: str) -> tuple[ort.InferenceSession, dict]:
    """Open the model on the CPU and read its contract from metadata_props (numbers and lists are JSON).
    `path`: the .onnx file, or a folder holding model.onnx (as `seqinfer export` writes it)."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.onnx")
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such model file (give a .onnx file or a folder holding model.onnx)")
    try:
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises several types for a file it cannot load
        raise InputError(f"{path}: not an ONNX model onnxruntime can load ({type(e).__name__})") from None
    props = session.get_modelmeta().custom_metadata_map
    meta = {}
    for field in ("kind", "seqinfer_version", "window", "horizon", "features"):
        raw = props.get(META_PREFIX + field)
        if raw is None:
            raise InputError(f"{path}: not a seqinfer model (metadata key {META_PREFIX + field} missing)")
        meta[field] = raw if field in ("kind", "seqinfer_version") else json.loads(raw)
    # io_dtype: float32, or float64 for a model whose data float32 cannot hold; older files have float32
    for field, default in (("input_name", "x"), ("output_name", "y"), ("io_dtype", "float32")):
        meta[field] = props.get(META_PREFIX + field, default)
    if json.loads(props.get(META_PREFIX + "stateful", "false")):
        raise InputError(f"{path}: a stateful model (seqinfer.stateful): this example runs windowed ones; "
                         f"`seqinfer predict` and examples/node/forecast.js run it, and docs/embedding.md "
                         f"(Stateful models) shows the calls")
    if meta["features"] != 1:
        raise InputError(f"{path}: this example reads one value per line; the model takes "
                         f"{meta['features']} features: use `seqinfer predict --value-col ...`")
    return session, meta


def forecast(session: ort.InferenceSession, meta: dict, windows: np.ndarray) -> np.ndarray:
    """windows: raw values [batch, window] -> forecasts [batch, horizon]; normalization is in the model."""
    x = np.ascontiguousarray(windows, dtype=meta["io_dtype"])[:, :, None]   # (B, T, 1), float32 or float64
    (y,) = session.run([meta["output_name"]], {meta["input_name"]: x})
    return y                                                           # (B, H)


# --- what a cell is ----------------------------------------------------------------------------------------
def is_missing(field: str) -> bool:
    return field.strip().lower() in MISSING


def plain_float(field: str) -> float:
    """float() of a number in ASCII without `_` (float() also reads `５０` and `5_0.5`); ValueError else."""
    if not field.isascii() or "_" in field:
        raise ValueError(field)
    return float(field)


def is_number(field: str) -> bool:
    """plain_float() reads it and it is not a missing-value marker (nan)."""
    if is_missing(field):
        return False
    try:
        plain_float(field)
    except ValueError:
        return False
    return True


def numeric(cells: list[str]) -> bool:
    """Most cells that are not missing are numbers (a stray bad one is reported on its own line)."""
    vals = [c for c in cells if not is_missing(c)]
    return bool(vals) and 2 * sum(map(is_number, vals)) > len(vals)


def valid_date(y: str, m: str, d: str | None, hour: str | None = None, minute: str | None = None,
               second: str | None = None) -> bool:
    leap = int(y) % 4 == 0 and (int(y) % 100 != 0 or int(y) % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= int(m) <= 12 and 1 <= int(d or 1) <= days[int(m) - 1] \
        and int(hour or 0) < 24 and int(minute or 0) < 60 and int(second or 0) < 60


def dates(vals: list[str]) -> bool:
    """Every value is a date written the same way (ISO, YYYYMMDD, 1959Q1, 2020M01, y/m/d, d/m/y, m/d/y, a
    month's name with a 4-digit year)."""
    def iso(v: str) -> bool:
        m = ISO.fullmatch(v)              # a zone needs a clock time (2020-01-01Z is not a date)
        return m is not None and valid_date(*m.groups()[:6]) and not (m[7] and m[4] is None)
    if all(map(iso, vals)):
        return True
    ymd = [bool(DATES[0].fullmatch(v)) and 1000 <= int(v[:4]) <= 2999 and valid_date(v[:4], v[4:6], v[6:])
           for v in vals]
    return all(ymd) or any(all(rx.fullmatch(v) for v in vals) for rx in DATES[1:])


def kind(cells: list[str]) -> tuple[str, bool]:
    """A column's sample: 'empty' | 'number' | 'text', and whether its values are dates (YYYYMMDD too)."""
    vals = [c for c in cells if not is_missing(c)]
    if not vals:
        return "empty", False
    if numeric(vals):
        return "number", dates([v for v in vals if is_number(v)])
    return "text", dates([v for v in vals if not SUMMARY.fullmatch(v.strip())] or vals)


def is_time_name(name: str) -> bool:
    n = re.sub(r"[\s-]+", "_", name.strip().lower())
    return n in TIME_NAMES or n.endswith(TIME_AFFIXES[0]) or n.startswith(TIME_AFFIXES[1])


def increasing_ints(cells: list[str], groups: list[str] | None) -> bool:
    """Integers rising strictly from row to row, within each series (1700, 1701, ...)."""
    if not all(re.fullmatch(r"\s*[+-]?\d+\s*", c) for c in cells):
        return False
    last: dict[str, int] = {}
    steps = 0
    for i, c in enumerate(cells):
        key = groups[i] if groups else ""
        if key in last:
            if int(c) <= last[key]:
                return False
            steps += 1
        last[key] = int(c)
    return steps > 0


# --- which column is what ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Columns:
    nfields: int
    header: tuple[str, ...] | None    # line 1's fields when it is a header
    value: int                        # 0-based
    series: int | None
    time: tuple[int, ...]             # passed through to the output, as predict does

    @property
    def passed(self) -> tuple[int, ...]:
        return ((self.series,) if self.series is not None else ()) + self.time

    @property
    def names(self) -> list[str]:
        own = [self.header[j] if self.header else f"col{j + 1}" for j in self.time]
        return (["series"] if self.series is not None else []) + own


def looks_like_header(first: list[str], below: list[list[str]]) -> bool:
    """Line 1 is a header when one of its fields does not fit its column below: not a number over numbers,
    or not a date over dates; with no line below, when none of its fields is a number. So `a,5.0` over
    `b,6.0` is data, and so is a first line `0`."""
    if not below:
        return not any(map(is_number, first)) and not all(map(is_missing, first))
    keys = [r[0] for r in below]                  # pandas' unnamed index over its row keys: `,0` is a header
    if len(first) > 1 and first[0] == "" and not any(map(is_missing, keys)) \
            and (numeric(keys) or dates(keys)):
        return True
    for j, f in enumerate(first):
        cells = [r[j] for r in below if not is_missing(r[j])]
        if is_missing(f) or not cells:
            continue
        if numeric(cells):
            if not is_number(f):
                return True
        elif dates(cells) and not dates([f, *cells]):
            return True
    return False


def decide(lines: list[list[str]], window: int) -> Columns:
    """Header and column roles from the first lines, by `seqinfer predict`'s rules without options."""
    first = [f.strip() for f in lines[0]]
    n = len(first)
    counts = [len(r) for r in lines[1:]]
    most = max(set(counts), key=lambda c: (counts.count(c), -counts.index(c))) if counts else n
    said = ",".join(lines[0]).strip()
    if said.lower().startswith("sep=") and len(said) == 5:            # a spreadsheet's `sep=,` hint
        raise InputError(f"line 1: {said!r} names the separator, it is not the header: remove it")
    if 2 * counts.count(most) >= len(lines) and (most > n and (n == 1 or first[0].startswith("#"))
                                                 or most < n):
        raise InputError("line 1: not as many fields as the lines below: comment or title lines above the "
                         "header?")
    if len(lines) > 1 and first[0].startswith("#") and lines[1][0].strip().startswith("#"):
        raise InputError("lines 1 and 2 start with '#': annotation or comment lines above the header?")
    rest = [[f.strip() for f in r] for r in lines[1:] if len(r) == n]
    header = tuple(first) if looks_like_header(first, rest) else None
    data = rest if header else [first, *rest]
    cells = [[r[j] for r in data] for j in range(n)]
    kinds = [kind(c) for c in cells]
    name = [h.lower() for h in header] if header else [None] * n

    def error(what: str, cols: list[int]) -> InputError:
        listed = ", ".join(str(j + 1) for j in cols)
        return InputError(f"line 1: {what.format(listed)}: {PREDICT_HINT}")

    for twice in (h for h in dict.fromkeys(first) if header and h and first.count(h) > 1):
        if twice.lower() in VALUE_NAMES or twice.lower() in SERIES_NAMES or is_time_name(twice):
            raise error("the header names columns {} alike", [j for j in range(n) if first[j] == twice])

    # A time column: its header says time, or its values are dates. A series id: text, or a header that
    # says id. A single column is always the value.
    def pandas_index(j: int) -> bool:                # the index comes first: `date,` names no index
        return bool(header) and all(h.strip().lower() in INDEX_NAMES for h in header[:j + 1]) \
            and (kinds[j][0] == "number" or bool(kinds[j][1]))

    def text_id(j: int) -> bool:
        vals = [c.strip() for c in cells[j] if not is_missing(c)]
        flag = bool(vals) and all(v.lower() in FLAGS for v in vals)
        first_text = next((v for v in vals if not is_number(v)), "")
        blank = any(not c.strip() for c in cells[j])             # a note column, not ids
        return kinds[j][0] == "text" and not flag and not FORMATTED.fullmatch(first_text) and not blank

    time = [j for j in range(n) if n > 1 and ((header and is_time_name(header[j])) or kinds[j][1]
                                              or pandas_index(j))]
    id_named = [j for j in range(n) if name[j] in SERIES_NAMES or (name[j] or "").endswith("_id")]

    def row_number(j: int) -> bool:                  # `id` counting 1, 2, 3 beside a time new on every row
        if kinds[j][0] != "number" or len(cells[j]) < 3 or not increasing_ints(cells[j], None):
            return False
        times = [t for t in time if t != j]
        if not times:
            raise error("column {} counts up row by row: a row number, or series ids?", [j])
        return all(len(set(cells[t])) == len(cells[t]) for t in times)

    counters = [j for j in id_named if n > 1 and j not in time and row_number(j)]   # as a logger's RECORD
    id_named = [j for j in id_named if j not in counters]
    clock = [j for j in range(n) if n > 1 and j not in time and j not in id_named and kinds[j][0] == "text"
             and all(TIMEISH.search(c) for c in cells[j] if not is_missing(c))]
    if clock:                        # 03/01/24 1:00 PM, Mar-24, 01-MAR-24: a time, never a series id
        raise error("column {} looks like a time in a form this example does not read", clock[:1])
    ids = [j for j in range(n) if n > 1 and j not in time and (text_id(j) or j in id_named)]
    if len(ids) > 1:
        raise error("columns {} could each be the series id", ids)
    series = ids[0] if ids else None
    free = [j for j in range(n) if j != series and j not in time]
    numbers = [j for j in free if kinds[j][0] == "number" and j not in counters] or \
        [j for j in free if kinds[j][0] == "empty"]
    if window > 1 and len(numbers) == window:
        raise error("columns {} make one window per row (predict's windows layout), which this example "
                    "does not read", numbers)
    named = [j for v in VALUE_NAMES for j in numbers if name[j] == v]
    groups = cells[series] if series is not None else None
    weak = counters + [j for j in numbers if kinds[j][0] == "number" and increasing_ints(cells[j], groups)]
    time = sorted(time + counters)
    if named:
        value = named[0]
    elif len(numbers) == 1:
        value = numbers[0]
    elif weak and len(numbers) - len(set(weak) & set(numbers)) == 1:   # 1700, 1701 ... a time, one value
        value = next(j for j in numbers if j not in weak)
        time = sorted(set(time + weak))
    elif numbers:
        raise error("columns {} are all numbers and none is named value", numbers)
    else:
        raise error("no column of numbers to forecast", [])
    left = [j for j in free if j != value and j not in time and kinds[j][0] != "empty"]
    if left and not named:
        raise error("columns {} are neither value, series id nor time", left)
    dated = [j for j in time if not pandas_index(j)] if len(time) > 1 else time
    strong = [j for j in dated if j not in weak]
    if len(dated) > 1 and len(strong) == 1:              # a row counter beside dates
        dated = strong
    if series is None and len(dated) == 1:        # the time repeats: series interleaved, not one series
        stamps = [c for c in cells[dated[0]] if not is_missing(c)]
        if len(stamps) >= 4 and 3 * (len(stamps) - len(set(stamps))) >= len(stamps) \
                and any(2 * len(set(cells[j])) <= len(cells[j]) for j in left):
            raise error("column {} repeats as if several series were interleaved", dated)
    return Columns(n, header, value, series, tuple(time))


# --- lines in, windows out ---------------------------------------------------------------------------------
def split_fields(raw: bytes, line_no: int) -> list[str]:
    line = raw.removesuffix(b"\n").removesuffix(b"\r")
    if not line.strip():
        raise InputError(f"line {line_no}: empty line")
    try:
        return next(csv.reader([line.decode("utf-8")], strict=True))
    except UnicodeDecodeError as e:
        raise InputError(f"line {line_no}: not valid UTF-8 (byte {e.start + 1})") from None
    except csv.Error as e:
        raise InputError(f"line {line_no}: bad CSV quoting: {e}") from None


def read_value(fields: list[str], cols: Columns, line_no: int) -> float:
    """The line's value, or an InputError like predict's default (--fill stop): missing, text, too big."""
    if cols.header and [f.strip() for f in fields] == list(cols.header) \
            and not all(map(is_number, cols.header)):
        raise InputError(f"line {line_no}: the header line again, in the middle of the stream")
    if len(fields) != cols.nfields:
        raise InputError(f"line {line_no}: {len(fields)} field(s), expected {cols.nfields} like line 1")
    for j in cols.time:                      # a spreadsheet's totals row: its numbers are not a value
        label = fields[j].strip()
        if label[:1].isalpha() and SUMMARY.fullmatch(label):
            raise InputError(f"line {line_no}: {label!r} in the time column: a totals row? remove it")
    text = fields[cols.value]
    if is_missing(text):
        raise InputError(f"line {line_no}: missing value ({text.strip()!r}); `seqinfer predict --fill "
                         f"previous` goes on past it")
    try:
        value = plain_float(text)
    except ValueError:
        raise InputError(f"line {line_no}: {text!r} is not a number") from None
    if not abs(value) < F32_OVERFLOW:
        raise InputError(f"line {line_no}: {text.strip()!r} is not a finite float32 number")
    return value


def windows_from_csv(lines: Iterable[bytes], window: int, on_columns: Callable[[Columns], None]
                     ) -> Iterator[tuple[list[str], int, np.ndarray]]:
    """Yields (passed-through fields, line number, last `window` values) for each line that completes a
    window. The first SAMPLE_LINES lines are read before anything is decided; on_columns gets the decision.
    """
    numbered = enumerate(lines, start=1)
    head = list(itertools.islice(numbered, SAMPLE_LINES))
    if not head:
        raise InputError("empty input: no lines to read")
    head[0] = (1, head[0][1].removeprefix(b"\xef\xbb\xbf"))        # a UTF-8 byte order mark
    sample = [split_fields(head[0][1], 1)]
    for line_no, raw in head[1:]:
        try:
            sample.append(split_fields(raw, line_no))
        except InputError:
            pass                          # a bad line is reported when its turn comes
    cols = decide(sample, window)
    on_columns(cols)
    history: dict[str, deque[float]] = {}
    for line_no, raw in itertools.chain(head[1:] if cols.header else head, numbered):
        fields = split_fields(raw, line_no)
        value = read_value(fields, cols, line_no)
        h = history.setdefault(fields[cols.series] if cols.series is not None else "", deque(maxlen=window))
        h.append(value)
        if len(h) == window:
            yield [fields[j] for j in cols.passed], line_no, np.array(h)


def quote(field: str) -> str:
    """A passed-through field, CSV-quoted only when it must be (as seqinfer writes it)."""
    return '"' + field.replace('"', '""') + '"' if any(c in field for c in ',"\r\n') else field


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python forecast.py MODEL.onnx (or its folder) < series.csv > forecasts.csv",
              file=sys.stderr)
        return 2
    try:
        session, meta = load(argv[0])
    except InputError as e:
        print(f"forecast.py: error: {e}", file=sys.stderr)
        return 2
    out = sys.stdout
    yhat = [f"yhat_{i}" for i in range(1, meta["horizon"] + 1)]
    digits = 17 if meta["io_dtype"] == "float64" else 9      # as predict writes: %.9g, or %.17g
    pending: list[tuple[list[str], int, np.ndarray]] = []

    def header(cols: Columns) -> None:        # as soon as the columns are known, like predict
        out.write(",".join([quote(c) for c in cols.names] + ["row"] + yhat) + "\n")

    def flush() -> None:
        if pending:
            y = forecast(session, meta, np.stack([w for _, _, w in pending]))
            for (passed, row, _), yrow in zip(pending, y, strict=True):
                fields = [quote(f) for f in passed] + [str(row)] + [f"{v:.{digits}g}" for v in yrow]
                out.write(",".join(fields) + "\n")
            pending.clear()
        out.flush()

    try:
        for job in windows_from_csv(sys.stdin.buffer, meta["window"], header):
            pending.append(job)
            if len(pending) == BATCH:
                flush()
    except InputError as e:
        flush()   # forecasts of every valid line before the bad one are written first
        print(f"forecast.py: error: {e}", file=sys.stderr)
        return 2
    flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
