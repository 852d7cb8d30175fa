"""Is a model's test error really lower than another's, or within the test set's noise?

    from seqinfer.trainer.significance import diebold_mariano
    dm = diebold_mariano(pred_a, pred_b, truth)      # {"stat": ..., "p": ..., "n": ...}; stat < 0: a better

The Diebold-Mariano test on squared errors (infer/significance.py, which `seqinfer evaluate` uses too), on
the test windows in the order they were made (series by series). Used by `seqinfer train` for
comparison.md / comparison.json: each model against the naive forecast, and each stateful model against its
windowed twin (`--stateful both`). One seed's test MSE ratio near 1 says little on its own; this says whether
the test set can tell the two apart.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seqinfer.infer.significance import LEVEL, diebold_mariano, verdict

from .config import STATEFUL_SUFFIX, split_name

COMPARISON_JSON = "comparison.json"


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
