"""Scores on the original scale (model and naive last-value baseline) and the autoregressive rollout."""
from __future__ import annotations

import numpy as np
import torch

from .data import Windows
from .model import Forecaster


def scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    err = (pred - truth).astype(np.float64)
    mse = float(np.mean(err**2)) if err.size else float("nan")
    return {"mse": mse, "mae": float(np.mean(np.abs(err))) if err.size else float("nan"),
            "rmse": float(np.sqrt(mse))}


@torch.no_grad()
def predict(model: Forecaster, x: np.ndarray, device: torch.device, chunk: int = 4096) -> np.ndarray:
    """Raw windows [N, T, F] -> raw forecasts [N, H] through the model's own normalization."""
    out = [model(torch.from_numpy(x[i:i + chunk]).to(device)).cpu().numpy() for i in range(0, len(x), chunk)]
    return np.concatenate(out) if out else np.zeros((0, model.config.horizon), np.float32)


def naive(x: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed target value, repeated over the horizon."""
    return np.repeat(x[:, -1:, 0], horizon, axis=1)


@torch.no_grad()
def rollout(model: Forecaster, start: np.ndarray, steps: int, device: torch.device) -> np.ndarray:
    """Feed the model its own first-step forecast `steps` times from a raw window [T, 1]."""
    window = torch.from_numpy(np.array(start, dtype=np.float32))[None].to(device)   # (1, T, 1)
    out = []
    for _ in range(steps):
        nxt = model(window)[:, :1]                                                    # (1, 1)
        out.append(nxt)
        window = torch.cat([window[:, 1:], nxt[:, :, None]], dim=1)
    return torch.cat(out, dim=1)[0].cpu().numpy() if out else np.zeros(0, np.float32)


def evaluate(model: Forecaster, windows: dict[str, Windows], device: torch.device
             ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], np.ndarray]:
    """(model scores per split, baseline scores per split, test predictions [N, H])."""
    ours, base, test_pred = {}, {}, np.zeros((0, model.config.horizon), np.float32)
    for name, w in windows.items():
        pred = predict(model, w.x, device)
        ours[name] = scores(pred, w.y)
        base[name] = scores(naive(w.x, w.y.shape[1]), w.y)
        if name == "test":
            test_pred = pred
    return ours, base, test_pred
