"""`seqinfer evaluate`: backtest an exported model on new data, torch-free, against naive and seasonal naive.

    from seqinfer.infer.backtest import evaluate
    bt = evaluate("artifacts/lstm", "next_month.csv", ColumnSpec(value_col=("load",)))
    print(bt.table())

Every row whose window is complete and whose next `horizon` values are in the file (same series) is a
forecast origin; for a stateful model, every row past its warm-up, each series run from its first row with
its state carried (as predict runs it). The model, the naive forecast (the last value) and the seasonal
naive forecast (the value one season before the target) are scored on the same origins, per horizon step,
on the original scale. MASE divides each MAE by the file's own one-step naive MAE. The season comes from
--season, else it is detected here as in training (detect_season). Also the shared pieces of
trainer/baselines.py.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import ColumnSpec
from .errors import ConfigError, DataError
from .significance import LEVEL, diebold_mariano

ACF_MIN = 0.3             # a season is detected when the autocorrelation at its lag is above this,
PEAK_SHARE = 0.8          # ... taking the shortest such lag with at least this share of the highest peak,
TROUGH = 0.3              # ... whose autocorrelation rises this much above the lowest point before it
MAX_SEASON = 400          # ... and its lag at most this (and at most a third of the series)
# The lag found is then moved to where the autocorrelation per overlapping pair of values peaks within this
# share of it either side: the plain autocorrelation shrinks with the lag, and a short cycle riding on a long
# one (a weekly ripple on a yearly cycle) makes local peaks all along the long one's slope. Daily data with a
# yearly cycle, 4 years: 330-337 before, 363-366 now.
PEAK_SPAN = 0.125
# A short cycle under a long one: the series less its centered moving average over this share of the long
# season (or of the longest lag searched) keeps the cycles shorter than that average and drops the long one,
# and is searched again below half the average's length. Daily sales: the week under the year.
SHORT_SHARE = 0.25
# That search takes a peak 4 standard errors (1/sqrt(n)) clear of zero, with a trough twice that below it,
# where the long one asks 0.3 of each: a week of daily counts under Poisson noise (Kaggle's store-item sales,
# 639 training days) has an autocorrelation of 0.1-0.25 at lag 7 once the year is taken out. The store-item
# file: the week found in 18 of its 50 series, none in 28, 14 or 21 in 4; before, none in all 50. Among
# peaks, one within 2 standard errors of the highest counts as high as it (a week at 0.19 beside a
# fortnight at 0.24 is the week).
SHORT_SIGMAS = 4.0
# A file of many series gets the season most of them show, not its first series': detect_season on each of
# the VOTERS longest, and the most common season found wins where at least VOTE_SHARE of them found it
# (two at least, where more than one voted). The store-item file: 18 of its 50 series show the week (36%),
# 28 none; its first series happens to show it, its fourth does not. White noise and random walks put their
# rare spurious lags all over (tests/infer/test_evaluate.py). Costs 49 ms on 50 series of 913 values, 1.4 s
# on 50 of 20,000.
VOTERS = 50
VOTE_SHARE = 0.2


def season_of(series: Sequence[np.ndarray], given: int | None = None) -> tuple[int | None, str]:
    """The season of a file of one or more series (each's target [n]): --season N, else detect_season's
    vote over the VOTERS longest series. -> (season or None, how: "given", "detected", or "detected in k of
    n series")."""
    if given is not None:
        return detect_season(series[0], given), "given"
    voters = sorted(series, key=len, reverse=True)[:VOTERS]
    found = [m for m in (detect_season(v) for v in voters) if m is not None]
    if not found:
        return None, "detected"
    counts = Counter(found)
    m, k = max(counts.items(), key=lambda mk: (mk[1], -mk[0]))   # the most common; the shorter on a tie
    if k < VOTE_SHARE * len(voters) or (len(voters) > 1 and k < 2):
        return None, "detected"
    return m, "detected" if len(voters) == 1 else f"detected in {k} of {len(voters)} series"


def detect_season(values: np.ndarray, given: int | None = None) -> int | None:
    """--season N; else the season of `values` (one series' target): _cycle on the series less a quadratic
    trend; then, where a cycle shorter than a quarter of that (or of the longest lag searched) stands out in
    what is left once a moving average over that quarter is taken away, the shorter one (the week of daily
    data, under its year; the day of hourly data is found first anyway); else None.

    Measured on the quality series (bench/series.py): 52 for weekly CO2, 12 for monthly data, 11 for yearly
    sunspots, 40 for the sine, none for GDP and CPI (the autocorrelation of one-step changes found spurious
    lags 3 for CO2 and CPI). Daily data, 2 to 4 years with a weekly and a yearly cycle: 7 (before: none, or
    330-337 from 4 years); with a yearly cycle alone: 363-366 from 4 years (351 before); daily counts with a
    faint week under Poisson noise (store-item sales): 7 where it stands clear of the noise (SHORT_SIGMAS)."""
    if given is not None:
        return given if given > 1 else None
    v = np.asarray(values, np.float64).reshape(-1)
    top = min(MAX_SEASON, len(v) // 3)
    if top < 4:
        return None
    t = np.arange(len(v), dtype=np.float64)
    r = v - np.polyval(np.polyfit(t, v, 2), t)
    long = _cycle(r, top)
    k = int(SHORT_SHARE * (long or top))
    if k >= 8:
        smooth = np.convolve(r, np.ones(k) / k, mode="valid")          # centered: r[k//2 : k//2 + len]
        rest = r[k // 2:k // 2 + len(smooth)] - smooth
        short = _cycle(rest, k // 2, floor=min(ACF_MIN, SHORT_SIGMAS / np.sqrt(len(rest))))
        if short is not None:
            return short
    return long


def _cycle(r: np.ndarray, top: int, floor: float = ACF_MIN) -> int | None:
    """The shortest lag up to `top` where the autocorrelation of `r` peaks above `floor` with a trough before
    it (a cycle, not a slow drift) and at least PEAK_SHARE of the highest such peak (or within 2 standard
    errors of it), moved to the highest autocorrelation per overlapping pair within PEAK_SPAN of it; else
    None."""
    if top < 3 or not r.any():
        return None
    spec = np.fft.rfft(r - r.mean(), 2 * len(r))
    raw = np.fft.irfft(spec * np.conj(spec))[:top + 1]
    acf = raw / raw[0]
    peaks = [lag for lag in range(2, top) if acf[lag] > floor and acf[lag] >= acf[lag - 1]
             and acf[lag] >= acf[lag + 1]
             and acf[lag] - acf[lag // 4:3 * lag // 4 + 1].min() > min(TROUGH, 2 * floor)]
    if not peaks:
        return None
    best = max(acf[lag] for lag in peaks)
    near_best = min(PEAK_SHARE * best, best - 2 / np.sqrt(len(r)))     # or within two standard errors
    lag = next(lag for lag in peaks if acf[lag] >= near_best)
    span = int(PEAK_SPAN * lag)
    near = np.arange(max(2, lag - span), min(top, lag + span) + 1)
    return int(near[np.argmax(raw[near] / (len(r) - near))])


def seasonal_lag(horizon: int, m: int) -> np.ndarray:
    """For h = 1..horizon: where the seasonal naive forecast of t + h looks, relative to t."""
    h = np.arange(1, horizon + 1)
    return h - m * ((h - 1) // m + 1)


def scores(pred: np.ndarray, truth: np.ndarray, scale: float) -> dict[str, float]:
    """MSE, MAE, RMSE, and MASE (MAE / the in-sample naive MAE `scale`), on the original scale. A series
    that never changes has no naive error to scale by: its MASE is NaN (undefined), not a crash."""
    err = np.asarray(pred, np.float64) - truth
    if not err.size:                         # no windows in the split (--val-frac 0): nothing to score
        return {"mse": float("nan"), "mae": float("nan"), "rmse": float("nan"), "mase": float("nan")}
    mse, mae = float(np.mean(err**2)), float(np.mean(np.abs(err)))
    return {"mse": mse, "mae": mae, "rmse": float(np.sqrt(mse)),
            "mase": mae / scale if scale > 0 else float("nan")}


def naive_mae(series: list[np.ndarray]) -> float:
    """The one-step naive MAE over `series` (each [n] or [n, F]; feature 0): MASE's denominator."""
    d = [np.abs(np.diff(np.asarray(v).reshape(len(v), -1)[:, 0])) for v in series if len(v) > 1]
    return float(np.concatenate(d).mean()) if d else 1.0


@dataclass
class Backtest:
    """What `evaluate` measured."""

    model: str
    source: str
    window: int
    horizon: int
    season: int | None
    season_how: str                                # "given", "detected" or "detected in k of n series"
    origins: int                                   # forecasts scored
    mase_scale: float
    steps: list[dict[str, dict[str, float]]]       # per step: {"model"|"naive"|"seasonal_naive": scores}
    overall: dict[str, dict[str, float]]           # the same over all steps
    notes: list[str] = field(default_factory=list)
    example: dict[str, Any] = field(default_factory=dict)   # one series' truth and forecasts, for the plot
    tests: dict[str, dict[str, float]] = field(default_factory=dict)  # the model against naive, seasonal

    def table(self) -> str:
        """The per-step table (markdown), then one line per verdict."""
        methods = [m for m in ("model", "naive", "seasonal_naive") if m in self.overall]
        names = {"model": "model", "naive": "naive", "seasonal_naive": f"seasonal naive ({self.season})"}
        head = "| step | " + " | ".join(f"{names[m]} MSE | {names[m]} MAE | {names[m]} MASE"
                                        for m in methods)
        lines = [head + " |", "|---" * (1 + 3 * len(methods)) + "|"]
        rows = [(str(h + 1), s) for h, s in enumerate(self.steps)] + [("all", self.overall)]
        for label, s in rows:
            cells = [f"{s[m]['mse']:.4g} | {s[m]['mae']:.4g} | {s[m]['mase']:.3f}" for m in methods]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        model, naive = self.overall["model"]["mse"], self.overall["naive"]["mse"]
        verdict = "beats" if model < naive else "does NOT beat"
        share = f"{model / naive:.3f} of it" if naive > 0 else "naive is exact: the values do not change"
        lines += ["", f"The model {verdict} the naive forecast: MSE {model:.4g} against {naive:.4g} "
                      f"({share}).{self._noise('naive')}"]
        if "seasonal_naive" in self.overall:
            sn = self.overall["seasonal_naive"]["mse"]
            verdict = "beats" if model < sn else "does NOT beat"
            lines.append(f"The model {verdict} the seasonal naive forecast: MSE {model:.4g} against "
                         f"{sn:.4g}.{self._noise('seasonal_naive')}")
        return "\n".join(lines) + "\n"

    def _noise(self, other: str) -> str:
        """Whether the origins can tell the model from `other` (the Diebold-Mariano test, as train's)."""
        dm = self.tests.get(other)
        if dm is None:
            return ""
        if not dm["p"] == dm["p"]:                  # NaN: one origin
            return f" From {dm['n']} origin(s): too few to tell the two apart."
        where = "beyond" if dm["p"] < LEVEL else "within"
        return (f" Over {dm['n']} origins that is {where} their noise (Diebold-Mariano p {dm['p']:.2g}, "
                f"{LEVEL:.0%} level).")

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "example"}


def evaluate(model: str | Path, inp: str | Path, spec: ColumnSpec, *, fill: str = "stop",
             season: int | None = None, provider: str = "auto",
             report: Callable[[str], None] | None = None) -> Backtest:
    """Backtest MODEL on the CSV `inp` (read by predict's rules); see the module docstring."""
    from .api import Forecaster
    from .table import read_table

    say = report or (lambda _: None)
    with Forecaster(model, provider=provider) as f:
        meta = f.meta
        window, horizon = meta.window, meta.horizon
        table = read_table(inp, spec, features=meta.features, fill=fill, report=say, names=meta.value_names)
        for note in table.notes:
            say(note)
        if season is not None and season < 1:
            raise ConfigError(f"--season: must be >= 1, got {season}")
        m, how = season_of([v[:, 0] for v in table.values], season)
        # Every method needs its history at an origin: a windowed model its window, a stateful one the rows
        # of its warm-up (predict holds their forecasts back), the seasonal naive one season.
        history = meta.warmup if meta.stateful else window - 1
        first = max(history, (m - 1) if m else 0)
        needs = f"{'warm-up ' + str(meta.warmup) if meta.stateful else 'window ' + str(window)}" \
            f"{f', season {m}' if m else ''}, horizon {horizon}"
        xs, truths, naive, snaive, where, short = [], [], [], [], [], []
        h = np.arange(1, horizon + 1)
        unscored = 0
        for k, v in enumerate(table.values):
            n = len(v)
            t = np.arange(first, n - horizon)                  # origins: index of each window's last value
            if not len(t):
                short.append(k)
                continue
            filled = table.missing[k][t[:, None] + h].any(axis=1)    # a target --fill made up: not scored
            unscored += int(filled.sum())
            t = t[~filled]
            if not len(t):
                continue
            if not meta.stateful:
                xs.append(np.lib.stride_tricks.sliding_window_view(v, window, axis=0)[t - window + 1]
                          .transpose(0, 2, 1))                 # (N, window, F)
            truths.append(v[t[:, None] + h, 0])
            naive.append(np.repeat(v[t, 0][:, None], horizon, axis=1))
            if m:
                snaive.append(v[t[:, None] + seasonal_lag(horizon, m), 0])
            where.append((k, t))
        if unscored:
            say(f"--fill {fill}: {unscored} forecast origin(s) whose target is a filled value (not in the "
                f"file) not scored; their windows use the filled values")
        if not where:
            longest = max(map(len, table.values))
            raise DataError(f"no forecast origin: the longest series has {longest} values, a backtest "
                            f"needs {first + horizon + 1} ({needs})", source=str(inp))
        if short:
            k = min(short, key=lambda k: len(table.values[k]))
            name = table.ids[k] or "the unnamed one"
            say(f"{len(short)} of {len(table.values)} series too short for a forecast origin (a backtest "
                f"needs {first + horizon + 1} values: {needs}; the shortest: {name}, "
                f"{len(table.values[k])}): not scored")
        if meta.stateful:                                      # every row of every series, state carried
            f.reset_state()
            ids = np.repeat(np.arange(len(table.values)), [len(v) for v in table.values]).tolist()
            every = f.step(ids, np.concatenate(table.values))  # (rows, horizon): each row's forecast
            at = np.cumsum([0] + [len(v) for v in table.values])
            y = np.concatenate([every[at[k] + t] for k, t in where]).astype(np.float64)
        else:
            y = f.predict(np.concatenate(xs), horizon).astype(np.float64)
    truth = np.concatenate(truths)
    scale = naive_mae(table.values)
    preds = {"model": y, "naive": np.concatenate(naive)}
    if m:
        preds["seasonal_naive"] = np.concatenate(snaive)
    steps = [{k: scores(p[:, h], truth[:, h], scale) for k, p in preds.items()} for h in range(horizon)]
    overall = {k: scores(p, truth, scale) for k, p in preds.items()}
    k0, t0 = where[0]
    n0 = len(t0)
    example = {"series": table.ids[k0], "truth": truth[:n0, 0]} | {k: p[:n0, 0] for k, p in preds.items()}
    tests = {k: diebold_mariano(y, p, truth) for k, p in preds.items() if k != "model"}
    return Backtest(str(model), str(inp), window, horizon, m, how, len(truth), scale, steps,
                    overall, example=example, tests=tests)


def plot(bt: Backtest, path: str | Path, show: int = 300) -> bool:
    """forecast.png: one series' truth against the model's and the naive one-step forecasts (the last
    `show` origins). False when matplotlib is not installed (an inference-only install)."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = bt.example
    n = min(show, len(e["truth"]))
    fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
    x = np.arange(len(e["truth"]))[-n:]
    ax.plot(x, e["truth"][-n:], lw=2, alpha=0.6, label="truth")
    # MSE over this series' origins, then all; seasonal naive too, which the verdict may say beats the model
    for name, style in (("model", "--"), ("naive", ":"), ("seasonal_naive", "-.")):
        if name not in e:
            continue
        here = float(np.mean((e[name] - e["truth"]) ** 2))
        every = f"; all series {bt.steps[0][name]['mse']:.3g}" if e["series"] else ""
        label = f"seasonal naive ({bt.season})" if name == "seasonal_naive" else name
        ax.plot(x, e[name][-n:], lw=1, ls=style, label=f"{label} (MSE {here:.3g}{every})")
    who = f" series {e['series']}," if e["series"] else ""
    ax.set_title(f"{Path(bt.model).name} on {Path(bt.source).name}:{who} one step ahead, last {n} origins")
    ax.set_xlabel("forecast origin")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
