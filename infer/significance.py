"""Is one forecast's error really lower than another's, or within the noise of the origins scored? Torch- and
scipy-free: `seqinfer evaluate` (an inference-only install) and `seqinfer train` share it.

    from seqinfer.infer.significance import diebold_mariano
    dm = diebold_mariano(pred_a, pred_b, truth)      # {"stat": ..., "p": ..., "n": ...}; stat < 0: a better

The Diebold-Mariano test on squared errors, with Harvey, Leybourne and Newbold's small-sample correction
(1997): d_t = a's squared error - b's at forecast origin t (averaged over the horizon), its mean over the
long-run variance (autocovariances up to lag horizon - 1, as h-step forecasts overlap), compared with
Student's t on n - 1 degrees of freedom. For horizon 1 it is exactly the paired t test. Origins are taken in
the order given (series by series); the few lags across a series boundary are counted as if adjacent.
"""
from __future__ import annotations

import math

import numpy as np

LEVEL = 0.05              # a difference is called real below this two-sided p


def diebold_mariano(pred_a: np.ndarray, pred_b: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Two forecasts [N, H] of the same targets [N, H]: the corrected DM statistic (negative: a's squared
    error is lower), its two-sided p-value, and N."""
    truth = np.asarray(truth, np.float64).reshape(len(truth), -1)
    horizon = truth.shape[1]
    ea = np.asarray(pred_a, np.float64).reshape(truth.shape) - truth
    eb = np.asarray(pred_b, np.float64).reshape(truth.shape) - truth
    d = np.mean(ea**2 - eb**2, axis=1)                                  # (N,)
    n = len(d)
    if n < 2 or not np.all(np.isfinite(d)):
        return {"stat": float("nan"), "p": float("nan"), "n": n}
    dc = d - d.mean()
    gamma = [float(dc[k:] @ dc[:n - k]) / n for k in range(min(horizon, n))]
    var = gamma[0] + 2 * sum(gamma[1:])
    if var <= 0:                                   # a negative long-run estimate: the lag-0 one instead
        var = gamma[0]
    if var == 0:                                   # identical errors everywhere: no difference to test
        return {"stat": 0.0 if d.mean() == 0 else float(np.sign(d.mean()) * np.inf),
                "p": 1.0 if d.mean() == 0 else 0.0, "n": n}
    stat = d.mean() / np.sqrt(var / n)
    stat *= np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    return {"stat": float(stat), "p": float(2 * t_sf(abs(float(stat)), n - 1)), "n": n}


def verdict(dm: dict[str, float]) -> str:
    """better / worse (significant at LEVEL) or "no significant difference"."""
    if not dm["p"] < LEVEL:
        return "no significant difference"
    return "better" if dm["stat"] < 0 else "worse"


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom: half the regularized incomplete beta
    I_x(df/2, 1/2) at x = df / (df + t^2), for t >= 0."""
    if math.isnan(t):
        return math.nan
    if t < 0:
        return 1.0 - t_sf(-t, df)
    if math.isinf(t):
        return 0.0
    return 0.5 * _betai(df / 2, 0.5, df / (df + t * t))


def _betai(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz's method), on
    the side of x where it converges fast."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                     + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


_TINY = 1e-300


def _beta_fraction(a: float, b: float, x: float, eps: float = 1e-15, terms: int = 500) -> float:
    """The continued fraction of I_x(a, b): its even and odd terms in turn."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, terms + 1):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h
