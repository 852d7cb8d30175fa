"""The model's scores on the original scale (baselines.py scores the baselines alike) and its rollout."""
from __future__ import annotations

import numpy as np
import torch

from .baselines import scores
from .data import Windows
from .model import Forecaster


@torch.no_grad()
def predict(model: Forecaster, x: np.ndarray, device: torch.device, chunk: int = 4096,
            dtype: type = np.float32) -> np.ndarray:
    """Raw windows [N, T, F] -> raw forecasts [N, H], given to the model in `dtype` as the export will be."""
    out = [model(torch.from_numpy(np.ascontiguousarray(x[i:i + chunk], dtype)).to(device)).cpu().numpy()
           for i in range(0, len(x), chunk)]
    return np.concatenate(out) if out else np.zeros((0, model.config.horizon), dtype)


@torch.no_grad()
def rollout(model: Forecaster, start: np.ndarray, steps: int, device: torch.device,
            dtype: type = np.float32) -> np.ndarray:
    """Feed the model its own first-step forecast `steps` times from a raw window [T, 1]."""
    window = torch.from_numpy(np.array(start, dtype=dtype))[None].to(device)         # (1, T, 1)
    out = []
    for _ in range(steps):
        nxt = model(window)[:, :1]                                                    # (1, 1)
        out.append(nxt)
        window = torch.cat([window[:, 1:], nxt[:, :, None]], dim=1)
    return torch.cat(out, dim=1)[0].cpu().numpy() if out else np.zeros(0, np.float32)


Scores = dict[str, dict[str, float]]    # per split: MSE, MAE, RMSE, MASE (baselines.scores)


def evaluate(model: Forecaster, windows: dict[str, Windows], device: torch.device, dtype: type = np.float32,
             mase_scale: float = 1.0) -> tuple[Scores, np.ndarray]:
    """(model scores per split: MSE, MAE, RMSE, MASE; test predictions [N, H])."""
    ours: Scores = {}
    test_pred: np.ndarray = np.zeros((0, model.config.horizon), dtype)
    for name, w in windows.items():
        pred = predict(model, w.x, device, dtype=dtype)
        ours[name] = scores(pred, w.y, mase_scale)
        if name == "test":
            test_pred = pred
    return ours, test_pred
