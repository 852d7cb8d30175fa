"""Fit the input transform's statistics (trainer/model.py `scaling`) on the training windows only.

    from seqinfer.trainer.scaling import fit_scaling
    fit_scaling(model, ds)       # sets model's norm_* and out_* buffers from ds.windows["train"]

Computed in float64 from the raw windows, so a series far from zero (10,000 + 0.5 sin) keeps its digits.
"""
from __future__ import annotations

import numpy as np
import torch

from .data import Dataset
from .model import Forecaster

FLOOR_SHARE = 0.01    # "window": the least window scale, as a share of the median training window's scale


def _std(a: np.ndarray, axis: tuple[int, ...] | int) -> np.ndarray:
    s = a.std(axis=axis)
    return np.where(s > 1e-12 * np.maximum(1.0, np.abs(a).max(axis=axis)), s, 1.0)  # constant: no division


def fit_scaling(model: Forecaster, ds: Dataset) -> None:
    """Set the model's normalization buffers for its scaling mode from ds's training windows."""
    if model.config.scaling == "global":        # per feature over the training pieces, as ever
        model.set_normalization(torch.from_numpy(ds.mean), torch.from_numpy(ds.std))
        return
    w = ds.windows["train"]
    x = torch.from_numpy(np.asarray(w.x, np.float64))                       # (N, T, F)
    y = torch.from_numpy(np.asarray(w.y, np.float64))                       # (N, H)
    floor = np.zeros(x.shape[2])
    if model.config.scaling == "window":
        s = x.std(dim=1, unbiased=False).numpy()                            # (N, F)
        floor = np.maximum(FLOOR_SHARE * np.median(s, axis=0), 1e-12)
    model.set_normalization(torch.zeros(x.shape[2]), torch.ones(x.shape[2]), torch.zeros(y.shape[1]),
                            torch.ones(y.shape[1]), torch.from_numpy(floor))
    with torch.no_grad():
        u, level, scale = model.transform(x)                                # float64 throughout
    un, tn = u.numpy(), ((y - level) / scale).numpy()
    model.set_normalization(torch.from_numpy(un.mean(axis=(0, 1))), torch.from_numpy(_std(un, (0, 1))),
                            torch.from_numpy(tn.mean(axis=0)), torch.from_numpy(_std(tn, 0)),
                            torch.from_numpy(floor))
