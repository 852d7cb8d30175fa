"""Open a seqinfer ONNX model in onnxruntime on the provider asked for, and run batches of windows.

    from seqinfer.infer.session import load_model
    model = load_model("artifacts/lstm", provider="cpu")
    y = model.predict(windows)            # windows: float32 [batch, window, features] -> [batch, horizon]
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from .config import PROVIDER_CHOICES
from .contract import (
    CHECKPOINT_FILE,
    META_PREFIX,
    NEXT_SUFFIX,
    ONNX_FILE,
    ORT_CUDA_OPTIONS,
    SEQ_LENS_NAME,
    ModelMeta,
)
from .errors import ConfigError, ModelError, ProviderError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

# A stateful model's call on CUDA runs at most this many steps: cuDNN, under onnxruntime's CUDA LSTM, refused
# predict's 65,536-step call of one series (CUDNN_STATUS_NOT_SUPPORTED in cudnnSetRNNDataDescriptor; H100,
# onnxruntime-gpu 1.31.1, bench/results/gpu), where verify's 3,000-step calls passed. Longer calls are cut
# along time, the state carried from one part to the next.
CUDA_MAX_STEPS = 2048

# What --provider auto runs: the CPU. onnxruntime's CUDA provider ran every model seqinfer trains slower than
# its CPU provider, on an H100 beside 16 cores (bench/results/gpu, `python -m bench.run --only gpu`): predict
# on 1M rows at 0.07-0.13x the CPU's rows/s for a stateful model on one series (a kernel launch per step),
# 0.51-0.91x on 10,000 series, 0.56-0.77x for the windowed LSTM. --provider cuda runs it there when asked.
AUTO_PROVIDER = "cpu"

# One intra-op thread by default: measured on the 2-core target (LSTM hidden 32, window 80), a second
# onnxruntime thread made each batch slower, not faster; the other core parses and formats meanwhile.
DEFAULT_THREADS = 1


class Session(Protocol):
    """The part of onnxruntime.InferenceSession seqinfer uses (a fake one stands in for it in tests)."""

    def get_providers(self) -> list[str]: ...
    def run(self, output_names: Any, input_feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


def model_file(model: str | Path) -> Path:
    """MODEL as given on the command line: a .onnx file, or an artifacts/<kind> folder holding one."""
    path = Path(model)
    if path.is_dir():
        if not (path / ONNX_FILE).is_file() and (path / CHECKPOINT_FILE).is_file():
            raise ModelError(f"{path}: a trained checkpoint, not exported yet: seqinfer export {path} writes "
                             f"its {ONNX_FILE}")
        path = path / ONNX_FILE
    if not path.is_file():
        raise ModelError(f"{path}: no such model file (give a .onnx file or a folder holding {ONNX_FILE})")
    return path


def session_options(threads: int | None, spin: bool = False) -> ort.SessionOptions:
    threads = DEFAULT_THREADS if threads is None else threads
    if threads < 0:
        raise ConfigError(f"threads: must be >= 0 (0 lets onnxruntime decide), got {threads}")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    # Spinning threads steal the core that parses and formats; idle waits are cheap at these batch sizes.
    # A session whose one call has the cores to itself (the API's small batches) spins: the recurrent ops
    # fork and join once per time step, and waking sleeping threads 80 times a call cost more than the work.
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return so


@contextlib.contextmanager
def _captured_output() -> Iterator[list[str]]:
    """Collect what onnxruntime prints while it tries CUDA (C++ log on fd 2, preload_dlls on stdout).

    stdout carries forecasts, so nothing may leak there; the text becomes the reason we report instead.
    """
    lines: list[str] = []
    sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stdout(io.StringIO()) as py_out:
                yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = py_out.getvalue() + tmp.read().decode("utf-8", "replace")
            lines.extend(ln.strip() for ln in text.splitlines() if ln.strip())


def _cuda_reason(log: list[str]) -> str:
    """The most telling line of onnxruntime's CUDA failure log, without ANSI colours or timestamps."""
    import re

    clean = [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in log]
    for key in ("cannot open shared object", "Failed to load", "Failed to create", "Require"):
        for ln in clean:
            if key in ln:
                ln = re.sub(r"^.*?\] ", "", ln)  # drop '2026-... [E:onnxruntime:...] ' prefixes
                return ln[:300]
    return clean[-1][:300] if clean else "the session fell back to CPUExecutionProvider"


