"""Parity for stateful step models: a long series fed in chunks of random sizes, the state carried from call
to call, must equal PyTorch over the whole series; so must one padded call in which every row stops at its
own length (seq_lens). The final state is compared as well as every forecast.

Rows: for each input kind (random walks at the data's level, the checkpoint's test part, that part moved
10,000 scales away), each batch size in VerifyConfig.batches up to STEP_BATCH_MAX, TorchScript and every
onnxruntime provider that loads, fed `STEPS` steps in random chunks ("<input> chunks"); and onnxruntime on
one padded call ("<input> padded").

The reference is the checkpoint's model in float64. Over thousands of steps a trained network can amplify
rounding until eager float32 is itself no nearer the function than the exported graph is. Measured on an LSTM
(hidden 64) trained on 400 noisy days (a pandas export, `seqinfer train --stateful both`), fed these random
walks: at batch 64 eager float32 was 3.6e-2 off float64, 40x the tolerance, and moving the input by 1e-7 of
itself moved eager by as much. Against eager float32, onnxruntime failed 4 rows there, at 31x the tolerance.

Pass rule: export/parity.py's, |y - ref64| <= atol * S + rtol * |ref64|, wherever that holds. Where it does
not, the rounding spread is measured: how far eager float32 and ROUNDING_SAMPLES float64 runs with every
weight moved by up to ROUNDING_REL of itself land from the reference, at most, up to each step. A runtime may
then differ by up to AMPLIFIED times that spread; such rows say so in their note and the verdict counts them.
Where the reference is well-conditioned the spread is tiny and the strict rule is all that is left, so a
wrong graph still fails (tests/export/test_step_parity.py).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from seqinfer.infer.contract import INPUT_NAME, NEXT_SUFFIX, OUTPUT_NAME, SEQ_LENS_NAME, STATE_PREV
from seqinfer.trainer.stateful import StatefulForecaster

from .config import CUDA, VerifyConfig
from .parity import (
    ROUNDING_NOTE,
    SHIFT_SCALES,
    STATE_NOTE,
    ParityReport,
    Row,
    Tolerance,
    load_test_windows,
    ort_session,
    random_windows,
    tolerance,
    torchscript_on_cuda,
)

STEPS = 3000            # steps per series: long enough for the carried state to matter
STEP_BATCH_MAX = 64     # the batch sizes of the grid up to this (the step path runs a few series per call)
MAX_CHUNK = 257         # chunk sizes are drawn from 1..MAX_CHUNK
STATE_ATOL = 1e-4       # the recurrent state (float32, in the network's own units, about -1..1)
# The rounding spread's samples: eager in the model's dtype, and float64 runs with each weight moved by a
# random share of itself up to ROUNDING_REL (8 float32 ulp). Why 8 ulp and not the half ulp of a rounding:
# onnxruntime's CPU Tanh is off by up to 4.5 ulp and its Sigmoid by more, where torch's tanh is off by 0.5
# (1M points in [-6, 6]); a runtime that rounds coarser per step diverges sooner.
ROUNDING_SAMPLES = 4
ROUNDING_REL = 2.0**-20
# Where the reference amplifies rounding, a runtime may differ from it by this many times the spread (its
# running maximum over the steps). Measured, onnxruntime CPU needed at most 2.5x: a chaotic random RNN
# (hidden 32, recurrent weights 1.5 x orthogonal: float32 saturates after ~100 steps) and the LSTM above,
# walk seeds 0-4, batches 1-64. The recurrent weights times (1 + 1e-4) fail every row of both at this 8x,
# using 4.8x the allowance or more.
AMPLIFIED = 8.0

Runner = Callable[[np.ndarray, list[np.ndarray], np.ndarray], tuple[np.ndarray, list[np.ndarray]]]


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


@dataclass
class Trace:
    """One eager run over a batch of series: forecasts (B, n, H) and the state after each cut step."""

    y: np.ndarray
    states: dict[int, list[np.ndarray]]

    def state_at(self, lens: np.ndarray) -> list[np.ndarray]:
        """Row i's state after lens[i] steps, for every row."""
        names = range(len(next(iter(self.states.values()))))
        return [np.stack([self.states[int(k)][j][i] for i, k in enumerate(lens)]) for j in names]


