"""infer/clocks.py (the gap check, every series of a block at once) against the rule written plainly, series
by series; and timecol's reading of repeated times once each."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqinfer.infer.clocks import DAY_S, EPOCH_WEEKDAY, FRIDAY, GAP_FACTOR, USUAL_STEPS, Clocks
from seqinfer.infer.state import Tally
from seqinfer.infer.timecol import TimeFormat


@dataclass
class Plain:
    """One series' clock, row by row: the reference."""

    last: float = np.nan
    steps: list[float] = field(default_factory=list)
    weekend: bool = False
    last_back: float = np.nan


def plain_update(clocks: dict[int, Plain], codes: np.ndarray, times: np.ndarray, lines: np.ndarray,
                 tally: Tally) -> None:
    unread = lines[np.isnan(times)]
    if len(unread) and not tally.unread_times:                 # the first in input order, any series
        tally.unread_first = int(unread.min())
    for code in sorted(set(codes.tolist())):                  # series in code order, rows in input order
        rows = codes == code
        t_all, at_all = times[rows], lines[rows]
        ok = ~np.isnan(t_all)
        tally.unread_times += int((~ok).sum())
        t, at = t_all[ok], at_all[ok]
        if not len(t):
            continue
        c = clocks.setdefault(code, Plain())
        seq = [c.last, *t] if not np.isnan(c.last) else list(t)
        c.last = float(t[-1])
        for k in range(1, len(seq)):
            step, line = seq[k] - seq[k - 1], int(at[len(at) - len(seq) + k])
            if step <= 0:
                if not tally.backwards:
                    tally.backwards_first = line
                tally.backwards += 1
                tally.backwards_most = max(tally.backwards_most, -step)
                if step < 0:
                    if not np.isnan(c.last_back):
                        tally.backwards_apart = min(tally.backwards_apart, abs(seq[k] - c.last_back))
                    c.last_back = seq[k]
            elif len(c.steps) < USUAL_STEPS:
                c.steps.append(step)
        if len(c.steps) < 2:
            continue
        usual = float(np.median(c.steps))
        days = [(np.floor(s / DAY_S) + EPOCH_WEEKDAY) % 7 for s in seq]
        if usual == DAY_S:
            c.weekend |= any(d > FRIDAY for d in days)
        best = None
        for k in range(1, len(seq)):
            step, line = seq[k] - seq[k - 1], int(at[len(at) - len(seq) + k])
            ratio = step / usual
            if ratio <= GAP_FACTOR:
                continue
            if usual == DAY_S and not c.weekend and step == 3 * DAY_S and days[k - 1] == FRIDAY:
                tally.weekends += 1
                continue
            tally.gaps += 1
            if best is None or ratio > best[0]:
                best = (ratio, line)
        if best is not None and (tally.gap_worst is None or best[0] > tally.gap_worst[0]):
            tally.gap_worst = (best[0], best[1], f"s{code}")


STEP = st.sampled_from([3600.0, DAY_S, DAY_S, 2 * DAY_S, 3 * DAY_S, 7 * DAY_S, 0.0, -1800.0, -3600.0,
                        -DAY_S, 10 * DAY_S, np.nan])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_blocks_count_gaps_as_the_series_by_series_rule_does(data: st.DataObject) -> None:
    """Random series (daily business days, hourly, gaps, steps back, unread times, repeats), interleaved and
    cut into random blocks: the same tally and the same worst gap as the plain rule, block after block."""
    nseries = data.draw(st.integers(1, 4))
    clock, tally, ref, plain = Clocks(), Tally(), Tally(), {}
    clock.grow(nseries)
    now = {s: float(data.draw(st.integers(19000, 19010))) * DAY_S for s in range(nseries)}   # 2022, midnight
    line = 2
    for _ in range(data.draw(st.integers(1, 4))):
        n = data.draw(st.integers(1, 25))
        codes = np.array(data.draw(st.lists(st.integers(0, nseries - 1), min_size=n, max_size=n)), np.int64)
        times = np.empty(n)
        for i, s in enumerate(codes.tolist()):
            step = data.draw(STEP)
            if np.isnan(step):
                times[i] = np.nan                            # a time that did not read
                continue
            now[s] += step
            times[i] = now[s]
        lines = np.arange(line, line + n, dtype=np.int64)
        line += n
        clock.update(codes, times, lines, tally, lambda code: f"s{code}")
        plain_update(plain, codes, times, lines, ref)
        assert tally == ref


def test_a_business_day_series_counts_weekends_apart_until_a_weekend_day_shows() -> None:
    monday = 19002 * DAY_S                                     # 2022-01-10, a Monday
    days = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 14]                # two Friday -> Monday steps
    clock, tally = Clocks(), Tally()
    clock.grow(1)
    times = monday + np.array(days, float) * DAY_S
    clock.update(np.zeros(len(days), np.int64), times, np.arange(len(days)), tally, lambda c: "")
    assert (tally.weekends, tally.gaps) == (2, 0)
    sunday = np.array([times[-1] + 6 * DAY_S, times[-1] + 10 * DAY_S])     # a Sunday: not business days
    clock.update(np.zeros(2, np.int64), sunday, np.arange(2), tally, lambda c: "")
    assert (tally.weekends, tally.gaps) == (2, 2)
    clock, tally = Clocks(), Tally()                           # a Saturday, alone in its block, counts too
    clock.grow(1)
    clock.update(np.zeros(1, np.int64), np.array([monday - 2 * DAY_S]), np.arange(1), tally, lambda c: "")
    week = monday + np.array([0, 1, 2, 3, 4, 7], float) * DAY_S
    clock.update(np.zeros(6, np.int64), week, np.arange(6), tally, lambda c: "")
    assert (tally.weekends, tally.gaps) == (0, 2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", "2024-01-02 10:00",
                                 " 2024-01-03", "bad", "", "2024-02-30"]), max_size=40),
       st.booleans())
def test_repeated_times_are_read_once_each_to_the_same_seconds(cells: list[str], as_bytes: bool) -> None:
    fmt = TimeFormat("iso")
    fields = [c.encode() for c in cells] if as_bytes else cells
    got, want = fmt.seconds(fields), fmt._read(fields)
    assert got.tobytes() == want.tobytes()


def plain_iso(text: list[str]) -> np.ndarray:
    """The zone found by a regex search over each whole field: the reference for timecol._iso."""
    from seqinfer.infer.timecol import _ZONE, _dates, _offset

    plain, shift = [], np.zeros(len(text))
    for i, t in enumerate(text):
        m = _ZONE.search(t) if "T" in t or " " in t else None
        if m is not None:
            t = t[:m.start()]
            shift[i] = _offset(m)
        plain.append(t)
    return _dates(plain) - shift


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["2024-03-31T01:30:00", "2024-03-31 02:45", "2024-01-01",
                                           "2024-01-01T00:00:00.123", "24-01-01T00:00", "x"]),
                          st.sampled_from(["", "Z", " Z", "UTC", " GMT", "+01:00", "-0530", "+02", " +01:00",
                                           "+1", "ZZ", "+01:00Z"])).map("".join), min_size=1, max_size=30))
def test_zones_read_by_their_ending_as_by_a_search_of_each_field(cells: list[str]) -> None:
    from seqinfer.infer.timecol import _iso

    if not any(c.endswith(("Z", "UTC", "GMT")) or "+" in c or c.count("-") > 2 for c in cells):
        cells = [*cells, "2024-01-01T00:00:00Z"]            # (else _iso reads them as plain dates)
    assert _iso(cells).tobytes() == plain_iso(cells).tobytes()
