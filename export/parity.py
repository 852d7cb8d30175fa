"""Parity: PyTorch eager (the reference) vs TorchScript vs onnxruntime on every provider that loads.

    from seqinfer.export import verify, VerifyConfig
    report = verify("artifacts/lstm")                       # model.ts + model.onnx beside checkpoint.pt
    report = verify("any.onnx", checkpoint="artifacts/lstm", config=VerifyConfig(atol=1e-4))
    print(report.table()); report.raise_if_failed()

Pass rule, per element: |y - ref| <= atol * S + rtol * |ref|, S the series' scale (the training std of the
target, from the checkpoint; export/config.py VerifyConfig). The table reports both maxima: max abs = max
|y - ref|; max rel = max |y - ref| / S; "tol used" = max |y - ref| / (atol * S + rtol * |ref|), which is
<= 1 exactly when the row passes. Like optimum's validation, structure is checked before values (names,
symbolic dims, metadata against the checkpoint); every failure is collected.
Grid: batch {1, 2, 7, 64, 1000} x seq {1, window/2, window, 2*window}, none equal to the export example, on
three inputs: random walks at the data's level, the checkpoint's own test windows, and those test windows
moved 10,000 series scales away (a level no training window had: the case per-window scaling is for).
Models take and return float32 or float64 (ModelMeta.io_dtype); the reference gets the same input type.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from seqinfer.infer import __version__ as SEQINFER_VERSION
from seqinfer.infer.contract import (
    CHECKPOINT_FILE,
    INPUT_NAME,
    ONNX_FILE,
    ORT_CUDA_OPTIONS,
    OUTPUT_NAME,
    PARITY_FILE,
    TORCHSCRIPT_FILE,
    ModelMeta,
    state_spec,
)
from seqinfer.infer.errors import ConfigError, ModelError, ParityError
from seqinfer.trainer.checkpoint import load_checkpoint
from seqinfer.trainer.model import Forecaster

from .config import CUDA, VerifyConfig
from .graph_checks import Check, check_graph

SHIFT_SCALES = 10_000     # "shifted" inputs: test windows moved this many series scales up
ROUNDING_NOTE = "rounding amplified"   # a row judged against the reference's own rounding (step_parity.py)
STATE_NOTE = "state differs by"        # a stateful row whose carried state is off (step_parity.py)


@dataclass
class Row:
    runtime: str          # torchscript | onnxruntime
    provider: str         # cpu (TorchScript) or the onnxruntime provider name
    inputs: str           # random | test
    batch: int
    seq: int
    max_abs: float
    max_rel: float        # max |d| / S
    tol_used: float       # max |d| / (atol S + rtol |ref|): <= 1 passes
    passed: bool
    note: str = ""


@dataclass
class ParityReport:
    model: str
    checkpoint: str
    config: VerifyConfig
    tol: Tolerance | None = None                          # the rule with the series' scale filled in
    checks: list[Check] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # "what: why", e.g. "onnxruntime CUDA: no CUDA"
    path: str = ""                                        # where the JSON went

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows) and all(c.passed for c in self.checks)

    def failures(self) -> list[str]:
        out = [f"check {c.name}: {c.detail}" for c in self.checks if not c.passed]
        out += [f"{r.runtime} {r.provider} {r.inputs} batch {r.batch} seq {r.seq}: max abs {r.max_abs:.2e}"
                + (f" ({r.note})" if r.note else "") for r in self.rows if not r.passed]
        if not self.rows:
            out.append("no comparison ran")
        return out

    def table(self) -> str:
        lines = [f"verify {self.model} against {self.checkpoint} (eager PyTorch is the reference)",
                 "pass: " + (self.tol.rule() if self.tol else f"atol {self.config.atol:g} of the scale")]
        lines += [f"  check {k.name:<22} {'PASS' if k.passed else 'FAIL'}  {k.detail}" for k in self.checks]
        lines.append(f"{'runtime':<12} {'provider':<21} {'inputs':<7} {'batch':>5} {'seq':>4} "
                     f"{'max abs':>9} {'max rel':>9} {'tol used':>8}  result")
        for r in self.rows:
            lines.append(f"{r.runtime:<12} {r.provider:<21} {r.inputs:<7} {r.batch:>5} {r.seq:>4} "
                         f"{r.max_abs:>9.2e} {r.max_rel:>9.2e} {r.tol_used:>8.3f}  "
                         f"{'PASS' if r.passed else 'FAIL'}{' ' + r.note if r.note else ''}")
        lines += [f"{'skipped':<12} {s}" for s in self.skipped]
        return "\n".join(lines)

    def verdict(self) -> str:
        """The one final line."""
        n = len(self.rows)
        if self.passed:
            worst = max(r.tol_used for r in self.rows)
            max_abs, max_rel = max(r.max_abs for r in self.rows), max(r.max_rel for r in self.rows)
            amplified = sum(r.note.startswith(ROUNDING_NOTE) for r in self.rows)
            where = f"; {amplified} where the model amplifies rounding, see their notes" if amplified else ""
            return (f"PASSED: {n} comparisons within tolerance (max abs {max_abs:.2e}, "
                    f"max rel {max_rel:.2e}, worst case used {worst:.1%} of the tolerance{where}); "
                    f"{len(self.skipped)} skipped")
        bad = self.failures()
        return f"FAILED: {len(bad)} failure(s), first: {bad[0]}{self._amplified_hint()}"

    def _amplified_hint(self) -> str:
        """When every failure is a forecast on a row where the model amplifies rounding, and the rows it
        does not amplify passed the strict rule: say so, and which --atol would take the export as it is.
        A stateful GRU trained on 50 store-item series (Poisson sales) failed so at batch 64 on its test
        part repeated to 3,000 steps: after step ~1,830 onnxruntime (its GRU op and the Scan alike) went
        one way at a row where float64, eager float32 and the weight-moved runs went another, 4.3 apart on
        values near 40."""
        failed = [r for r in self.rows if not r.passed]
        strict = [r for r in self.rows if not r.note.startswith(ROUNDING_NOTE)]
        doubt = any(not c.passed for c in self.checks) or not strict or not all(r.passed for r in strict)
        if not failed or doubt or any(STATE_NOTE in r.note for r in failed):   # all failed are amplified
            return ""
        need = float(f"{max(r.max_rel for r in failed) * 1.05:.2g}")
        return (f". Every failure is a forecast where the model itself amplifies rounding (its own float32 "
                f"run is off float64 there), and the {len(strict)} rows where it does not passed the strict "
                f"rule: on this data the model's long-run forecasts depend on rounding. --atol {need:g} (of "
                f"the series' scale) accepts the graph as it is")

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise ParityFailed(self)

    def summary(self) -> dict[str, Any]:
        """Compact, reproducible figures for the ONNX metadata (2 significant digits, no timings)."""
        def sig(v: float) -> float:
            return float(f"{v:.2g}")
        per: dict[str, Any] = {}
        for r in self.rows:
            key = f"{r.runtime}/{r.provider}"
            s = per.setdefault(key, {"cases": 0, "max_abs": 0.0, "max_rel": 0.0})
            s["cases"] += 1
            s["max_abs"], s["max_rel"] = max(s["max_abs"], r.max_abs), max(s["max_rel"], r.max_rel)
        for s in per.values():
            s["max_abs"], s["max_rel"] = sig(s["max_abs"]), sig(s["max_rel"])
        tol = self.tol or Tolerance(self.config.atol, 1.0, self.config.rtol or 0.0, "float32")
        return {"passed": self.passed, "atol": tol.atol, "rtol": tol.rtol, "scale": sig(tol.scale),
                "rule": "|y-ref| <= atol*scale + rtol*|ref|", "batches": list(self.config.batches),
                "seqs": sorted({r.seq for r in self.rows}), "inputs": sorted({r.inputs for r in self.rows}),
                "runtimes": per, "skipped": list(self.skipped), "onnxruntime": ort.__version__}

    def to_json(self) -> dict[str, Any]:
        return {"seqinfer": SEQINFER_VERSION, "model": self.model, "checkpoint": self.checkpoint,
                "passed": self.passed, "verdict": self.verdict(), "config": asdict(self.config),
                "checks": [asdict(c) for c in self.checks], "rows": [asdict(r) for r in self.rows],
                "skipped": self.skipped, "summary": self.summary()}

    def write(self, path: str | Path, extra: dict[str, Any] | None = None) -> None:
        self.path = str(path)
        Path(path).write_text(json.dumps({**self.to_json(), **(extra or {})}, indent=1) + "\n")


class ParityFailed(ParityError):
    """Verification failed; carries the report so the CLI can print the table before the one-line error."""

    def __init__(self, report: ParityReport) -> None:
        self.report = report
        where = f"; table above, JSON in {report.path}" if report.path else ""
        super().__init__(f"verify {report.verdict()}{where}")


@dataclass(frozen=True)
class Tolerance:
    """The pass rule with numbers: |y - ref| <= atol * scale + rtol * |ref|."""

    atol: float          # a share of `scale`
    scale: float         # S: the training std of the target
    rtol: float
    io_dtype: str

    def rule(self) -> str:
        return (f"|y - ref| <= atol*S + rtol*|ref|, atol {self.atol:g} (default 1e-4) of the series' scale "
                f"S {self.scale:.4g}, rtol {self.rtol:g} (default for {self.io_dtype} I/O)")

    def bound(self, ref: np.ndarray) -> np.ndarray:
        return self.atol * self.scale + self.rtol * np.abs(ref)


def data_stats(model: Forecaster, ckpt: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature level and scale of the training data (the checkpoint's; a bare one: the model's)."""
    data = ckpt.get("data", {})
    if "norm_mean" in data and "norm_std" in data:
        return np.asarray(data["norm_mean"], np.float64), np.asarray(data["norm_std"], np.float64)
    return model.norm_mean.double().numpy(), model.norm_std.double().numpy()


