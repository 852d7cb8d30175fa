"""Forecasts from a seqinfer model.onnx with only numpy and onnxruntime: the same CSV as `seqinfer predict`.

    python forecast.py model.onnx < series.csv > forecasts.csv

Input, in `seqinfer predict`'s series layout: one observation per line, `value` or `series,value`, with an
optional header line. For each series, once `window` values have been seen, every new value yields one
forecast of the next `horizon` values. Output: a header, then [series,] row, yhat_1..yhat_H per forecast, in
input order; row is the 1-based line number of the input line (header counted). No seqinfer, no torch: the
window, horizon and tensor names all come from the model file's metadata.
"""
from __future__ import annotations

import csv
import json
import sys
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np
import onnxruntime as ort

META_PREFIX = "seqinfer."
BATCH = 512  # windows per session.run


class InputError(Exception):
    """Bad input or not a seqinfer model: one line on stderr, exit status 2."""


def load(path: str) -> tuple[ort.InferenceSession, dict]:
    """Open the model on the CPU and read its contract from metadata_props (numbers and lists are JSON)."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    meta = {}
    for field in ("kind", "seqinfer_version", "window", "horizon", "features", "input_name", "output_name"):
        raw = props.get(META_PREFIX + field)
        if raw is None:
            raise InputError(f"{path}: not a seqinfer model (metadata key {META_PREFIX + field} missing)")
        is_text = field in ("kind", "seqinfer_version", "input_name", "output_name")
        meta[field] = raw if is_text else json.loads(raw)
    if meta["features"] != 1:
        raise InputError(f"{path}: this example reads one value per line; the model takes {meta['features']}")
    return session, meta


def forecast(session: ort.InferenceSession, meta: dict, windows: np.ndarray) -> np.ndarray:
    """windows: raw values [batch, window] -> forecasts [batch, horizon]; normalization is in the model."""
    x = np.ascontiguousarray(windows, dtype=np.float32)[:, :, None]   # (B, T, 1)
    (y,) = session.run([meta["output_name"]], {meta["input_name"]: x})
    return y                                                           # (B, H)


def is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def columns(first: list[str], line_no: int) -> tuple[bool, int | None, int]:
    """(header?, series column or None, value column), decided from line 1 as `seqinfer predict` does."""
    header = not all(is_number(f) for f in first)
    series, n = None, len(first)
    if header and "value" in first:
        value = first.index("value")
    elif n == 1:
        value = 0
    elif n == 2:
        series, value = 0, 1
    else:
        raise InputError(f"line {line_no}: {n} fields per row: expected `value` or `series,value` "
                         "(this example reads the series layout only; name the value column `value`)")
    if header and series is None and "series" in first and first.index("series") != value:
        series = first.index("series")
    return header, series, value


def windows_from_csv(
    lines: Iterable[str], window: int, layout_seen: dict | None = None
) -> Iterator[tuple[str | None, int, np.ndarray]]:
    """Yields (series or None, line number, last `window` values) for each line that completes a window.

    Sets layout_seen["series"] to whether the input has a series column once its first line is read.
    """
    history: dict[str, deque[float]] = {}
    # (header fields or None, series column or None, value column, fields per line), fixed by line 1
    layout: tuple[list[str] | None, int | None, int, int] | None = None
    for line_no, line in enumerate(lines, start=1):
        line = line.rstrip("\n").removesuffix("\r")
        if line_no == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            raise InputError(f"line {line_no}: empty line")
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as e:
            raise InputError(f"line {line_no}: bad CSV quoting: {e}") from None
        if layout is None:
            header, series_col, value_col = columns(fields, line_no)
            layout = (fields if header else None, series_col, value_col, len(fields))
            if layout_seen is not None:
                layout_seen["series"] = series_col is not None
            if header:
                continue
        header_fields, series_col, value_col, nfields = layout
        if fields == header_fields:
            raise InputError(f"line {line_no}: the header line again, in the middle of the stream")
        if len(fields) != nfields:
            raise InputError(f"line {line_no}: {len(fields)} field(s), expected {nfields} like line 1")
        try:
            value = float(fields[value_col])
        except ValueError:
            raise InputError(f"line {line_no}: {fields[value_col]!r} is not a number") from None
        if not np.isfinite(value):
            raise InputError(f"line {line_no}: {fields[value_col].strip()!r} is not a finite number")
        series = None if series_col is None else fields[series_col]
        h = history.setdefault(series or "", deque(maxlen=window))
        h.append(value)
        if len(h) == window:
            yield series, line_no, np.fromiter(h, np.float32, window)


def quote(field: str) -> str:
    """A passed-through field, CSV-quoted only when it must be (as seqinfer writes it)."""
    return '"' + field.replace('"', '""') + '"' if any(c in field for c in ',"\r\n') else field


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python forecast.py MODEL.onnx < series.csv > forecasts.csv", file=sys.stderr)
        return 2
    try:
        session, meta = load(argv[0])
    except InputError as e:
        print(f"forecast.py: error: {e}", file=sys.stderr)
        return 2
    out = sys.stdout
    yhat = [f"yhat_{i}" for i in range(1, meta["horizon"] + 1)]
    header_written = False
    pending: list[tuple[str | None, int, np.ndarray]] = []
    layout: dict[str, bool] = {}

    def flush() -> None:
        nonlocal header_written
        if not header_written:
            out.write(",".join((["series"] if layout.get("series") else []) + ["row"] + yhat) + "\n")
            header_written = True
        if pending:
            y = forecast(session, meta, np.stack([w for _, _, w in pending]))
            for (series, row, _), yrow in zip(pending, y, strict=True):
                lead = [] if series is None else [quote(series)]
                out.write(",".join(lead + [str(row)] + [f"{v:.9g}" for v in yrow]) + "\n")
            pending.clear()
        out.flush()

    try:
        for job in windows_from_csv(sys.stdin, meta["window"], layout):
            pending.append(job)
            if len(pending) == BATCH:
                flush()
    except InputError as e:
        flush()   # forecasts of every valid line before the bad one are written first
        print(f"forecast.py: error: {e}", file=sys.stderr)
        return 2
    if not layout:
        print("forecast.py: error: empty input: no lines to read", file=sys.stderr)
        return 2
    flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
