"""Read a CSV stream in large chunks, hand it on as blocks of whole lines, and wait on it with a deadline.

Reading is by `os.read` on the file descriptor (no line-at-a-time Python), and `wait(timeout)` is a
`select()` so the caller can flush a half-full batch when the input stalls. File objects without a
descriptor (tests, in-memory data) are read the same way, minus the waiting.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import re
import select
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import numpy as np

from .errors import ConfigError, DataError

if TYPE_CHECKING:
    from .config import ColumnSpec

CHUNK_BYTES = 1 << 20        # per read: per-read overhead vanishes, yet the first block parses fast
MAX_LINE_BYTES = 1 << 20     # a longer line is an error, so memory stays bounded whatever arrives
BOM = b"\xef\xbb\xbf"
BLANK = b" \t\r\n,"      # a line of only these is blank: Excel writes the rows it kept empty as `,,`
GZIP = b"\x1f\x8b"
# What a file that is not text starts with, and what to do: said at line 1 instead of "not valid UTF-8".
NOT_CSV = (
    (GZIP, "gzip-compressed data, not CSV text: give the file itself (--input / --data read .gz files), or "
           "decompress it first (zcat FILE | ...)"),
    (b"PK\x03\x04", "a zip archive (an Excel workbook, .xlsx, is one), not CSV: save the sheet as CSV UTF-8 "
                     "(pandas: pd.read_excel(f).to_csv(out, index=False))"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls), not CSV: save the sheet as CSV UTF-8 (pandas: "
                         "pd.read_excel(f).to_csv(out, index=False))"),
    (b"PAR1", "a Parquet file, not CSV: name it with a .parquet suffix (seqinfer then reads it as one), "
              "or convert it (pandas: pd.read_parquet(f).to_csv(out, index=False))"),
)


class _Gunzip(gzip.GzipFile):
    """A .gz file read as the text inside. No fileno(): LineReader must read the decompressed bytes, not
    the descriptor's. A damaged or cut-short file is a DataError, not a traceback."""

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"the gzip file is damaged or cut short ({e})", source=str(self.name)) from None


def open_input(path: str | Path) -> BinaryIO:
    """A CSV file to read, decompressed when it is gzip (as pandas does with a .gz); OSError as open's."""
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP
    return cast(BinaryIO, _Gunzip(path, "rb")) if gz else open(path, "rb")  # noqa: SIM115 - the caller closes it


