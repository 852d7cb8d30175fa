"""Gaps and steps back in each series' time column, every series of a block at once.

    clocks = Clocks()
    clocks.grow(codes_needed)
    clocks.update(codes, times, lines, tally, name_of)   # a block's rows in input order

Each series keeps its last time, its first USUAL_STEPS steps forward (their median is its usual step), where
its last step back landed, and whether any of its days fell on a weekend: numpy arrays indexed by series
code (infer/state.py gives the codes), so a block costs a few numpy calls whatever its number of series.
Row by row per series, stateful predict over 1M rows of 10,000 series with a time column (bench section 9's
time-column file) took 21-25 s, 70,000 Python calls with a median each; at once, 2.9-3.0 s end to end.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .state import Tally

USUAL_STEPS = 8        # a series' usual time step: the median of its first steps
# A step longer than this many usual steps is a gap. 1.5, not 2: one missing day doubles the step exactly, and
# one missing month makes it 1.9-2.0 months' lengths (59-62 days over a usual 30.5), while months' own lengths
# differ by at most 31/28 = 1.1.
GAP_FACTOR = 1.5
# A daily series of business days (prices, weekday sales) steps from Friday to Monday every week: that step of
# three days is its weekend, not a gap. Counted apart and said. Day numbers: 1970-01-01 was a Thursday.
DAY_S = 86400.0
FRIDAY, EPOCH_WEEKDAY = 4, 3                 # Monday = 0


def _weekday(t: np.ndarray) -> np.ndarray:
    return (np.floor(t / DAY_S) + EPOCH_WEEKDAY) % 7


def _firsts(c: np.ndarray) -> np.ndarray:
    """Rows grouped by code (c sorted): True at each group's first row."""
    return np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, bool)


def _lasts(first: np.ndarray) -> np.ndarray:
    """Each group's last row, from _firsts (at least one row)."""
    return np.r_[np.flatnonzero(first)[1:] - 1, len(first) - 1]


