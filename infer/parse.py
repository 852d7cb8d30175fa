"""Turn blocks of CSV lines into numbers: columns fixed from line 1, bulk parsing, exact errors per line.

The common case (no quotes, the right number of fields everywhere, every value a finite number) is parsed
for a whole block at once. Anything else falls back to a careful line-by-line parse of that block, which
handles quoted fields and names the first bad line, its column and the problem.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from .config import LAYOUTS
from .contract import SERIES_COLUMN
from .errors import ConfigError, DataError
from .reader import MAX_LINE_BYTES, Block


@dataclass(frozen=True)
class Columns:
    """What each field of a row is, decided once from the first line and the options."""

    layout: str                      # "series" | "windows"
    nfields: int
    header: tuple[str, ...] | None   # line 1's names, when line 1 is a header
    values: tuple[int, ...]          # 0-based field indexes holding the numbers, in model order
    series: int | None               # field holding the series id
    keep: tuple[int, ...]            # fields copied to the output
    names: tuple[str, ...]           # output names of the passed-through fields (series first, then keep)

    def name(self, i: int) -> str:
        return f"column {i + 1}" + (f" ({self.header[i]!r})" if self.header else "")


@dataclass
class Rows:
    """Parsed rows of one block, in input order."""

    lines: np.ndarray            # int64 [n]: 1-based input line numbers
    values: np.ndarray           # float64 [n, len(Columns.values)]
    series: list[bytes] | None   # series id per row (the unquoted field, UTF-8)
    text: list[list[bytes]]      # passed-through fields, CSV-ready, one list per output column

    def __len__(self) -> int:
        return len(self.lines)


def split_fields(line: bytes, source: str, number: int) -> list[str]:
    """One CSV line (without its newline) into fields, quotes honoured, with errors that name the line."""
    line = line.removesuffix(b"\r")
    if len(line) > MAX_LINE_BYTES:
        raise DataError(f"line is longer than {MAX_LINE_BYTES} bytes (one row per line is expected)",
                        source=source, line=number)
    if not line.strip():
        raise DataError("empty line", source=source, line=number)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"not valid UTF-8 (byte {e.start + 1})", source=source, line=number) from None
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as e:
        raise DataError(f"bad CSV quoting: {e}", source=source, line=number) from None


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_header(first: list[str], layout: str, value_col: tuple[str, ...], series_col: str | None,
               keep: tuple[str, ...]) -> bool:
    """Line 1 is a header when options name columns, or when the fields that would hold values do not."""
    specs = (*value_col, *keep, *((series_col,) if series_col else ()))
    if any(not s.isdigit() for s in specs):
        return True
    n = len(first)
    if value_col:
        cand = [int(s) - 1 for s in value_col if 1 <= int(s) <= n]
    elif n <= 2 and layout != "windows":
        cand = [n - 1]                                   # `value` or `series,value`
    else:
        cand = [i for i in range(n) if str(i + 1) not in specs]
    return not all(_is_number(first[i]) for i in cand)


def _column(spec: str, header: tuple[str, ...] | None, nfields: int, option: str) -> int:
    """A column given by header name or by 1-based number -> 0-based index."""
    if header is not None and spec in header:
        return header.index(spec)
    if spec.isdigit() and 1 <= int(spec) <= nfields:
        return int(spec) - 1
    if header is None and not spec.isdigit():
        raise ConfigError(f"{option} {spec!r}: the input has no header line; give a column number (1-based)")
    have = ", ".join(header) if header else f"{nfields} unnamed columns"
    raise ConfigError(f"{option} {spec!r}: no such column (the input has {have})")


def resolve_columns(first: list[str], *, layout: str, value_col: tuple[str, ...], series_col: str | None,
                    keep: tuple[str, ...], window: int, features: int) -> Columns:
    """Decide header, layout and column roles from line 1 and the options."""
    n = len(first)
    header = tuple(first) if _is_header(first, layout, value_col, series_col, keep) else None
    if header is not None and all(_is_number(f) for f in first):   # names given, but line 1 is data
        opt, spec = next((o, sp) for o, specs in (("--value-col", value_col), ("--keep", keep),
                                                  ("--series-col", (series_col,) if series_col else ()))
                         for sp in specs if not sp.isdigit())
        raise ConfigError(f"{opt} {spec!r}: the input has no header line; give a column number (1-based)")
    series = _column(series_col, header, n, "--series-col") if series_col else None
    kept = tuple(_column(k, header, n, "--keep") for k in keep)
    if layout == "auto":
        layout = "series" if n <= 2 or value_col or (header is not None and "value" in header) else "windows"
    if layout == "series":
        if value_col:
            values = tuple(_column(v, header, n, "--value-col") for v in value_col)
        elif header is not None and "value" in header:
            values = (header.index("value"),)
        elif n - len(kept) - (series is not None) == features:
            values = tuple(i for i in range(n) if i != series and i not in kept)
        elif n == 2 and features == 1 and series is None and not kept:
            series, values = 0, (1,)
        else:
            raise DataError(f"{n} fields per row: expected `value` or `series,value`; choose the columns "
                            f"with --value-col/--series-col (or --layout windows)", line=1)
        if series is None and series_col is None and header is not None and SERIES_COLUMN in header \
                and header.index(SERIES_COLUMN) not in values:
            series = header.index(SERIES_COLUMN)
        if len(values) != features:
            raise ConfigError(f"--value-col: the model takes {features} feature(s) per step, "
                              f"{len(values)} column(s) given")
    elif layout == "windows":
        values = tuple(i for i in range(n) if i != series and i not in kept)
        if len(values) != window * features:
            raise DataError(f"{len(values)} values per row, but a window is {window} steps x {features} "
                            f"feature(s) = {window * features} values (see --window, --keep)", line=1)
    else:
        raise ConfigError(f"layout: {layout!r} is not one of {', '.join(LAYOUTS)}")
    used = set(values) & ({series} | set(kept))
    if used:
        raise ConfigError(f"column {min(used) + 1} is both a value column and a passed-through column")
    names = ((SERIES_COLUMN,) if series is not None else ()) + tuple(
        header[i] if header else f"col{i + 1}" for i in kept)
    return Columns(layout, n, header, values, series, kept, names)


def quote(field: bytes) -> bytes:
    """CSV-escape a passed-through field (RFC 4180): quoted only when it holds , " CR or LF."""
    if any(c in field for c in (b",", b'"', b"\r", b"\n")):
        return b'"' + field.replace(b'"', b'""') + b'"'
    return field