def create_session(
    requested: str,
    create: Callable[[list[str]], Session],
    available: list[str],
    preload: Callable[[], object] | None = None,
) -> tuple[Session, str]:
    """The session for `requested` (PROVIDER_CHOICES) -> (session, "cuda" | "cpu").

    auto is the CPU (AUTO_PROVIDER). cuda is checked against what the created session reports, not what
    onnxruntime lists: onnxruntime-gpu lists CUDAExecutionProvider even where the CUDA libraries are missing
    and then quietly runs on the CPU; there "cuda" is a ProviderError that says why.
    """
    if requested not in PROVIDER_CHOICES:
        raise ConfigError(f"provider: {requested!r} is not one of {', '.join(PROVIDER_CHOICES)}")
    if (AUTO_PROVIDER if requested == "auto" else requested) == "cpu":
        return create([CPU]), "cpu"
    if CUDA not in available:
        reason = f"this onnxruntime build has no {CUDA} (it has: {', '.join(available)})"
    else:
        with _captured_output() as log:
            if preload is not None:
                try:  # finds the CUDA/cuDNN libraries of pip's nvidia-* packages (torch brings them)
                    preload()
                except Exception as e:  # noqa: BLE001 - a failed preload only means the search goes on
                    print(f"preload_dlls: {e}")
            session = create([CUDA, CPU])
        if session.get_providers()[:1] == [CUDA]:
            return session, "cuda"
        reason = _cuda_reason(log)
    raise ProviderError(f"--provider cuda: CUDA cannot run here: {reason}")


def default_workers(provider: str) -> int:
    """Model threads: one per core (at most 4, beyond which parsing is the limit); one for CUDA."""
    if provider == "cuda":
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@dataclass
class Model:
    """An open seqinfer model: `predict` runs float32 windows through onnxruntime, rolling out if asked."""

    path: Path
    meta: ModelMeta
    session: Session
    provider: str           # "cuda" | "cpu": what actually runs
    max_steps: int = 0      # a stateful call's longest run of steps; 0: no limit (CUDA_MAX_STEPS on CUDA)

    def __post_init__(self) -> None:
        if self.provider == "cuda" and not self.max_steps:
            self.max_steps = CUDA_MAX_STEPS

    @property
    def dtype(self) -> np.dtype:
        """What the model takes and returns: float32, or float64 (ModelMeta.io_dtype)."""
        return np.dtype(self.meta.io_dtype)

    def run(self, x: np.ndarray) -> np.ndarray:
        """One onnxruntime call: x [batch, seq, features] -> [batch, model horizon], in the model's dtype."""
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return self.session.run([self.meta.output_name], {self.meta.input_name: x})[0]

    def step(self, x: np.ndarray, state: list[np.ndarray], seq_lens: np.ndarray
             ) -> tuple[np.ndarray, list[np.ndarray]]:
        """A stateful model's call: x [B, T, F], the state (meta.state's order), valid steps per row ->
        (forecasts [B, T, horizon], the state after each row's last valid step). Past max_steps, the
        steps are run in parts, each on the rows still going, the state carried."""
        if not self.max_steps or x.shape[1] <= self.max_steps:
            return self._step(x, state, seq_lens)
        lens, state, parts = seq_lens.astype(np.int64), [s.copy() for s in state], []
        for a in range(0, x.shape[1], self.max_steps):
            k = min(self.max_steps, x.shape[1] - a)
            live = np.flatnonzero(lens > a)
            y, new = self._step(x[live, a:a + k], [s[live] for s in state], np.minimum(lens[live] - a, k))
            part = np.zeros((len(x), k, y.shape[2]), y.dtype)
            part[live] = y
            parts.append(part)
            for s, n in zip(state, new, strict=True):
                s[live] = n
        return np.concatenate(parts, axis=1), state

    def _step(self, x: np.ndarray, state: list[np.ndarray], seq_lens: np.ndarray
              ) -> tuple[np.ndarray, list[np.ndarray]]:
        names = list(self.meta.state)
        feed = {self.meta.input_name: x.astype(self.dtype, copy=False),
                SEQ_LENS_NAME: seq_lens.astype(np.int32, copy=False), **dict(zip(names, state, strict=True))}
        out = self.session.run([self.meta.output_name, *(n + NEXT_SUFFIX for n in names)], feed)
        return out[0], list(out[1:])

    def predict(self, x: np.ndarray, horizon: int | None = None) -> np.ndarray:
        """x [batch, window, features] -> [batch, horizon]; past the model's horizon, feed forecasts back."""
        h_model = self.meta.horizon
        horizon = h_model if horizon is None else horizon
        y = self.run(x)                                           # (B, H)
        if horizon <= h_model:
            return y[:, :horizon]
        check_rollout(self.meta, horizon)
        window = x.shape[1]
        steps = [y]
        got = h_model
        while got < horizon:
            x = np.concatenate([x, y[:, :, None]], axis=1)[:, -window:]   # (B, W, 1): forecasts fed back
            y = self.run(np.ascontiguousarray(x))                         # (B, H)
            steps.append(y)
            got += h_model
        return np.concatenate(steps, axis=1)[:, :horizon]


