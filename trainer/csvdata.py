"""Read one numeric column of a CSV into one series per id, with file:line:column errors or a fill policy."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqinfer.infer.errors import ConfigError, DataError


@dataclass(frozen=True)
class CsvSeries:
    values: list[np.ndarray]     # one float64 array per series, in file order
    ids: list[str]               # series ids ("" when there is no series column)
    column: str                  # the column read, by header name or 0-based index
    filled: int                  # values interpolated or rows dropped by the fill policy


def _number(cell: str) -> float | None:
    """A finite float, or None for empty / non-numeric / NaN / infinite cells."""
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _resolve(spec: str | None, header: list[str] | None, width: int, what: str, path: str) -> int:
    """Column spec (name or 0-based index) -> index."""
    if spec is None:
        raise AssertionError("caller handles None")
    if header is not None and spec in header:
        return header.index(spec)
    if spec.lstrip("-").isdigit():
        i = int(spec)
        if 0 <= i < width:
            return i
        raise ConfigError(f"{what}: index {i} out of range, {path} has {width} columns (0..{width - 1})")
    known = ", ".join(header) if header else "none, the file has no header"
    raise ConfigError(f"{what}: no column named {spec!r} in {path} (columns: {known})")


def read_csv(path: str | Path, column: str | None = None, series_col: str | None = None,
             fill: str | None = None) -> CsvSeries:
    """Parse `path`; the header is detected (a first row with no numeric cell, or holding a named column)."""
    src = str(path)
    try:
        f = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except OSError as e:
        raise DataError(f"cannot open ({e.strerror})", source=src) from None
    with f:
        reader = csv.reader(f)
        rows: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                if row and any(c.strip() for c in row):
                    rows.append((reader.line_num, row))
        except (csv.Error, UnicodeDecodeError) as e:
            raise DataError(f"not a readable CSV ({e})", source=src, line=reader.line_num) from None
    if not rows:
        raise DataError("no data rows", source=src)

    first = [c.strip() for c in rows[0][1]]
    named = [s for s in (column, series_col) if s is not None and not s.lstrip("-").isdigit()]
    has_header = all(_number(c) is None and c.lower() not in ("nan", "inf", "-inf") for c in first) \
        or any(s in first for s in named)
    header = first if has_header else None
    data = rows[1:] if has_header else rows
    if not data:
        raise DataError("a header but no data rows", source=src)
    width = len(first)

    sidx = _resolve(series_col, header, width, "data.series_col", src) if series_col is not None else None
    if column is None:
        candidates = [i for i in range(width) if i != sidx]
        if len(candidates) != 1:
            names = header or [str(i) for i in range(width)]
            raise ConfigError(f"data.column: {src} has {len(candidates)} candidate columns "
                              f"({', '.join(names[i] for i in candidates)}); say which one with --column")
        cidx = candidates[0]
    else:
        cidx = _resolve(column, header, width, "data.column", src)
    cname = header[cidx] if header else str(cidx)

    by_id: dict[str, tuple[list[float], list[int]]] = {}
    bad_total = 0
    for line, row in data:
        sid = row[sidx].strip() if sidx is not None and sidx < len(row) else ""
        cell = row[cidx].strip() if cidx < len(row) else ""
        v = _number(cell)
        vals, lines = by_id.setdefault(sid, ([], []))
        if v is None:
            if fill is None:
                why = "missing value" if cell == "" else f"{cell!r} is not a finite number"
                raise DataError(f"{why} (use --fill interpolate|drop to repair)", source=src, line=line,
                                column=cname)
            bad_total += 1
            v = math.nan
        vals.append(v)
        lines.append(line)

    series, ids = [], []
    for sid, (vals, lines) in by_id.items():
        a = np.asarray(vals, dtype=np.float64)
        bad = np.isnan(a)
        if bad.any():
            if bad.all():
                raise DataError(f"series {sid!r} has no valid value to fill from", source=src,
                                line=lines[0], column=cname)
            if fill == "drop":
                a = a[~bad]
            else:  # interpolate linearly between neighbours; the ends take the nearest valid value
                idx = np.arange(len(a))
                a[bad] = np.interp(idx[bad], idx[~bad], a[~bad])
        series.append(a)
        ids.append(sid)
    return CsvSeries(values=series, ids=ids, column=cname, filled=bad_total)
