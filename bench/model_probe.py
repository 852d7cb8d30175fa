"""Which ONNX graph form beats PyTorch eager? Times eager vs onnxruntime (CPU) per kind, form and batch size.

    python -m bench.model_probe                       # rnn lstm gru, batch 1..4096, seq 80, hidden 32
    python -m bench.model_probe --kinds lstm --batches 1 256 --rounds 1
    python -m bench.model_probe --provider cuda --threads 1    # which form onnxruntime's CUDA provider wants

Each (kind, runtime) is timed in its own subprocess, so torch's OpenMP threads and onnxruntime's spinning
pool never compete inside one process. On a shared machine other load comes and goes, so every cell is
measured `--rounds` times, interleaved, and the report keeps each cell's best median (the least disturbed
round). onnxruntime sessions: --provider (CPU, or CUDA with seqinfer's ORT_CUDA_OPTIONS: TF32 off),
intra_op_num_threads=--threads, ORT_ENABLE_ALL; eager runs on the same device (CUDA: float32 as seqinfer sets
it, synchronized per call); the `seqinfer` runtime is the Python API (hybrid graph; on the CPU one intra-op
thread per worker, one worker per core).
The model is an untrained stand-in of the given shape: speed does not depend on the weights.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNTIMES = ("eager", "ort-hybrid", "ort-scan", "ort-ops", "ort-torch", "seqinfer")


def _time(fn: Callable[[], Any], budget_s: float) -> float:
    """Median seconds per call: 2 warm-up calls, then at least 3 timed calls, more while the budget lasts."""
    fn()
    fn()
    times: list[float] = []
    end = time.perf_counter() + budget_s
    while len(times) < 3 or (time.perf_counter() < end and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def worker(a: argparse.Namespace) -> dict[str, float]:
    """One process, one (kind, runtime): median seconds per call for each batch size."""
    import numpy as np
    import torch

    from seqinfer.export.onnx_export import build_onnx
    from seqinfer.infer.contract import ORT_CUDA_OPTIONS
    from seqinfer.trainer.model import Forecaster, ModelConfig

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = Forecaster(ModelConfig(kind=a.kind, hidden=a.hidden)).eval()
    rng = np.random.default_rng(0)
    xs = {b: rng.standard_normal((b, a.seq, 1)).astype(np.float32) for b in a.batches}
    out: dict[str, float] = {}
    if a.runtime == "eager":
        if a.provider == "cuda":
            from seqinfer.trainer.fit import cuda_precision

            cuda_precision()
            model.to("cuda")

        def call(t: torch.Tensor) -> None:
            model(t)
            if a.provider == "cuda":
                torch.cuda.synchronize()
        with torch.inference_mode():
            for b, x in xs.items():
                t = torch.from_numpy(x).to("cuda" if a.provider == "cuda" else "cpu")
                out[str(b)] = _time(lambda t=t: call(t), a.budget)  # type: ignore[misc]
        return out
    import onnxruntime as ort

    if a.runtime == "seqinfer":    # the Python API with its own thread settings; --threads unused
        from seqinfer.infer.api import Forecaster as Api

        from .models import export_temp

        with tempfile.TemporaryDirectory() as td:
            api = Api(export_temp(model, a.kind, a.seq, Path(td)), provider=a.provider)
            for b, x in xs.items():
                out[str(b)] = _time(lambda x=x: api.predict(x), a.budget)  # type: ignore[misc]
        return out
    proto = build_onnx(model, form=a.runtime.removeprefix("ort-"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    want = "CUDAExecutionProvider" if a.provider == "cuda" else "CPUExecutionProvider"
    if a.provider == "cuda" and hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    spec: Any = (want, ORT_CUDA_OPTIONS) if a.provider == "cuda" else want
    sess = ort.InferenceSession(proto.SerializeToString(), so, providers=[spec])
    if sess.get_providers()[0] != want:
        raise SystemExit(f"onnxruntime's {want} does not run here (the session fell back to the CPU)")
    for b, x in xs.items():
        out[str(b)] = _time(lambda x=x: sess.run(None, {"x": x}), a.budget)  # type: ignore[misc]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", nargs="+", default=["rnn", "lstm", "gru"])
    p.add_argument("--runtimes", nargs="+", default=list(RUNTIMES[:4]), choices=RUNTIMES)
    p.add_argument("--batches", nargs="+", type=int, default=[1, 16, 256, 1024, 4096])
    p.add_argument("--seq", type=int, default=80)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--provider", choices=["cpu", "cuda"], default="cpu",
                   help="where onnxruntime and eager run (default cpu)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per cell (default 1.0)")
    p.add_argument("--json", type=Path, help="also write the best medians here")
    p.add_argument("--worker", nargs=2, metavar=("KIND", "RUNTIME"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        a.kind, a.runtime = a.worker
        print(json.dumps(worker(a)))
        return
    best: dict[tuple[str, str, int], float] = {}
    common = ["--batches", *map(str, a.batches), "--seq", str(a.seq), "--hidden", str(a.hidden),
              "--threads", str(a.threads), "--budget", str(a.budget), "--provider", a.provider]
    with tempfile.TemporaryDirectory():
        for r in range(a.rounds):
            for kind in a.kinds:
                for rt in a.runtimes:
                    res = subprocess.run([sys.executable, "-m", "bench.model_probe", "--worker", kind, rt,
                                          *common], capture_output=True, text=True)
                    if res.returncode:
                        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
                        raise SystemExit(f"model_probe: {kind} {rt} failed: {tail}")
                    for b, sec in json.loads(res.stdout.strip().splitlines()[-1]).items():
                        key = (kind, rt, int(b))
                        best[key] = min(best.get(key, float("inf")), sec)
                    print(f"round {r + 1}/{a.rounds} {kind} {rt} done", file=sys.stderr, flush=True)
    head = f"{'kind':5} {'batch':>5} " + " ".join(f"{rt + ' ms':>14}" for rt in a.runtimes)
    extra = [rt for rt in a.runtimes if rt != "eager"] if "eager" in a.runtimes else []
    head += "".join(f" {rt + ' x eager':>18}" for rt in extra)
    print(f"{a.provider}: seq {a.seq}, hidden {a.hidden}, threads {a.threads}, best median of {a.rounds} "
          "round(s)")
    print(head)
    for kind in a.kinds:
        for b in a.batches:
            row = f"{kind:5} {b:5d} " + " ".join(f"{best[(kind, rt, b)] * 1e3:14.3f}" for rt in a.runtimes)
            row += "".join(f" {best[(kind, 'eager', b)] / best[(kind, rt, b)]:18.2f}" for rt in extra)
            print(row)
    if a.json:
        a.json.write_text(json.dumps([{"kind": k, "runtime": rt, "batch": b, "median_ms": v * 1e3}
                                      for (k, rt, b), v in sorted(best.items())], indent=1) + "\n")


if __name__ == "__main__":
    main()