def trace(model: StatefulForecaster, x: np.ndarray, init: list[np.ndarray], cuts: list[int]) -> Trace:
    """`model` over x (B, n, F) in its own dtype, the state kept after each step in `cuts` (ascending, the
    last n), on the model's device. Float64 output. The cuts do not change a float64 run beyond its own
    rounding (1e-16)."""
    device = next(model.parameters()).device
    state = [torch.from_numpy(s).to(device) for s in init]
    xt = torch.from_numpy(x).to(device)
    ys, states, a = [], {}, 0
    with torch.inference_mode():
        for k in cuts:
            y, state = model(xt[:, a:k], state)
            ys.append(y.double().cpu().numpy())
            states[k] = [s.double().cpu().numpy() for s in state]
            a = k
    return Trace(np.concatenate(ys, 1), states)


def rounding_samples(model: StatefulForecaster, model64: StatefulForecaster, x: np.ndarray,
                     init: list[np.ndarray], cuts: list[int], seed: int, device: str) -> list[Trace]:
    """Runs that differ from the reference by rounding alone. On "cpu": eager in the model's own dtype and
    ROUNDING_SAMPLES float64 runs with every weight moved by up to ROUNDING_REL of itself. On "cuda": eager
    on CUDA, one more sample for a runtime there (added to the CPU's): its kernels round otherwise than the
    CPU's, and a chaotic random RNN (the test's) left the CPU samples' envelope early on CUDA (H200,
    TorchScript), 0.51 off the reference at step 3,000 where eager float32 on the CPU was."""
    if device == "cuda":
        from seqinfer.trainer.fit import cuda_precision

        cuda_precision()
        return [trace(copy.deepcopy(model).cuda(), x, init, cuts)]
    rng = np.random.default_rng([seed, *x.shape])
    x64 = x.astype(np.float64)
    samples = [trace(model, x, init, cuts)]
    for _ in range(ROUNDING_SAMPLES):
        m = copy.deepcopy(model64)
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(1 + torch.from_numpy(rng.uniform(-1, 1, tuple(p.shape))) * ROUNDING_REL)
        samples.append(trace(m, x64, _as64(init), cuts))
    return samples


def rounding_spread(samples: list[Trace], ref: Trace, cuts: list[int]) -> Trace:
    """How far rounding alone moves the reference (`samples`: rounding_samples), as a Trace of per-row
    maxima: y (B, n) the running maximum over the steps of |sample - ref|, states {cut: [(B,) per state
    tensor]} the running maximum over the cuts up to each. Running maxima, because a trajectory that
    amplified rounding once may be anywhere in that envelope from then on, even where the samples happen to
    land close again: a stateful GRU trained on 50 store-item series (Poisson sales), fed its test part in
    one padded call of 64 rows, had a row whose state onnxruntime left 2.0e-3 from float64 at its last step
    (2,531), where the samples had landed within 8.7e-5 (8x: 7e-4, a failed export) after spreading to
    1.2e-2 on the way."""
    y = np.maximum.reduce([np.abs(s.y - ref.y).max(axis=2) for s in samples])
    states = {k: [np.maximum.reduce([np.abs(s.states[k][j] - st).reshape(len(st), -1).max(axis=1)
                                     for s in samples]) for j, st in enumerate(ref.states[k])]
              for k in cuts}
    for before, k in zip(cuts, cuts[1:], strict=False):     # a running maximum over the cuts, as for y
        states[k] = [np.maximum(a, b) for a, b in zip(states[before], states[k], strict=True)]
    return Trace(np.maximum.accumulate(y, axis=1), states)


