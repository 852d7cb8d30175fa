"""Turn blocks of CSV lines into numbers: columns decided once (columns.py), bulk parsing, exact errors.

The common case (the right number of fields everywhere, every value a finite number) is parsed for a
whole block at once: in C where the install built it (plain numbers, fields quoted or not:
infer/_csvread.c), else, without quotes, by pyarrow's CSV reader for big blocks, by numpy and Python for
small ones. Anything else falls back to a careful line-by-line parse of that block, which handles every
quoting and names the first bad line, its column and the problem. The fast readers only decline; the
careful parse alone decides what is wrong. (1M rows of 10,000 series with quoted ids, `"s1",0.5`: 9-12 s
through the careful parse, 0.8 s in C, measured end to end with a stateful model.)
"""
from __future__ import annotations

import csv
import io
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import (
    SAMPLE_LINES,
    SHEET_ERROR,
    SUMMARY,
    Columns,
    grouped_by,
    is_missing,
    is_number,
    plain_float,
)
from .compiled import FAST
from .contract import SERIES_JOIN, join_key
from .csvout import quote
from .errors import DataError
from .reader import MAX_LINE_BYTES, Block

# The smallest magnitude that overflows to inf when rounded to float32 (FLT_MAX plus half an ulp): a value
# read from the CSV must stay below it, because the model computes in float32.
F32_OVERFLOW = 3.4028235677973366e38
# A block at least this big is parsed by pyarrow's C++ CSV reader, which lets go of the GIL (the model and
# writer threads run meanwhile) and reads numbers 2-4x faster than the Python bulk parse. Smaller blocks (a
# trickle) keep the Python parse and never pay pyarrow's import (~50 ms).
ARROW_MIN_BYTES = 1 << 16
NEGATIVE_IN_PARENS = re.compile(r"\(\s*\d[\d.,]*\s*\)")      # (12.5): an accounting export's -12.5


@dataclass
class Rows:
    """Parsed rows of one block, in input order."""

    lines: np.ndarray            # int64 [n]: 1-based input line numbers
    values: np.ndarray           # float64 [n, len(Columns.values)]
    series: list[bytes] | None   # series id per row (the unquoted field, UTF-8)
    text: list[list[bytes]]      # passed-through fields, CSV-ready, one list per output column
    times: np.ndarray | None     # float64 [n]: the gap column read as seconds (NaN where it does not read)

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at positions `idx`, in that order."""
        return Rows(self.lines[idx], self.values[idx],
                    [self.series[i] for i in idx] if self.series is not None else None,
                    [[col[i] for i in idx] for col in self.text],
                    self.times[idx] if self.times is not None else None)

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        """Several blocks' rows as one (all parsed with the same columns)."""
        first = parts[0]
        return Rows(np.concatenate([r.lines for r in parts]), np.concatenate([r.values for r in parts]),
                    [k for r in parts for k in (r.series or ())] if first.series is not None else None,
                    [[f for r in parts for f in r.text[c]] for c in range(len(first.text))],
                    np.concatenate([r.times for r in parts if r.times is not None])
                    if first.times is not None else None)


def split_fields(line: bytes, source: str, number: int) -> list[str]:
    """One CSV line (without its newline) into fields, quotes honoured, with errors that name the line."""
    line = line.removesuffix(b"\r")
    if len(line) > MAX_LINE_BYTES:
        raise DataError(f"line is longer than {MAX_LINE_BYTES} bytes (one row per line is expected)",
                        source=source, line=number)
    if not line.strip():
        raise DataError("empty line among the rows (blank lines may only end the file)", source=source,
                        line=number)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        if number == 1 and line[:2] in (b"\xff\xfe", b"\xfe\xff"):      # Excel's "Unicode Text"
            raise DataError("UTF-16 text (it starts with a UTF-16 BOM), not UTF-8: save it as CSV UTF-8, or "
                            "iconv -f UTF-16 -t UTF-8", source=source, line=number) from None
        raise DataError(f"not valid UTF-8 (byte {e.start + 1}): --encoding cp1252 reads a file from Windows "
                        f"(latin-1 ...)", source=source, line=number) from None
    if "\r" in text.rstrip("\r") and '"' not in text:   # csv calls it bad quoting ("universal-newline mode")
        raise DataError("lines end in a carriage return (CR) alone, not LF or CRLF: convert them "
                        "(tr '\\r' '\\n' < FILE)", source=source, line=number)
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as e:
        if (column := _unclosed_quote(text)) is not None:
            raise DataError("bad CSV quoting: the quoted field does not close on its line (a line break "
                            "inside a quoted cell, as spreadsheets write multi-line text? seqinfer reads one "
                            "row per line: take the line breaks out of that column, or drop it)",
                            source=source, line=number, column=column) from None
        raise DataError(f"bad CSV quoting: {e}", source=source, line=number) from None


