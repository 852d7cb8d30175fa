"""Read a whole CSV (or Parquet) file into one table per series, with predict's reader and rules: what
`seqinfer train` reads, and what the Python API offers for a file.

    from seqinfer.infer.table import read_table
    t = read_table("sales.csv", ColumnSpec(value_col=("units",)), fill="previous", report=print)
    t.values[0]   # float64 [n, features] of the first series, in time order

Column roles (columns.py), number parsing and errors (parse.py), missing values and time gaps (state.py)
all come from the code `seqinfer predict` runs, so train and predict read a file the same way. `fill` adds
`interpolate` (linear between neighbours) to predict's stop | previous | drop: a whole file has the
values after a gap. A whole file allows one more thing a stream cannot: when a series' rows step back in
time (a database export ordered by another key) and every time field reads, each series is sorted by time
before anything is filled or windowed, and a note says so; predict, a stream, keeps input order and counts
the steps back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .arrowio import ParquetCsv, header_rule, is_parquet
from .columns import Columns, resolve, understood
from .config import FILLS, ColumnSpec
from .errors import ConfigError, DataError
from .parse import Rows, after_header, parse_block, sample
from .reader import Dialect, LineReader, open_input
from .state import SeriesState, clock_set_back, series_name

TABLE_FILLS = (*FILLS, "interpolate")
SORTED_CHUNK = 65_536        # rows per step through the series state once a file is sorted by time


@dataclass(frozen=True)
class Table:
    values: list[np.ndarray]     # per series: float64 [n, features], file order (or time order: above)
    lines: list[np.ndarray]      # per series: int64 [n], the input line of each row
    ids: list[str]               # series ids ("" when the file has no series column), first-seen order
    columns: Columns
    notes: list[str]             # what was filled, dropped, or found in the time column
    filled: int                  # values filled (previous, interpolate) or rows dropped
    missing: list[np.ndarray] = field(default_factory=list)   # per series: bool [n], the target was filled


def read_table(path: str | Path, spec: ColumnSpec, *, features: int | None = None, fill: str = "stop",
               report: Callable[[str], None] | None = None, names: tuple[str, ...] = ()) -> Table:
    """Parse `path`; DataError (file:line:column) at the first bad line, ConfigError for an ambiguity."""
    if fill not in TABLE_FILLS:
        raise ConfigError(f"fill: {fill!r} is not one of {', '.join(TABLE_FILLS)}")
    source = str(path)
    parquet = is_parquet(path)               # read as the CSV it would be, as predict reads it
    try:
        f = ParquetCsv(path) if parquet else open_input(path)
    except OSError as e:
        raise DataError(f"cannot open ({e.strerror})", source=source) from None
    spec, where = header_rule(spec, parquet)
    with f:
        dialect = Dialect.for_input(spec, parquet, source)
        reader = LineReader(f, source, dialect=dialect, first_line=0 if parquet else 1)  # type: ignore[arg-type]
        blocks = []
        while (block := reader.read()) is not None:
            if block.nlines:
                blocks.append(block)
    if not blocks:
        raise DataError("no data rows (the file is empty)", source=source)
    cols = resolve(sample(blocks, source), spec, features=features, layout="series", source=source,
                   sorts=True, names=names)       # names: a model's value columns (columns.resolve)
    if report is not None:
        for msg in understood(cols, where, dialect=dialect):
            report(msg)
    nf = len(cols.values)
    parsed = []
    for block in after_header(blocks, cols):
        rows, errors = parse_block(block, cols, source, stop=True, missing_ok=fill != "stop")
        if errors:
            raise reader.explain(errors[0])
        if len(rows):
            parsed.append(rows)
    if not parsed:
        raise DataError("a header but no data rows", source=source)
    parsed, sorted_note = _in_time_order(parsed, source)
    # window 1: the state only keeps each series' last value, for --fill previous; it also counts gaps
    state = SeriesState(1, nf, "stop" if fill == "interpolate" else fill, dtype=np.float64)
    codes, values, lines, gone = [], [], [], []
    for rows in parsed:
        src, idx, mask = state.ready(rows.values, rows.series, rows.lines, rows.times)
        keys = rows.series if rows.series is not None else [None] * len(rows)
        codes.append(np.array([state.ids[k] for k in keys], np.int64)[mask])
        values.append(src[idx][:, 0, :])                          # (k, F): the rows kept, filled
        lines.append(rows.lines[mask])
        gone.append(np.isnan(rows.values[mask, 0]))               # the target missing in the file
    code, value, line = np.concatenate(codes), np.concatenate(values), np.concatenate(lines)
    missing = np.concatenate(gone)
    order = np.argsort(code, kind="stable")
    bounds = np.flatnonzero(np.diff(code[order])) + 1
    table_values, table_lines, ids, table_missing = [], [], [], []
    filled = state.tally.filled + state.tally.dropped + state.tally.unfillable
    ends = 0                                   # --fill interpolate: values at a series' end, copied
    for group in np.split(order, bounds):
        sid = series_name(state.keys[int(code[group[0]])])
        v = value[group]
        if fill == "interpolate":
            v, n, at_end = _interpolate(v, sid, source, line[group])
            filled += n
            ends += at_end
        table_values.append(v)
        table_lines.append(line[group])
        table_missing.append(missing[group])
        ids.append(sid)
    notes = ([sorted_note] if sorted_note else []) + state.tally.notes()
    if fill == "interpolate" and filled:
        copied = f" ({ends} at a series' start or end, with one neighbour: its nearest value)" if ends else ""
        notes.insert(0, f"--fill interpolate: {filled} missing value(s) interpolated{copied}")
    return Table(table_values, table_lines, ids, cols, notes, filled, table_missing)


def _in_time_order(parsed: list[Rows], source: str) -> tuple[list[Rows], str | None]:
    """A whole file whose rows of a series step back in time (a database export ordered by another key) is
    sorted per series by time, before anything is filled or windowed: when every time field reads. Else
    the rows stay in input order (and state.py's note counts the steps back). (rows, a note when sorted).
    Times that step back and also repeat are several series read as one (an id column not named): sorting
    would interleave them, so that is an error naming --series-col. Except a clock set back (daylight
    saving time ending, in local times): steps back of an hour at most, a week or more apart, whose rows
    repeat the hour in the right order. They keep input order."""
    if any(r.times is None for r in parsed):
        return parsed, None
    every = Rows.concat(parsed)
    t = every.times
    assert t is not None
    if np.isnan(t).any():
        return parsed, None
    keys = every.series if every.series is not None else [None] * len(t)
    first: dict[bytes | None, int] = {}
    code = np.array([first.setdefault(k, len(first)) for k in keys], np.int64)
    by_series = np.argsort(code, kind="stable")
    back = (np.diff(t[by_series]) < 0) & (np.diff(code[by_series]) == 0)
    if not back.any() or _clock_set_back(t[by_series], code[by_series], back):
        return parsed, None                              # state.py's note counts the steps back
    order = np.lexsort((t, code))                        # by series (first seen), then time; ties keep order
    lines = every.lines
    same = np.flatnonzero((np.diff(t[order]) == 0) & (np.diff(code[order]) == 0))
    if len(same):
        a, b = sorted(int(x) for x in lines[order[[same[0], same[0] + 1]]])
        who = "the series" if every.series is None else "a series"
        raise ConfigError(f"{source}: time steps back and repeats within {who} ({len(same)} row(s) share "
                          f"their time with another, first lines {a} and {b}): several series read as one? "
                          f"name their id column with --series-col (an id in several columns: --series-col "
                          f"store,item; one series: sort the file by time and remove the repeats)")
    moved = int(np.count_nonzero(order != np.arange(len(order))))
    series = np.unique(code[by_series][1:][back]).size
    first_line = int(lines[by_series][1:][back].min())
    who = "the series" if every.series is None else f"{series} series"
    note = (f"time: rows of {who} were not in time order ({int(back.sum())} step(s) back, the first at line "
            f"{first_line}): sorted by time before filling and windowing, {moved} rows moved")
    return [every.take(order[a:a + SORTED_CHUNK]) for a in range(0, len(order), SORTED_CHUNK)], note


def _clock_set_back(t: np.ndarray, code: np.ndarray, back: np.ndarray) -> bool:
    """Are the steps back (`back`, over the steps of times `t` grouped by series `code`) a clock set back
    (state.clock_set_back: each by an hour at most, a series' steps back a week or more apart)?"""
    before, after = t[:-1][back], t[1:][back]
    apart = np.abs(np.diff(after))[np.diff(code[1:][back]) == 0]
    return clock_set_back(float((before - after).max()), float(apart.min(initial=np.inf)))


def _interpolate(v: np.ndarray, sid: str, source: str, lines: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Linear between neighbours; a missing value at an end takes the nearest value. (values, filled, of
    them at an end)."""
    bad = np.isnan(v)
    if not bad.any():
        return v, 0, 0
    v = v.copy()
    idx = np.arange(len(v))
    for f in range(v.shape[1]):
        b = bad[:, f]
        if b.all():
            who = f"series {sid!r}" if sid else "the series"
            raise DataError(f"{who} has no value to interpolate from", source=source, line=int(lines[0]))
        v[b, f] = np.interp(idx[b], idx[~b], v[~b, f])
    known = np.flatnonzero(~bad.any(axis=1))
    outside = bad.any(axis=1) & ((idx < known.min(initial=len(v))) | (idx > known.max(initial=-1)))
    return v, int(bad.sum()), int(outside.sum())
