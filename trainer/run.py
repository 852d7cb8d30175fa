"""Train one or more kinds and write every artifact: the library behind `seqinfer train` (and `make train`).

    from seqinfer.trainer.config import DataConfig, TrainConfig
    from seqinfer.trainer.run import train_all
    report = train_all(("rnn", "lstm", "gru"), DataConfig(), TrainConfig(), "artifacts")
    print(report.table)
"""
from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import platform
import queue
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqinfer.infer.contract import CHECKPOINT_FILE, strict_json

from .baselines import baselines, origins
from .checkpoint import save_checkpoint
from .config import KINDS, DataConfig, TrainConfig, run_names, split_name
from .data import Dataset, build, checkpoint_data, load_series
from .evaluate import rollout
from .fit import resolve_device
from .model import Forecaster
from .parts import Fitted, combine, fit_part, parts_of, progress_label, start_of
from .plots import comparison_plot, forecast_plot, loss_plot
from .progress import Epoch, Progress
from .significance import COMPARISON_JSON, LEVEL, comparisons, section
from .stateful import StatefulForecaster, rollout_stateful

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
    # The plots show one series (the first whose test part holds a window): several series' test windows
    # joined into one line read as one series that jumps.
    k = next((i for i, p in enumerate(ds.segments["test"]) if len(p) > data.window), 0)
    piece = ds.segments["test"][k]
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
    loss_plot(folder / "loss.png", f.name, hist.train_loss, hist.val_loss, hist.best_epoch)  # gru-stateful
    test, mine = ds.windows["test"], origins(ds, data)["test"].series == k
    who = f"series {ds.series.ids[k]!r} ({k + 1} of {len(ds.series.ids)})" if len(ds.series.ids) > 1 else ""
    forecast_plot(folder / "forecast.png", f.name, test.y[mine, 0], test_pred[mine, 0],
                  piece[:data.window, 0], roll, piece[data.window:data.window + steps, 0],
                  ours["test"]["mse"], who)
    result["wall_seconds"] = round(hist.seconds + time.perf_counter() - t0, 3)
    (folder / METRICS_FILE).write_text(strict_json(result) + "\n")
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
    f = combine(parts, ds, data, start_of(name, train, data.window))
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
        worse = scratch["p"] < LEVEL and scratch.get("stat", 0.0) > 0       # not just "not better": worse
        how = f"did worse on {split}" if worse else f"was not better on {split} beyond noise"
        stop += f"; training from scratch {how} (p {scratch['p']:.2g})"
    return (f"done: test MSE {m['mse']:.3e} (naive {res['baseline']['test']['mse']:.3e}), "
            f"{res['epochs']} epochs (best {res['best_epoch']}{stop}), {res['train_seconds']:.1f}s "
            f"on {res['device']}")


# --- kinds in parallel: one process per kind, each on its own share of the cores ------------------------
_events: Any = None
PR_SET_PDEATHSIG = 1       # linux/prctl.h: the signal a process gets when its parent dies


def _init_worker(events: Any, threads: int, parent: int) -> None:
    global _events
    _events = events
    torch.set_num_threads(threads)
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Linux: have the kernel end this worker when the training process dies. Ctrl-C reaches the whole
    process group, but a `kill PID` of `seqinfer train` (a scheduler's, a user's) reached only the parent,
    and its workers trained on, orphaned: two stateful GRUs ran 24 minutes past their parent here."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:                  # it died before prctl took hold
        os._exit(1)


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
                             initargs=(events, threads, os.getpid())) as pool:
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
                fitted = combine(parts[name], ds, data, start_of(name, train, data.window))
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
             "ets": _ets_label(b)}
    nan = float("nan")                           # a split with no windows (--val-frac 0) has no score
    for key, label in names.items():
        if key in b:
            t = b[key]["test"]
            val = b[key].get("val", {"mse": nan})["mse"]
            lines.append(f"| {label} | {t['mse']:.3e} | {t['mae']:.3e} | {t['mase']:.3f} | "
                         f"{_over(t['mse'], naive_test)} | {val:.3e} | | | |")
    lines.append("")
    split = "validation" if d["config"].get("val_frac", 1) > 0 else "test"     # where beats_naive decided
    for r in results:
        t = r["metrics"]["test"]["mse"]
        if not r["beats_naive"]:
            lines.append(f"- **{r['name']} does not beat the naive forecast on {split}**: do not deploy "
                         f"it as is.")
        ahead = sorted((b[k]["test"]["mse"], short) for k, short in _BEATERS.items()
                       if k in b and b[k]["test"]["mse"] < t)
        if ahead:
            who = ", ".join(f"{name.format(season=b['season'])} (MSE {mse:.3e})" for mse, name in ahead)
            lines.append(f"- Ahead of {r['name']} on test (MSE {t:.3e}): {who}.")
    season = b.get("season_how") or ("detected" if d["config"].get("season") is None else "given")
    lines += [f"- Season: {b['season'] or 'none'} ({season}); MASE = MAE / the training part's one-step "
              f"naive MAE ({b['mase_scale']:.4g})."]
    if tests:
        lines += section(tests)
    lines += ["", f"Run wall time: {seconds:.1f} s (seed {r0['seed']}; errors on the original scale)."]
    return "\n".join(lines) + "\n"


# The baselines a model can lose to beyond naive (which beats_naive covers), as comparison.md names them.
_BEATERS = {"seasonal_naive": "seasonal naive (season {season})", "ets": "ETS"}


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
    labels = [progress_label(k, p, train, data.window)
              for k in kinds for p in parts_of(k, train, data.window)]
    progress = progress or Progress(list(dict.fromkeys(labels)))
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
            split = "val" if data.val_frac > 0 else "test"          # where beats_naive was decided
            what = "validation" if split == "val" else "test"
            progress.log(f"WARNING: {r['name']} does not beat the naive forecast on {what} (MSE "
                         f"{r['metrics'][split]['mse']:.3e}, naive {base['naive'][split]['mse']:.3e}): "
                         f"do not deploy it as is")
    seconds = time.perf_counter() - t0
    test = ds.windows["test"]
    tests = comparisons(results, forecasts, test.y, np.repeat(test.x[:, -1, :1], data.horizon, axis=1))
    table = comparison_table(results, seconds, tests)
    (out / "comparison.md").write_text(table)
    (out / COMPARISON_JSON).write_text(strict_json({"level": LEVEL, "tests": tests}) + "\n")
    comparison_plot(out / "comparison.png", results)
    return Report(results=results, table=table, seconds=seconds)


__all__ = ["KINDS", "Report", "train_all", "train_one", "comparison_table"]


def _ets_label(b: dict[str, Any]) -> str:
    """The ETS row's name: the season it used (baselines.ets_season), which may be none where the detected
    one was: a series' training part must hold 4 seasons."""
    used = b.get("ets_season", b["season"])       # (a metrics.json written before ets_season: as then)
    if used is None:
        return "ETS (damped trend" + (f"; season {b['season']} needs 4 in a series' training part)"
                                      if b["season"] else ")")
    if used == "some series":
        return f"ETS (damped trend, season {b['season']} where a series' training part holds 4)"
    return f"ETS (damped trend, season {used})"
