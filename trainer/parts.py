"""A model's training, part by part: a windowed model, or a stateful model's warm or scratch start
(PARTS), trained and scored in the process that calls fit_part (a worker's, when models train in parallel),
then `combine`d into the model run.py writes.

    from seqinfer.trainer.parts import combine, fit_part, parts_of, start_of
    fitted = [fit_part("gru-stateful", p, ds, data, train, base) for p in parts_of("gru-stateful", train, 80)]
    model = combine(fitted, ds, data, start_of("gru-stateful", train, 80))       # the Fitted model kept
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from .baselines import Origins, origins, scores
from .config import DataConfig, TrainConfig, split_name
from .data import Dataset, Windows, io_dtype
from .evaluate import Scores, evaluate
from .fit import FitOptions, History, device_label, fit, resolve_device, seed_everything
from .model import Forecaster, ModelConfig
from .progress import Epoch
from .scaling import fit_scaling
from .significance import diebold_mariano, verdict
from .stateful import StatefulForecaster, StatefulOptions, fit_stateful, forecast_all


@torch.no_grad()
def _tensors(model: Forecaster, w: Windows, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw windows -> the network's inputs and targets (the model's own transform, in float64), on the
    device, made once per model."""
    x, y = (torch.from_numpy(np.asarray(a, np.float64)).to(device) for a in (w.x, w.y))   # as the model
    z, level, scale = model.encode(x)                                                    # (N, T, F)
    return z.float(), model.target(y, level, scale).float()                             # (N, H)


def _windowed_start(mcfg: ModelConfig, ds: Dataset, data: DataConfig, train: TrainConfig,
                    device: torch.device, on_epoch: Callable[[Epoch], None] | None
                    ) -> dict[str, torch.Tensor]:
    """A stateful model's warm start: the windowed model of its kind and size, trained as `seqinfer train`
    trains it (the kind's windowed defaults, the user's options), its weights. A run that trains that
    windowed model too passes its weights instead (_twin_start): the same seed, data and options give the
    same weights bit for bit (checked on linear_trend: gru and gru-stateful's kept start, equal tensors)."""
    seed_everything(train.seed)
    model = Forecaster(replace(mcfg, stateful=False))
    fit_scaling(model, ds)
    model.to(device)
    _fit_windowed(model, ds, train.resolved(mcfg.kind, data.window, stateful=False), train.seed, device,
                  on_epoch)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fit_windowed(model: Forecaster, ds: Dataset, r: dict[str, Any], seed: int, device: torch.device,
                  on_epoch: Callable[[Epoch], None] | None) -> History:
    """Train a windowed model on the dataset's windows with the resolved options `r`."""
    tr, va = _tensors(model, ds.windows["train"], device), _tensors(model, ds.windows["val"], device)
    return fit(model, tr, va, FitOptions(epochs=r["epochs"], batch_size=r["batch_size"], lr=r["lr"],
                                         patience=r["patience"], clip=r["clip"], seed=seed,
                                         epoch_windows=r["epoch_windows"]), on_epoch)


def _fit_stateful(model: StatefulForecaster, ds: Dataset, data: DataConfig, r: dict[str, Any], seed: int,
                  dtype: type, base: dict[str, Any], on_epoch: Callable[[Epoch], None] | None,
                  start: dict[str, torch.Tensor] | None = None
                  ) -> tuple[History, Scores, dict[str, np.ndarray], dict[str, Any] | None]:
    """Train a stateful model (from `start`, a warm start, when given: see _start_or_better), chosen on
    `selection` (every step of the validation part); score it on the windowed models' very forecast origins
    (each series run from its start, the state carried), so the comparison table compares like with like.
    preds: the forecasts by split, and on the selection origins ("select")."""
    where = origins(ds, data)
    split, chosen, truth = selection(ds, data)
    whole = [v.reshape(len(v), -1) for v in ds.series.values]

    starts = np.cumsum([0] + [len(v) for v in whole])[:-1]              # each series' first row, flat

    def predictions(at: dict[str, Origins]) -> dict[str, np.ndarray]:
        every = np.concatenate(forecast_all(model, whole, dtype)).reshape(-1, data.horizon)   # (rows, H)
        return {s: every[starts[o.series] + o.t] for s, o in at.items()}

    def select_pred() -> np.ndarray:
        return predictions({split: chosen})[split]

    def val_loss() -> float:
        return float(np.mean((select_pred() - truth) ** 2) / ds.std[0] ** 2)

    opts = StatefulOptions(epochs=r["epochs"], batch_size=r["batch_size"], lr=r["lr"], patience=r["patience"],
                           clip=r["clip"], seed=seed, stretch=r["stretch"], tbptt=r["tbptt"],
                           warmup=r["warmup"], epoch_steps=r["epoch_windows"])
    hist = fit_stateful(model, [p for p in ds.segments["train"]], val_loss, opts, on_epoch, start)
    check = None
    if start is not None and hist.best_epoch > 0:
        check = _start_or_better(model, start, select_pred, truth, r["prefer"]) | {"split": split}
        hist.best_epoch = hist.best_epoch if check["fine_tuned"] else 0
    preds = predictions(where | {"select": chosen})
    ours = {s: scores(preds[s], ds.windows[s].y, base["mase_scale"]) for s in where}
    return hist, ours, preds, check


