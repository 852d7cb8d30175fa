"""Parity for stateful step models: a long series fed in chunks of random sizes, the state carried from call
to call, must equal eager PyTorch over the whole series in one call; so must one padded call in which every
row stops at its own length (seq_lens).

Same pass rule and report as export/parity.py (|y - ref| <= atol * S + rtol * |ref|). Rows: for each input
kind (random walks at the data's level, the checkpoint's test part, that part moved 10,000 scales away),
each batch size in VerifyConfig.batches that is at most STEP_BATCH_MAX, TorchScript and every onnxruntime
provider that loads, fed `STEPS` steps in random chunks ("<input> chunks"); and onnxruntime on one padded
call ("<input> padded"). The final state is compared as well as every forecast.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from seqinfer.infer.contract import INPUT_NAME, NEXT_SUFFIX, OUTPUT_NAME, SEQ_LENS_NAME
from seqinfer.trainer.stateful import StatefulForecaster

from .config import VerifyConfig
from .parity import (
    SHIFT_SCALES,
    ParityReport,
    Row,
    _compare,
    load_test_windows,
    ort_session,
    random_windows,
    tolerance,
)

STEPS = 3000            # steps per series: long enough for the carried state to matter
STEP_BATCH_MAX = 64     # the batch sizes of the grid up to this (the step path runs a few series per call)
MAX_CHUNK = 257         # chunk sizes are drawn from 1..MAX_CHUNK


def chunk_sizes(n: int, seed: int) -> list[int]:
    """Random chunk lengths summing to n, starting with a chunk of one step."""
    rng = np.random.default_rng([seed, n])
    sizes, left = [1], n - 1
    while left > 0:
        k = min(left, int(rng.integers(1, MAX_CHUNK + 1)))
        sizes.append(k)
        left -= k
    return sizes


def _series(model: StatefulForecaster, ckpt: dict[str, Any], kind: str, batch: int, seed: int,
            test: np.ndarray | None, scale: float) -> np.ndarray:
    """(batch, STEPS, F) float64 raw: random walks, or the test part (repeated, rows at their own offsets)."""
    if kind == "random" or test is None:
        x = random_windows(model, ckpt, batch, STEPS, seed)
    else:
        reps = -(-STEPS * 2 // len(test))
        long = np.concatenate([test] * reps)
        x = np.stack([long[(37 * i) % len(test):][:STEPS] for i in range(batch)])
    return x + (SHIFT_SCALES * scale if kind == "shifted" else 0.0)


def run_step_parity(model: StatefulForecaster, ckpt: dict[str, Any], onnx_path: str | Path,
                    ts_path: str | Path | None, config: VerifyConfig, report: ParityReport) -> None:
    """Fill `report.rows` / `report.skipped` for a stateful model (module docstring)."""
    tol = report.tol = tolerance(model, ckpt, config)
    dtype = np.dtype(tol.io_dtype).type
    names = model.state_names()
    runners: list[tuple[str, str, Callable[[np.ndarray, list[np.ndarray], np.ndarray], tuple]]] = []
    if ts_path is not None and config.torchscript:
        ts = torch.jit.load(str(ts_path), map_location="cpu").eval()

        def run_ts(x: np.ndarray, state: list[np.ndarray], lens: np.ndarray) -> tuple:
            with torch.inference_mode():
                y, new = ts(torch.from_numpy(x), [torch.from_numpy(s) for s in state])
            return y.numpy(), [s.numpy() for s in new]
        runners.append(("torchscript", "cpu", run_ts))
    elif config.torchscript:
        report.skipped.append("torchscript: no TorchScript file given (ONNX-only verification)")
    sessions: list[tuple[str, ort.InferenceSession]] = []
    for provider in config.providers:
        sess, why = ort_session(onnx_path, provider)
        if sess is None:
            report.skipped.append(f"onnxruntime {provider}: {why}")
            continue
        sessions.append((provider, sess))

        def run_ort(x: np.ndarray, state: list[np.ndarray], lens: np.ndarray,
                    sess: ort.InferenceSession = sess) -> tuple:
            out = sess.run([OUTPUT_NAME, *(n + NEXT_SUFFIX for n in names)],
                           {INPUT_NAME: x, SEQ_LENS_NAME: lens.astype(np.int32),
                            **dict(zip(names, state, strict=True))})
            return out[0], list(out[1:])
        runners.append(("onnxruntime", provider, run_ort))
    windows, why = load_test_windows(ckpt)
    test = None if windows is None else np.concatenate([windows[0], windows[1:, -1]])   # test part [n, F]
    if windows is None:
        report.skipped.append(f"test series: {why}; random walks stand in")
    batches = [b for b in config.batches if b <= STEP_BATCH_MAX] or [1]
    for kind in config.inputs:
        for batch in batches:
            x = np.ascontiguousarray(_series(model, ckpt, kind, batch, config.seed, test, tol.scale), dtype)
            init = [s.numpy().astype(dtype if n == "prev" else np.float32)
                    for n, s in zip(names, model.initial_state(batch, torch.float64), strict=True)]
            with torch.inference_mode():
                ref, ref_state = model(torch.from_numpy(x), [torch.from_numpy(s) for s in init])
            ref_np, ref_state_np = ref.numpy(), [s.numpy() for s in ref_state]
            for runtime, provider, run in runners:
                got, state, a = [], init, 0
                for k in chunk_sizes(STEPS, config.seed + batch):
                    y, state = run(np.ascontiguousarray(x[:, a:a + k]), state, np.full(batch, k))
                    got.append(y)
                    a += k
                report.rows.append(_row(runtime, provider, f"{kind} chunks", batch, np.concatenate(got, 1),
                                        state, ref_np, ref_state_np, tol))
            for provider, sess in sessions:
                report.rows.append(_padded(sess, model, names, x, init, provider, kind, tol))


def _row(runtime: str, provider: str, inputs: str, batch: int, y: np.ndarray, state: list[np.ndarray],
         ref: np.ndarray, ref_state: list[np.ndarray], tol: Any) -> Row:
    """Forecasts and the final state against eager's; the state's error counts like a forecast's."""
    r = Row(runtime, provider, inputs, batch, y.shape[1], *_compare(y, ref, tol))
    for s, rs in zip(state, ref_state, strict=True):
        d = float(np.abs(s.astype(np.float64) - rs.astype(np.float64)).max(initial=0.0))
        if not np.allclose(s, rs, rtol=0, atol=float(tol.bound(rs).max()) if s.dtype != np.float32 else 1e-4):
            r.passed, r.note = False, f"state differs by {d:.2e}"
    return r