def _spread_of(parts: tuple[Callable[[], list[Trace]], ...], ref: Trace, cuts: list[int]) -> Trace:
    return rounding_spread([s for part in parts for s in part()], ref, cuts)


def _as64(init: list[np.ndarray]) -> list[np.ndarray]:
    return [s.astype(np.float64) for s in init]


def judge(runtime: str, provider: str, inputs: str, batch: int, y: np.ndarray, state: list[np.ndarray],
          lens: np.ndarray, ref: Trace, spread: Callable[[], Trace], tol: Tolerance,
          names: list[str]) -> Row:
    """One Row: y (B, n, H) valid up to lens[i] in row i, and each row's state after lens[i] steps, against
    the float64 reference; the rounding spread (computed on first need) widens the rule where it is larger."""
    seq, inf = int(lens.max()), float("inf")
    if y.dtype != np.dtype(tol.io_dtype):
        return Row(runtime, provider, inputs, batch, seq, inf, inf, inf, False,
                   f"dtype {y.dtype} != the model's {tol.io_dtype}")
    valid = np.arange(y.shape[1])[None, :] < lens[:, None]                      # (B, n)
    if not np.all(np.isfinite(y[valid])):
        return Row(runtime, provider, inputs, batch, seq, inf, inf, inf, False, "non-finite output")
    d = np.where(valid[..., None], np.abs(y.astype(np.float64) - ref.y), 0.0)   # (B, n, H)
    bound = tol.bound(ref.y)
    ref_state = ref.state_at(lens)
    sd = [np.abs(s.astype(np.float64) - r).reshape(batch, -1).max(axis=1) for s, r in zip(state, ref_state,
                                                                                            strict=True)]
    sbound = [np.full(batch, STATE_ATOL) if n != STATE_PREV else tol.bound(r).reshape(batch, -1).min(axis=1)
              for n, r in zip(names, ref_state, strict=True)]
    note = ""
    if _over(d, bound, sd, sbound):
        sp = spread()
        wide = np.maximum(bound, AMPLIFIED * sp.y[..., None])
        swide = [np.maximum(b, AMPLIFIED * e) for b, e in zip(sbound, sp.state_at(lens), strict=True)]
        if np.any(valid[..., None] & (wide > bound)) or any(np.any(w > b) for w, b in zip(swide, sbound,
                                                                                           strict=True)):
            ill = float(np.where(valid, sp.y, 0.0).max())
            note = (f"{ROUNDING_NOTE}: spread {ill:.2e} (float32 eager, weights moved "
                    f"{ROUNDING_REL / 2.0**-23:g} ulp); allowed {AMPLIFIED:g}x")
        bound, sbound = wide, swide
    used = max([float((d / (bound + 1e-300)).max(initial=0.0))]
               + [float((e / b).max(initial=0.0)) for e, b in zip(sd, sbound, strict=True)])
    max_abs = float(d.max(initial=0.0))
    passed = used <= 1.0
    if any(np.any(e > b) for e, b in zip(sd, sbound, strict=True)):
        note = (note + "; " if note else "") + f"{STATE_NOTE} {max(float(e.max()) for e in sd):.2e}"
    return Row(runtime, provider, inputs, batch, seq, max_abs, max_abs / tol.scale, used, passed, note)


def _over(d: np.ndarray, bound: np.ndarray, sd: list[np.ndarray], sbound: list[np.ndarray]) -> bool:
    return bool(np.any(d > bound)) or any(np.any(e > b) for e, b in zip(sd, sbound, strict=True))