def tolerance(model: Forecaster, ckpt: dict[str, Any], config: VerifyConfig) -> Tolerance:
    io = io_dtype_of(ckpt)
    scale = float(data_stats(model, ckpt)[1][0]) or 1.0
    return Tolerance(config.atol, scale, config.rtol_for(io), io)


def io_dtype_of(ckpt: dict[str, Any]) -> str:
    return str(ckpt.get("data", {}).get("io_dtype", "float32"))


# --- inputs -------------------------------------------------------------------------------------------------
def random_windows(model: Forecaster, ckpt: dict[str, Any], batch: int, seq: int, seed: int) -> np.ndarray:
    """Random walks at the data's level, steps of a tenth of its scale: raw-scale windows of any shape,
    reproducible per (seed, batch, seq), float64 (the caller casts to the model's input type)."""
    rng = np.random.default_rng([seed, batch, seq])
    mean, std = data_stats(model, ckpt)
    start = mean + std * rng.standard_normal((batch, 1, model.config.features))
    steps = 0.1 * std * rng.standard_normal((batch, seq, model.config.features))
    return start + np.cumsum(steps, axis=1) - steps[:, :1]


def load_test_windows(ckpt: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """The checkpoint's own test split as [N, window, F] raw windows, or (None, why not)."""
    try:
        from seqinfer.trainer.data import test_windows  # the trainer rebuilds them from the data config
    except ImportError as e:
        return None, f"seqinfer.trainer.data.test_windows unavailable ({e})"
    try:
        w = np.asarray(test_windows(ckpt), dtype=np.float64)
    except Exception as e:  # any failure to rebuild the data means the same to verify: fall back to random
        return None, f"could not rebuild the test split ({type(e).__name__}: {e})"
    if w.ndim != 3 or len(w) == 0:
        return None, f"test split gave no windows (shape {w.shape})"
    return w, ""


def test_batch(windows: np.ndarray, batch: int, seq: int) -> np.ndarray:
    """`batch` test windows (repeated when there are fewer) trimmed to their last `seq` steps. Longer than a
    window: window i is followed by window i + window, i.e. its continuation when windows slide by one."""
    n, w = len(windows), windows.shape[1]
    idx = np.arange(batch) % n
    parts = [windows[(idx + k * w) % n] for k in range(-(-seq // w))]
    return np.ascontiguousarray(np.concatenate(parts[::-1], axis=1)[:, -seq:])


# --- runtimes -----------------------------------------------------------------------------------------------
@contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """onnxruntime logs provider-load failures straight to fd 2; keep them for the reason, off the console."""
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines += tmp.read().decode(errors="replace").splitlines()


def _cuda_reason(log: list[str]) -> str:
    for line in log:
        if "cannot open shared object file" in line:
            lib = line.split("error:")[-1].split(":")[0].strip()
            return f"no CUDA ({lib} not found; onnxruntime-gpu lists CUDA without its libraries)"
    return "no CUDA (onnxruntime-gpu lists CUDAExecutionProvider but the session fell back to CPU)"


def ort_session(path: str | Path, provider: str) -> tuple[ort.InferenceSession | None, str]:
    """A session that really runs on `provider` (trusting session.get_providers()), or (None, why not)."""
    if provider not in ort.get_available_providers():
        return None, f"not in this onnxruntime build ({ort.__version__})"
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    spec: Any = (provider, ORT_CUDA_OPTIONS) if provider == CUDA else provider    # as predict runs it
    with _captured_stderr() as log:
        if provider == CUDA and hasattr(ort, "preload_dlls"):
            with contextlib.redirect_stdout(io.StringIO()):    # pip's nvidia-* CUDA libraries, as predict
                try:
                    ort.preload_dlls()
                except Exception:  # noqa: BLE001 - a failed preload only means the library search goes on
                    pass
        try:
            sess = ort.InferenceSession(str(path), opts, providers=[spec])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelError(f"{path}: onnxruntime cannot load it ({first})") from None
    if sess.get_providers()[0] != provider:
        return None, _cuda_reason(log) if provider == CUDA else "did not load (session fell back to CPU)"
    return sess, ""


def torchscript_on_cuda(ts_path: str | Path, report: ParityReport, config: VerifyConfig) -> Any:
    """model.ts loaded onto the GPU, with CUDA's float32 set as training and predict set it (cuda_precision);
    None, and a skipped line saying why, where CUDA is not among the providers asked or torch has none."""
    if CUDA not in config.providers:
        report.skipped.append("torchscript cuda: CUDA is not among the providers asked")
        return None
    if not torch.cuda.is_available():
        report.skipped.append(f"torchscript cuda: no CUDA GPU (torch {torch.__version__})")
        return None
    from seqinfer.trainer.fit import cuda_precision

    cuda_precision()
    ts = torch.jit.load(str(ts_path), map_location="cuda").eval()

    def run(*args: Any) -> Any:
        with warnings.catch_warnings():     # cuDNN compacts the loaded LSTM's weights per call; said once
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")
            return ts(*args)
    return run


def _ort_runner(sess: ort.InferenceSession) -> Callable[[np.ndarray], np.ndarray]:
    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0])
    return run


def _compare(y: np.ndarray, ref: np.ndarray, tol: Tolerance) -> tuple[float, float, float, bool, str]:
    if y.shape != ref.shape:
        return float("inf"), float("inf"), float("inf"), False, f"shape {y.shape} != reference {ref.shape}"
    if y.dtype != ref.dtype:
        return float("inf"), float("inf"), float("inf"), False, f"dtype {y.dtype} != reference {ref.dtype}"
    d = np.abs(y.astype(np.float64) - ref.astype(np.float64))
    if not np.all(np.isfinite(y)):
        return float("inf"), float("inf"), float("inf"), False, "non-finite output"
    bound = tol.bound(ref.astype(np.float64))
    max_abs = float(d.max(initial=0.0))
    used = float((d / (bound + 1e-300)).max(initial=0.0))
    return max_abs, max_abs / tol.scale, used, bool(np.all(d <= bound)), ""


def run_parity(model: Forecaster, ckpt: dict[str, Any], onnx_path: str | Path, ts_path: str | Path | None,
               config: VerifyConfig, report: ParityReport) -> None:
    """Fill `report.rows` / `report.skipped`: every runtime that loads, on every grid cell and input kind."""
    window = int(ckpt.get("data", {}).get("window", 0)) or 1
    runtimes: list[tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = []
    if ts_path is not None and config.torchscript:
        try:
            ts = torch.jit.load(str(ts_path), map_location="cpu").eval()
        except (RuntimeError, ValueError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelError(f"{ts_path}: not a loadable TorchScript file ({first})") from None

        def run_ts(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return ts(torch.from_numpy(x)).numpy()
        runtimes.append(("torchscript", "cpu", run_ts))
        ts_cuda = torchscript_on_cuda(ts_path, report, config)
        if ts_cuda is not None:
            def run_ts_cuda(x: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    return ts_cuda(torch.from_numpy(x).cuda()).cpu().numpy()
            runtimes.append(("torchscript", "cuda", run_ts_cuda))
    elif config.torchscript:
        report.skipped.append("torchscript: no TorchScript file given (ONNX-only verification)")
    for provider in config.providers:
        sess, why = ort_session(onnx_path, provider)
        if sess is None:
            report.skipped.append(f"onnxruntime {provider}: {why}")
            continue
        runtimes.append(("onnxruntime", provider, _ort_runner(sess)))
    tol = report.tol = tolerance(model, ckpt, config)
    dtype = np.dtype(tol.io_dtype).type
    inputs: dict[str, Callable[[int, int], np.ndarray]] = {}
    if "random" in config.inputs:
        inputs["random"] = lambda b, s: random_windows(model, ckpt, b, s, config.seed)
    windows, why = load_test_windows(ckpt) if {"test", "shifted"} & set(config.inputs) else (None, "")
    if windows is None and why:
        report.skipped.append(f"test windows: {why}; random windows only"
                              + ("" if "shifted" not in config.inputs else " (shifted: random ones)"))
    if "test" in config.inputs and windows is not None:
        inputs["test"] = lambda b, s: test_batch(windows, b, s)
    if "shifted" in config.inputs:
        shift = SHIFT_SCALES * tol.scale
        if windows is not None:
            inputs["shifted"] = lambda b, s: test_batch(windows, b, s) + shift
        else:
            inputs["shifted"] = lambda b, s: random_windows(model, ckpt, b, s, config.seed + 1) + shift
    for kind, make in inputs.items():
        for batch in config.batches:
            for seq in config.grid_seqs(window):
                x = np.ascontiguousarray(make(batch, seq), dtype)
                with torch.inference_mode():
                    ref = model(torch.from_numpy(x)).numpy()
                for runtime, provider, run in runtimes:
                    report.rows.append(Row(runtime, provider, kind, batch, seq,
                                           *_compare(np.asarray(run(x)), ref, tol)))


# --- entry point --------------------------------------------------------------------------------------------
def resolve_target(target: str | Path, checkpoint: str | Path | None) -> tuple[Path, Path | None, Path, Path]:
    """-> (model.onnx, model.ts or None, checkpoint.pt, parity JSON path)."""
    t = Path(target)
    if t.is_dir():
        onnx_path, ts = t / ONNX_FILE, t / TORCHSCRIPT_FILE
        ckpt = Path(checkpoint) if checkpoint else t / CHECKPOINT_FILE
        if not onnx_path.is_file():
            raise ModelError(f"{t}: no {ONNX_FILE} (run `seqinfer export {t}` first)")
        return onnx_path, ts if ts.is_file() else None, ckpt, t / PARITY_FILE
    if not t.is_file():
        raise ModelError(f"{t}: no such model file or folder")
    if checkpoint is None:
        if not (t.parent / CHECKPOINT_FILE).is_file():
            raise ConfigError(f"{t}: name the checkpoint it came from (--checkpoint PATH)")
        checkpoint = t.parent
    report = t.parent / PARITY_FILE if t.name == ONNX_FILE else t.with_name(t.stem + "." + PARITY_FILE)
    ts = t.parent / TORCHSCRIPT_FILE if t.name == ONNX_FILE else None
    return t, ts if ts is not None and ts.is_file() else None, Path(checkpoint), report


def meta_checks(proto: onnx.ModelProto, model: Forecaster, ckpt: dict[str, Any]) -> list[Check]:
    """The file's metadata must describe the checkpoint it is verified against."""
    try:
        meta = ModelMeta.from_props({p.key: p.value for p in proto.metadata_props})
    except ModelError as e:
        return [Check("metadata", False, str(e))]
    cfg, data = model.config, ckpt.get("data", {})
    want = {"kind": cfg.kind, "horizon": cfg.horizon, "features": cfg.features, "scaling": cfg.scaling,
            "io_dtype": io_dtype_of(ckpt), "stateful": cfg.stateful,
            "window": int(data.get("window", meta.window)),
            "fingerprint": str(data.get("fingerprint", ""))}
    bad = [f"{k} {getattr(meta, k)!r} != checkpoint {v!r}" for k, v in want.items() if getattr(meta, k) != v]
    for name, buf in (("norm_mean", model.norm_mean), ("norm_std", model.norm_std)):
        if not np.allclose(getattr(meta, name), buf.numpy(), rtol=1e-6, atol=0):
            bad.append(f"{name} differs from the checkpoint's")
    return [Check("metadata", not bad, "; ".join(bad) or "kind, window, horizon, features, scaling, I/O "
                                                         "type, norm and the data's fingerprint (the series "
                                                         "and settings, not the weights) match the "
                                                         "checkpoint; the weights: the grid below")]


def verify_files(model: Forecaster, ckpt: dict[str, Any], onnx_path: str | Path, ts_path: str | Path | None,
                 config: VerifyConfig, *, label: str = "", checkpoint_label: str = "") -> ParityReport:
    """Structure first (graph checks, metadata), then values over the grid. Collects everything."""
    report = ParityReport(label or str(onnx_path), checkpoint_label or "checkpoint", config)
    try:
        proto = onnx.load(str(onnx_path))
    except Exception as e:  # protobuf's DecodeError and friends
        raise ModelError(f"{onnx_path}: not a readable ONNX file ({type(e).__name__}: {e})") from None
    cfg = model.config
    try:                   # the metadata's own reading; a file it refuses is meta_checks' row to report
        stateful = ModelMeta.from_props({p.key: p.value for p in proto.metadata_props}).stateful
    except ModelError:
        stateful = cfg.stateful
    if stateful != cfg.stateful:         # the value runs would fail in TorchScript's forward(): say it now
        kinds = ("stateful", "windowed") if cfg.stateful else ("windowed", "stateful")
        held = checkpoint_label or "the checkpoint"
        raise ConfigError(f"{onnx_path}: a {kinds[1]} model, but {held} holds a {kinds[0]} one: give the "
                          f"checkpoint it was exported from (--checkpoint)")
    state = list(state_spec(cfg.kind, cfg.scaling, cfg.layers, cfg.hidden, cfg.features)) \
        if cfg.stateful else []
    report.checks += check_graph(proto, features=cfg.features, horizon=cfg.horizon, state=state)
    report.checks += meta_checks(proto, model, ckpt)
    if cfg.stateful:
        from .step_parity import run_step_parity

        run_step_parity(model, ckpt, onnx_path, ts_path, config, report)     # type: ignore[arg-type]
    else:
        run_parity(model, ckpt, onnx_path, ts_path, config, report)
    return report


def verify(target: str | Path, config: VerifyConfig | None = None, *, checkpoint: str | Path | None = None,
           report_path: str | Path | None = None) -> ParityReport:
    """Verify an artifacts/<kind> folder (model.onnx + model.ts) or one .onnx file against its checkpoint.

    Writes the report as JSON (parity.json beside the model unless `report_path`) and returns it; does not
    raise on a parity failure (call `report.raise_if_failed()`), only on unusable inputs (SeqinferError).
    """
    config = config or VerifyConfig()
    onnx_path, ts_path, ckpt_path, default_report = resolve_target(target, checkpoint)
    model, ckpt = load_checkpoint(ckpt_path)
    report = verify_files(model, ckpt, onnx_path, ts_path, config, label=str(onnx_path),
                          checkpoint_label=str(ckpt_path))
    report.write(report_path or default_report)
    return report