def parse_block(block: Block, cols: Columns, source: str, stop: bool) -> tuple[Rows, list[DataError]]:
    """Rows of `block` in order, and the errors found: with `stop`, the rows before the first bad line."""
    fast = _parse_bulk(block, cols)
    if fast is not None:
        return fast, []
    return _parse_careful(block, cols, source, stop)


def _parse_bulk(block: Block, cols: Columns) -> Rows | None:
    """Parse the whole block at once, or None when anything is unusual (then the careful path decides)."""
    data, n, k = block.data, block.nlines, cols.nfields
    if n == 0 or b'"' in data:
        return None
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
        if b"\r" in data:
            return None
    if len(cols.values) == k > 2:                            # wide rows of values only: numpy's C parser
        try:                                                 # checks the field count of every row itself
            values = np.loadtxt(io.BytesIO(data), dtype=np.float64, delimiter=",", comments=None, ndmin=2)
        except ValueError:
            return None
        if values.shape != (n, k) or not np.isfinite(values).all():   # (it skips blank lines)
            return None
        return Rows(np.arange(block.first_line, block.first_line + n, dtype=np.int64), values, None, [])
    if k == 1:
        if b"," in data:
            return None
        fields = data.split(b"\n")
    else:
        fields = data.replace(b"\n", b",").split(b",")
        if len(fields) != n * k + 1:
            return None
        buf = np.frombuffer(data, np.uint8)                  # every line must hold exactly k-1 commas
        per_line = np.diff(np.searchsorted(np.flatnonzero(buf == 44), np.flatnonzero(buf == 10)), prepend=0)
        if not (per_line == k - 1).all():
            return None
    fields.pop()                                             # after the final newline
    try:
        if len(cols.values) == k:
            values = np.array(list(map(float, fields)), dtype=np.float64).reshape(n, k)
        else:
            values = np.empty((n, len(cols.values)), dtype=np.float64)
            for j, c in enumerate(cols.values):
                values[:, j] = list(map(float, fields[c::k]))
    except ValueError:
        return None
    if not np.isfinite(values).all():
        return None
    series = fields[cols.series::k] if cols.series is not None else None
    text = ([series] if series is not None else []) + [fields[c::k] for c in cols.keep]
    lines = np.arange(block.first_line, block.first_line + n, dtype=np.int64)
    return Rows(lines, values, series, text)


def _parse_careful(block: Block, cols: Columns, source: str, stop: bool) -> tuple[Rows, list[DataError]]:
    lines: list[int] = []
    values: list[list[float]] = []
    series: list[bytes] = []
    text: list[list[bytes]] = [[] for _ in cols.names]
    errors: list[DataError] = []
    passed = ([cols.series] if cols.series is not None else []) + list(cols.keep)
    raw_lines = block.data.split(b"\n")
    raw_lines.pop()
    for number, raw in enumerate(raw_lines, start=block.first_line):
        try:
            fields = split_fields(raw, source, number)
            row = _numbers(fields, cols, source, number)
        except DataError as e:
            errors.append(e)
            if stop:
                break
            continue
        lines.append(number)
        values.append(row)
        for out, c in zip(text, passed, strict=True):
            out.append(quote(fields[c].encode()))
        if cols.series is not None:
            series.append(fields[cols.series].encode())
    rows = Rows(np.array(lines, dtype=np.int64),
                np.array(values, dtype=np.float64).reshape(len(lines), len(cols.values)),
                series if cols.series is not None else None, text)
    return rows, errors


def _numbers(fields: list[str], cols: Columns, source: str, number: int) -> list[float]:
    if cols.header is not None and tuple(fields) == cols.header:
        raise DataError("the header line again, in the middle of the stream (concatenated files?)",
                        source=source, line=number)
    if len(fields) != cols.nfields:
        raise DataError(f"{len(fields)} field(s), expected {cols.nfields} like line 1",
                        source=source, line=number)
    out = []
    for c in cols.values:
        field = fields[c]
        try:
            v = float(field)
        except ValueError:
            shown = repr(field if len(field) <= 40 else field[:40] + "...")
            raise DataError(f"{shown} is not a number ({cols.name(c)})", source=source, line=number,
                            column=c + 1) from None
        if not math.isfinite(v):
            raise DataError(f"{field.strip()!r} is not a finite number ({cols.name(c)})", source=source,
                            line=number, column=c + 1)
        out.append(v)
    return out