def _unclosed_quote(text: str) -> int | None:
    """The 1-based column whose opening quote is still open at the end of the line; None if none is."""
    column, quoted = 1, None
    for ch in text:
        if ch == '"':
            quoted = column if quoted is None else None     # "" inside a quoted field: closes and reopens
        elif ch == "," and quoted is None:
            column += 1
    return quoted


def sample(blocks: list[Block], source: str) -> list[list[str]]:
    """The first columns.SAMPLE_LINES lines of the input, split into fields, for columns.resolve.

    A bad line after line 1 is an empty entry here (as a blank line is), so entry i is line i + 1: it is
    reported when its turn comes, not while deciding; one not UTF-8 is read with its bad bytes replaced.
    """
    data = b"".join(b.data for b in blocks)
    first_line = blocks[0].first_line
    raw = data.split(b"\n", SAMPLE_LINES)[:SAMPLE_LINES]
    if raw and raw[-1] == b"":
        raw.pop()
    lines = [split_fields(raw[0], source, first_line)]
    for number, line in enumerate(raw[1:], start=first_line + 1):
        try:
            lines.append(split_fields(line, source, number))
        except DataError:
            try:                          # not UTF-8 (a cp1252 `Köln`): its fields still tell the columns
                text = line.decode("utf-8", "replace").encode()
                lines.append(split_fields(text, source, number) if text != line else [])
            except DataError:
                lines.append([])
    return lines


def after_header(blocks: list[Block], cols: Columns) -> list[Block]:
    """The blocks without line 1 when line 1 is a header."""
    if cols.header is None or not blocks:
        return blocks
    _, _, rest = blocks[0].data.partition(b"\n")
    return [Block(rest, blocks[0].first_line + 1, blocks[0].nlines - 1, blocks[0].dots), *blocks[1:]]


def parse_block(block: Block, cols: Columns, source: str, stop: bool,
                missing_ok: bool = False) -> tuple[Rows, list[DataError]]:
    """Rows of `block` in order, and the errors found: with `stop`, the rows before the first bad line.

    A missing value (columns.MISSING: empty, NA, NaN, null, ...) is NaN in `values` when `missing_ok`,
    else a DataError that points at --fill. Numbers beyond float32 (1e39, inf) are always errors.
    """
    fast = _parse_bulk(block, cols)
    rows, errors = (fast, []) if fast is not None else _parse_careful(block, cols, source, stop, missing_ok)
    rows, errors = _no_dots(rows, errors, block, cols, source, stop)
    return _no_totals(rows, errors, cols, source, stop)


def _no_dots(rows: Rows, errors: list[DataError], block: Block, cols: Columns, source: str,
             stop: bool) -> tuple[Rows, list[DataError]]:
    """--decimal ',': a value written with a '.' and no comma (Block.dots) is an error at its line, not
    read as a decimal point: in such a file 10.013 is ten thousand and thirteen (a thousands separator), or
    the file mixes two decimal marks."""
    if block.dots is None:
        return rows, errors
    at = block.dots[np.isin(block.dots[:, 1], cols.values)]
    if not len(at):
        return rows, errors
    lines = block.data.split(b"\n")
    found = []
    for line, column in at.tolist():
        text = lines[line - block.first_line].decode("utf-8", "replace").rstrip("\r")
        fields = next(csv.reader([text]))
        field = fields[column].strip() if column < len(fields) else ""
        how = "--thousands . reads it so" if grouped_by(field, ",") == "." else \
            "export plain numbers (a spreadsheet: Number format, no 1000 separator)"
        found.append(DataError(
            f"{field!r} has a '.' in a file read with --decimal ',': a thousands separator "
            f"({field.replace('.', '')}?) or a decimal point among decimal commas? {how}", source=source,
            line=line, column=column + 1))
    bad = np.isin(rows.lines, at[:, 0])
    keep = ~bad
    if stop:
        first = int(at[:, 0].min())
        keep &= rows.lines < first
        errors = [e for e in errors if (e.line or 0) < first]
        found = found[:1] if not errors else []
    return rows.take(np.flatnonzero(keep)), sorted(errors + found, key=lambda e: e.line or 0)


