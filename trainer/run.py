"""Train one or more kinds and write every artifact: the library behind `seqinfer train` (and `make train`).

    from seqinfer.trainer.config import DataConfig, TrainConfig
    from seqinfer.trainer.run import train_all
    report = train_all(("rnn", "lstm", "gru"), DataConfig(), TrainConfig(), "artifacts")
    print(report.table)
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqinfer.infer.contract import CHECKPOINT_FILE

from .baselines import baselines, origins, scores
from .checkpoint import save_checkpoint
from .config import KINDS, DataConfig, TrainConfig, run_names, split_name
from .data import Dataset, Windows, build, checkpoint_data, io_dtype, load_series
from .evaluate import Scores, evaluate, rollout
from .fit import FitOptions, History, fit, resolve_device, seed_everything
from .model import Forecaster, ModelConfig
from .plots import comparison_plot, forecast_plot, loss_plot
from .progress import Epoch, Progress
from .scaling import fit_scaling
from .significance import COMPARISON_JSON, LEVEL, comparisons, diebold_mariano, section, verdict
from .stateful import StatefulForecaster, StatefulOptions, fit_stateful, forecast_series, rollout_stateful

METRICS_FILE = "metrics.json"
ROLLOUT_STEPS = 100
# Relative cost of training on CPU, a windowed model and one part of a stateful one (PARTS), by kind: to
# start the longest chain of work first when models train in parallel (_train_parallel). Seconds measured on
# the built-in sine, 2-core CI box (`seqinfer train --model all --stateful both`).
_COST = {("gru", False): 18, ("gru", True): 60, ("lstm", False): 13, ("lstm", True): 20,
         ("rnn", False): 12, ("rnn", True): 15}


@dataclass(frozen=True)
class Report:
    results: list[dict[str, Any]]    # one metrics.json dict per kind, in the order asked for
    table: str                       # comparison.md's text
    seconds: float                   # wall time of the whole run


def versions() -> dict[str, str]:
    try:
        ours = metadata.version("seqinfer")
    except metadata.PackageNotFoundError:
        ours = "unknown"
    return {"seqinfer": ours, "torch": str(torch.__version__), "numpy": str(np.__version__),
            "python": platform.python_version()}


@torch.no_grad()
def _tensors(model: Forecaster, w: Windows, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw windows -> the network's inputs and targets (the model's own transform, in float64), on the
    device, made once per model."""
    z, level, scale = model.encode(torch.from_numpy(np.asarray(w.x, np.float64)))     # (N, T, F)
    t = model.target(torch.from_numpy(np.asarray(w.y, np.float64)), level, scale)     # (N, H)
    return z.float().to(device), t.float().to(device)


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
                                         patience=r["patience"], clip=r["clip"], seed=seed), on_epoch)


def _fit_stateful(model: StatefulForecaster, ds: Dataset, data: DataConfig, r: dict[str, Any], seed: int,
                  dtype: type, base: dict[str, Any], on_epoch: Callable[[Epoch], None] | None,
                  start: dict[str, torch.Tensor] | None = None
                  ) -> tuple[History, Scores, dict[str, np.ndarray], dict[str, Any] | None]:
    """Train a stateful model (from `start`, a warm start, when given: see _start_or_better); score it on
    the windowed models' very forecast origins (each series run from its start, the state carried), so the
    comparison table compares like with like."""
    where = origins(ds, data)
    whole = [v.reshape(len(v), -1) for v in ds.series.values]

    def predictions() -> dict[str, np.ndarray]:
        every = [forecast_series(model, v, dtype) for v in whole]           # (n, H) per series
        return {s: np.array([every[k][t] for k, t in zip(o.series, o.t, strict=True)]).reshape(
            len(o.t), data.horizon) for s, o in where.items()}

    split = _val_split(ds)

    def val_loss() -> float:
        p, w = predictions()[split], ds.windows[split]
        return float(np.mean((p - w.y) ** 2) / ds.std[0] ** 2)

    opts = StatefulOptions(epochs=r["epochs"], batch_size=r["batch_size"], lr=r["lr"], patience=r["patience"],
                           clip=r["clip"], seed=seed, stretch=r["stretch"], tbptt=r["tbptt"],
                           warmup=r["warmup"])
    hist = fit_stateful(model, [p for p in ds.segments["train"]], val_loss, opts, on_epoch, start)
    check = None
    if start is not None and hist.best_epoch > 0:
        check = _start_or_better(model, start, lambda: predictions()[split], ds.windows[split].y,
                                 r["prefer"]) | {"split": split}
        hist.best_epoch = hist.best_epoch if check["fine_tuned"] else 0
    preds = predictions()
    ours = {s: scores(preds[s], ds.windows[s].y, base["mase_scale"]) for s in preds}
    return hist, ours, preds, check


