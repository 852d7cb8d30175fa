"""Section 1: one model's throughput and latency per runtime and batch size, eager torch to seqinfer.

    python -m bench.run --only model --kinds lstm
"""
from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_WINDOW = 80
BATCHES = (1, 16, 256, 4096)


@dataclass
class Loaded:
    kind: str
    window: int
    model: Any            # trainer Forecaster, eval mode
    onnx_path: Path
    ts_path: Path | None
    source: str           # where the model came from, for the report


def load_model(kind: str, artifacts: Path, tmp: Path, hidden: int = 32,
               window: int = DEFAULT_WINDOW) -> Loaded:
    """artifacts/<kind> when it has a checkpoint; otherwise an untrained stand-in of the issue's shape.

    Speed does not depend on the weights, so a stand-in measures the same thing; the report says which.
    """
    from seqinfer.infer.contract import CHECKPOINT_FILE, ONNX_FILE, TORCHSCRIPT_FILE
    from seqinfer.trainer.model import Forecaster, ModelConfig

    d = artifacts / kind
    if (d / CHECKPOINT_FILE).is_file():
        from seqinfer.trainer.checkpoint import load_checkpoint

        model, ckpt = load_checkpoint(d)
        window = int(ckpt.get("data", {}).get("window", window))
        source = f"{d}"
        onnx_path = d / ONNX_FILE
        ts_path: Path | None = d / TORCHSCRIPT_FILE
        if not onnx_path.is_file():
            onnx_path = export_temp(model, kind, window, tmp)
            source += " (model.onnx missing: exported to a temp file)"
        if ts_path is not None and not ts_path.is_file():
            ts_path = None
    else:
        model = Forecaster(ModelConfig(kind=kind, hidden=hidden)).eval()
        onnx_path = export_temp(model, kind, window, tmp)
        ts_path = None
        source = f"untrained stand-in (hidden {hidden}, window {window}): no {d / CHECKPOINT_FILE}"
    return Loaded(kind, window, model, onnx_path, ts_path, source)


def export_temp(model: Any, kind: str, window: int, tmp: Path) -> Path:
    from seqinfer.export.onnx_export import export_onnx
    from seqinfer.infer.contract import ModelMeta

    cfg = model.config
    meta = ModelMeta(seqinfer_version="bench", kind=kind, window=window, horizon=cfg.horizon,
                     features=cfg.features, norm_mean=tuple(model.norm_mean.tolist()),
                     norm_std=tuple(model.norm_std.tolist()))
    path = tmp / f"{kind}.onnx"
    export_onnx(model, meta, path)
    return path


def _repeat(fn: Callable[[], Any], budget_s: float, min_reps: int, max_reps: int) -> list[float]:
    times: list[float] = []
    t_end = time.perf_counter() + budget_s
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() < t_end):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    q = np.percentile(times, [10, 90])
    return {"median_us": statistics.median(times) * 1e6, "p10_us": float(q[0]) * 1e6,
            "p90_us": float(q[1]) * 1e6, "reps": len(times)}


