"""Forecasts from a seqinfer model.onnx with only numpy and onnxruntime: the same CSV as `seqinfer predict`.

    python forecast.py model.onnx < series.csv > forecasts.csv

Input, in `seqinfer predict`'s series layout: one observation per line, `value` or `series,value`, with an
optional header line. For each series, once `window` values have been seen, every new value yields one
forecast of the next `horizon` values. Output: a header, then [series,] row, yhat_1..yhat_H per forecast, in
input order; row is the 1-based line number of the input line (header counted). No seqinfer, no torch: the
window, horizon and tensor names all come from the model file's metadata.
"""
from __future__ import annotations

import json
import re
import sys
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np
import onnxruntime as ort

META_PREFIX = "seqinfer."
BATCH = 512  # windows per session.run
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


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


def windows_from_csv(
    lines: Iterable[str], window: int, layout_seen: dict | None = None
) -> Iterator[tuple[str | None, int, np.ndarray]]:
    """Yields (series or None, line number, last `window` values) for each line that completes a window.

    Sets layout_seen["series"] to whether the input has a series column once its first line is read.
    """
    history: dict[str, deque[float]] = {}
    layout: tuple[int | None, int] | None = None   # (series column, value column)
    for line_no, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if line_no == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            raise InputError(f"line {line_no}: empty line")
        fields = [f.strip().strip('"') for f in line.split(",")]
        if layout is None:
            header = not NUMBER.match(fields[-1])
            names = [f.lower() for f in fields] if header else []
            if len(fields) == 1:
                layout = (None, 0)
            elif len(fields) == 2:
                value_col = names.index("value") if "value" in names else 1
                layout = (1 - value_col, value_col)
            else:
                raise InputError(f"line {line_no}: expected value or series,value, got {len(fields)} fields")
            if layout_seen is not None:
                layout_seen["series"] = layout[0] is not None
            if header:
                continue
        series_col, value_col = layout
        expected = 1 if series_col is None else 2
        if len(fields) != expected:
            raise InputError(f"line {line_no}: expected {expected} fields, got {len(fields)}")
        if not NUMBER.match(fields[value_col]):
            raise InputError(f"line {line_no}: value {fields[value_col]!r} is not a number")
        value = float(fields[value_col])
        if not np.isfinite(value):
            raise InputError(f"line {line_no}: value {fields[value_col]} is not finite")
        series = None if series_col is None else fields[series_col]
        h = history.setdefault(series or "", deque(maxlen=window))
        h.append(value)
        if len(h) == window:
            yield series, line_no, np.fromiter(h, np.float32, window)


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
                lead = [] if series is None else [series]
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
    flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
