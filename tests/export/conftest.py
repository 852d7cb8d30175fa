"""Tiny checkpoints (hidden 8, window 16) and their exports, shared by the export tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqinfer.trainer.checkpoint import save_checkpoint
from seqinfer.trainer.model import Forecaster, ModelConfig

KINDS = ("rnn", "lstm", "gru")
WINDOW = 16


def make_checkpoint(folder: Path, kind: str, *, hidden: int = 8, horizon: int = 2, features: int = 1,
                    mean: float = 10.0, std: float = 3.0, seed: int = 1, scaling: str = "global") -> Path:
    """A checkpoint with the trainer's real sine data config when seqinfer.trainer.data is there (so verify
    gets test windows), else the minimal data dict; normalization far from (0, 1) either way. A `scaling`
    other than global gets the statistics the trainer would fit (trainer/scaling.py)."""
    torch.manual_seed(seed)
    model = Forecaster(ModelConfig(kind=kind, hidden=hidden, horizon=horizon, features=features,
                                   scaling=scaling))
    data: dict = {"window": WINDOW, "fingerprint": "abc"}
    try:
        from seqinfer.trainer.config import DataConfig
        from seqinfer.trainer.data import build, checkpoint_data
    except ImportError:
        model.set_normalization(torch.full((features,), mean), torch.full((features,), std))
    else:
        if features == 1:
            cfg = DataConfig(window=WINDOW, horizon=horizon, length=400)
            ds = build(cfg)
            data = checkpoint_data(ds, cfg, model.config.to_dict())
            # the sine has mean ~0 / std ~0.7: shift the stats so normalization visibly matters
            model.set_normalization(torch.from_numpy(ds.mean) + mean, torch.from_numpy(ds.std) * std)
            if scaling != "global":
                from seqinfer.trainer.scaling import fit_scaling
                fit_scaling(model, ds)
        else:
            model.set_normalization(torch.full((features,), mean), torch.full((features,), std))
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "checkpoint.pt", model, data=data)
    return folder


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """kind -> ExportResult of the default export (hybrid form, full grid) of a fresh checkpoint."""
    from seqinfer.export import export_model

    root = tmp_path_factory.mktemp("artifacts")
    return {kind: export_model(make_checkpoint(root / kind, kind)) for kind in KINDS}
