"""Write `seqinfer predict`'s output CSV fast, by contract.format_forecast's rules: float32 forecasts in the
default format (`%.9g`) by the C writer (infer/_csvfast.c) without the GIL, or, where it was not built, by
numpy byte for byte; other formats, small batches without C, and the rare value numpy cannot decide exactly
are one `%`-format per batch."""
from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np

from . import compiled
from .contract import (
    CSV_NEWLINE,
    CSV_SEPARATOR,
    FIXED_FORMAT,
    FLOAT64_FORMAT,
    FLOAT_FORMAT,
    ROW_COLUMN,
    forecast_columns,
)

SEP, NL = CSV_SEPARATOR.encode(), CSV_NEWLINE.encode()
# One `%` over a whole 65,536-row batch holds the GIL for ~35 ms, and the stateful pipeline's model thread,
# back from onnxruntime, waits for it: formatting in 4,096-row pieces lets it in between. Measured: stateful
# predict over 10M rows of one series, 14.2 s -> 13.0 s on the 2-core machine.
FORMAT_CHUNK = 4096
# Below this many rows a batch is one `%`: numpy's fixed cost per call outweighs what it saves (a trickle).
VECTOR_MIN_ROWS = 256


_FAST = compiled.FAST                 # the C writer, or None (tests set it to None to run numpy's)


def header(passthrough: tuple[str, ...] | list[str], horizon: int) -> bytes:
    """The output's header line; a passed-through name holding , \" CR or LF is quoted like a field."""
    names = [quote(n.encode()).decode() for n in passthrough] + [ROW_COLUMN, *forecast_columns(horizon)]
    return (CSV_SEPARATOR.join(names) + CSV_NEWLINE).encode()


def quote(field: bytes) -> bytes:
    """CSV-escape a passed-through field (RFC 4180): quoted only when it holds , " CR or LF."""
    if any(c in field for c in (b",", b'"', b"\r", b"\n")):
        return b'"' + field.replace(b'"', b'""') + b'"'
    return field


def value_format(precision: int | None, io_dtype: str = "float32") -> bytes:
    if precision is not None:
        return FIXED_FORMAT.format(precision=precision).encode()
    return (FLOAT64_FORMAT if io_dtype == "float64" else FLOAT_FORMAT).encode()


