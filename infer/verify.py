"""`seqinfer predict --verify`: run the TorchScript model beside model.onnx on the same batches and compare.

The one place in infer/ that imports torch, and only when --verify asks for it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .contract import TORCHSCRIPT_FILE
from .errors import ConfigError, ModelError, ParityError

VERIFY_ATOL = 1e-4   # |onnx - torch| <= atol + rtol * |torch|, on the forecasts' own scale
VERIFY_RTOL = 1e-4


def torchscript_beside(onnx_path: Path) -> Path:
    """model.ts in the model's folder (contract.TORCHSCRIPT_FILE), else <name>.ts beside <name>.onnx."""
    for cand in (onnx_path.parent / TORCHSCRIPT_FILE, onnx_path.with_suffix(".ts")):
        if cand.is_file():
            return cand
    raise ModelError(f"--verify: no TorchScript model beside {onnx_path} (looked for {TORCHSCRIPT_FILE}; "
                     f"`seqinfer export` writes it)")


class TorchCheck:
    """Compares each batch's forecasts with TorchScript's; remembers the largest differences seen."""

    def __init__(self, onnx_path: Path, horizon: int, model_horizon: int,
                 atol: float = VERIFY_ATOL, rtol: float = VERIFY_RTOL) -> None:
        try:
            import torch  # only here: --verify is the one reason infer/ may load torch
        except ModuleNotFoundError:
            raise ConfigError("--verify runs model.ts beside model.onnx and needs torch: pip install "
                              "'seqinfer[train]'") from None

        self.torch: Any = torch
        self.path = torchscript_beside(onnx_path)
        try:
            self.module = torch.jit.load(str(self.path), map_location="cpu").eval()
        except (RuntimeError, ValueError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelError(f"{self.path}: not a loadable TorchScript model ({first})") from None
        self.horizon, self.model_horizon = horizon, model_horizon
        self.atol, self.rtol = atol, rtol
        self.max_abs = self.max_rel = 0.0
        self.count = 0

    def reference(self, x: np.ndarray) -> np.ndarray:
        """TorchScript's forecasts for windows x [B, W, F], rolled out the same way as onnxruntime's."""
        torch = self.torch
        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x))
            steps = [self.module(xt)]
            got = self.model_horizon
            while got < self.horizon:
                xt = torch.cat([xt, steps[-1][:, :, None]], dim=1)[:, -x.shape[1]:]
                steps.append(self.module(xt))
                got += self.model_horizon
            return torch.cat(steps, dim=1)[:, :self.horizon].numpy()

    def check(self, x: np.ndarray, y: np.ndarray, lines: np.ndarray) -> int | None:
        """Index of the first forecast off by more than the tolerance, or None when all agree."""
        return self._judge(y, self.reference(x))

    def _judge(self, y: np.ndarray, ref: np.ndarray) -> int | None:
        diff = np.abs(y.astype(np.float64) - ref)
        rel = diff / np.maximum(np.abs(ref), 1e-12)
        bad = np.flatnonzero((diff > self.atol + self.rtol * np.abs(ref)).any(axis=1))
        upto = len(y) if not len(bad) else int(bad[0]) + 1
        self.max_abs = max(self.max_abs, float(diff[:upto].max(initial=0.0)))
        self.max_rel = max(self.max_rel, float(rel[:upto].max(initial=0.0)))
        self.count += upto
        return int(bad[0]) if len(bad) else None

    def error(self, i: int, y: np.ndarray, x: np.ndarray, line: int) -> ParityError:
        return self._error(y[i], self.reference(x[i:i + 1])[0], line)

    def _error(self, y: np.ndarray, ref: np.ndarray, line: int) -> ParityError:
        d = float(np.abs(y - ref).max())
        return ParityError(f"--verify: row {line}: onnxruntime {y.tolist()} vs TorchScript {ref.tolist()} "
                           f"(max abs diff {d:.3g} > atol {self.atol:g} + rtol {self.rtol:g} x |torch|)")

    def summary(self) -> str:
        return (f"verify: onnxruntime vs TorchScript ({self.path.name}), {self.count} forecasts: "
                f"max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g} "
                f"(atol {self.atol:g}, rtol {self.rtol:g}): PASSED")


class StepCheck(TorchCheck):
    """A stateful model: each call's rows through model.ts too, from the same gathered state, so that a
    difference never carries over from one call to the next (predict keeps its calls to VERIFY_STEPS rows
    under --verify: float32 rounding of two runtimes drifts apart over long runs of steps)."""

    def __init__(self, onnx_path: Path, horizon: int) -> None:
        super().__init__(onnx_path, horizon, horizon)
        self.ref = np.zeros((0, horizon))

    def check_step(self, x: np.ndarray, state: list[np.ndarray], y: np.ndarray, row_of: np.ndarray,
                   pos: np.ndarray) -> int | None:
        """x [S, T, F] and the state (stepstate.Plan, StepStore.state_of) -> the index of the first of the
        rows' forecasts y [n, H] (input order: series row_of, step pos) off by more than the tolerance."""
        torch = self.torch
        with torch.inference_mode():
            ref, _ = self.module(torch.from_numpy(x), [torch.from_numpy(s) for s in state])
        self.ref = ref.numpy()[row_of, pos].astype(np.float64)
        return self._judge(y, self.ref)

    def step_error(self, i: int, y: np.ndarray, line: int) -> ParityError:
        return self._error(y[i], self.ref[i], line)
