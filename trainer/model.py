"""The Forecaster: a recurrent stack with a linear head, raw values in, raw forecasts out.

The input transform lives inside the module, so the eager model, TorchScript and ONNX all take raw values
and return raw forecasts. `scaling` (ModelConfig) picks it:
- "global": z = (x - mean) / std with mean and std fitted on the training split; y = mean + std * f(z).
  Right for a stationary series (the sine); a trend leaves the range the network saw.
- "diff": the network reads one-step changes, d_t = x_t - x_{t-1} (d_1 = 0), standardized, and forecasts
  the change from the window's last value: y_h = x_T + out_mean_h + out_std_h * f(z)_h. Level-free, and the
  same transform a stateful model can carry from step to step (it only needs x_{t-1}).
- "window": per-window level and scale: u = (x - x_T) / s, s = max(std of the window, floor); y = x_T +
  s * (out_mean + out_std * f(z)). Level- and scale-free (an exponential trend), windowed models only.
Training calls `encode` once on all windows and `forward_normalized` on the result; everyone else calls
`forward`. The statistics are fitted on the training split only (trainer/scaling.py) and saved as buffers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from seqinfer.infer.contract import SCALINGS
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
    scaling: str = "global"  # global | diff | window: the input transform (module docstring)
    stateful: bool = False   # a step model carrying its state (trainer/stateful.py)

    def __post_init__(self) -> None:
        if self.kind not in CELLS:
            raise ConfigError(f"model.kind: {self.kind!r} is not one of {', '.join(CELLS)}")
        if self.scaling not in SCALINGS:
            raise ConfigError(f"model.scaling: {self.scaling!r} is not one of {', '.join(SCALINGS)}")
        if self.stateful and self.scaling == "window":
            raise ConfigError("model.scaling: window scales each window by itself; a stateful model has no "
                              "window (use diff or global)")
        for name in ("features", "hidden", "layers", "horizon"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name}: must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout: must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Forecaster(nn.Module):
    """x: [batch, seq, features] raw -> y: [batch, horizon] raw (feature 0's scale)."""

    __constants__ = ["mode"]     # TorchScript compiles the transform for this model's mode only

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.mode = SCALINGS.index(config.scaling)
        dropout = config.dropout if config.layers > 1 else 0.0
        self.rnn = CELLS[config.kind](config.features, config.hidden, num_layers=config.layers,
                                      batch_first=True, dropout=dropout)
        self.head = nn.Linear(config.hidden, config.horizon)
        # Fitted on the training split only (trainer/scaling.py) and saved in the state_dict.
        self.register_buffer("norm_mean", torch.zeros(config.features))   # of the transformed input
        self.register_buffer("norm_std", torch.ones(config.features))
        self.register_buffer("norm_floor", torch.zeros(config.features))  # "window": least window scale
        self.register_buffer("out_mean", torch.zeros(config.horizon))     # of the transformed target
        self.register_buffer("out_std", torch.ones(config.horizon))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor, out_mean: torch.Tensor | None = None,
                          out_std: torch.Tensor | None = None, floor: torch.Tensor | None = None) -> None:
        """Input statistics (per feature), target statistics (per horizon step; default: feature 0's)."""
        def put(name: str, v: Any) -> None:
            buf = self.get_buffer(name)
            buf.copy_(torch.as_tensor(v, dtype=torch.float32).expand_as(buf))
        put("norm_mean", mean)
        put("norm_std", std)
        put("out_mean", out_mean if out_mean is not None else torch.as_tensor(mean).reshape(-1)[0])
        put("out_std", out_std if out_std is not None else torch.as_tensor(std).reshape(-1)[0])
        put("norm_floor", floor if floor is not None else 0.0)

    def transform(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw x (B, T, F) -> (u before standardization, level (B, 1), scale (B, 1)) of the target."""
        if self.mode == 1:                                                   # diff
            prev = torch.cat([x[:, :1], x[:, :-1]], dim=1)                  # (B, T, F), x_0 := x_1
            return x - prev, x[:, -1, :1], torch.ones_like(x[:, -1, :1])
        if self.mode == 2:                                                   # window
            last = x[:, -1:, :]                                              # (B, 1, F)
            s = torch.maximum(x.std(dim=1, keepdim=True, unbiased=False), self.norm_floor)   # (B, 1, F)
            return (x - last) / s, last[:, :, 0], s[:, :, 0]
        zero = torch.zeros_like(x[:, -1, :1])                               # global
        return x, zero, torch.ones_like(zero)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw x -> (z, the network's input; level (B, 1); scale (B, 1))."""
        u, level, scale = self.transform(x)
        return (u - self.norm_mean) / self.norm_std, level, scale

    def decode(self, f: torch.Tensor, level: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """The network's output (B, H) -> raw forecasts (B, H)."""
        return level + scale * (f * self.out_std + self.out_mean)

    def target(self, y: torch.Tensor, level: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Raw targets (B, H) -> what the network is trained to output: decode's inverse."""
        return ((y - level) / scale - self.out_mean) / self.out_std

    def forward_normalized(self, z: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(z)                 # (B, T, hidden)
        return self.head(out[:, -1, :])      # (B, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw float32 or float64 x; the transform runs in x's precision, the network in float32."""
        z, level, scale = self.encode(x)                              # (B, T, F), (B, 1), (B, 1)
        f = self.forward_normalized(z.to(self.head.weight.dtype))     # (B, H)
        return self.decode(f.to(x.dtype), level, scale)               # (B, H), raw target scale