def _val_split(ds: Dataset) -> str:
    """The split a stateful model is chosen on: validation, or without one the training part, as fit."""
    return "val" if len(ds.windows["val"]) else "train"


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
# side by side when there are cores for both (_train_parallel), and _combine keeps one.
PARTS = {"warm": ("warm",), "scratch": ("scratch",), "best": ("warm", "scratch")}


def _start_of(name: str, train: TrainConfig, window: int) -> str:
    """A stateful model's start (TrainConfig.start, or its kind's default); "" for a windowed one."""
    kind, stateful = split_name(name)
    return train.resolved(kind, window, True)["start"] if stateful else ""


def parts_of(name: str, train: TrainConfig, window: int) -> tuple[str, ...]:
    start = _start_of(name, train, window)
    return PARTS[start] if start else ("",)


def _label(name: str, part: str, train: TrainConfig, window: int) -> str:
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
    label = _label(name, part, train, data.window)
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
                  hist, ours, preds, check, str(device), torch.get_num_threads())


def _combine(parts: Sequence[Fitted], ds: Dataset, start: str) -> Fitted:
    """A model from its parts: a windowed model's one; a stateful model's start check, and for best the
    scratch model kept only if its validation errors are lower than the warm one's beyond noise
    (Diebold-Mariano, as _start_or_better): a plain lower validation MSE picked the model trained from
    scratch on nile and random_walk, whose best epoch of 300 flatters it on 10-60 validation windows, where
    it then scored 2.5x and 1.5x the windowed twin's test MSE. Its seconds: all its parts'."""
    by = {p.part: p for p in parts}
    if "" in by:
        return by[""]
    split = _val_split(ds)
    check: dict[str, Any] = {"start": start, "split": split}
    if "warm" in by:
        check |= by["warm"].check or {}
    kept = by.get("warm") or by["scratch"]
    if "warm" in by and "scratch" in by:
        dm = diebold_mariano(by["scratch"].preds[split], by["warm"].preds[split], ds.windows[split].y)
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


def write_model(f: Fitted, ds: Dataset, data: DataConfig, train: TrainConfig, out: str | Path,
                base: dict[str, Any]) -> dict[str, Any]:
    """Write out/<name>/{checkpoint.pt, metrics.json, *.png} for a trained model; return metrics.json's
    dict."""
    t0 = time.perf_counter()
    kind, stateful = split_name(f.name)
    r = train.resolved(kind, data.window, stateful)
    device = resolve_device(train.device)
    folder = Path(out) / f.name
    folder.mkdir(parents=True, exist_ok=True)
    model: Forecaster = StatefulForecaster(f.config) if stateful else Forecaster(f.config)
    model.load_state_dict(f.weights)
    model.to(device).eval()
    cdata = checkpoint_data(ds, data, f.config.to_dict())
    dtype = np.dtype(cdata["io_dtype"]).type
    if stateful:
        cdata["warmup"] = r["warmup"]
    ours, hist, test_pred = f.scores, f.hist, f.preds["test"]
    piece = next((p for p in ds.segments["test"] if len(p) > data.window), ds.segments["test"][0])
    # A rollout feeds forecasts back as inputs: only a model without covariates can (their future is unknown).
    steps = min(ROLLOUT_STEPS, len(piece) - data.window) if f.config.features == 1 else 0
    if isinstance(model, StatefulForecaster):
        roll = rollout_stateful(model, piece[:data.window], steps, dtype)
    else:
        roll = rollout(model, piece[:data.window], steps, device, dtype)
    result = {
        "kind": kind,
        "name": f.name,
        "metrics": ours,
        "baseline": base["naive"],                    # the last value: the bar every model must clear
        "baselines": base,                            # naive, seasonal naive, ETS; the season; MASE's scale
        "beats_naive": ours["val"]["mse"] < base["naive"]["val"]["mse"] if data.val_frac > 0 else
        ours["test"]["mse"] < base["naive"]["test"]["mse"],
        "epochs": hist.epochs,
        "best_epoch": hist.best_epoch,
        "stopped_early": hist.stopped_early,
        "start_check": f.check,                       # stateful: which start was kept, and why (DM on val)
        "train_seconds": round(hist.seconds, 3),      # all its training (a best start's parts summed)
        "train_cpu_seconds": round(hist.cpu_seconds, 3),
        "wall_seconds": 0.0,
        "device": f.device,
        "threads": f.threads,
        "seed": train.seed,
        "rollout_mse": float(np.mean((roll - piece[data.window:data.window + steps, 0]) ** 2))
        if steps else None,
        "model_config": f.config.to_dict(),
        "train_config": r,
        "data": cdata,
        "versions": versions(),
        "loss_history": {"train": hist.train_loss, "val": hist.val_loss},
    }
    save_checkpoint(folder / CHECKPOINT_FILE, model, data=cdata,
                    train={k: result[k] for k in ("epochs", "best_epoch", "stopped_early", "train_seconds",
                                                  "device", "seed", "versions")}
                    | {"config": r, "test_mse": ours["test"]["mse"]})
    loss_plot(folder / "loss.png", kind, hist.train_loss, hist.val_loss, hist.best_epoch)
    test = ds.windows["test"]
    forecast_plot(folder / "forecast.png", kind, test.y[:, 0], test_pred[:, 0], piece[:data.window, 0], roll,
                  piece[data.window:data.window + steps, 0], ours["test"]["mse"])
    result["wall_seconds"] = round(hist.seconds + time.perf_counter() - t0, 3)
    (folder / METRICS_FILE).write_text(json.dumps(result, indent=2) + "\n")
    return result


