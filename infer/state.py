"""Per-series history and window building: each series keeps only its last window-1 values.

Windows are never copied per row: a block's rows become a `Piece` (a sliding-window view plus one start
index per ready row), and a batch gathers its windows from the view in one numpy call.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass
class Piece:
    """Rows that are ready for a forecast, in input order, with what gets printed beside them."""

    src: np.ndarray              # float32 [M, window, features] (usually a view)
    idx: np.ndarray              # int64 [n]: row i's window is src[idx[i]]
    lines: np.ndarray            # int64 [n]: input line numbers
    text: list[list[bytes]]      # passed-through fields, one list per output column
    start: int = 0               # rows before this one were taken already

    def __len__(self) -> int:
        return len(self.idx) - self.start

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray, list[list[bytes]]]:
        """The next k rows: windows float32 (k, W, F) gathered into one array, line numbers, text."""
        a, b = self.start, self.start + k
        self.start = b
        return np.ascontiguousarray(self.src[self.idx[a:b]]), self.lines[a:b], [t[a:b] for t in self.text]


class SeriesState:
    """The history of every series seen so far; `ready` turns new rows into windows."""

    def __init__(self, window: int, features: int) -> None:
        self.window, self.features = window, features
        self.ids: dict[Hashable, int] = {}          # series id (bytes from CSV) -> code
        self.tails: list[np.ndarray] = []        # per series: float32 [<= window-1, F]
        self.counts: list[int] = []              # values seen per series

    def _code(self, key: Hashable) -> int:
        code = self.ids.get(key)
        if code is None:
            code = self.ids[key] = len(self.tails)
            self.tails.append(np.empty((0, self.features), np.float32))
            self.counts.append(0)
        return code

    def ready(self, values: np.ndarray,
              series: Sequence[Hashable] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """values float [n, F] in input order -> (src, idx, mask): windows src[idx] of the rows in mask."""
        values = values.astype(np.float32, copy=False)
        n = len(values)
        if series is None:
            return self._one(self._code(None), values)
        codes = np.fromiter((self._code(s) for s in series), dtype=np.int64, count=n)
        if (codes == codes[0]).all():
            return self._one(int(codes[0]), values)
        order = np.argsort(codes, kind="stable")                  # rows grouped by series, input order kept
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        bufs, idx, mask, offset = [], np.zeros(n, np.int64), np.zeros(n, bool), 0
        for rows in np.split(order, bounds):
            buf, i, m = self._extend(int(codes[rows[0]]), values[rows])
            bufs.append(buf)
            idx[rows], mask[rows] = i + offset, m
            offset += len(buf)
        big = np.concatenate(bufs)
        return self._view(big), idx[mask], mask

    def _one(self, code: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        buf, idx, mask = self._extend(code, values)
        return self._view(buf), idx[mask], mask

    def _view(self, buf: np.ndarray) -> np.ndarray:
        """buf [T, F] -> windows [T - window + 1, window, F], a view (empty when T < window)."""
        if len(buf) < self.window:
            return np.empty((0, self.window, self.features), np.float32)
        return sliding_window_view(buf, self.window, axis=0).transpose(0, 2, 1)

    def _extend(self, code: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Append values to one series: its buffer, each new row's window start in it, and readiness."""
        tail = self.tails[code]
        buf = np.concatenate([tail, values]) if len(tail) else values     # (m + n, F)
        starts = np.arange(len(values)) + len(tail) + 1 - self.window
        keep = self.window - 1
        self.tails[code] = buf[-keep:].copy() if keep else buf[:0].copy()
        self.counts[code] += len(values)
        return buf, starts, starts >= 0

    def longest(self) -> int:
        return max(self.counts, default=0)