class Clocks:
    """Per series code: the time state the gap check carries from block to block."""

    def __init__(self) -> None:
        self.last = np.zeros(0)                       # the last time read (NaN: none yet)
        self.last_back = np.zeros(0)                  # where its last step back landed (NaN: none)
        self.steps = np.zeros((0, USUAL_STEPS))       # its first steps forward (NaN beyond nsteps)
        self.nsteps = np.zeros(0, np.int64)
        self.weekend = np.zeros(0, bool)              # a day of it fell on a weekend (a daily series)

    def grow(self, size: int) -> None:
        """Room for codes below `size` (new ones: not seen yet)."""
        more = size - len(self.last)
        if more > 0:
            self.last = np.r_[self.last, np.full(more, np.nan)]
            self.last_back = np.r_[self.last_back, np.full(more, np.nan)]
            self.steps = np.concatenate([self.steps, np.full((more, USUAL_STEPS), np.nan)])
            self.nsteps = np.r_[self.nsteps, np.zeros(more, np.int64)]
            self.weekend = np.r_[self.weekend, np.zeros(more, bool)]

    def reset(self, codes: np.ndarray | list[int]) -> None:
        """Codes handed to other series (evicted, reused): back to not seen."""
        self.last[codes] = self.last_back[codes] = np.nan
        self.steps[codes] = np.nan
        self.nsteps[codes], self.weekend[codes] = 0, False

    # --- across runs (predict --state): the fields above, per series, by these names --------------------
    FIELDS = ("last", "last_back", "steps", "nsteps", "weekend")

    def of(self, codes: np.ndarray) -> dict[str, np.ndarray]:
        """The time state of `codes` (a state file's series), by FIELDS."""
        self.grow(int(codes.max()) + 1 if len(codes) else 0)
        return {f: getattr(self, f)[codes] for f in self.FIELDS}

    def place(self, codes: np.ndarray, fields: dict[str, np.ndarray]) -> None:
        """Put back what `of` gave: the gap check goes on across runs as within one."""
        self.grow(int(codes.max()) + 1 if len(codes) else 0)
        for f in self.FIELDS:
            getattr(self, f)[codes] = fields[f]

    def update(self, codes: np.ndarray, times: np.ndarray, lines: np.ndarray, tally: Tally,
               name_of: Callable[[int], str]) -> None:
        """Count the gaps and steps back of a block's rows (codes, times in seconds with NaN where a time
        did not read, lines; input order) into `tally`, as a pass series by series in code order would."""
        ok = ~np.isnan(times)
        if not ok.all():
            if not tally.unread_times:
                tally.unread_first = int(lines[np.argmin(ok)])
            tally.unread_times += int((~ok).sum())
        order = np.argsort(codes[ok], kind="stable")            # grouped by series, input order kept
        c, t, at = codes[ok][order], times[ok][order], lines[ok][order]
        if not len(c):
            return
        first = _firsts(c)
        prev = np.r_[np.nan, t[:-1]]
        prev[first] = self.last[c[first]]
        steps = t - prev                                         # NaN: a series' first time ever
        ends = _lasts(first)
        self.last[c[ends]] = t[ends]
        has = ~np.isnan(steps)
        back = has & (steps <= 0)
        if back.any():
            self._back(c, t, at, steps, back, tally)
        self._usual(c, steps, has & ~back)
        usual = np.full(len(c), np.nan)
        known = self.nsteps[c] >= 2
        if known.any():
            uc, where = np.unique(c[known], return_inverse=True)
            usual[known] = self._median(uc)[where]
        with np.errstate(invalid="ignore"):
            ratio = steps / usual
            gaps = has & (ratio > GAP_FACTOR)
        daily = usual == DAY_S
        if daily.any():
            gaps &= ~self._weekends(c, t, prev, first, steps, daily, gaps, tally)
        if gaps.any():
            tally.gaps += int(gaps.sum())
            i = int(np.argmax(np.where(gaps, ratio, 0.0)))
            if tally.gap_worst is None or ratio[i] > tally.gap_worst[0]:
                tally.gap_worst = (float(ratio[i]), int(at[i]), name_of(int(c[i])))

    def _back(self, c: np.ndarray, t: np.ndarray, at: np.ndarray, steps: np.ndarray, back: np.ndarray,
              tally: Tally) -> None:
        """Steps back: counted, the first one's line, the longest, and how close two of one series land."""
        if not tally.backwards:
            tally.backwards_first = int(at[np.argmax(back)])
        tally.backwards += int(back.sum())
        tally.backwards_most = max(tally.backwards_most, float(-steps[back].min()))
        land = np.flatnonzero(back & (steps < 0))
        if not len(land):
            return
        lc, lt = c[land], t[land]
        lfirst = _firsts(lc)
        before = np.r_[np.nan, lt[:-1]]
        before[lfirst] = self.last_back[lc[lfirst]]
        apart = np.abs(lt - before)
        if (~np.isnan(apart)).any():
            tally.backwards_apart = min(tally.backwards_apart, float(np.nanmin(apart)))
        lends = _lasts(lfirst)
        self.last_back[lc[lends]] = lt[lends]

    def _usual(self, c: np.ndarray, steps: np.ndarray, forward: np.ndarray) -> None:
        """Each series' first USUAL_STEPS steps forward, kept across blocks."""
        f = np.flatnonzero(forward)
        if not len(f):
            return
        fc = c[f]
        starts = np.flatnonzero(_firsts(fc))
        rank = np.arange(len(fc)) - np.repeat(starts, np.diff(np.r_[starts, len(fc)]))
        pos = self.nsteps[fc] + rank
        take = pos < USUAL_STEPS
        self.steps[fc[take], pos[take]] = steps[f[take]]
        np.add.at(self.nsteps, fc[take], 1)

    def _median(self, codes: np.ndarray) -> np.ndarray:
        """The median of each series' kept steps (np.median's: the mean of the two middle ones)."""
        kept = np.sort(self.steps[codes], axis=1)                 # NaN (not kept yet) sorts last
        n, rows = self.nsteps[codes], np.arange(len(codes))
        return (kept[rows, (n - 1) // 2] + kept[rows, n // 2]) / 2

    def _weekends(self, c: np.ndarray, t: np.ndarray, prev: np.ndarray, first: np.ndarray, steps: np.ndarray,
                  daily: np.ndarray, gaps: np.ndarray, tally: Tally) -> np.ndarray:
        """Daily series: Friday-to-Monday steps are weekends, not gaps, unless a day of the series fell on a
        weekend (then it has no business-day weekends). -> the rows whose gap is a weekend."""
        wk = _weekday(t) > FRIDAY
        wk_prev = first & ~np.isnan(prev) & (_weekday(prev) > FRIDAY)   # the time before the block's first
        self.weekend[c[daily & (wk | wk_prev)]] = True
        weekend = daily & gaps & ~self.weekend[c] & (steps == 3 * DAY_S) & (_weekday(prev) == FRIDAY)
        tally.weekends += int(weekend.sum())
        return weekend


class Starts:
    """Each series' first time, to catch a time that goes back to it: the rows of several series one after
    another (a store,item,date,sales export sorted by store and item) read as one series, because the value
    was named and the id columns left over. Row by row in Python (~0.2 s per 1M rows), so it runs only in
    that case (Columns.unread with a time read for gaps)."""

    def __init__(self) -> None:
        self.first: dict[object, float] = {}

    def back_at(self, keys: list | None, times: np.ndarray, lines: np.ndarray) -> int | None:
        """The line of the first row whose time is at or before its series' first time, or None."""
        first = self.first
        for k, t, line in zip(keys if keys is not None else [None] * len(times), times.tolist(),
                              lines.tolist(), strict=True):
            if t != t:                                    # NaN: a time that did not read
                continue
            start = first.get(k)
            if start is None:
                first[k] = t
            elif t <= start:
                return int(line)
        return None

