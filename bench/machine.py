"""Machine facts recorded beside every result: cores, CPU model, GPU, library versions."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_name() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def machine_info() -> dict[str, Any]:
    import numpy
    import onnxruntime as ort
    import torch

    return {
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "gpu": gpu_name(),
        "torch_cuda": torch.cuda.is_available(),
        "ort_providers": ort.get_available_providers(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "onnxruntime": ort.__version__,
        "numpy": numpy.__version__,
    }


def matmul_gflops(n: int = 2048, reps: int = 5) -> dict[str, Any]:
    """The machine's own ceiling: best of `reps` float32 [n, n] @ [n, n] products in torch (all cores)."""
    import time

    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)                                   # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return {"n": n, "threads": torch.get_num_threads(), "gflops": 2 * n ** 3 / best / 1e9}


def flop_per_window(kind: str, hidden: int, features: int, window: int, layers: int = 1,
                    horizon: int = 1) -> int:
    """Multiply-adds x 2 of the gate products per window (the elementwise work is a few percent more)."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    per_step = sum(2 * gates * hidden * (hidden + (features if layer == 0 else hidden))
                   for layer in range(layers))
    return per_step * window + 2 * hidden * horizon

