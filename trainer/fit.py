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

from seqinfer.infer.errors import ConfigError

from .model import Forecaster
from .progress import Epoch


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when available, else cpu; an explicit cuda without CUDA is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name!r} asked for, but CUDA is not available here "
                              f"(torch {torch.__version__}); use --device cpu or auto")
        index = int(name[5:]) if name[5:] else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name!r} asked for, but only {torch.cuda.device_count()} "
                              "CUDA device(s) exist")
    return torch.device(name)


@dataclass(frozen=True)
class FitOptions:
    epochs: int
    batch_size: int
    lr: float
    patience: int
    clip: float
    seed: int


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
    steps = math.ceil(n / opt.batch_size)
    seed_everything(opt.seed)
    gen = torch.Generator().manual_seed(opt.seed)
    optim = torch.optim.Adam(model.parameters(), lr=opt.lr)
    # One cycle: warm up for 15% of the steps, then cosine down to lr/1e4 for the precise last digits.
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=opt.lr, total_steps=opt.epochs * steps,
                                                pct_start=0.15)
    hist = History()
    best, best_state, waited = math.inf, copy.deepcopy(model.state_dict()), 0
    t0, c0 = time.perf_counter(), time.process_time()
    for epoch in range(1, opt.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen).to(z.device)
        total = torch.zeros((), device=z.device)
        for i in range(0, n, opt.batch_size):
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
        hist.train_loss.append(total.item() / n)
        hist.val_loss.append(mse_normalized(model, zv, yv))
        if hist.val_loss[-1] < best:
            best, best_state, waited = hist.val_loss[-1], copy.deepcopy(model.state_dict()), 0
            hist.best_epoch = epoch
        else:
            waited += 1
        if on_epoch is not None:
            on_epoch(Epoch(model.config.kind, epoch, opt.epochs, hist.train_loss[-1], hist.val_loss[-1],
                           time.perf_counter() - t0))
        if not math.isfinite(hist.train_loss[-1]) or waited >= opt.patience:
            hist.stopped_early = epoch < opt.epochs
            break
    model.load_state_dict(best_state)
    model.eval()
    hist.seconds = time.perf_counter() - t0
    hist.cpu_seconds = time.process_time() - c0
    return hist