def selection(ds: Dataset, data: DataConfig) -> tuple[str, Origins, np.ndarray]:
    """Where a stateful model is chosen (its best epoch, its start): (split, origins, truth [N, horizon]).

    Every step of the validation part whose next `horizon` values lie in it, from the training part's last
    value on: a stateful model carries each series from its start, so it needs no window of history inside
    the part, and the windowed origins left it few to choose by (sunspots, 31 validation years: 9 windowed
    origins against 31 here; 3 sensors of 500 hourly rows with window 48: 6 against 150). Without a
    validation part: the training windows' origins, as the windowed models stop on."""
    horizon = data.horizon
    if not len(ds.windows["val"]):
        return "train", origins(ds, data)["train"], ds.windows["train"].y
    ends = [(len(a) - 1, max(0, len(p) - horizon + 1))                   # (first origin, count) per series
            for a, p in zip(ds.segments["train"], ds.segments["val"], strict=True)]
    o = Origins(np.concatenate([np.full(n, k, np.int64) for k, (_, n) in enumerate(ends)]),
                np.concatenate([np.arange(t0, t0 + n, dtype=np.int64) for t0, n in ends]))
    if ds.series.missing is not None and len(o.t):     # a target --fill made up is not scored (data.build)
        flat = np.concatenate(ds.series.missing)       # every series' mask, end to end
        start = np.cumsum([0] + [len(m) for m in ds.series.missing])[:-1]
        ok = ~flat[(start[o.series] + o.t)[:, None] + np.arange(1, horizon + 1)].any(axis=1)
        o = Origins(o.series[ok], o.t[ok])
    target = [v.reshape(len(v), -1)[:, 0].astype(np.float64) for v in ds.series.values]
    truth = np.stack([target[k][t + 1:t + 1 + horizon] for k, t in zip(o.series, o.t, strict=True)]) \
        if len(o.t) else np.zeros((0, horizon))
    return "val", o, truth


@dataclass
class Fitted:
    """One model, or one part of a stateful one, trained and scored, its artifacts not yet written: what
    fit_part returns (from a worker process too) and write_model turns into files."""

    name: str                            # gru, gru-stateful
    part: str                            # "" (windowed), or a stateful model's start: warm, scratch (PARTS)
    config: ModelConfig
    weights: dict[str, torch.Tensor]     # on the CPU
    hist: History
    scores: Scores
    preds: dict[str, np.ndarray]         # forecasts [N, H] by split (a windowed model's: test only)
    check: dict[str, Any] | None         # stateful: how its start was chosen (metrics.json start_check)
    device: str
    threads: int


# The parts a stateful model trains, by its start. Why best for the LSTM and GRU: either start alone was
# worse than the windowed twin on some series (trainer/config.py, STATEFUL_DEFAULTS). Its two parts train
# side by side when there are cores for both (run.py, _train_parallel), and combine keeps one.
PARTS = {"warm": ("warm",), "scratch": ("scratch",), "best": ("warm", "scratch")}


def start_of(name: str, train: TrainConfig, window: int) -> str:
    """A stateful model's start (TrainConfig.start, or its kind's default); "" for a windowed one."""
    kind, stateful = split_name(name)
    return train.resolved(kind, window, True)["start"] if stateful else ""


def parts_of(name: str, train: TrainConfig, window: int) -> tuple[str, ...]:
    start = start_of(name, train, window)
    return PARTS[start] if start else ("",)


def progress_label(name: str, part: str, train: TrainConfig, window: int) -> str:
    """The name a part's progress goes under: gru-stateful, and gru-stateful/scratch for a best start's
    second part."""
    return f"{name}/{part}" if len(parts_of(name, train, window)) > 1 and part == "scratch" else name


