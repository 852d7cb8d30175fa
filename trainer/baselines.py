"""Honest baselines, scored on exactly the windows the models are scored on: naive (the last value), seasonal
naive (the value one season before the target; season detection and scoring shared with `seqinfer
evaluate`, infer/backtest.py), and ETS (statsmodels: damped additive trend, additive
season when there is one), fitted on the training part only and then run one step at a time over the rest
without refitting. Plus MASE's denominator: the in-sample (training part) one-step naive MAE.

    from seqinfer.trainer.baselines import baselines
    b = baselines(ds, cfg)      # {"naive": {...}, "seasonal_naive": {...}, "ets": {...}}, per split, + season
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqinfer.infer.backtest import naive_mae, scores, season_of, seasonal_lag

from .config import DataConfig
from .data import SPLITS, Dataset, split_points

ETS_MAX_SERIES = 20       # ETS is fitted for the first this-many series of a multi-series file (seconds each)


@dataclass(frozen=True)
class Origins:
    """For every window of one split, in Dataset order: its series and the index of its last value."""

    series: np.ndarray       # int64 [N]
    t: np.ndarray            # int64 [N]


def origins(ds: Dataset, cfg: DataConfig) -> dict[str, Origins]:
    """Where each window ends, in the order trainer/data.py `build` made them."""
    out: dict[str, tuple[list[int], list[int]]] = {s: ([], []) for s in SPLITS}
    for k, v in enumerate(ds.series.values):
        a, b = split_points(len(v), cfg)
        for name, (lo, hi) in zip(SPLITS, ((0, a), (a, b), (b, len(v))), strict=True):
            count = max(0, hi - lo - cfg.window - cfg.horizon + 1)
            out[name][0].extend([k] * count)
            out[name][1].extend(range(lo + cfg.window - 1, lo + cfg.window - 1 + count))
    kept = ds.kept or {}                 # windows whose target --fill made up are not scored (data.build)
    return {s: Origins(np.array(i, np.int64)[kept[s]], np.array(t, np.int64)[kept[s]]) if s in kept else
            Origins(np.array(i, np.int64), np.array(t, np.int64)) for s, (i, t) in out.items()}


def naive_pred(v: np.ndarray, t: int, horizon: int) -> np.ndarray:
    return np.full(horizon, v[t, 0])


def seasonal_pred(v: np.ndarray, t: int, horizon: int, m: int) -> np.ndarray:
    return v[t + seasonal_lag(horizon, m), 0]


def _ets(v: np.ndarray, a: int, season: int | None) -> tuple[np.ndarray, float, int | None] | None:
    """ETS fitted on v[:a], smoothed over all of v with those parameters: (states [n, k], damping, season
    used), or None when the training part is too short or the fit fails."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    # heuristic initial states (from the first seasons): measured on the sine, 0.1 s against 7 s for
    # estimating 40 seasonal starting values, with the same test error (6.0e-6)
    kw: dict[str, Any] = {"error": "add", "trend": "add", "damped_trend": True,
                          "initialization_method": "heuristic"}
    if season is not None and a >= 4 * season:
        kw |= {"seasonal": "add", "seasonal_periods": season}
    if a < 10:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")        # convergence notes: the fit is a baseline, not the product
        try:
            fit = ETSModel(v[:a, 0], **kw).fit(disp=False)
            states = np.asarray(ETSModel(v[:, 0], **kw).smooth(fit.params).states)
        except (ValueError, np.linalg.LinAlgError):
            return None
    phi = float(fit.params[list(fit.param_names).index("damping_trend")])
    return states, phi, kw.get("seasonal_periods")


def _fit(fit: tuple[np.ndarray, float, int | None] | None) -> tuple[np.ndarray, float, int | None]:
    assert fit is not None
    return fit


def ets_pred(states: np.ndarray, phi: float, m: int | None, t: int, horizon: int) -> np.ndarray:
    """h-step forecasts from origin t: level + (phi + ... + phi^h) trend + the season's value for t + h."""
    h = np.arange(1, horizon + 1)
    damp = np.cumsum(phi ** h)
    y = states[t, 0] + damp * states[t, 1]
    if m is not None and states.shape[1] > 2:
        y = y + states[t + h - m * ((h - 1) // m + 1), 2]
    return y


def mase_scale(ds: Dataset) -> float:
    """The in-sample one-step naive MAE over the training parts (MASE's denominator)."""
    return naive_mae(ds.segments["train"])


def baselines(ds: Dataset, cfg: DataConfig, season: int | None = None) -> dict[str, Any]:
    """Scores of naive, seasonal naive and ETS per split, on the models' windows; the season used; notes."""
    t0 = time.perf_counter()
    m, how = season_of([v[:, 0] for v in ds.segments["train"]], season)
    scale = mase_scale(ds)
    where = origins(ds, cfg)
    fits = [(_ets(v.reshape(len(v), -1), split_points(len(v), cfg)[0], m) if k < ETS_MAX_SERIES else None)
            for k, v in enumerate(ds.series.values)]
    out: dict[str, Any] = {"season": m, "season_how": how, "mase_scale": scale, "naive": {},
                           "seasonal_naive": {}, "ets": {}}
    for name in SPLITS:
        o, truth = where[name], ds.windows[name].y
        values = [v.reshape(len(v), -1) for v in ds.series.values]
        out["naive"][name] = scores(np.array([naive_pred(values[k], t, cfg.horizon)
                                              for k, t in zip(o.series, o.t, strict=True)]), truth, scale)
        if m is not None and (len(o.t) == 0 or o.t.min() + 1 >= m):
            snaive = [seasonal_pred(values[k], t, cfg.horizon, m) for k, t in zip(o.series, o.t, strict=True)]
            out["seasonal_naive"][name] = scores(np.array(snaive), truth, scale)
        ok = np.array([fits[k] is not None for k in o.series], bool)
        if ok.any():
            pred = np.array([ets_pred(*_fit(fits[k]), t, cfg.horizon)
                             for k, t in zip(o.series[ok], o.t[ok], strict=True)])
            out["ets"][name] = scores(pred, truth[ok], scale) | {"windows": int(ok.sum())}
    if not out["seasonal_naive"]:
        del out["seasonal_naive"]
    if not out["ets"]:
        del out["ets"]
    # ETS takes the season only where a series' training part holds 4 of them (_ets): the one it used
    used = {f[2] for f in fits if f is not None}
    out["ets_season"] = m if used == {m} else None if used <= {None} else "some series"
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out