def run_step_parity(model: StatefulForecaster, ckpt: dict[str, Any], onnx_path: str | Path,
                    ts_path: str | Path | None, config: VerifyConfig, report: ParityReport) -> None:
    """Fill `report.rows` / `report.skipped` for a stateful model (module docstring)."""
    tol = report.tol = tolerance(model, ckpt, config)
    dtype = np.dtype(tol.io_dtype).type
    names = model.state_names()
    model64 = copy.deepcopy(model).double()
    runners: list[tuple[str, str, Runner]] = []
    if ts_path is not None and config.torchscript:
        ts = torch.jit.load(str(ts_path), map_location="cpu").eval()

        def run_ts(x: np.ndarray, state: list[np.ndarray], lens: np.ndarray) -> tuple:
            with torch.inference_mode():
                y, new = ts(torch.from_numpy(x), [torch.from_numpy(s) for s in state])
            return y.numpy(), [s.numpy() for s in new]
        runners.append(("torchscript", "cpu", run_ts))
        ts_cuda = torchscript_on_cuda(ts_path, report, config)
        if ts_cuda is not None:
            def run_ts_cuda(x: np.ndarray, state: list[np.ndarray], lens: np.ndarray) -> tuple:
                with torch.inference_mode():
                    y, new = ts_cuda(torch.from_numpy(x).cuda(), [torch.from_numpy(s).cuda() for s in state])
                return y.cpu().numpy(), [s.cpu().numpy() for s in new]
            runners.append(("torchscript", "cuda", run_ts_cuda))
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
            init = [s.numpy().astype(dtype if n == STATE_PREV else np.float32)
                    for n, s in zip(names, model.initial_state(batch, torch.float64), strict=True)]
            lens = padded_lens(batch, STEPS)
            cuts = sorted({*lens.tolist(), STEPS})
            ref = trace(model64, x.astype(np.float64), _as64(init), cuts)
            # measured once per input, on the first row that needs it (judge), with this iteration's arrays
            # (a CUDA row's adds eager on CUDA to the CPU's samples, which run once for both)
            on = {d: cache(partial(rounding_samples, model, model64, x, init, cuts, config.seed, d))
                  for d in ("cpu", "cuda")}
            spread = {"cpu": cache(partial(_spread_of, (on["cpu"],), ref, cuts)),
                      "cuda": cache(partial(_spread_of, (on["cpu"], on["cuda"]), ref, cuts))}
            full = np.full(batch, STEPS)
            for runtime, provider, run in runners:
                got, state, a = [], init, 0
                for k in chunk_sizes(STEPS, config.seed + batch):
                    y, state = run(np.ascontiguousarray(x[:, a:a + k]), state, np.full(batch, k))
                    got.append(y)
                    a += k
                report.rows.append(judge(runtime, provider, f"{kind} chunks", batch, np.concatenate(got, 1),
                                         state, full, ref, spread[_device(provider)], tol, names))
            for provider, sess in sessions:
                y, state = padded_call(sess, x, lens, init, names)
                report.rows.append(judge("onnxruntime", provider, f"{kind} padded", batch, y, state, lens,
                                         ref, spread[_device(provider)], tol, names))


def _device(provider: str) -> str:
    """Where a runtime's row ran: "cuda" for TorchScript on CUDA and onnxruntime's CUDA provider."""
    return "cuda" if provider in ("cuda", CUDA) else "cpu"


def padded_call(sess: ort.InferenceSession, x: np.ndarray, lens: np.ndarray, init: list[np.ndarray],
                names: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One call, row i valid for lens[i] steps, zeros after: what predict pads with, which must not matter."""
    padded = x.copy()
    for i, k in enumerate(lens):
        padded[i, k:] = 0.0
    out = sess.run(None, {INPUT_NAME: padded, SEQ_LENS_NAME: lens.astype(np.int32),
                          **dict(zip(names, init, strict=True))})
    return out[0], list(out[1:])


def padded_lens(batch: int, n: int) -> np.ndarray:
    """The padded call's row lengths: evenly spread up to n, the last row the whole series."""
    return np.maximum(1, (n * (np.arange(batch) + 1)) // max(batch, 1))