def check_rollout(meta: ModelMeta, horizon: int) -> None:
    if horizon < 1:
        raise ConfigError(f"horizon: must be >= 1, got {horizon}")
    if horizon > meta.horizon and meta.features != 1:
        raise ConfigError(f"horizon: {horizon} exceeds the model's {meta.horizon}, and rolling out needs a "
                          f"single-feature model (this one has {meta.features} features per step)")


def read_meta(session: Any, source: str) -> ModelMeta:
    """The file's metadata (validated by ModelMeta), checked against the graph it describes."""
    props = session.get_modelmeta().custom_metadata_map
    meta = ModelMeta.from_props(props, source=source)
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    if meta.input_name not in inputs or meta.output_name not in outputs:
        raise ModelError(f"{source}: metadata names input {meta.input_name!r} / output {meta.output_name!r}, "
                         f"the graph has inputs {list(inputs)} and outputs {list(outputs)}")
    # Only static dims can disagree; symbolic ones (batch, seq) come as names, unknown ones as None.
    takes, gives = _static_dim(inputs[meta.input_name], -1), _static_dim(outputs[meta.output_name], -1)
    if takes is not None and takes != meta.features:
        raise ModelError(f"{source}: metadata {META_PREFIX}features is {meta.features}, but the graph's "
                         f"input {meta.input_name!r} takes {takes} per step")
    if gives is not None and gives != meta.horizon:
        raise ModelError(f"{source}: metadata {META_PREFIX}horizon is {meta.horizon}, but the graph's "
                         f"output {meta.output_name!r} gives {gives} per window")
    if meta.stateful:
        want_in, want_out = [*meta.state, SEQ_LENS_NAME], [n + NEXT_SUFFIX for n in meta.state]
        missing = [n for n in want_in if n not in inputs] + [n for n in want_out if n not in outputs]
        if missing:
            raise ModelError(f"{source}: metadata describes a stateful model, but the graph lacks "
                             f"{', '.join(missing)} (inputs {list(inputs)}, outputs {list(outputs)})")
    return meta


def _static_dim(shape: list[Any] | None, axis: int) -> int | None:
    """onnxruntime's shape entry at `axis` when it is a fixed size (an int), else None."""
    if not shape or not -len(shape) <= axis < len(shape):
        return None
    dim = shape[axis]
    return dim if isinstance(dim, int) else None


def load_model(model: str | Path, provider: str = "auto", threads: int | None = None,
               spin: bool = False) -> Model:
    """Open MODEL (a .onnx file or artifacts/<kind> folder); ModelError/ProviderError if it cannot run."""
    path = model_file(model)
    options = session_options(threads, spin)

    def create(providers: list[str]) -> ort.InferenceSession:
        spec = [(p, ORT_CUDA_OPTIONS) if p == CUDA else p for p in providers]    # as verify runs it
        try:
            return ort.InferenceSession(str(path), options, providers=spec)
        except Exception as e:
            if not type(e).__module__.startswith("onnxruntime"):
                raise  # not onnxruntime refusing the file: a bug, keep the traceback
            text = (str(e).strip().splitlines() or [type(e).__name__])[0]
            text = text.split(" : ")[-1].split("failed:")[-1]  # drop '[ONNXRuntimeError] : 7 : ... failed:'
            text = text.rsplit(") ", 1)[-1] if "onnxruntime_src" in text else text  # and C++ source places
            raise ModelError(f"{path}: not a loadable ONNX model ({text[:200]})") from None

    preload = getattr(ort, "preload_dlls", None)
    session, used = create_session(provider, create, ort.get_available_providers(), preload)
    return Model(path=path, meta=read_meta(session, str(path)), session=session, provider=used)


def probe_providers(model: str | Path) -> dict[str, str]:
    """For `seqinfer info`: which providers really run MODEL here, and why not where they do not."""
    status = {}
    for requested, name in (("cpu", CPU), ("cuda", CUDA)):
        try:
            load_model(model, requested)
            status[name] = "runs here"
        except ProviderError as e:
            status[name] = "not here: " + str(e).removeprefix("--provider cuda: CUDA cannot run here: ")
    for name in ort.get_available_providers():
        status.setdefault(name, "listed by onnxruntime, not tried by seqinfer")
    return status