def writable(path: Path, what: str) -> None:
    """ConfigError unless `path` can be written (its folder exists and takes files): said before a run, not
    after it."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"{what} {path}: no folder {folder}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{what} {path}: the folder {folder} is not writable")
    if path.is_dir():
        raise ConfigError(f"{what} {path}: is a folder")


@dataclass
class Block:
    """Whole lines of input, each ending in b"\\n" (the stream's last line gets one if it lacks it)."""

    data: bytes
    first_line: int          # 1-based line number of the first line in `data`
    nlines: int
    # --decimal ',': the fields that were numbers with a '.' and no comma (10.013: ten thousand and thirteen,
    # or a decimal point among decimal commas), as (line, 0-based column) rows; parse.py refuses those in a
    # value column. None: no such field.
    dots: np.ndarray | None = None


_DIGITS = np.zeros(256, bool)
_DIGITS[list(b"0123456789")] = True
_NUMBER_BYTES = _DIGITS.copy()                 # what a number with a decimal comma may hold, besides it
_NUMBER_BYTES[list(b'+-eE ",\r')] = True


class Dialect:
    """`sep`-separated lines with `decimal` marks and `na` codes for a missing value -> the comma CSV with
    decimal points and empty fields they stand for, field for field, so every column keeps its number and
    every line its place (--sep, --decimal, --na-value), in UTF-8 (--encoding: the file's own).

    A field that is one of the `na` codes (`-9999`, as written in the file; spaces and quotes around it
    allowed) becomes empty: a missing value, as --fill says. A decimal comma becomes a point only in a field
    that is a number (`-12,5`, `"3,0e-4"`): a text field keeps its commas, and `1.234,5` (a thousands
    separator) is left for the parser to refuse. Lines with no comma or quote left are converted by one
    bytes.replace; the others go through Python's csv module, which quotes what needs it. A line whose
    quotes do not close is left as it is, for the parser to report (a cell over several lines is refused)."""

    @staticmethod
    def of(spec: ColumnSpec) -> Dialect | None:
        """The dialect of ColumnSpec's sep, decimal and na_values; None for plain comma CSV."""
        plain = (spec.sep, spec.decimal, spec.na_values, spec.encoding, spec.thousands) == \
            (",", ".", (), "utf-8", "")
        return None if plain else Dialect(spec.sep, spec.decimal, spec.na_values, spec.encoding,
                                          spec.thousands)

    @staticmethod
    def for_input(spec: ColumnSpec, parquet: bool, source: str) -> Dialect | None:
        """Dialect.of for a CSV; for Parquet None, and a ConfigError if the options ask for a dialect."""
        dialect = Dialect.of(spec)
        if parquet and dialect is not None:
            raise ConfigError(f"{source}: --sep, --decimal, --na-value and --encoding describe CSV text; a "
                              f"Parquet file's columns are typed: leave them out")
        return None if parquet else dialect

    def __init__(self, sep: str, decimal: str, na: tuple[str, ...] = (), encoding: str = "utf-8",
                 thousands: str = "") -> None:
        self.sep, self.name = sep.encode(), {"\t": "tab"}.get(sep, repr(sep))
        self.decimal, self.na, self.encoding, self.thousands = decimal, na, encoding, thousands
        self.grouped = _grouping(self.sep, thousands.encode(), decimal.encode()) if thousands else None
        self.dots: np.ndarray | None = None      # the last call's: see Block.dots
        s = re.escape(self.sep)
        codes = b"|".join(re.escape(c.encode()) for c in sorted(na, key=len, reverse=True))
        self.codes = re.compile(rb'(?m)(^|' + s + rb') *"?(?:' + codes + rb')"? *(?=' + s + rb'|\r?$)') \
            if na else None

    def __call__(self, lines: bytes) -> bytes:
        if self.encoding != "utf-8":      # ASCII stays ASCII (config.text_encoding): lines keep their ends
            lines = lines.decode(self.encoding, errors="replace").encode("utf-8")
        if self.codes is not None:
            lines = self.codes.sub(rb"\1", lines)
        if self.grouped is not None and self.thousands.encode() in lines:
            mark = self.thousands.encode()
            lines = self.grouped.sub(lambda m: m[1] + m[2].replace(mark, b""), lines)
        if self.decimal == ",":
            self.dots = self._dots(lines)
            lines = self._points(lines)
        if self.sep == b"," or b'"' not in lines and b"," not in lines:
            return lines.replace(self.sep, b",")
        return b"".join(self._line(ln) for ln in lines.splitlines(keepends=True))

    def _points(self, lines: bytes) -> bytes:
        """Each comma that is the one comma of a field made only of digits, signs, exponents, spaces and
        quotes, a digit right after it, becomes a point (numpy over the whole block: 1M rows in ~0.1 s)."""
        a = np.frombuffer(lines, np.uint8)
        commas = np.flatnonzero(a == ord(","))
        if not len(commas):
            return lines
        edges = np.flatnonzero((a == self.sep[0]) | (a == ord("\n")))   # the block ends in a newline
        k = np.searchsorted(edges, commas)
        end, start = edges[k], np.where(k > 0, edges[np.maximum(k - 1, 0)] + 1, 0)
        odd = np.concatenate([[0], np.cumsum(~_NUMBER_BYTES[a])])        # bytes a number has not, so far
        many = np.concatenate([[0], np.cumsum(a == ord(","))])
        ok = (odd[end] == odd[start]) & (many[end] - many[start] == 1) & \
            _DIGITS[a[np.minimum(commas + 1, len(a) - 1)]]
        if not ok.any():
            return lines
        out = a.copy()
        out[commas[ok]] = ord(".")
        return out.tobytes()

    def _dots(self, lines: bytes) -> np.ndarray | None:
        """(line index in `lines`, 0-based column) of each field made of a number's bytes with a '.' and no
        comma; None when there is none."""
        a = np.frombuffer(lines, np.uint8)
        dot = a == ord(".")
        if not dot.any():
            return None
        newline = a == ord("\n")
        ends = np.flatnonzero((a == self.sep[0]) | newline)              # the block ends in a newline
        starts = np.r_[0, ends[:-1] + 1]
        cum = [np.r_[0, np.cumsum(m)] for m in (dot, a == ord(","), ~(_NUMBER_BYTES[a] | dot))]
        dots, commas, odd = (c[ends] - c[starts] for c in cum)
        lines_before = np.r_[0, np.cumsum(newline)][starts]
        hit = np.flatnonzero((dots > 0) & (commas == 0) & (odd == 0))
        if not len(hit):
            return None
        first_field = np.r_[0, np.flatnonzero(newline[ends[:-1]]) + 1]   # each line's first field
        column = hit - first_field[lines_before[hit]]
        return np.stack([lines_before[hit], column], axis=1)

    def _line(self, line: bytes) -> bytes:
        if line.count(b'"') % 2:
            return line
        try:
            text = line.decode()
        except UnicodeDecodeError:        # the parser names the line and column
            return line
        body = text.rstrip("\r\n")
        fields = next(csv.reader([body], delimiter=self.sep.decode()), [])
        return (",".join('"' + f.replace('"', '""') + '"' if "," in f or '"' in f else f for f in fields)
                + text[len(body):]).encode()

    def describe(self) -> str:
        """For the "reading ..." line: what the file was read as."""
        said = [] if self.sep == b"," else [f"fields separated by {self.name}"]
        said += [f"decimal {self.decimal!r}"] if self.sep != b"," or self.decimal != "." else []
        said += [f"thousands {self.thousands!r}"] if self.thousands else []
        said += [f"missing also: {', '.join(self.na)}"] if self.na else []
        return ", ".join(said + ([f"encoding {self.encoding}"] if self.encoding != "utf-8" else []))

    def check_header(self, line: bytes, source: str) -> None:
        """An explicit --sep on a file whose first line has none of it but has commas: say so."""
        if self.sep != b"," and self.sep not in line and b"," in line:
            raise ConfigError(f"{source}: --sep {self.name}, but line 1 has no {self.name} and has commas: "
                              f"a comma-separated file needs no --sep")


def _grouping(sep: bytes, mark: bytes, decimal: bytes) -> re.Pattern[bytes]:
    """--thousands: a field that is a number whose digits before the decimal mark are grouped by threes with
    `mark` (1.287, -12.500.000, 1.287,5, "1,287.5"): (its start, the grouped digits) for re.sub to drop the
    marks from. Only such a field: 10.5 and a date 01.02.2024 keep theirs. Where `mark` is the separator
    itself, only a quoted field can hold it."""
    s, m, d = re.escape(sep), re.escape(mark), re.escape(decimal)
    quote = rb'"' if mark == sep else rb'"?'
    return re.compile(rb'(?m)((?:^|(?<=' + s + rb')) *' + quote + rb' *[+-]?)([1-9]\d{0,2}(?:' + m +
                      rb'\d{3})+)(?=(?:' + d + rb'\d*)?(?:[eE][+-]?\d+)? *' + quote + rb' *(?:' + s +
                      rb'|\r?$))')


class LineReader:
    """Cuts a byte stream into Blocks of whole lines; strips a leading UTF-8 BOM; bounds line length.

    `on_long_line` decides about a line longer than MAX_LINE_BYTES: raise (stop) or report and skip it.
    """

    def __init__(self, stream: BinaryIO | int, source: str,
                 on_long_line: Callable[[DataError], None] | None = None,
                 chunk_bytes: int = CHUNK_BYTES, max_line: int = MAX_LINE_BYTES, first_line: int = 1,
                 dialect: Dialect | None = None) -> None:
        self.source = source
        self.dialect = dialect       # --sep, --decimal, --na-value: each block turned into plain comma CSV
        self.header_seen = dialect is None
        self.fd: int | None = None
        self.file: BinaryIO | None = None
        if isinstance(stream, int):
            self.fd = stream
        else:
            try:
                self.fd = stream.fileno()
            except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is an OSError
                self.file = stream
        self.on_long_line = on_long_line
        self.chunk_bytes, self.max_line = chunk_bytes, max_line
        self.carry = b""             # the incomplete last line so far
        self.line = first_line       # number of the next line to hand out (Parquet's header: line 0)
        self.at_start = True         # BOM check pending
        self.discarding = False      # inside an over-long line that is being skipped
        self.too_long = False        # carry outgrew max_line: dealt with on the next read, after the block
        self.eof = False
        self.blank = b""             # blank lines at the end of what was read: dropped at EOF, else handed on
        self.unterminated: int | None = None   # the last line's number, when it had no newline

    def wait(self, timeout: float | None) -> bool:
        """True when a read would not block (or at EOF); False when `timeout` seconds passed first."""
        if self.fd is None or self.eof:
            return True
        ready, _, _ = select.select([self.fd], [], [], timeout)
        return bool(ready)

    def _read_raw(self) -> bytes:
        if self.fd is not None:
            return os.read(self.fd, self.chunk_bytes)
        assert self.file is not None
        read1 = getattr(self.file, "read1", None)
        return read1(self.chunk_bytes) if read1 is not None else self.file.read(self.chunk_bytes)

    def read(self) -> Block | None:
        """The next Block (possibly of zero lines when only part of a line arrived); None after EOF."""
        if self.eof:
            return None
        if self.too_long:
            self._long_line()
        data = self._read_raw()
        if not data:
            self.eof = True
            if self.discarding or not self.carry.strip(BLANK):   # blank lines at the very end are no rows
                return None
            self.unterminated = self.line + (self.blank + self.carry).count(b"\n")
            return self._block(self.carry + b"\n", b"")
        if self.at_start:
            if len(self.carry) + len(data) < len(BOM) and BOM.startswith(self.carry + data):
                self.carry += data
                return Block(b"", self.line, 0)
            data, self.carry, self.at_start = (self.carry + data).removeprefix(BOM), b"", False
            said = next((what for magic, what in NOT_CSV if data.startswith(magic)), None)
            if said is not None:
                raise DataError(said, source=self.source, line=1)
        if self.discarding:
            cut = data.find(b"\n")
            if cut < 0:
                return Block(b"", self.line, 0)
            data, self.discarding = data[cut + 1:], False
            self.line += 1
        last = data.rfind(b"\n")
        if last < 0:
            self.carry += data
            self.too_long = len(self.carry) > self.max_line
            return Block(b"", self.line, 0)
        block = self._block(self.carry + data[:last + 1], data[last + 1:])
        self.too_long = len(self.carry) > self.max_line
        return block

    def explain(self, e: DataError) -> DataError:
        """`e`, or `e` at the input's last line when that line had no newline: a logger's file read while
        it was being written ends in half a line, which is otherwise just a bad line. Not line 1: a file of
        one line (CR line ends) was never a stream of lines."""
        if e.line is None or e.line != self.unterminated or e.line == 1:
            return e
        return DataError(f"{e.what} (the last line, with no newline: cut short while the file was being "
                         f"written? sed '$d' FILE drops it)", source=e.source, line=e.line, column=e.column)

    def _block(self, lines: bytes, rest: bytes) -> Block:
        """Whole lines -> a Block, except blank lines (also `,,`) at its end: they wait for a line that is
        not blank (then a blank line is an error where it is), and at EOF they are dropped (an editor's or a
        spreadsheet's blank lines after the last row)."""
        dots = None
        if self.dialect is not None and lines:
            if not self.header_seen:
                self.dialect.check_header(lines[:lines.find(b"\n")], self.source)
                self.header_seen = True
            lines = self.dialect(lines)
            dots = self.dialect.dots
            if dots is not None:          # to line numbers, past blank lines held back from the last block
                dots = dots + np.array([self.line + self.blank.count(b"\n"), 0])
        lines, self.blank = self.blank + lines, b""
        if not self.eof:
            end = len(lines.rstrip(BLANK))
            cut = lines.find(b"\n", end) + 1 if end else 0
            if len(lines) - cut <= self.max_line:        # memory stays bounded, as for one line
                lines, self.blank = lines[:cut], lines[cut:]
        n = lines.count(b"\n")
        block = Block(lines, self.line, n, dots)
        self.line += n
        self.carry = rest
        return block

    def _long_line(self) -> None:
        """Raise for the over-long line, or report it and drop it up to its newline."""
        self.too_long = False
        cr = "; its lines end in a carriage return (CR) alone? convert them (tr '\\r' '\\n' < FILE)" \
            if self.carry.count(b"\r") > 1 else ""
        err = DataError(f"line is longer than {self.max_line} bytes (one row per line is expected{cr})",
                        source=self.source, line=self.line)
        if self.on_long_line is None:
            raise err
        self.on_long_line(err)
        self.carry, self.discarding = b"", True