def _padded(sess: ort.InferenceSession, model: StatefulForecaster, names: list[str], x: np.ndarray,
            init: list[np.ndarray], provider: str, kind: str, tol: Any) -> Row:
    """One call, every row stopping at its own length: forecasts up to it and the state after it match
    eager on that row alone."""
    batch, n = x.shape[:2]
    lens = np.maximum(1, (n * (np.arange(batch) + 1)) // max(batch, 1)).astype(np.int32)
    padded = x.copy()
    for i, k in enumerate(lens):
        padded[i, k:] = 0.0                                   # what predict pads with: it must not matter
    out = sess.run(None, {INPUT_NAME: padded, SEQ_LENS_NAME: lens, **dict(zip(names, init, strict=True))})
    rows = []
    for i, k in enumerate(lens):
        with torch.inference_mode():
            ref, ref_state = model(torch.from_numpy(x[i:i + 1, :k]),
                                   [torch.from_numpy(s[i:i + 1]) for s in init])
        rows.append(_row("onnxruntime", provider, f"{kind} padded", batch, out[0][i:i + 1, :k],
                         [s[i:i + 1] for s in out[1:]], ref.numpy(), [s.numpy() for s in ref_state], tol))
    worst = next((r for r in rows if not r.passed), max(rows, key=lambda r: r.tol_used))
    worst.seq = n                                # one row for the call: its worst row
    return worst