def _no_totals(rows: Rows, errors: list[DataError], cols: Columns, source: str,
               stop: bool) -> tuple[Rows, list[DataError]]:
    """A spreadsheet's `Total` (`Sum`, `Average`) row at the end of a sheet, where a time column's time would
    be: an error at its line, not one more value of the series. In the column read for gaps only the rows
    whose time did not read are looked at; in a time column not read, a field that starts with a letter.
    In the column read for gaps, an empty field too: a sum under the values with no label (Excel's
    `,9997.96`, a subtotal between the months) was read as one more value, the file's only word a time
    field "not in the column's format"."""
    stamp: dict[int, tuple[str, int]] = {}                    # row -> (its label, the column's number)
    for j in cols.time:
        if j not in cols.passed:
            continue
        column = rows.text[cols.passed.index(j)]
        unread: Any = range(len(rows))
        read = j == cols.gap_col and rows.times is not None
        if read and rows.times is not None:
            unread = np.flatnonzero(np.isnan(rows.times))
        for i in unread:
            field = column[i].strip().strip(b'"').strip()
            if read and not field and int(i) not in stamp:
                stamp[int(i)] = "", j + 1
            elif field[:1].isalpha() and int(i) not in stamp:
                text = field.decode("utf-8", "replace")
                if SUMMARY.fullmatch(text):
                    stamp[int(i)] = text, j + 1
    if not stamp:
        return rows, errors
    bad = sorted(stamp)

    def what(label: str, column: int) -> str:
        if label:
            return f"{label!r} in the time column: a totals row? remove it (its numbers are not one more " \
                   f"value of the series)"
        name = cols.header[column - 1].strip() if cols.header else str(column)
        return (f"no time (an empty field) in the time column, whose other rows have one: a totals or "
                f"subtotal row? remove it (its numbers are not one more value of the series), or --keep "
                f"{name} to pass the column through unread")

    found = [DataError(what(*stamp[i]), source=source, line=int(rows.lines[i]), column=stamp[i][1])
             for i in bad]
    keep = np.ones(len(rows), bool)
    keep[bad] = False
    if stop:
        keep[bad[0]:] = False
        errors, found = [], found[:1]
    return rows.take(np.flatnonzero(keep)), sorted(errors + found, key=lambda e: e.line or 0)


def _finite32(values: np.ndarray) -> bool:
    return bool((np.abs(values) < F32_OVERFLOW).all())          # False for NaN and inf too


def _parse_bulk(block: Block, cols: Columns) -> Rows | None:
    """Parse the whole block at once, or None when anything is unusual (then the careful path decides)."""
    data, n, k = block.data, block.nlines, cols.nfields
    if n == 0:
        return None
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
        if b"\r" in data:
            return None
    if not data.isascii():           # the C and arrow splits take any bytes: a line not UTF-8 is refused
        try:                         # by the careful path, at its line (1M ASCII rows: isascii ~1 ms)
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    lines = np.arange(block.first_line, block.first_line + n, dtype=np.int64)
    if FAST is not None and (rows := _parse_c(data, n, cols, lines)) is not None:
        return rows                                          # (quoted fields too: _csvread.c)
    if b'"' in data or (k == 1 and b"," in data):            # (one field per line, yet a comma)
        return None
    if len(data) >= ARROW_MIN_BYTES:
        return _parse_arrow(data, n, cols, lines)
    if len(cols.values) == k > 2 and data.strip():          # wide rows of values only: numpy's C parser
        try:                                                 # checks the field count of every row itself
            values = np.loadtxt(io.BytesIO(data), dtype=np.float64, delimiter=",", comments=None, ndmin=2)
        except ValueError:
            return None
        if values.shape != (n, k) or not _finite32(values):   # (it skips blank lines)
            return None
        return Rows(lines, values, None, [], None)
    if k == 1:
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
    if b"_" in data:                                         # float() reads 5_0.5: the careful path refuses
        return None
    try:
        if len(cols.values) == k:
            values = np.array(list(map(float, fields)), dtype=np.float64).reshape(n, k)
        else:
            values = np.empty((n, len(cols.values)), dtype=np.float64)
            for j, c in enumerate(cols.values):
                values[:, j] = list(map(float, fields[c::k]))
    except ValueError:
        return None
    if not _finite32(values):
        return None
    series = _key([fields[c::k] for c in cols.key])
    text = [fields[c::k] for c in cols.passed]
    return Rows(lines, values, series, text, _times(cols, lambda c: fields[c::k]))


