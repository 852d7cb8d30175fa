"""Is a model's test error really lower than another's, or within the test set's noise?

    from seqinfer.trainer.significance import diebold_mariano
    dm = diebold_mariano(pred_a, pred_b, truth)      # {"stat": ..., "p": ..., "n": ...}; stat < 0: a better

The Diebold-Mariano test on squared errors, with Harvey, Leybourne and Newbold's small-sample correction
(1997): d_t = a's squared error - b's at forecast origin t (averaged over the horizon), its mean over the
long-run variance (autocovariances up to lag horizon - 1, as h-step forecasts overlap), compared with
Student's t on n - 1 degrees of freedom. For horizon 1 it is exactly the paired t test. Origins are taken in
the order the windows were made (series by series); the few lags across a series boundary are counted as if
adjacent. Used by `seqinfer train` for comparison.md / comparison.json: each model against the naive
forecast, and each stateful model against its windowed twin (`--stateful both`). One seed's test MSE ratio
near 1 says little on its own; this says whether the test set can tell the two apart.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .config import STATEFUL_SUFFIX, split_name

LEVEL = 0.05              # a difference is called real below this two-sided p
COMPARISON_JSON = "comparison.json"


def diebold_mariano(pred_a: np.ndarray, pred_b: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Two forecasts [N, H] of the same targets [N, H]: the corrected DM statistic (negative: a's squared
    error is lower), its two-sided p-value, and N."""
    from scipy import stats

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
    return {"stat": float(stat), "p": float(2 * stats.t.sf(abs(stat), n - 1)), "n": n}


def comparisons(results: Sequence[dict[str, Any]], forecasts: dict[str, np.ndarray], truth: np.ndarray,
                naive: np.ndarray) -> list[dict[str, Any]]:
    """Each model against the naive forecast, and each stateful model against its windowed twin when both
    ran: model, against, test MSE ratio, DM statistic, p, and the verdict at LEVEL."""
    names = {r["name"] for r in results}
    pairs = [(r["name"], "naive") for r in results]
    pairs += [(r["name"], split_name(r["name"])[0]) for r in results
              if r["name"].endswith(STATEFUL_SUFFIX) and split_name(r["name"])[0] in names]
    rows = []
    for a, b in pairs:
        pb = naive if b == "naive" else forecasts[b]
        dm = diebold_mariano(forecasts[a], pb, truth)
        mse = [float(np.mean((np.asarray(p, np.float64).reshape(truth.shape) - truth) ** 2))
               for p in (forecasts[a], pb)]
        rows.append({"model": a, "against": b, "mse_ratio": mse[0] / mse[1] if mse[1] else float("nan"),
                     **dm, "verdict": verdict(dm)})
    return rows


def verdict(dm: dict[str, float]) -> str:
    """better / worse (significant at LEVEL) or "no significant difference"."""
    if not dm["p"] < LEVEL:
        return "no significant difference"
    return "better" if dm["stat"] < 0 else "worse"


def section(rows: Sequence[dict[str, Any]]) -> list[str]:
    """comparison.md's lines for `comparisons`."""
    lines = ["", f"## Is the difference real? Diebold-Mariano test on the test windows' squared errors "
                 f"(two-sided, {LEVEL:.0%})", "",
             "| model | against | MSE ratio | DM statistic | p | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['against']} | {r['mse_ratio']:.3f} | {r['stat']:.2f} | "
                     f"{r['p']:.3g} | {r['verdict']} |")
    return lines


__all__ = ["COMPARISON_JSON", "LEVEL", "comparisons", "diebold_mariano", "section", "verdict"]
