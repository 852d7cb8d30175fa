"""Stateful forecasters: the state is carried from step to step, so one new value costs one recurrent step.

    model = StatefulForecaster(ModelConfig(kind="gru", stateful=True))
    y, state = model(x, model.initial_state(batch))      # x (B, T, F) raw -> y (B, T, H) raw, new state

The same cell, transform and head as the windowed Forecaster (trainer/model.py), but the head reads every
step: y[:, t] forecasts x[t+1 .. t+H] from everything up to t. The state is the recurrent layers' (h, and c
for an LSTM, batch on axis 0) plus, for "diff" scaling, the last value seen (NaN for a new series, whose
first change then reads as 0). Feeding a series in chunks with the state carried equals one call over the
whole series: that is what `seqinfer export` verifies.

Training (`fit_stateful`) is sequence to sequence with a loss at every step, over long contiguous stretches
of each series, in chunks of `tbptt` steps: the state is carried from chunk to chunk of a stretch and
detached (truncated backpropagation through time), and the first `warmup` steps of every stretch carry no
loss, so the model learns from a state that has seen some history, as it will have in use.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seqinfer.infer.contract import STATE_PREV, state_spec

from .fit import History, Stopper, one_cycle_lr, seed_everything
from .model import Forecaster, ModelConfig
from .progress import Epoch


class StatefulForecaster(Forecaster):
    """forward(x (B, T, F), state) -> (y (B, T, H), new state); state as state_names() lists it."""

    __constants__ = ["mode", "is_lstm"]

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.is_lstm = config.kind == "lstm"

    def state_names(self) -> list[str]:
        c = self.config
        return list(state_spec(c.kind, c.scaling, c.layers, c.hidden, c.features))

    @torch.jit.ignore
    def initial_state(self, batch: int, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        """The state of `batch` series not seen yet: zeros, and NaN for the last value."""
        c = self.config
        out = []
        for name in self.state_names():
            if name == STATE_PREV:
                out.append(torch.full((batch, c.features), float("nan"), dtype=dtype))
            else:
                out.append(torch.zeros(batch, c.layers, c.hidden))
        return out

    def forward(self, x: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        z, level = self._encode_steps(x, state)                            # (B, T, F), (B, T, 1)
        f, new = self._core(z.to(self.head.weight.dtype), state)           # (B, T, H)
        y = level + f.to(x.dtype) * self.out_std + self.out_mean           # (B, T, H), raw
        if self.mode == 1:
            new.append(x[:, -1, :])                                        # the last value, for next time
        return y, new

    def _encode_steps(self, x: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw x -> (the network's input, the level each forecast is added to)."""
        if self.mode == 1:                                                 # diff: changes from the last value
            prev = state[-1]
            prev = torch.where(torch.isnan(prev), x[:, 0, :], prev)       # a new series: first change 0
            before = torch.cat([prev.unsqueeze(1), x[:, :-1, :]], dim=1)  # (B, T, F)
            return (x - before - self.norm_mean) / self.norm_std, x[:, :, :1]
        return (x - self.norm_mean) / self.norm_std, torch.zeros_like(x[:, :, :1])

    def _core(self, z: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h0 = state[0].transpose(0, 1).contiguous()                         # (L, B, H): PyTorch's layout
        if self.is_lstm:
            out, (h, c) = self.rnn(z, (h0, state[1].transpose(0, 1).contiguous()))
            return self.head(out), [h.transpose(0, 1), c.transpose(0, 1)]
        out, h = self.rnn(z, h0)
        return self.head(out), [h.transpose(0, 1)]

    def step_targets(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One whole series x (1, n, F) -> (network input (1, n, F), standardized targets (1, n, H), NaN
        where the series ends first), for training with every step's forecast."""
        z, level = self._encode_steps(x, [s.to(x.device) for s in self.initial_state(1, x.dtype)])
        n, horizon = x.shape[1], self.config.horizon
        future = torch.full((1, n, horizon), float("nan"), dtype=x.dtype, device=x.device)
        for h in range(1, horizon + 1):
            future[:, :n - h, h - 1] = x[:, h:, 0]
        return z, ((future - level) - self.out_mean) / self.out_std


@dataclass(frozen=True)
class StatefulOptions:
    epochs: int
    batch_size: int          # stretches per optimizer step
    lr: float
    patience: int
    clip: float
    seed: int
    stretch: int             # steps per stretch (before its warm-up)
    tbptt: int               # steps per backward pass; the state is carried and detached between them
    warmup: int              # steps at the start of a stretch without loss
    epoch_steps: int = 0     # an epoch's stretches, drawn afresh, hold at most this many loss steps; 0: all


def _stretches(z: np.ndarray, t: np.ndarray, opts: StatefulOptions, rng: np.random.Generator
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut one series' (z [n, F], targets [n, H]) into stretches of warmup + stretch steps, at a random
    offset (a new cut every epoch), each starting `warmup` steps early: their loss steps tile the series."""
    n, span = len(z), opts.stretch
    out = []
    start = -int(rng.integers(0, span))
    while start < n:
        a, b = max(0, start - opts.warmup), min(n, start + span)
        if b - max(a, start) > 0 and b - a > opts.warmup // 2:
            tt = t[a:b].copy()
            tt[:max(0, start - a) if start > 0 else min(opts.warmup, b - a)] = np.nan   # warm-up: no loss
            out.append((z[a:b], tt))
        start += span
    return out


def fit_stateful(model: StatefulForecaster, train: list[np.ndarray], score_val: Callable[[], float],
                 opts: StatefulOptions, on_epoch: Callable[[Epoch], None] | None = None,
                 start: dict[str, torch.Tensor] | None = None) -> History:
    """Train on the training parts `train` (per series: float64 [n, F]); stop early on `score_val`.
    `start`: weights to begin from (a warm start: the windowed twin's), kept as epoch 0 unless an epoch
    scores better on validation."""
    start_loss = math.inf
    if start is not None:
        model.load_state_dict(start)
        model.eval()
        start_loss = score_val()
    seed_everything(opts.seed)
    rng = np.random.default_rng(opts.seed)
    series = []
    dev = model.head.weight.device
    with torch.no_grad():
        for v in train:
            z, t = model.step_targets(torch.from_numpy(np.asarray(v, np.float64))[None].to(dev))
            series.append((z[0].float().cpu().numpy(), t[0].float().cpu().numpy()))
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
    stop = Stopper(model, opts.epochs, opts.patience, on_epoch, start_loss)
    for epoch in range(1, opts.epochs + 1):
        model.train()
        pieces = [p for z, t in series for p in _stretches(z, t, opts, rng)]
        order = rng.permutation(len(pieces))
        if opts.epoch_steps:                 # the first stretches of the shuffle, up to epoch_steps
            steps = np.cumsum([np.count_nonzero(~np.isnan(pieces[j][1][:, 0])) for j in order])
            order = order[:max(1, int(np.searchsorted(steps, opts.epoch_steps, side="right")))]
        total, count = 0.0, 0
        starts = range(0, len(order), opts.batch_size)
        for k, i in enumerate(starts):
            batch = [pieces[j] for j in order[i:i + opts.batch_size]]
            progress = (epoch - 1 + k / len(starts)) / opts.epochs   # the one-cycle schedule, by progress
            span = 1 / opts.epochs / len(starts)
            loss_sum, n = _train_batch(model, batch, opts, optim, opts.lr, progress, span)
            total, count = total + loss_sum, count + n
        model.eval()
        if stop.epoch(epoch, total / max(count, 1), score_val()):
            break
    return stop.finish()


def _train_batch(model: StatefulForecaster, batch: list[tuple[np.ndarray, np.ndarray]], opts: StatefulOptions,
                 optim: torch.optim.Optimizer, max_lr: float, progress: float, span: float
                 ) -> tuple[float, int]:
    """Stretches padded to one length, run in chunks of opts.tbptt steps with the state carried, detached."""
    longest = max(len(z) for z, _ in batch)
    f, h = batch[0][0].shape[1], batch[0][1].shape[1]
    z = np.zeros((len(batch), longest, f), np.float32)
    t = np.full((len(batch), longest, h), np.nan, np.float32)         # padding: no loss
    for i, (zi, ti) in enumerate(batch):
        z[i, :len(zi)], t[i, :len(ti)] = zi, ti
    dev = model.head.weight.device
    zt, tt = torch.from_numpy(z).to(dev), torch.from_numpy(t).to(dev)
    state = [s.to(dev) for s in model.initial_state(len(batch))[:2 if model.is_lstm else 1]]  # z: changes
    total, count = 0.0, 0
    for a in range(0, longest, opts.tbptt):
        for group in optim.param_groups:        # `span`: this batch's share of training, spread over chunks
            group["lr"] = one_cycle_lr(max_lr, progress + span * a / longest)
        f_out, state = model._core(zt[:, a:a + opts.tbptt], state)                 # (B, k, H)
        target = tt[:, a:a + opts.tbptt]
        mask = ~torch.isnan(target)
        if mask.any():
            loss = nn.functional.mse_loss(f_out[mask], target[mask])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), opts.clip)
            optim.step()
            total += float(loss.detach()) * int(mask.sum())
            count += int(mask.sum())
        state = [s.detach() for s in state]
    return total, count


@torch.no_grad()
def forecast_series(model: StatefulForecaster, v: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """One whole series v [n, F] raw -> forecasts [n, H] at every step, as the exported model gives them."""
    return forecast_all(model, [v], dtype)[0]


# forecast_all's calls hold at most this many recurrent outputs (series x steps x hidden), 64 MB in float32:
# 50 series of 1,826 days at hidden 64 are one call (5.8M).
FORECAST_CALL_VALUES = 1 << 24


@torch.no_grad()
def forecast_all(model: StatefulForecaster, series: list[np.ndarray], dtype: type = np.float32
                 ) -> list[np.ndarray]:
    """Whole series ([n_k, F] raw each) -> forecasts [n_k, H] at every step of each: the series side by
    side in few calls, longest first, each padded at its end (a step's forecast reads only the steps before
    it, so the padding changes none that is kept). Validation runs this every epoch: 50 store-item series
    of 1,826 days took a GRU (hidden 64, one thread) 2.2 s one by one, 0.2 s side by side."""
    dev = model.head.weight.device
    order = sorted(range(len(series)), key=lambda k: -len(series[k]))
    out: list[np.ndarray] = [np.empty(0)] * len(series)
    i = 0
    while i < len(order):
        longest = max(len(series[order[i]]), 1)
        rows = max(1, min(len(order) - i, FORECAST_CALL_VALUES // (longest * model.config.hidden)))
        group = order[i:i + rows]
        x = np.stack([np.pad(np.asarray(series[k], dtype), ((0, longest - len(series[k])), (0, 0)), "edge")
                      if len(series[k]) else np.zeros((longest, model.config.features), dtype)
                      for k in group])
        xt = torch.from_numpy(x).to(dev)
        y, _ = model(xt, [s.to(dev) for s in model.initial_state(len(group), xt.dtype)])
        y = y.cpu().numpy()
        for j, k in enumerate(group):
            out[k] = y[j, :len(series[k])]
        i += rows
    return out


@torch.no_grad()
def rollout_stateful(model: StatefulForecaster, start: np.ndarray, steps: int, dtype: type = np.float32
                     ) -> np.ndarray:
    """Read `start` [T, 1], then feed the model its own one-step forecast `steps` times."""
    dev = model.head.weight.device
    x = torch.from_numpy(np.ascontiguousarray(start, dtype))[None].to(dev)
    y, state = model(x, [s.to(dev) for s in model.initial_state(1, x.dtype)])
    out = []
    for _ in range(steps):
        nxt = y[:, -1:, :1]                                                # (1, 1, 1)
        out.append(float(nxt))
        y, state = model(nxt, state)
    return np.array(out)


__all__ = ["StatefulForecaster", "StatefulOptions", "fit_stateful", "forecast_all", "forecast_series"]