def time_interleaved(fns: dict[str, Callable[[], Any]], budget_s: float, rounds: int = 5, min_reps: int = 5,
                     warmup: int = 3) -> dict[str, dict[str, float]]:
    """Every runtime in turn, `rounds` times over, each turn budget_s/rounds long: load that comes and goes
    on a shared machine then lands on all runtimes alike, so their ratios hold. Median of all calls."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    per_turn = max(1, -(-min_reps // rounds))
    for _ in range(rounds):
        for k, fn in fns.items():
            times[k] += _repeat(fn, budget_s / rounds, per_turn, 2000)
    return {k: _summary(v) for k, v in times.items()}


def runners(m: Loaded, tmp: Path) -> dict[str, Callable[[np.ndarray], Callable[[], Any]] | str]:
    """runtime name -> (input -> zero-arg call), or a string saying why that runtime was skipped."""
    import onnxruntime as ort
    import torch

    out: dict[str, Callable[[np.ndarray], Callable[[], Any]] | str] = {}
    model = m.model.eval()

    def eager(x: np.ndarray) -> Callable[[], Any]:
        t = torch.from_numpy(x)
        return lambda: _no_grad(model, t)

    out["torch_eager"] = eager
    if m.ts_path is not None:
        ts = torch.jit.load(str(m.ts_path)).eval()
    else:   # scripted, as `seqinfer export` writes model.ts (export/pipeline.py)
        ts = torch.jit.script(model)

    def script(x: np.ndarray) -> Callable[[], Any]:
        t = torch.from_numpy(x)
        return lambda: _no_grad(ts, t)

    out["torchscript"] = script

    # onnxruntime as it comes: one session with its default options (its own thread count).
    sess = ort.InferenceSession(str(m.onnx_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out["ort_cpu"] = lambda x: (lambda: sess.run(None, {name: x}))
    # onnxruntime as seqinfer runs it: the Python API's Forecaster.predict on the CPU provider (up to 96 rows:
    # one call on one intra-op thread per core; more: split across one single-thread worker per core). The
    # targets are read off this one.
    from seqinfer.infer.api import Forecaster as OrtForecaster

    fc = OrtForecaster(m.onnx_path, provider="cpu")
    out["seqinfer"] = lambda x: (lambda: fc.predict(x))
    if torch.cuda.is_available():
        from seqinfer.trainer.fit import cuda_precision

        cuda_precision()                                  # float32 as predict runs it (CUDA_TF32)
        gpu = copy.deepcopy(model).to("cuda")             # a copy: eager above keeps running on the CPU

        def cuda(x: np.ndarray) -> Callable[[], Any]:
            t = torch.from_numpy(x).cuda()
            def call() -> None:
                _no_grad(gpu, t)
                torch.cuda.synchronize()

            return call

        out["torch_cuda"] = cuda
    else:
        out["torch_cuda"] = "skipped: no CUDA"
    # onnxruntime's CUDA provider with seqinfer's options (ORT_CUDA_OPTIONS), only where it really runs
    from seqinfer.infer.errors import ProviderError
    from seqinfer.infer.session import load_model as open_onnx

    try:
        cs = open_onnx(m.onnx_path, "cuda").session
        out["ort_cuda"] = lambda x: (lambda: cs.run(None, {name: x}))
    except ProviderError as e:
        out["ort_cuda"] = f"skipped: {str(e).removeprefix('--provider cuda: ')}"
    return out


def _no_grad(fn: Any, t: Any) -> Any:
    import torch

    with torch.inference_mode():
        return fn(t)


def bench_model(m: Loaded, batches: tuple[int, ...] = BATCHES, budget_s: float = 0.4,
                tmp: Path | None = None, with_window: bool = True) -> dict[str, Any]:
    """Every runtime at every batch size (plus the window), in interleaved turns so drift hits all alike."""
    with tempfile.TemporaryDirectory() as td:
        run = runners(m, tmp or Path(td))
        sizes = sorted(set(batches) | ({m.window} if with_window else set()))
        rng = np.random.default_rng(0)
        rows: list[dict[str, Any]] = []
        for b in sizes:
            x = rng.standard_normal((b, m.window, m.model.config.features)).astype(np.float32)
            by_rt: dict[str, dict[str, Any]] = {rt: {"skipped": mk} for rt, mk in run.items()
                                                 if isinstance(mk, str)}
            big = b >= 1024
            calls = {rt: mk(x) for rt, mk in run.items() if not isinstance(mk, str)}
            timed = time_interleaved(calls, budget_s * len(calls), min_reps=3 if big else 5,
                                     warmup=1 if big else 3)
            for rt, r in timed.items():
                by_rt[rt] = {**r, "windows_per_s": b / (r["median_us"] * 1e-6)}
            eager_us = by_rt["torch_eager"]["median_us"]
            rows.append({"batch": b, "runtimes": by_rt,
                         "seqinfer_over_eager": eager_us / by_rt["seqinfer"]["median_us"],
                         "ort_over_eager": eager_us / by_rt["ort_cpu"]["median_us"],
                         "ts_over_eager": eager_us / by_rt["torchscript"]["median_us"]})
    return {"kind": m.kind, "window": m.window, "source": m.source, "rows": rows}
