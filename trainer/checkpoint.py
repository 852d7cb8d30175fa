"""checkpoint.pt: state_dict + configs + data facts, plain types so torch.load(weights_only=True) works."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seqinfer.infer.contract import CHECKPOINT_FILE
from seqinfer.infer.errors import ModelError

from .model import Forecaster, ModelConfig
from .stateful import StatefulForecaster

FORMAT = "seqinfer-checkpoint/1"


def save_checkpoint(path: str | Path, model: Forecaster, *, data: dict[str, Any],
                    train: dict[str, Any] | None = None) -> None:
    """`data` must hold at least window (int) and fingerprint (str); values are plain Python types."""
    for key in ("window", "fingerprint"):
        if key not in data:
            raise ValueError(f"checkpoint data needs {key!r}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, "model_config": model.config.to_dict(), "state_dict": state,
                "data": dict(data), "train": dict(train or {})}, path)


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[Forecaster, dict[str, Any]]:
    """Rebuild the model from the checkpoint alone. Returns (model in eval mode, the checkpoint dict)."""
    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT_FILE
    if not p.is_file():
        raise ModelError(f"{p}: checkpoint not found")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for a corrupt file; all mean the same to the user
        raise ModelError(f"{p}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ModelError(f"{p}: not a seqinfer checkpoint (expected format {FORMAT!r})")
    config = ModelConfig(**ckpt["model_config"])
    model = StatefulForecaster(config) if config.stateful else Forecaster(config)
    state = dict(ckpt["state_dict"])
    if "out_mean" not in state:          # a checkpoint from before the scaling modes: global, feature 0's
        h = model.config.horizon
        state["out_mean"] = state["norm_mean"][:1].expand(h).clone()
        state["out_std"] = state["norm_std"][:1].expand(h).clone()
        state["norm_floor"] = torch.zeros_like(state["norm_mean"])
    model.load_state_dict(state)
    model.eval()
    return model, ckpt