_local = threading.local()     # each parsing thread's table of series ids (_csvread.c's interner)


def _parse_c(data: bytes, n: int, cols: Columns, lines: np.ndarray) -> Rows | None:
    """_parse_bulk's work in C (infer/_csvread.c), or None where it declines (not plain numbers). Each
    distinct series id is one shared bytes object, so state.py's code lookup hashes nothing. Measured on 1M
    rows of 10,000 series (bench/data.py's interleaved file), the split alone: 0.05 s, against 0.12 s for
    pyarrow's read_csv with to_pylist of the ids."""
    assert FAST is not None
    if (table := getattr(_local, "ids", None)) is None:
        table = _local.ids = FAST.interner()
    want = sorted(c for c in {*cols.passed, cols.series, cols.gap_col, cols.gap_also} if c is not None)
    values = np.empty((n, len(cols.values)), dtype=np.float64)
    got = FAST.split(data, n, cols.nfields, tuple(cols.values), tuple(want),
                     -1 if cols.series is None else cols.series, table, values)
    if got is None or not _finite32(values):
        return None
    fields = dict(zip(want, got, strict=True))
    return Rows(lines, values, _key([fields[c] for c in cols.key]), [fields[c] for c in cols.passed],
                _times(cols, fields.__getitem__))


def _parse_arrow(data: bytes, n: int, cols: Columns, lines: np.ndarray) -> Rows | None:
    """_parse_bulk's work in pyarrow: values as float64, every other field as its bytes; None on anything
    pyarrow refuses (then the careful path decides, with its own messages). Checked to read numbers as
    Python's float() does: where the two differ (1_000, non-ASCII digits) pyarrow refuses."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    k = cols.nfields
    names = [str(c) for c in range(k)]
    types = {str(c): pa.float64() if c in cols.values else pa.binary() for c in range(k)}
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=len(data) + 1),
            parse_options=pcsv.ParseOptions(quote_char=False, double_quote=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False,
                                                quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        return None
    if table.num_rows != n:
        return None
    values = np.empty((n, len(cols.values)), dtype=np.float64)
    for j, c in enumerate(cols.values):
        values[:, j] = np.concatenate([_floats(a) for a in table.column(c).chunks])
    if not _finite32(values):
        return None
    fields = {c: table.column(c).to_pylist() for c in cols.passed}
    series = _key([fields[c] for c in cols.key])
    text = [fields[c] for c in cols.passed]
    return Rows(lines, values, series, text, _times(cols, lambda c: table.column(c).to_pylist()))


def _key(fields: list[list[bytes]]) -> list[bytes] | None:
    """Each row's series id from the fields of Columns.key: none, the one field, or the fields joined."""
    if len(fields) < 2:
        return fields[0] if fields else None
    join = SERIES_JOIN.encode()
    if any(join in text or b"\\" in text for text in map(b"".join, fields)):   # (C speed) escape them
        return [join_key(parts) for parts in zip(*fields, strict=True)]
    return [join.join(parts) for parts in zip(*fields, strict=True)]


def _times(cols: Columns, column: Callable[[int], Sequence[Any]]) -> np.ndarray | None:
    """Each row's time in seconds from the gap column's fields (`column(j)`: field j of every row), its
    time of day joined on (Columns.gap_also); None where no time is read."""
    if cols.gap_col is None or cols.time_format is None:
        return None
    stamps = column(cols.gap_col)
    if cols.gap_also is not None:
        stamps = [d + (b" " if isinstance(d, bytes) else " ") + t
                  for d, t in zip(stamps, column(cols.gap_also), strict=True)]
    return cols.time_format.seconds(stamps)