def train_one(name: str, ds: Dataset, data: DataConfig, train: TrainConfig, out: str | Path,
              on_epoch: Callable[[Epoch], None] | None = None, base: dict[str, Any] | None = None,
              twin: Fitted | None = None) -> tuple[dict[str, Any], Fitted]:
    """Fit one model (a kind, or its stateful twin: gru-stateful), its parts one after the other, and write
    its artifacts (write_model); return metrics.json's dict and the model. `base`: baselines.baselines(ds,
    data), computed once per run (computed here when not given). `twin`: a stateful model's windowed twin,
    trained earlier in this run, for the warm start."""
    base = base if base is not None else baselines(ds, data, data.season)
    parts = [fit_part(name, p, ds, data, train, base, on_epoch, twin)
             for p in parts_of(name, train, data.window)]
    f = _combine(parts, ds, _start_of(name, train, data.window))
    return write_model(f, ds, data, train, out, base), f


def _summary(res: dict[str, Any]) -> str:
    m = res["metrics"]["test"]
    stop = ", stopped early" if res["stopped_early"] else ""
    check = res.get("start_check") or {}
    scratch, tune, split = check.get("scratch"), check.get("fine_tune"), check.get("split")
    if scratch is not None and scratch["kept"]:
        stop += (f"; trained from scratch: better on {split} than from its warm start beyond noise "
                 f"(p {scratch['p']:.2g})")
    elif check.get("start") in ("warm", "best") and res["best_epoch"] == 0:
        why = "no epoch scored lower"
        if tune and tune.get("prefer") == "tuned":
            why = f"it was better on {split} than fine-tuned beyond noise (p {tune['p']:.2g})"
        elif tune:
            why = f"fine-tuning was not better on {split} beyond noise (p {tune['p']:.2g})"
        stop += "; kept its warm start: " + why
    if scratch is not None and not scratch["kept"]:
        stop += f"; training from scratch was not better on {split} beyond noise (p {scratch['p']:.2g})"
    return (f"done: test MSE {m['mse']:.3e} (naive {res['baseline']['test']['mse']:.3e}), "
            f"{res['epochs']} epochs (best {res['best_epoch']}{stop}), {res['train_seconds']:.1f}s "
            f"on {res['device']}")


# --- kinds in parallel: one process per kind, each on its own share of the cores ------------------------
_events: Any = None


def _init_worker(events: Any, threads: int) -> None:
    global _events
    _events = events
    torch.set_num_threads(threads)


def _worker(name: str, part: str, ds: Dataset, data: DataConfig, train: TrainConfig, base: dict[str, Any],
            twin: Fitted | None) -> Fitted:
    return fit_part(name, part, ds, data, train, base, on_epoch=_events.put, twin=twin)


def _twin_of(name: str, part: str, names: Sequence[str]) -> str | None:
    """The windowed model in this run whose weights a stateful model's warm part starts from, else None:
    that part waits for its twin instead of training the same windowed model again."""
    kind, stateful = split_name(name)
    return kind if stateful and part == "warm" and kind in names else None


def _plan(tasks: int, train: TrainConfig, device: torch.device) -> int:
    """How many of `tasks` (models' parts) train at once: one process per core on CPU, one at a time on a
    GPU.

    Each process keeps train.threads (default 1) torch threads. These models are small: a step is ~80 tiny
    matmuls, bound by per-op overhead, so intra-op threads only add synchronization. Measured on the 2-core
    CI box, 2 threads made a GRU step 3-7x slower than 1 thread, and far worse when other work shares the
    cores; two kinds in two 1-thread processes use both cores instead.
    """
    if train.jobs is not None:
        return min(train.jobs, tasks)
    return min(tasks, os.cpu_count() or 1) if device.type == "cpu" else 1


