"""The training loop: Adam + one-cycle lr, MSE, gradient clipping, early stopping with best-weights restore.

The windows live on the device as tensors and batches are slices of one permutation: no DataLoader, no
per-sample Python work in the hot loop.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seqinfer.infer.contract import CUDA_TF32
from seqinfer.infer.errors import ConfigError

from .model import Forecaster
from .progress import Epoch


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when available, else cpu; an explicit cuda without CUDA is a ConfigError. On CUDA,
    float32 is set to run as float32 (cuda_precision)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name!r} asked for, but CUDA is not available here "
                              f"(torch {torch.__version__}); use --device cpu or auto")
        index = int(name[5:]) if name[5:] else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name!r} asked for, but only {torch.cuda.device_count()} "
                              "CUDA device(s) exist")
        cuda_precision()
    return torch.device(name)


def cuda_precision(tf32: bool = CUDA_TF32) -> None:
    """Set torch's CUDA matmuls and cuDNN recurrent kernels to CUDA_TF32 (infer/contract.py), as verify and
    predict run onnxruntime's CUDA provider."""
    mode = "tf32" if tf32 else "ieee"
    if hasattr(torch.backends.cudnn, "rnn"):          # torch >= 2.9: per-backend fp32_precision
        torch.backends.cuda.matmul.fp32_precision = mode
        torch.backends.cudnn.rnn.fp32_precision = mode  # type: ignore[attr-defined]
    else:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32


def device_label(device: torch.device) -> str:
    """metrics.json's device: cpu, or e.g. "cuda:0 (NVIDIA H100 80GB HBM3, TF32 off)" (resolve_device set
    it so)."""
    if device.type != "cuda":
        return str(device)
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)}, TF32 {'on' if CUDA_TF32 else 'off'})"


@dataclass(frozen=True)
class FitOptions:
    epochs: int
    batch_size: int
    lr: float
    patience: int
    clip: float
    seed: int
    epoch_windows: int = 0      # windows drawn per epoch, afresh each epoch; 0: all (DEFAULT_EPOCH_WINDOWS)


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)   # per epoch, normalized-scale MSE
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0                                      # 1-based
    stopped_early: bool = False
    seconds: float = 0.0                                     # wall
    cpu_seconds: float = 0.0                                 # this process's CPU time while fitting

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


class Stopper:
    """Early stopping that keeps the best weights: `epoch()` after every epoch (True: stop now), then
    `finish()` restores the best weights and returns the History. Shared by fit and fit_stateful."""

    def __init__(self, model: Forecaster, epochs: int, patience: int,
                 on_epoch: Callable[[Epoch], None] | None, start_loss: float = math.inf) -> None:
        """`start_loss`: the validation loss of the weights the model starts from, when they are a
        candidate too (a warm start): kept, as epoch 0, unless an epoch does better."""
        self.model, self.epochs, self.patience, self.on_epoch = model, epochs, patience, on_epoch
        self.hist = History()
        self.best, self.best_state, self.waited = start_loss, copy.deepcopy(model.state_dict()), 0
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def epoch(self, epoch: int, train_loss: float, val_loss: float) -> bool:
        h = self.hist
        h.train_loss.append(train_loss)
        h.val_loss.append(val_loss)
        if val_loss < self.best:
            self.best, self.best_state, self.waited = val_loss, copy.deepcopy(self.model.state_dict()), 0
            h.best_epoch = epoch
        else:
            self.waited += 1
        if self.on_epoch is not None:
            self.on_epoch(Epoch(self.model.config.kind, epoch, self.epochs, train_loss, val_loss,
                                time.perf_counter() - self.t0))
        if not math.isfinite(train_loss) or self.waited >= self.patience:
            h.stopped_early = epoch < self.epochs
            return True
        return False

    def finish(self) -> History:
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        self.hist.seconds = time.perf_counter() - self.t0
        self.hist.cpu_seconds = time.process_time() - self.c0
        return self.hist


def one_cycle_lr(max_lr: float, progress: float) -> float:
    """PyTorch's OneCycleLR (defaults, pct_start 0.15) as a function of training progress in [0, 1]: cosine
    up from max_lr / 25 over the first 15%, then cosine down to max_lr / 2.5e5. For loops whose number of
    steps is not known in advance (fit_stateful: the stretches are cut anew every epoch)."""
    start, end = max_lr / 25, max_lr / 25 / 1e4
    if progress < 0.15:
        return start + (max_lr - start) * (1 - math.cos(math.pi * progress / 0.15)) / 2
    p = min(1.0, (progress - 0.15) / 0.85)
    return end + (max_lr - end) * (1 + math.cos(math.pi * p)) / 2


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


@torch.no_grad()
def mse_normalized(model: Forecaster, z: torch.Tensor, y: torch.Tensor, chunk: int = 4096) -> float:
    """Mean squared error of forward_normalized over (z, y) in chunks, as a float."""
    total = torch.zeros((), device=z.device)
    for i in range(0, len(z), chunk):
        total += ((model.forward_normalized(z[i:i + chunk]) - y[i:i + chunk]) ** 2).sum()
    return (total / max(y.numel(), 1)).item()


def fit(model: Forecaster, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
        opt: FitOptions, on_epoch: Callable[[Epoch], None] | None = None) -> History:
    """Train `model` in place on normalized (z [N, T, F], y [N, H]) tensors already on its device."""
    z, y = train
    zv, yv = val if len(val[0]) else train   # no validation split: stop on the training loss
    n = len(z)
    per = min(n, opt.epoch_windows) if opt.epoch_windows else n   # the first `per` of each epoch's shuffle
    steps = math.ceil(per / opt.batch_size)
    seed_everything(opt.seed)
    gen = torch.Generator().manual_seed(opt.seed)
    optim = torch.optim.Adam(model.parameters(), lr=opt.lr)
    # One cycle: warm up for 15% of the steps, then cosine down to lr/1e4 for the precise last digits.
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=opt.lr, total_steps=opt.epochs * steps,
                                                pct_start=0.15)
    stop = Stopper(model, opt.epochs, opt.patience, on_epoch)
    for epoch in range(1, opt.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)[:per].to(z.device)
        total = torch.zeros((), device=z.device)
        for i in range(0, per, opt.batch_size):
            idx = perm[i:i + opt.batch_size]
            pred = model.forward_normalized(z[idx])                # (B, H)
            loss = nn.functional.mse_loss(pred, y[idx])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), opt.clip)
            optim.step()
            sched.step()
            total += loss.detach() * len(idx)                      # no sync with the device per batch
        model.eval()
        if stop.epoch(epoch, total.item() / per, mse_normalized(model, zv, yv)):
            break
    return stop.finish()