def format_rows(text: list[list[bytes]], lines: np.ndarray, y: np.ndarray, fmt: bytes) -> bytes:
    """Passed-through fields (CSV-ready bytes), line numbers [n] and forecasts [n, H] -> CSV lines."""
    n, h = y.shape
    if n == 0:
        return b""
    default = fmt == FLOAT_FORMAT.encode() and y.dtype == np.float32
    if default and _FAST is not None:
        return _FAST.rows(text, np.ascontiguousarray(lines, np.int64), np.ascontiguousarray(y), n, h)
    if default and n >= VECTOR_MIN_ROWS:
        data = _vector_rows(text, lines, y)
        if data is not None:
            return data
    k = len(text) + 1 + h
    line = SEP.join([b"%s"] * len(text) + [b"%d"] + [fmt] * h) + NL
    cells: list[object] = [None] * (n * k)                    # row-major cells, filled column by column
    for j, col in enumerate(text):
        cells[j::k] = col
    cells[len(text)::k] = lines.tolist()
    for j in range(h):
        cells[len(text) + 1 + j::k] = y[:, j].tolist()        # float32 -> Python float, exact
    if n <= FORMAT_CHUNK:
        return (line * n) % tuple(cells)
    step = FORMAT_CHUNK * k
    return b"".join((line * (len(cells[a:a + step]) // k)) % tuple(cells[a:a + step])
                    for a in range(0, n * k, step))


# --- the default format in numpy ---------------------------------------------------------------------------
# Why: `%.9g` costs ~300 ns per float in CPython, all of it holding the GIL; the stateful pipeline's model and
# parse threads wait for it. Built in numpy, a line costs less and most of it runs without the GIL. Measured,
# stateful predict over 1M rows of 10,000 interleaved series (2-core machine): 510K -> about 650K rows/s.
#
# How: a float32 x is exact as a float64. Where 1e-4 <= |x| < 1e9 (printf's %g uses fixed notation there for
# 9 digits), x * 10**(8 - e) (e = its decimal exponent; the power is exact, 10**0..10**12) is the 9-digit
# integer to print with one rounding error of at most 1e9 * 2**-53 = 1.1e-7 absolute: rounding it to the
# nearest integer is printf's correctly rounded result unless its fraction is within 1e-6 of a tie. Those
# values, 0, NaN, inf and exponent notation go to `%`. The digits then fill one of 13 x 9 x 2 templates
# (exponent -4..8, last nonzero digit, sign) and each line's bytes are the kept cells of one byte matrix.
_TIE_MARGIN = 1e-6
_POW10 = 10.0 ** np.arange(13)
# 3-digit groups as 4 bytes (one uint32 each); the 4th byte is a constant the templates use: '0', '.', '-'
_ZERO_AT, _POINT_AT, _MINUS_AT = 3, 7, 11
_GROUPS = [np.array([b"%03d%s" % (i, c) for i in range(1000)], "S4").view(np.uint32)
           for c in (b"0", b".", b"-")]
_DIGIT_AT = (0, 1, 2, 4, 5, 6, 8, 9, 10)             # where each of the 9 digits lands in those 12 bytes
FLOAT_WIDTH = 15                                      # the longest such line: -0.000123456789
_FLOAT_CELL = np.arange(FLOAT_WIDTH)


def _templates() -> tuple[np.ndarray, np.ndarray]:
    """Per (exponent + 4, last nonzero digit, negative): the source byte of each output cell, and how many."""
    at = np.zeros((13, 9, 2, FLOAT_WIDTH), np.intp)
    size = np.zeros((13, 9, 2), np.intp)
    for e in range(-4, 9):
        for last in range(9):
            for neg in (0, 1):
                digits = [_DIGIT_AT[i] for i in range(max(e, last) + 1)]
                src = [_MINUS_AT] * neg
                if e < 0:                                 # 0.000ddd
                    src += [_ZERO_AT, _POINT_AT] + [_ZERO_AT] * (-e - 1) + digits[:last + 1]
                else:                                     # ddd or ddd.ddd
                    src += digits[:e + 1] + ([_POINT_AT] + digits[e + 1:last + 1] if last > e else [])
                at[e + 4, last, neg, :len(src)] = src
                size[e + 4, last, neg] = len(src)
    return at.reshape(-1, FLOAT_WIDTH), size.reshape(-1)


_TEMPLATE, _TEMPLATE_SIZE = _templates()


def _nine_digits(d: np.ndarray) -> np.ndarray:
    """uint32 [n] below 1e9 -> uint8 [n, 12]: its 9 digits at _DIGIT_AT, the constants at the other three."""
    out = np.empty((len(d), 3), np.uint32)
    out[:, 0] = _GROUPS[0].take(d // 1000000)
    out[:, 1] = _GROUPS[1].take(d // 1000 % 1000)
    out[:, 2] = _GROUPS[2].take(d % 1000)
    return out.view(np.uint8)


def _g9(y: np.ndarray, cells: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """float32 [n] -> `%.9g` bytes left-aligned in cells [n, FLOAT_WIDTH] (keep: which are used); returns
    the rows left for `%` (their cells are not written)."""
    n = len(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = y.astype(np.float64)
        a = np.abs(x)
        fast = (a >= 1e-4) & (a < 1e9)                  # False for 0, NaN, inf
        a[~fast] = 1.0
        e = np.clip(np.floor(np.log10(a)), -4, 8).astype(np.intp)     # 1e-4 <= a < 1e9: -4..8
    scaled = a * _POW10[8 - e]
    low, high = scaled < 1e8, scaled >= 1e9          # log10 one off, next to a power of ten
    if low.any() or high.any():
        e += high.astype(np.intp) - low              # stays in -4..8: a is in range
        scaled = a * _POW10[8 - e]
    whole = np.floor(scaled)
    frac = scaled - whole
    fast &= np.abs(frac - 0.5) > _TIE_MARGIN
    # Never 10 digits: the float32 closest below each power of ten is 2.2e-8 or more below it (relative), so
    # `scaled` stays under 999999978 (checked for 1e-5..1e10); were it 1e9, _nine_digits would fail loudly.
    d = (whole + (frac > 0.5)).astype(np.uint32)       # 1e8 for the rows left to `%` (a = 1), e in -4..8
    src = _nine_digits(d)                                                          # [n, 12]
    digits = src[:, _DIGIT_AT]
    last = 8 - np.argmax(digits[:, ::-1] != ord("0"), axis=1)
    g = ((e + 4) * 9 + last) * 2 + (x < 0)
    cells[:] = src.ravel().take(_TEMPLATE[g] + (np.arange(n) * 12)[:, None])
    keep[:] = _FLOAT_CELL < _TEMPLATE_SIZE[g][:, None]
    return np.flatnonzero(~fast)


def _text_cells(col: list[bytes]) -> tuple[np.ndarray, np.ndarray] | None:
    """One passed-through column -> its bytes left-aligned in cells [n, longest] and keep; None when a field
    holds a newline (a quoted one). One join holds the GIL; the rest is numpy's."""
    joined = b"\n".join(col) + b"\n"
    if joined.count(b"\n") != len(col):
        return None
    buf = np.frombuffer(joined, np.uint8)
    ends = np.flatnonzero(buf == NL[0])
    starts = np.concatenate([[0], ends[:-1] + 1])
    size = ends - starts
    column = np.arange(int(size.max()))
    return buf.take(np.minimum(starts[:, None] + column, len(buf) - 1)), column < size[:, None]


def _vector_rows(text: list[list[bytes]], lines: np.ndarray, y: np.ndarray) -> bytes | None:
    """format_rows for FLOAT_FORMAT in numpy; None where it cannot (a field holding a newline, line numbers
    past 9 digits)."""
    n, h = y.shape
    fields = []
    for col in text:
        f = _text_cells(col)
        if f is None:
            return None
        fields.append(f)
    top = int(lines.max())
    if top >= 1_000_000_000 or int(lines.min()) < 1:
        return None
    wl = len(str(top))
    width = sum(f[0].shape[1] + 1 for f in fields) + wl + h * (1 + FLOAT_WIDTH) + 1
    cells, keep = np.empty((n, width), np.uint8), np.empty((n, width), bool)
    at = 0
    for f in fields:
        w = f[0].shape[1]
        cells[:, at:at + w], keep[:, at:at + w] = f
        cells[:, at + w], keep[:, at + w] = SEP[0], True
        at += w + 1
    cells[:, at:at + wl] = _nine_digits(lines.astype(np.uint32))[:, _DIGIT_AT[9 - wl:]]
    keep[:, at:at + wl] = lines[:, None] >= 10 ** np.arange(wl - 1, -1, -1)
    at += wl
    for j in range(h):
        cells[:, at], keep[:, at] = SEP[0], True
        c, k = cells[:, at + 1:at + 1 + FLOAT_WIDTH], keep[:, at + 1:at + 1 + FLOAT_WIDTH]
        slow = _g9(y[:, j], c, k)
        if len(slow):
            s = np.array([FLOAT_FORMAT.encode() % v for v in y[slow, j].tolist()], np.bytes_)
            w = s.dtype.itemsize
            c[slow, :w] = s.view(np.uint8).reshape(len(slow), w)
            k[slow] = _FLOAT_CELL < np.char.str_len(s)[:, None]
        at += 1 + FLOAT_WIDTH
    cells[:, at], keep[:, at] = NL[0], True
    return cells[keep].tobytes()


class Sink:
    """Where the CSV goes: a file descriptor written with os.write (nothing buffered, nothing to flush
    at exit), or a file object without one (tests) written and flushed."""

    def __init__(self, out: BinaryIO | int) -> None:
        self.fd: int | None = None
        self.file: BinaryIO | None = None
        if isinstance(out, int):
            self.fd = out
        else:
            try:
                out.flush()
                self.fd = out.fileno()
            except (OSError, AttributeError, ValueError):
                self.file = out

    def write(self, data: bytes) -> None:
        if self.fd is None:
            assert self.file is not None
            self.file.write(data)
            self.file.flush()
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