def _train_parallel(kinds: Sequence[str], ds: Dataset, data: DataConfig, train: TrainConfig, out: Path,
                    jobs: int, threads: int, progress: Progress, base: dict[str, Any]
                    ) -> dict[str, tuple[dict[str, Any], Fitted]]:
    """Train every part of `kinds` (parts_of) in `jobs` processes, at most `jobs` submitted at once, the
    longest chain of work first (a warm part waits for its windowed twin: _twin_of). A model's artifacts
    are written here once its parts are in. Measured on the 2-core CI box, built-in sine, against one job
    per model (each stateful model training its windowed start and both parts itself): `--model gru
    --stateful yes` 162 s -> 91 s; `--model all --stateful both` 145 s, 146 s -> 147 s, 158 s, where the
    GRU's chain (windowed, then fine-tuned) sets the time and two runs differ more than the two codes."""
    ctx = mp.get_context("spawn")   # fork after torch has started its thread pools is not safe
    events = ctx.Queue()
    tasks = [(k, p) for k in kinds for p in parts_of(k, train, data.window)]
    waits = {t: _twin_of(*t, kinds) for t in tasks}

    def chain(t: tuple[str, str]) -> float:                 # its cost and its waiting parts'
        own = _COST.get(split_name(t[0]), 1)
        return own + sum(chain(u) for u in tasks if waits[u] == t[0] and not t[1])

    todo = sorted(tasks, key=chain, reverse=True)
    parts: dict[str, list[Fitted]] = {k: [] for k in kinds}
    done: dict[str, tuple[dict[str, Any], Fitted]] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(events, threads)) as pool:
        futures: dict[Future[Fitted], str] = {}
        while todo or futures:
            for t in [t for t in todo if waits[t] is None or waits[t] in done][:jobs - len(futures)]:
                todo.remove(t)
                twin = done[waits[t] or ""][1] if waits[t] else None
                futures[pool.submit(_worker, *t, ds, data, train, base, twin)] = t[0]
            try:
                progress.update(events.get(timeout=0.1))
            except queue.Empty:
                pass
            for f in [f for f in futures if f.done()]:
                name = futures.pop(f)
                parts[name].append(f.result())     # re-raises a worker's error here
                if len(parts[name]) < len(parts_of(name, train, data.window)):
                    continue
                while not events.empty():
                    progress.update(events.get())
                fitted = _combine(parts[name], ds, _start_of(name, train, data.window))
                done[name] = write_model(fitted, ds, data, train, out, base), fitted
                progress.finish(name, _summary(done[name][0]))
    return done