def fit_part(name: str, part: str, ds: Dataset, data: DataConfig, train: TrainConfig, base: dict[str, Any],
             on_epoch: Callable[[Epoch], None] | None = None, twin: Fitted | None = None) -> Fitted:
    """Train one part of model `name` (parts_of) and score it.

    "": a windowed model. warm: a stateful model from its windowed twin's weights (`twin` when it is that
    very model, _twin_start; else trained here, _windowed_start), fine-tuned at r["tune"] x the peak rate,
    the start or the fine-tuned weights kept as r["prefer"] says (_start_or_better). scratch: from the
    random weights seeded by train.seed.
    Its seconds count all the training it took (a reused twin's included)."""
    t0, c0 = time.perf_counter(), time.process_time()
    kind, stateful = split_name(name)
    r = train.resolved(kind, data.window, stateful)
    device = resolve_device(train.device)
    label = progress_label(name, part, train, data.window)
    if on_epoch is not None and label != kind:
        report, on_epoch = on_epoch, lambda e: report(replace(e, kind=label))
    features = ds.windows["train"].x.shape[2]       # the target, then the covariates (--value-col a,b)
    mcfg = ModelConfig(kind=kind, features=features, hidden=r["hidden"], layers=r["layers"],
                       dropout=r["dropout"], horizon=data.horizon, scaling=r["scaling"],
                       stateful=stateful)
    seed_everything(train.seed)
    model: Forecaster = StatefulForecaster(mcfg) if stateful else Forecaster(mcfg)
    fit_scaling(model, ds)
    model.to(device)
    dtype = np.dtype(io_dtype(ds)).type                # as the exported model will take the values
    check, before = None, (0.0, 0.0)
    if not isinstance(model, StatefulForecaster):
        hist = _fit_windowed(model, ds, r, train.seed, device, on_epoch)
        ours, test_pred = evaluate(model, ds.windows, device, dtype, base["mase_scale"])
        preds = {"test": test_pred}
    elif part == "scratch":
        hist, ours, preds, _ = _fit_stateful(model, ds, data, r, train.seed, dtype, base, on_epoch)
    else:
        reused = _twin_start(mcfg, twin)
        if reused is not None and twin is not None:
            before = (twin.hist.seconds, twin.hist.cpu_seconds)
        start = reused if reused is not None else _windowed_start(mcfg, ds, data, train, device, on_epoch)
        hist, ours, preds, tuned = _fit_stateful(model, ds, data, r | {"lr": r["lr"] * r["tune"]},
                                                 train.seed, dtype, base, on_epoch, start)
        check = {"fine_tune": tuned,
                 "windowed_start": "the run's windowed model" if reused is not None else "trained here"}
    hist.seconds = time.perf_counter() - t0 + before[0]
    hist.cpu_seconds = time.process_time() - c0 + before[1]
    return Fitted(name, part, mcfg, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
                  hist, ours, preds, check, device_label(device), torch.get_num_threads())


def combine(parts: Sequence[Fitted], ds: Dataset, data: DataConfig, start: str) -> Fitted:
    """A model from its parts: a windowed model's one; a stateful model's start check, and for best the
    scratch model kept only if its validation errors are lower than the warm one's beyond noise
    (Diebold-Mariano, as _start_or_better): a plain lower validation MSE picked the model trained from
    scratch on nile and random_walk, whose best epoch of 300 flatters it on 10-60 validation windows, where
    it then scored 2.5x and 1.5x the windowed twin's test MSE. Its seconds: all its parts'."""
    by = {p.part: p for p in parts}
    if "" in by:
        return by[""]
    split, _, truth = selection(ds, data)
    check: dict[str, Any] = {"start": start, "split": split}
    if "warm" in by:
        check |= by["warm"].check or {}
    kept = by.get("warm") or by["scratch"]
    if "warm" in by and "scratch" in by:
        dm = diebold_mariano(by["scratch"].preds["select"], by["warm"].preds["select"], truth)
        check["scratch"] = dm | {"kept": verdict(dm) == "better"}
        kept = by["scratch"] if check["scratch"]["kept"] else by["warm"]
    hist = replace(kept.hist, seconds=sum(p.hist.seconds for p in parts),
                   cpu_seconds=sum(p.hist.cpu_seconds for p in parts))
    return replace(kept, check=check, hist=hist)


def _twin_start(mcfg: ModelConfig, twin: Fitted | None) -> dict[str, torch.Tensor] | None:
    """The windowed twin's weights when it is the very model _windowed_start would train (same kind, size
    and transform: its model config but for `stateful`), else None. The rest (data, seed, options) is the
    run's own, shared by both."""
    if twin is None or twin.config != replace(mcfg, stateful=False):
        return None
    return twin.weights


def _start_or_better(model: StatefulForecaster, start: dict[str, torch.Tensor],
                     val_pred: Callable[[], np.ndarray], truth: np.ndarray, prefer: str = "start"
                     ) -> dict[str, Any]:
    """Between the warm start and the fine-tuned weights (the best validation epoch, held by `model`),
    keep the one `prefer` names unless the other's validation errors are lower beyond the validation set's
    noise (Diebold-Mariano at LEVEL): a lower validation MSE alone picked noise.

    Why "start" for the plain RNN: `seqinfer train ... --model rnn --stateful both --seed 1` on linear_trend
    (36 validation windows) left the start at epoch 109 for a test MSE 1.50x the windowed twin's, DM p
    0.004 worse; the start itself scores as its windowed twin does. Why "tuned" for the LSTM and GRU: run
    with its state carried, their windowed start was worse than their windowed twin beyond noise on up to 5
    of 12 series a seed, and fine-tuning seldom cleared the noise of 10-60 validation windows to replace it
    (trainer/config.py, STATEFUL_DEFAULTS)."""
    tuned = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ours = val_pred()
    model.load_state_dict(start)
    dm = diebold_mariano(ours, val_pred(), truth)            # fine-tuned against the start
    fine_tuned = verdict(dm) == "better" if prefer == "start" else verdict(dm) != "worse"
    if fine_tuned:
        model.load_state_dict(tuned)
    model.eval()
    return {"fine_tuned": fine_tuned, "prefer": prefer, **dm}
