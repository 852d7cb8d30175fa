"""loss.png, forecast.png per model and comparison.png per run (matplotlib, Agg: no display needed)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  - the backend must be chosen first
import numpy as np  # noqa: E402


def loss_plot(path: Path, kind: str, train: Sequence[float], val: Sequence[float], best_epoch: int) -> None:
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="train")
    ax.plot(epochs, val, label="validation")
    if best_epoch:
        ax.axvline(best_epoch, color="grey", ls=":", lw=1, label=f"best (epoch {best_epoch})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (normalized scale)")
    ax.set_title(f"{kind.upper()}: loss per epoch")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def forecast_plot(path: Path, kind: str, truth: np.ndarray, pred: np.ndarray, context: np.ndarray,
                  roll: np.ndarray, roll_truth: np.ndarray, test_mse: float, who: str = "",
                  show: int = 300) -> None:
    """Top: one-step test forecasts vs truth. Bottom: the autoregressive rollout after the first window.
    `who`: which series they are, in a file of several (the test MSE is over all of them)."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 6.5), dpi=110)
    n = min(show, len(truth))
    a1.plot(truth[:n], label="truth", lw=2, alpha=0.6)
    a1.plot(pred[:n], label="forecast", lw=1, ls="--")
    of = f"{who}: " if who else ""
    mse = f"test MSE {test_mse:.3g}" + (" over every series" if who else "")
    a1.set_title(f"{kind.upper()}: {of}test-set forecasts, first {n} of {len(truth)} ({mse})")
    a1.set_xlabel("test window")
    a1.legend(loc="upper right")
    a1.grid(alpha=0.3)
    t_ctx = np.arange(-len(context), 0)
    t_fut = np.arange(len(roll))
    a2.plot(t_ctx, context, color="k", lw=1, label="input window")
    a2.plot(t_fut, roll_truth, lw=2, alpha=0.6, label="truth")
    a2.plot(t_fut, roll, ls="--", label=f"{len(roll)}-step rollout")
    a2.axvline(-0.5, color="grey", ls=":", lw=1)
    a2.set_title(f"{kind.upper()}: {of}autoregressive rollout from the first test window" if len(roll) else
                 f"{kind.upper()}: no rollout (a model with covariates needs their future values)")
    a2.set_xlabel("steps after the window")
    a2.legend(loc="upper right")
    a2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# The baselines comparison.png draws beside each model: (key in baselines.baselines' dict, label)
_BASELINE_BARS = (("naive", "last value (naive)"), ("seasonal_naive", "seasonal naive"), ("ets", "ETS"))


def comparison_plot(path: Path, results: Sequence[dict[str, Any]]) -> None:
    """Side by side: test MSE (each model beside the naive, seasonal naive and ETS baselines, log scale)
    and training seconds (the table's `train s`)."""
    kinds = [r.get("name", r["kind"]).upper() for r in results]
    x = np.arange(len(kinds))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    base = results[0].get("baselines", {"naive": results[0]["baseline"]})
    bars = [("model", [r["metrics"]["test"]["mse"] for r in results])]
    for key, label in _BASELINE_BARS:
        if key in base:
            season = f" (season {base['season']})" if key == "seasonal_naive" else ""
            bars.append((label + season, [base[key]["test"]["mse"]] * len(results)))
    w = 0.8 / len(bars)
    for i, (label, heights) in enumerate(bars):
        a1.bar(x + (i - (len(bars) - 1) / 2) * w, heights, w, label=label)
    drawn = [h for _, hs in bars for h in hs if h > 0 and np.isfinite(h)]
    if drawn:                  # log scale, its floor below the lowest bar: a low bar must not look like zero
        a1.set_yscale("log")
        a1.set_ylim(min(drawn) / 3, max(drawn) * 3)
    a1.set_xticks(x, kinds)
    a1.set_ylabel("test MSE (original scale, log)")
    a1.set_title("Test MSE (lower is better)")
    a1.legend(fontsize="small")
    a1.grid(axis="y", which="both", alpha=0.3)
    secs = [r.get("train_seconds", r["wall_seconds"]) for r in results]
    a2.bar(x, secs, 0.5, color="tab:green")
    for xi, s, r in zip(x, secs, results, strict=True):
        a2.annotate(f"{s:.1f}s, {r['epochs']} ep", (xi, s), ha="center", va="bottom")
    a2.set_xticks(x, kinds)
    a2.set_ylabel("seconds")
    a2.set_title("Training time (the table's train s)")
    a2.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