def comparison_table(results: Sequence[dict[str, Any]], seconds: float,
                     tests: Sequence[dict[str, Any]] = ()) -> str:
    """comparison.md: every model beside the baselines on the same windows, a plain word on each, and
    `tests` (significance.comparisons) when given."""
    r0 = results[0]
    d, b = r0["data"], r0["baselines"]
    naive_test = b["naive"]["test"]["mse"]
    lines = [
        f"# Comparison: {d['source']} ({d['column']}), window {d['window']}, horizon {d['horizon']}, "
        f"windows train/val/test {d['windows']['train']}/{d['windows']['val']}/{d['windows']['test']}",
        "",
        "| model | test MSE | test MAE | test MASE | MSE / naive | val MSE | epochs (best) | train s "
        "| device |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t, mark = r["metrics"]["test"], "" if r["beats_naive"] else " ⚠ loses to naive"
        lines.append(f"| {r['name']} ({r['model_config']['scaling']}){mark} | {t['mse']:.3e} | "
                     f"{t['mae']:.3e} | {t['mase']:.3f} | {_over(t['mse'], naive_test)} | "
                     f"{r['metrics']['val']['mse']:.3e} | {r['epochs']} ({r['best_epoch']}) | "
                     f"{r['train_seconds']:.1f} | {r['device']} |")
    names = {"naive": "naive (last value)", "seasonal_naive": f"seasonal naive (season {b['season']})",
             "ets": "ETS (damped trend" + (f", season {b['season']})" if b["season"] else ")")}
    nan = float("nan")                           # a split with no windows (--val-frac 0) has no score
    for key, label in names.items():
        if key in b:
            t = b[key]["test"]
            val = b[key].get("val", {"mse": nan})["mse"]
            lines.append(f"| {label} | {t['mse']:.3e} | {t['mae']:.3e} | {t['mase']:.3f} | "
                         f"{_over(t['mse'], naive_test)} | {val:.3e} | | | |")
    lines.append("")
    for r in results:
        t = r["metrics"]["test"]["mse"]
        if not r["beats_naive"]:
            lines.append(f"- **{r['name']} does not beat the naive forecast on validation**: do not deploy "
                         f"it as is.")
        if "ets" in b and b["ets"]["test"]["mse"] < t:
            ets = b["ets"]["test"]["mse"]
            lines.append(f"- ETS beats {r['name']} on test: MSE {ets:.3e} against {t:.3e}.")
    season = "detected" if d["config"].get("season") is None else "given"
    lines += [f"- Season: {b['season'] or 'none'} ({season}); MASE = MAE / the training part's one-step "
              f"naive MAE ({b['mase_scale']:.4g})."]
    if tests:
        lines += section(tests)
    lines += ["", f"Run wall time: {seconds:.1f} s (seed {r0['seed']}; errors on the original scale)."]
    return "\n".join(lines) + "\n"


def _over(mse: float, naive: float) -> str:
    """MSE / naive's, or "-" where naive is exact (a series that does not change): no ratio to give."""
    return f"{mse / naive:.3f}" if naive > 0 else "-"


def train_all(kinds: Sequence[str], data: DataConfig, train: TrainConfig, out: str | Path,
              progress: Progress | None = None) -> Report:
    """Train each kind, write out/<kind>/* and out/comparison.{md,png,json}; return the table and the
    results."""
    t0 = time.perf_counter()
    kinds = run_names(list(dict.fromkeys(kinds)), train.stateful)
    for k in kinds:
        train.resolved(*split_name(k)[:1])           # an unknown kind fails before any work
    device = resolve_device(train.device)            # so does cuda on a machine without it
    progress = progress or Progress(list(dict.fromkeys(_label(k, p, train, data.window) for k in kinds
                                                       for p in parts_of(k, train, data.window))))
    # And bad data, once, in this process. How the reader took the columns is said before a bad line can
    # fail the read; what it counted, before a split too short for the window fails.
    log = progress.log
    series = load_series(data, report=lambda note: log(f"{data.path}: {note}"))
    for note in series.notes:
        log(f"{series.source}: {note}")
    ds = build(data, series)
    for note in ds.notes:
        log(f"{series.source}: {note}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = baselines(ds, data, data.season)
    season = f"season {base['season']}" if base["season"] else "no season found"
    progress.log(f"baselines: naive, seasonal naive ({season}), ETS: {base['seconds']:.1f} s")
    jobs = _plan(sum(len(parts_of(k, train, data.window)) for k in kinds), train, device)
    threads = train.threads
    progress.log(f"training {', '.join(kinds)} on {device} ({jobs} at a time, {threads} thread(s) each); "
                 f"windows train/val/test {len(ds.windows['train'])}/{len(ds.windows['val'])}/"
                 f"{len(ds.windows['test'])}")
    if jobs > 1:
        by_kind = _train_parallel(kinds, ds, data, train, out, jobs, threads, progress, base)
    else:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            by_kind = {}
            for k in kinds:                          # run_names: a windowed model before its twin
                twin = by_kind[split_name(k)[0]][1] if _twin_of(k, "warm", kinds) else None
                by_kind[k] = train_one(k, ds, data, train, out, progress.update, base, twin)
                progress.finish(k, _summary(by_kind[k][0]))
        finally:
            torch.set_num_threads(before)
    forecasts = {k: by_kind[k][1].preds["test"] for k in kinds}
    results = [by_kind[k][0] for k in kinds]
    for r in results:
        if not r["beats_naive"]:
            progress.log(f"WARNING: {r['name']} does not beat the naive forecast on validation (MSE "
                         f"{r['metrics']['val']['mse']:.3e}, naive {base['naive']['val']['mse']:.3e}): "
                         f"do not deploy it as is")
    seconds = time.perf_counter() - t0
    test = ds.windows["test"]
    tests = comparisons(results, forecasts, test.y, np.repeat(test.x[:, -1, :1], data.horizon, axis=1))
    table = comparison_table(results, seconds, tests)
    (out / "comparison.md").write_text(table)
    (out / COMPARISON_JSON).write_text(json.dumps({"level": LEVEL, "tests": tests}, indent=2) + "\n")
    comparison_plot(out / "comparison.png", results)
    return Report(results=results, table=table, seconds=seconds)


__all__ = ["KINDS", "Report", "train_all", "train_one", "comparison_table"]
