"""The Forecaster: a recurrent stack with a linear head, raw values in, raw forecasts out.

Normalization lives inside the module as buffers, so the eager model, TorchScript and ONNX all take raw
values: training calls `forward_normalized` on normalized windows; everyone else calls `forward`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from seqinfer.infer.errors import ConfigError

CELLS: dict[str, Callable[..., nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(frozen=True)
class ModelConfig:
    kind: str = "lstm"       # rnn | lstm | gru
    features: int = 1        # input features per time step; feature 0 is the target
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.0     # between recurrent layers (PyTorch ignores it for one layer)
    horizon: int = 1         # values predicted directly per window

    def __post_init__(self) -> None:
        if self.kind not in CELLS:
            raise ConfigError(f"model.kind: {self.kind!r} is not one of {', '.join(CELLS)}")
        for name in ("features", "hidden", "layers", "horizon"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name}: must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout: must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Forecaster(nn.Module):
    """x: [batch, seq, features] raw -> y: [batch, horizon] raw (feature 0's scale)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dropout = config.dropout if config.layers > 1 else 0.0
        self.rnn = CELLS[config.kind](config.features, config.hidden, num_layers=config.layers,
                                      batch_first=True, dropout=dropout)
        self.head = nn.Linear(config.hidden, config.horizon)
        # Fitted on the training split only (trainer/data.py) and saved in the state_dict.
        self.register_buffer("norm_mean", torch.zeros(config.features))
        self.register_buffer("norm_std", torch.ones(config.features))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.get_buffer("norm_mean").copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.get_buffer("norm_std").copy_(torch.as_tensor(std, dtype=torch.float32))

    def forward_normalized(self, z: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(z)                 # (B, T, hidden)
        return self.head(out[:, -1, :])      # (B, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.norm_mean) / self.norm_std          # (B, T, F)
        y = self.forward_normalized(z)                    # (B, H), normalized target scale
        return y * self.norm_std[0] + self.norm_mean[0]   # (B, H), raw target scale