def _floats(a: Any) -> np.ndarray:
    """A pyarrow float64 array without nulls as numpy, read off its data buffer (Array.to_numpy would import
    pandas when it is installed: 0.4-0.6 s)."""
    return np.frombuffer(a.buffers()[1], np.float64, count=len(a), offset=a.offset * 8)


def _parse_careful(block: Block, cols: Columns, source: str, stop: bool,
                   missing_ok: bool) -> tuple[Rows, list[DataError]]:
    lines: list[int] = []
    values: list[list[float]] = []
    series: list[bytes] = []
    stamps: dict[int, list[str]] = {c: [] for c in (cols.gap_col, cols.gap_also) if c is not None}
    text: list[list[bytes]] = [[] for _ in cols.passed]
    errors: list[DataError] = []
    raw_lines = block.data.split(b"\n")
    raw_lines.pop()
    for number, raw in enumerate(raw_lines, start=block.first_line):
        try:
            fields = split_fields(raw, source, number)
            row = _numbers(fields, cols, source, number, missing_ok)
        except DataError as e:
            errors.append(e)
            if stop:
                break
            continue
        lines.append(number)
        values.append(row)
        for out, c in zip(text, cols.passed, strict=True):
            out.append(quote(fields[c].encode()))
        if cols.key:
            series.append(join_key([fields[c] for c in cols.key]).encode())
        for c, stamp in stamps.items():
            stamp.append(fields[c])
    times = _times(cols, stamps.__getitem__)
    rows = Rows(np.array(lines, dtype=np.int64),
                np.array(values, dtype=np.float64).reshape(len(lines), len(cols.values)),
                series if cols.series is not None else None, text, times)
    return rows, errors


def _numbers(fields: list[str], cols: Columns, source: str, number: int, missing_ok: bool) -> list[float]:
    if cols.header is not None and tuple(f.strip() for f in fields) == cols.header \
            and not all(is_number(h) for h in cols.header):     # a header `0` is also a value 0
        raise DataError("the header line again, in the middle of the stream (concatenated files?)",
                        source=source, line=number)
    if len(fields) != cols.nfields:
        comment = f" ({fields[0].strip()[:40]!r}: a comment or footer line? remove it: grep -v '^#' FILE)" \
            if fields and fields[0].lstrip().startswith("#") else ""
        raise DataError(f"{len(fields)} field(s), expected {cols.nfields} like line 1{comment}",
                        source=source, line=number)
    out = []
    for c in cols.values:
        field = fields[c]
        if is_missing(field):
            if not missing_ok:
                emptied = f" or --na-value {', '.join(cols.na_codes)}" if cols.na_codes else ""
                shown = f"('{field.strip()}')" if field.strip() else f"(empty field{emptied})"  # \N not '\\N'
                raise DataError(f"missing value {shown} in {cols.name(c)}; --fill previous or --fill drop "
                                f"goes on past it", source=source, line=number, column=c + 1)
            out.append(math.nan)
            continue
        try:
            v = plain_float(field)
        except ValueError:
            shown = repr(field if len(field) <= 40 else field[:40] + "...")
            hint = (": a spreadsheet's error value (a formula that failed); fix the cell, or empty it and "
                    "use --fill") if SHEET_ERROR.fullmatch(field.strip()) else ""
            if NEGATIVE_IN_PARENS.fullmatch(field.strip()):
                hint = ": a negative number in parentheses, as accounting formats write it? export plain " \
                       f"numbers (-{field.strip()[1:-1].strip()})"
            elif number == 2 and cols.header is not None and not any(is_number(f) for f in fields):
                hint = ": a row of units under the header, as loggers write? remove it (sed 2d FILE)"
            raise DataError(f"{shown} is not a number ({cols.name(c)}){hint}", source=source, line=number,
                            column=c + 1) from None
        if not abs(v) < F32_OVERFLOW:
            raise DataError(f"{field.strip()!r} is not a finite float32 number ({cols.name(c)}; float32 "
                            f"holds up to 3.4e38)", source=source, line=number, column=c + 1)
        out.append(v)
    return out
