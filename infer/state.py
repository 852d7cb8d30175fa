"""Per-series history and window building: each series keeps only its last window-1 values.

Windows are never copied per row: a block's rows become a `Piece` (a sliding-window view plus one start
index per ready row), and a batch gathers its windows from the view in one numpy call.

Also here, because they are per-series facts: missing values (`fill`: previous repeats the series' last
value, drop leaves the row out), gaps in the time column, and the bound on how many series are held
(`max_series`: past it the least recently seen series is evicted). Everything is counted in `Tally`.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .clocks import GAP_FACTOR, Clocks
from .columns import MISSING_CODES, far_outside
from .compiled import lookup
from .config import DEFAULT_MAX_SERIES, FILLS

# A clock set back (daylight saving time ending, in local times without a zone) steps back by an hour at
# most, once or twice a year: the rows that follow repeat that hour's times, in the right order. Steps back
# that small and that far apart keep the file's order (table.py) and are named as such in the notes.
CLOCK_SET_BACK_S = 3600.0
CLOCK_SET_BACK_APART_S = 7 * 86400.0


def clock_set_back(most_back_s: float, closest_apart_s: float) -> bool:
    """Steps back whose longest is `most_back_s` and whose closest two in one series are `closest_apart_s`
    apart (where each lands): a clock set back? One rule for table.py's order and the notes' advice."""
    return 0 < most_back_s <= CLOCK_SET_BACK_S and closest_apart_s >= CLOCK_SET_BACK_APART_S


def series_name(key: Hashable) -> str:
    """A series id as text: the CSV field (bytes) decoded; "" for the one series of a file without ids."""
    if key is None:
        return ""
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)


@dataclass
class Piece:
    """Rows that are ready for a forecast, in input order, with what gets printed beside them."""

    src: np.ndarray              # float32 [M, window, features] (usually a view)
    idx: np.ndarray              # int64 [n]: row i's window is src[idx[i]]
    lines: np.ndarray            # int64 [n]: input line numbers
    text: list[list[bytes]]      # passed-through fields, one list per output column
    codes: np.ndarray | None = None   # a stateful model's rows: each row's series code (windows of 1)
    fresh: list[int] = field(default_factory=list)   # ... and the codes new series got (their state resets)
    start: int = 0               # rows before this one were taken already

    def __len__(self) -> int:
        return len(self.idx) - self.start

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray, list[list[bytes]], np.ndarray | None, list[int]]:
        """The next k rows: windows (k, W, F) gathered into one array, line numbers, text, series codes (a
        stateful model's) and the codes to reset first (with the first rows taken)."""
        a, b = self.start, self.start + k
        self.start = b
        fresh, self.fresh = self.fresh, []
        return (np.ascontiguousarray(self.src[self.idx[a:b]]), self.lines[a:b], [t[a:b] for t in self.text],
                None if self.codes is None else self.codes[a:b], fresh)


@dataclass
class Tally:
    """What the per-series bookkeeping did, for the end-of-run summary."""

    filled: int = 0              # missing values repeated from the series' previous value
    dropped: int = 0             # rows left out for a missing value
    unfillable: int = 0          # rows with a missing value and no earlier value to repeat (left out)
    evicted: int = 0             # series dropped from memory by max_series
    gaps: int = 0                # time steps longer than GAP_FACTOR usual steps
    gap_worst: tuple[float, int, str] | None = None    # (steps, line, series) of the longest gap
    weekends: int = 0            # Friday-to-Monday steps of a daily series: business days, not gaps
    backwards: int = 0           # time steps that are zero or negative
    backwards_first: int = 0     # the line of the first
    backwards_most: float = 0.0  # the longest step back, in seconds
    backwards_apart: float = np.inf   # the closest two steps back of one series, in seconds
    unread_times: int = 0        # time fields that did not read in the column's format
    unread_first: int = 0        # the line of the first
    codes: int = 0               # values equal to a missing-value code (-9999 ...) far outside their block's
    code_first: tuple[float, int] = (0.0, 0)     # the first: its value and line

    def notes(self) -> list[str]:
        out = []
        if self.filled:
            out.append(f"--fill previous: {self.filled} missing value(s) repeated from the series' "
                       f"last value")
        if self.dropped:
            out.append(f"--fill drop: {self.dropped} row(s) with a missing value left out")
        if self.unfillable:
            out.append(f"--fill previous: {self.unfillable} row(s) left out: a missing value before the "
                       f"series had any value to repeat")
        if self.gaps and self.gap_worst is not None:
            steps, line, sid = self.gap_worst
            who = f" of series {sid}" if sid else ""
            out.append(f"time: {self.gaps} gap(s) longer than {GAP_FACTOR:g}x the series' usual step; the "
                       f"longest{who}, {steps:.1f} steps, ends at line {line}")
        if self.weekends:
            out.append(f"time: business days: {self.weekends} step(s) from a Friday to a Monday, not counted "
                       f"as gaps")
        if self.backwards:
            most = self.backwards_most
            if clock_set_back(most, self.backwards_apart):
                what = ("each back by an hour at most: a clock set back, as when daylight saving time ends? "
                        "then input order is right")
            elif most == 0:
                what = "each a time repeated: a clock set back an hour, or a row written twice?"
            else:
                what = "sort the file by time first"
            out.append(f"time: {self.backwards} step(s) where time does not increase within a series "
                       f"(first at line {self.backwards_first}); rows are used in input order ({what})")
        if self.codes:
            value, line = self.code_first
            out.append(f"{self.codes} value(s) such as {value:g} far outside the values around them "
                       f"(the first at line {line}): a missing-value code? --na-value {value:g} reads it as "
                       f"missing")
        if self.unread_times:
            out.append(f"time: {self.unread_times} time field(s) not in the column's format (first at line "
                       f"{self.unread_first}; not checked for gaps)")
        if self.evicted:
            out.append(f"--max-series: {self.evicted} series evicted (least recently seen); one that comes "
                       f"back starts a new window")
        return out


class SeriesState:
    """The history of every series seen so far; `ready` turns new rows into windows."""

    def __init__(self, window: int, features: int, fill: str = "stop",
                 max_series: int = DEFAULT_MAX_SERIES, dtype: type = np.float32) -> None:
        assert fill in FILLS, fill
        self.window, self.features, self.fill, self.max_series = window, features, fill, max_series
        self.dtype = dtype                       # the model's float32; float64 where train reads a whole file
        # series id -> code, least recently seen first once _sync_order has run (the fast path keeps the order
        # in seen_at instead: each code's last row, counted over the whole input)
        self.ids: OrderedDict[Hashable, int] = OrderedDict()
        self.seen_at = np.zeros(0, np.int64)
        self.rows_seen = 0
        self._stale = False                      # ids' order behind seen_at
        self._last_rows = (np.zeros(0, np.int64),) * 3   # the last block: its series, each's last row, rows
        self.keys: list[Hashable] = []              # code -> series id
        self.tails: list[np.ndarray] = []        # per series: float32 [<= window-1, F]
        # per code: its last value [F] (NaN: none yet), for --fill previous and --state; values seen
        self.last: np.ndarray = np.empty((0, features), dtype)
        self.counts = np.zeros(0, np.int64)
        self.clocks = Clocks()                   # per code: the time state of the gap check
        self.free: list[int] = []                # codes of evicted series, for reuse
        self.tally = Tally()
        self.row_codes = np.zeros(0, np.int64)   # the last ready() call: each row's series code
        self.fresh: list[int] = []               # ... and the codes it gave to series new to it
        # per code: the last time a --state file held for it (restore), until the series has a row past it
        # (NaN: none, or passed); empty once none is left, so that `overlap` is not called
        self.resumed = np.zeros(0)

    def _new(self, key: Hashable) -> int:
        return self._new_many([key])[0]

    def _new_many(self, keys: list[Hashable]) -> list[int]:
        """Codes for series not seen yet, in order (freed codes first): their history empty, their id the
        most recent. At once, since a file's first block meets every series: with 10,000 series that block
        took 63-90 ms one series at a time, the stateful pipeline's whole wait for its first batch; 25 ms now
        (with clocks made lazily)."""
        empty: np.ndarray = np.empty((0, self.features), self.dtype)    # never written in place
        reused = [self.free.pop() for _ in range(min(len(keys), len(self.free)))]
        for code, key in zip(reused, keys, strict=False):
            self.keys[code], self.tails[code] = key, empty
        self.clocks.reset(reused)
        if len(self.resumed) and reused:
            self._unresume(np.array([c for c in reused if c < len(self.resumed)], np.int64))
        rest = keys[len(reused):]
        top = len(self.tails)
        self.keys.extend(rest)
        self.tails.extend([empty] * len(rest))
        if len(self.tails) > len(self.counts):                   # grow the per-code arrays, doubling
            more = max(64, len(self.counts), len(self.tails) - len(self.counts))
            self.last = np.concatenate([self.last, np.empty((more, self.features), self.dtype)])
            self.counts = np.concatenate([self.counts, np.zeros(more, np.int64)])
            self.seen_at = np.concatenate([self.seen_at, np.zeros(more, np.int64)])
            self.clocks.grow(len(self.counts))
        codes = reused + list(range(top, top + len(rest)))
        at = np.array(codes, np.int64)
        self.last[at], self.counts[at] = np.nan, 0
        self.seen_at[at] = self.rows_seen - 1        # before any row of this block; their rows stamp them
        self.ids.update(zip(keys, codes, strict=True))
        self.fresh.extend(codes)
        return codes

    def _codes(self, series: Sequence[Hashable]) -> tuple[np.ndarray, list[int]]:
        """Each row's series code; and the codes evicted meanwhile (their rows in this block still use them;
        they are freed once the block is done). --max-series evicts exactly the least recently seen series,
        whatever the block boundaries.

        When no eviction can happen in this block (the usual case), codes come from one dict lookup per row
        and each series' last row is stamped in seen_at, in numpy; the dict's recency order is brought up to
        date from the stamps only when the limit is near (_sync_order). Near the limit, row by row. Measured
        on 1M rows of 10,000 interleaved series: the row-by-row pass (move_to_end per row) cost 0.4 us a
        row; reordering the dict once per series and block, 0.085 s in all; the stamps, a few ms.
        """
        ids = self.ids
        out, missing = self._lookup(series)
        new = [k for k in dict.fromkeys(series) if k not in ids] if missing else []
        if len(ids) + len(new) > self.max_series:
            return self._codes_exact(series)
        if new:
            self._new_many(new)
            out, _ = self._lookup(series)
        self._stamp(out)
        self._stale = True
        return out, []

    def _stamp(self, codes: np.ndarray) -> None:
        """seen_at for a block's rows (codes, in input order); each series' last row is kept in _last_rows
        (codes, row, count) for _each_row."""
        n = len(codes)
        uniq, first_rev, counts = np.unique(codes[::-1], return_index=True, return_counts=True)
        last = n - 1 - first_rev
        self.seen_at[uniq] = self.rows_seen + last
        self.rows_seen += n
        self._last_rows = uniq, last, counts

    def _sync_order(self) -> None:
        """ids in least recently seen order, from seen_at (ties: the order they had)."""
        if not self._stale:
            return
        codes = np.fromiter(self.ids.values(), np.int64, len(self.ids))
        order = codes[np.argsort(self.seen_at[codes], kind="stable")].tolist()
        self.ids = OrderedDict((self.keys[c], c) for c in order)
        self._stale = False

    def by_recency(self) -> list[Hashable]:
        """Series ids, least recently seen first (the one --max-series evicts next)."""
        self._sync_order()
        return list(self.ids)

    def _lookup(self, series: Sequence[Hashable]) -> tuple[np.ndarray, int]:
        """Each row's code, -1 for a series not seen yet; and how many rows those are (compiled.lookup)."""
        return lookup(series, self.ids)

    def _codes_exact(self, series: Sequence[Hashable]) -> tuple[np.ndarray, list[int]]:
        """_codes row by row: a new series past --max-series evicts the least recently seen one."""
        self._sync_order()
        ids, out, gone = self.ids, np.empty(len(series), np.int64), []
        for i, key in enumerate(series):
            code = ids.get(key)
            if code is None:
                code = self._new(key)
                if len(ids) > self.max_series:
                    gone.append(ids.popitem(last=False)[1])
            else:
                ids.move_to_end(key)
            out[i] = code
        self._stamp(out)
        return out, gone

    def ready(self, values: np.ndarray, series: Sequence[Hashable] | None, lines: np.ndarray | None = None,
              times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """values float [n, F] in input order (NaN: missing) -> (src, idx, mask): windows src[idx] of the
        rows in mask. `times` (seconds, with `lines`) are checked for gaps per series."""
        values = values.astype(self.dtype, copy=False)
        n = len(values)
        self.fresh = []
        if lines is not None:
            self._missing_codes(values, lines)
        if series is None:
            code = self.ids.get(None)
            code = self._new(None) if code is None else code
            self.row_codes = np.full(n, code, np.int64)
            self._clocks(times, lines)
            return self._one(code, values)
        codes, gone = self._codes(series)
        self.row_codes = codes
        self._clocks(times, lines)
        if (codes == codes[0]).all():
            out = self._one(int(codes[0]), values)
        elif self.window == 1 and not (self.fill != "stop" and np.isnan(values).any()):
            out = self._each_row(codes, values)         # nothing per series to do but remember the last row
        else:
            order = np.argsort(codes, kind="stable")       # rows grouped by series, input order kept
            bounds = np.flatnonzero(np.diff(codes[order])) + 1
            bufs, idx, mask, offset = [], np.zeros(n, np.int64), np.zeros(n, bool), 0
            for rows in np.split(order, bounds):
                code = int(codes[rows[0]])
                buf, i, m = self._extend(code, values[rows])
                bufs.append(buf)
                idx[rows], mask[rows] = i + offset, m
                offset += len(buf)
            big = np.concatenate(bufs)
            out = self._view(big), idx[mask], mask
        for code in gone:                               # evicted: free the memory, reuse the code
            self.tails[code] = np.empty((0, self.features), self.dtype)
            self.last[code] = np.nan
            self.free.append(code)
            self.tally.evicted += 1
        self.clocks.reset(gone)
        return out

    def _missing_codes(self, values: np.ndarray, lines: np.ndarray) -> None:
        """Count the values equal to a missing-value code (columns.MISSING_CODES) and far outside the other
        values of their column in this block (columns.far_outside): -9999 from a logger, read as a number."""
        hit = np.isin(values, MISSING_CODES)
        if not hit.any():
            return
        for j in np.flatnonzero(hit.any(axis=0)):
            col, h = values[:, j], hit[:, j]
            far = np.flatnonzero(h)[far_outside(col[h], col[~h])]    # (it drops NaN, needs 3 others)
            if len(far):
                if not self.tally.codes:
                    self.tally.code_first = (float(col[far[0]]), int(lines[far[0]]))
                self.tally.codes += len(far)

    def _clocks(self, times: np.ndarray | None, lines: np.ndarray | None) -> None:
        """The gap check over this block's rows (row_codes), every series at once (clocks.py)."""
        if times is not None and lines is not None:
            self.clocks.update(self.row_codes, times, lines, self.tally,
                               lambda code: series_name(self.keys[code]))

    def _each_row(self, codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Window 1 (a stateful model's rows, or a whole file read by table.py), nothing to fill: every row
        is ready as it is; each series only remembers its last value and its count."""
        n = len(codes)
        uniq, last_rows, counts = self._last_rows                  # _codes found them
        self.last[uniq] = values[last_rows]
        self.counts[uniq] += counts
        return values[:, None, :], np.arange(n), np.ones(n, bool)

    def _one(self, code: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        buf, idx, mask = self._extend(code, values)
        return self._view(buf), idx[mask], mask

    def _view(self, buf: np.ndarray) -> np.ndarray:
        """buf [T, F] -> windows [T - window + 1, window, F], a view (empty when T < window)."""
        if len(buf) < self.window:
            return np.empty((0, self.window, self.features), self.dtype)
        return sliding_window_view(buf, self.window, axis=0).transpose(0, 2, 1)

    def _extend(self, code: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Append values to one series: its buffer, each new row's window start in it, and readiness."""
        kept: np.ndarray | None = None
        if self.fill != "stop" and np.isnan(values).any():
            values, kept = self._fill(code, values)
        tail = self.tails[code]
        buf = np.concatenate([tail, values]) if len(tail) else values     # (m + n, F)
        starts = np.arange(len(values)) + len(tail) + 1 - self.window
        keep = self.window - 1
        self.tails[code] = buf[-keep:].copy() if keep else buf[:0].copy()
        if len(values):
            self.last[code] = values[-1]
        self.counts[code] += len(values)
        if kept is not None:                       # rows left out get no window
            all_starts = np.full(len(kept), -1, np.int64)
            all_starts[kept] = starts
            starts = all_starts
        return buf, starts, starts >= 0

    def _fill(self, code: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """--fill previous | drop on one series' new rows -> (rows that go in, which of the rows they are)."""
        missing = np.isnan(values)
        if self.fill == "drop":
            kept = ~missing.any(axis=1)
            self.tally.dropped += int((~kept).sum())
            return values[kept], kept
        prev = self.last[code]
        filled = values.copy()
        for f in range(self.features):                          # forward fill, per feature
            col = np.concatenate([[prev[f]], filled[:, f]])
            at = np.where(np.isnan(col), 0, np.arange(len(col)))
            np.maximum.accumulate(at, out=at)
            filled[:, f] = col[at][1:]
        kept = ~np.isnan(filled).any(axis=1)
        self.tally.filled += int(missing[kept].sum())
        self.tally.unfillable += int((~kept).sum())
        return filled[kept], kept

    def longest(self) -> int:
        return int(self.counts.max(initial=0))

    def short(self, need: int) -> tuple[int, int, str, int]:
        """Series in memory with fewer than `need` values: (how many, of how many, the shortest's name, its
        values)."""
        self._sync_order()                                  # (the shortest named: the least recent of them)
        codes = np.fromiter(self.ids.values(), np.int64, len(self.ids))
        n = self.counts[codes]
        few = n < need
        if not few.any():
            return 0, len(codes), "", 0
        k = int(codes[np.argmin(n)])
        return int(few.sum()), len(codes), series_name(self.keys[k]), int(self.counts[k])

    def restore(self, keys: list[Hashable], last: np.ndarray, clocks: dict[str, np.ndarray] | None = None
                ) -> np.ndarray:
        """Series read back from a --state file (keys, last values [S, F], NaN where none; clocks: their
        time state, Clocks.FIELDS, where the file has it): their codes. A series already here keeps its
        code; the others are new (not `fresh`: their state is loaded)."""
        codes = np.array([self.ids[k] if k in self.ids else self._new(k) for k in keys], np.int64)
        self.fresh = []
        if len(codes):
            self.last[codes] = last
            if clocks is not None:
                self.clocks.place(codes, clocks)
                self.resumed = np.full(len(self.counts), np.nan)
                self.resumed[codes] = clocks["last"]
                self._unresume(codes[:0])                  # none held (the Python API's files): empty
        return codes

    def overlap(self, series: Sequence[Hashable] | None, times: np.ndarray) -> np.ndarray:
        """Rows (series ids, None: the one series; times in seconds, NaN where unread) at or before their
        series' last time in the --state file restored: an input that overlaps the run that wrote the
        state, such as a daily export of the last seven days. A series' rows after its first row past that
        time are not (a clock set back later on is the gap check's, as within one run)."""
        n = len(times)
        codes = np.full(n, self.ids.get(None, -1), np.int64) if series is None else self._lookup(series)[0]
        known = (codes >= 0) & (codes < len(self.resumed))
        until = np.full(n, np.nan)
        until[known] = self.resumed[codes[known]]
        with np.errstate(invalid="ignore"):             # NaN (no time, or none held) compares False
            old, past = times <= until, times > until
        if not past.any():
            return old
        order = np.argsort(codes, kind="stable")        # by series, input order kept
        c, p = codes[order], past[order].astype(np.int64)
        first = np.r_[True, c[1:] != c[:-1]]
        before = np.cumsum(p) - p                       # rows past the time up to here, not counting this
        after_past = before - before[first][np.cumsum(first) - 1] > 0
        old[order[after_past]] = False
        self._unresume(np.unique(codes[past]))
        return old

    def _unresume(self, codes: np.ndarray) -> None:
        """Series past their --state time, or whose code went to a new series."""
        if len(codes):
            self.resumed[codes] = np.nan
        if len(self.resumed) and np.isnan(self.resumed).all():
            self.resumed = np.zeros(0)
