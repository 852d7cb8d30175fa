"""The Python API: the engine `seqinfer predict` uses, for other applications (numpy + onnxruntime, no torch).

    from seqinfer.infer import Forecaster
    f = Forecaster("artifacts/lstm")                  # or a .onnx file; provider="auto" | "cuda" | "cpu"
    y = f.predict(windows)                            # [B, window] or [B, window, features] -> [B, horizon]
                                                      # (a large batch is split across one thread per core)
    for fc in f.stream([0.1, 0.2, ...]):              # or (series, value) pairs, interleaved
        print(fc.position, fc.series, fc.yhat)

    s = Forecaster("artifacts/lstm-stateful")         # a stateful model (seqinfer train --stateful)
    y = s.step(["a", "b", "a"], [0.1, 5.0, 0.2])      # one forecast per row, each series carrying its state
    s.save_state("state.npz")                         # the same file as `seqinfer predict --state`
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import compiled
from .config import WIDE_MAX
from .contract import ModelMeta
from .errors import ConfigError, DataError
from .parse import F32_OVERFLOW
from .session import Model, check_rollout, default_workers, load_model, probe_providers
from .state import SeriesState
from .stepstate import StepStore

PREDICT_BATCH = 1024      # most rows per onnxruntime call inside predict(); results do not depend on it
MIN_SPLIT = 32            # fewest rows worth a worker of their own when a batch is split


class Forecast(NamedTuple):
    position: int            # 0-based position of the row in the iterable
    series: Hashable | None  # the row's series, when rows are (series, value) pairs
    yhat: np.ndarray         # float32 [horizon]


class Forecaster:
    """A seqinfer ONNX model in onnxruntime. Raises ModelError / ProviderError (seqinfer.infer.errors)."""

    def __init__(self, model: str | Path, *, provider: str = "auto", threads: int | None = None,
                 window: int | None = None, workers: int | None = None) -> None:
        if window is not None and window < 1:
            raise ConfigError(f"window: must be >= 1, got {window}")
        if workers is not None and workers < 1:
            raise ConfigError(f"workers: must be >= 1, got {workers}")
        self.model: Model = load_model(model, provider, threads)
        self.window = window or self.model.meta.window
        self.workers = workers or default_workers(self.model.provider)
        self._pool: ThreadPoolExecutor | None = None
        # Small batches: the same model on a session with `workers` intra-op threads (CPU, default threads).
        self._wide: Model | None = None
        self._steps: tuple[SeriesState, StepStore] | None = None        # a stateful model's series
        if self.model.provider == "cpu" and self.workers > 1 and threads is None and not self.meta.stateful:
            self._wide = load_model(self.model.path, "cpu", self.workers, spin=True)

    def close(self) -> None:
        """Stop the worker threads (predict() starts them again if called later)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> Forecaster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def meta(self) -> ModelMeta:
        return self.model.meta

    @property
    def horizon(self) -> int:
        return self.model.meta.horizon

    @property
    def provider(self) -> str:
        """"cuda" or "cpu": what the onnxruntime session really runs on."""
        return self.model.provider

    # --- stateful models ----------------------------------------------------------------------------------
    def step(self, series: Sequence[Hashable] | None, values: Any) -> np.ndarray:
        """A stateful model: rows in order, (series id, value) each (`series` None: one series), every
        series continuing from its state -> forecasts [n, horizon], one per row. A series' first
        `meta.warmup` rows build its state; their forecasts are less trustworthy (predict holds them back).
        Ids are text, as predict reads them from a CSV (str, bytes, or integers: 17 and "17" are one
        series), so that save_state / load_state and `predict --state` files carry them alike."""
        if not self.meta.stateful:
            raise ConfigError("step(): this model is windowed; give it windows with predict() or rows with "
                              "stream()")
        f = self.meta.features
        try:
            v = np.asarray(values, dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise DataError(f"values: not numbers ({e})", source="step()") from None
        v = v.reshape(len(v), f) if v.ndim == 1 and f == 1 else v
        if v.ndim != 2 or v.shape[1] != f:
            raise DataError(f"values: expected [n] or [n, {f}], got {list(np.shape(values))}",
                            source="step()")
        keys = None if series is None else series_keys(series, len(v))
        limit = F32_OVERFLOW if self.model.dtype == np.float32 else np.inf
        ok = (np.abs(v) < limit).all(axis=1)
        if not ok.all():
            beyond = " or beyond float32 (3.4e38)" if limit < np.inf else ""
            raise DataError(f"values: row {int(np.argmin(ok))} is NaN, inf{beyond}", source="step()")
        if not len(v):
            return np.empty((0, self.horizon), self.model.dtype)
        return self._carry(*self._step_state(), v, keys)[0]

    def _carry(self, state: SeriesState, store: StepStore, v: np.ndarray, keys: list[Hashable] | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Rows (values [n, F], series keys) through their series' state: (forecasts, earlier rows each).
        step()'s and a stateful stream()'s one path."""
        state.ready(v.astype(self.model.dtype), keys)
        store.reset(state.fresh)
        return store.run(state.row_codes, v)

    def _step_state(self) -> tuple[SeriesState, StepStore]:
        if self._steps is None:
            series = SeriesState(1, self.meta.features, dtype=self.model.dtype.type)
            self._steps = (series, StepStore(self.model))
        return self._steps

    def reset_state(self) -> None:
        """Forget every series (the next step() starts them new)."""
        self._steps = None

    def save_state(self, path: str | Path) -> None:
        """Every series' state to `path`, as `seqinfer predict --state` writes it (the same file format)."""
        state, store = self._step_state()
        store.save(path, dict(state.ids), state.last, state.clocks, what="save_state()")

    def load_state(self, path: str | Path) -> None:
        """The series' state from `path` (written by save_state or predict --state); other series stay."""
        state, store = self._step_state()
        keys, last, arrays, clocks = store.load(path, what="load_state()")
        store.put(state.restore(keys, last, clocks), arrays)

    def predict(self, windows: np.ndarray, horizon: int | None = None) -> np.ndarray:
        """Raw windows [B, window] (one feature) or [B, window, features] -> float32 [B, horizon].

        Past the model's own horizon the forecasts are fed back as inputs (single-feature models).
        """
        if self.meta.stateful:
            raise ConfigError("predict(): this model is stateful: give it rows with step(series, values)")
        try:
            x = np.asarray(windows, dtype=self.model.dtype)
        except (ValueError, TypeError) as e:
            raise DataError(f"windows: not an array of numbers ({e})", source="predict()") from None
        f = self.meta.features
        if x.ndim == 2 and f == 1:
            x = x[:, :, None]
        if x.ndim != 3 or x.shape[2] != f or x.shape[1] < 1:
            raise DataError(f"windows: expected shape [batch, window] or [batch, window, {f}], "
                            f"got {list(np.shape(windows))}", source="predict()")
        if x.shape[1] != self.window:
            raise DataError(f"windows: {x.shape[1]} values each, the window is {self.window} (the model's; "
                            f"Forecaster(..., window=N) runs it on another)", source="predict()")
        if not np.isfinite(x).all():
            raise DataError("windows: contains NaN or inf (or a value beyond the model's float type)",
                            source="predict()")
        h = self.horizon if horizon is None else horizon
        if h < 1:
            raise ConfigError(f"horizon: must be >= 1, got {h}")
        check_rollout(self.meta, h)
        if 0 < len(x) <= WIDE_MAX:                  # one call; onnxruntime spreads it over the cores
            return (self._wide or self.model).predict(np.ascontiguousarray(x), h)
        parts = split_batch(len(x), self.workers)
        if not parts:
            return np.empty((0, h), self.model.dtype)
        # The calling thread runs one share itself: handing every share to the pool cost 0.1-0.5 ms more per
        # call (two thread wake-ups instead of one). Slices go round-robin, so shares are even.
        w = min(self.workers, len(parts))
        groups = [parts[i::w] for i in range(w)]

        def run(group: list[slice]) -> list[np.ndarray]:
            # onnxruntime releases the GIL inside run(), so the shares really run side by side on one session
            return [self.model.predict(np.ascontiguousarray(x[s]), h) for s in group]

        if w > 1 and self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="seqinfer-predict")
        futures = [self._pool.submit(run, g) for g in groups[1:]] if self._pool is not None else []
        done: list[list[np.ndarray]] = []
        try:
            done.append(run(groups[0]))
        finally:
            done += [f.result() for f in futures]                 # never leave a share running behind
        return np.concatenate([done[j % w][j // w] for j in range(len(parts))])

    def stream(self, rows: Iterable[float | tuple[Hashable, float] | tuple[Hashable, list[float]]], *,
               horizon: int | None = None, batch_size: int = 1) -> Iterator[Forecast]:
        """Forecasts for a stream of observations: `value` or `(series, value)` per row, interleaved freely.

        Each series keeps its last `window` values; from its window-th value on, every row yields a
        Forecast. A stateful model: each series carries its state from its first row, and every row past
        its warm-up (meta.warmup rows, held back as predict does) yields one; a state of this stream's
        own (step()'s is apart). Rows are run `batch_size` at a time (1: each forecast as soon as its row
        arrives).
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size: must be >= 1, got {batch_size}")
        if self.meta.stateful:
            yield from self._stream_steps(rows, horizon, batch_size)
            return
        state = SeriesState(self.window, self.meta.features, dtype=self.model.dtype.type)
        it = iter(rows)
        start = 0
        while chunk := list(islice(it, batch_size)):
            keys, values = _split_rows(chunk, start, self.meta.features)
            src, idx, mask = state.ready(values, keys)
            if len(idx):
                y = self.predict(src[idx], horizon)
                for i, yhat in zip(np.flatnonzero(mask).tolist(), y, strict=True):
                    yield Forecast(start + i, None if keys is None else keys[i], yhat)
            start += len(chunk)


    def _stream_steps(self, rows: Iterable[Any], horizon: int | None, batch_size: int) -> Iterator[Forecast]:
        """stream() for a stateful model: rows through their series' state, batch_size at a time."""
        if horizon is not None and horizon != self.horizon:
            raise ConfigError(f"horizon: a stateful model forecasts its own {self.horizon} step(s) from "
                              f"every row; {horizon} is not available")
        state = SeriesState(1, self.meta.features, dtype=self.model.dtype.type)
        store = StepStore(self.model)
        it = iter(rows)
        start = 0
        while chunk := list(islice(it, batch_size)):
            keys, values = _split_rows(chunk, start, self.meta.features)
            y, seen = self._carry(state, store, values, keys)
            for i in np.flatnonzero(seen >= self.meta.warmup).tolist():
                yield Forecast(start + i, None if keys is None else keys[i], y[i])
            start += len(chunk)


def series_keys(series: Sequence[Hashable], n: int) -> list[Hashable]:
    """step()'s series ids as predict reads them from a CSV: text, UTF-8 bytes (str, bytes, or a number
    written as str() writes it: 17 and "17" are one series), so that a state file carries them across the
    API and the CLI alike."""
    if isinstance(series, (str, bytes)):
        raise DataError("series: a list of ids, one per row (got one string)", source="step()")
    if len(series) != n:
        raise DataError(f"series: {len(series)} ids for {n} rows", source="step()")
    keys: list[Hashable] = []
    for i, k in enumerate(series):
        if isinstance(k, bytes):
            keys.append(k)
        elif isinstance(k, (str, int, np.integer)) and not isinstance(k, bool):
            keys.append(str(k).encode())
        else:
            raise DataError(f"series: row {i}'s id is {type(k).__name__} {k!r}: ids are text (str, bytes) or "
                            f"integers", source="step()")
    return keys


def split_batch(n: int, workers: int) -> list[slice]:
    """Near-equal slices of n rows: at least one per PREDICT_BATCH rows, and up to one per worker while each
    keeps MIN_SPLIT rows or more; a multiple of `workers` when there are more slices than workers."""
    if n == 0:
        return []
    k = max(1, min(workers, n // MIN_SPLIT))
    if n > k * PREDICT_BATCH:
        k = -(-n // (PREDICT_BATCH * workers)) * workers
    bounds = [n * i // k for i in range(k + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def _split_rows(chunk: list, start: int, features: int) -> tuple[list | None, np.ndarray]:
    """Rows -> (series keys or None, values float64 [n, features]); DataError names the bad row."""
    paired = isinstance(chunk[0], tuple)
    odd = [i for i, r in enumerate(chunk) if not isinstance(r, tuple) or len(r) != 2] if paired else []
    if odd:
        raise DataError(f"row {start + odd[0]}: {chunk[odd[0]]!r}: rows are (series, value) pairs, or values "
                        f"alone", source="stream()")
    keys = [r[0] for r in chunk] if paired else None
    try:
        values = np.array([r[1] if paired else r for r in chunk], dtype=np.float64)
        values = values.reshape(len(chunk), features)
    except (ValueError, TypeError, IndexError) as e:
        raise DataError(f"rows {start}..{start + len(chunk) - 1}: not numbers of {features} feature(s) "
                        f"({e})", source="stream()") from None
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if len(bad):
        raise DataError(f"row {start + int(bad[0])}: NaN or inf", source="stream()")
    return keys, values


def describe(model: str | Path) -> list[str]:
    """`seqinfer info`: inputs, outputs, symbolic dims, metadata, and the providers that really run here."""
    m = load_model(model, "cpu")
    sess = m.session
    lines = [f"model: {m.path}",
             f"kind: {m.meta.kind}  window: {m.meta.window}  horizon: {m.meta.horizon}  "
             f"features: {m.meta.features}"]
    dims: list[str] = []
    for role, args in (("input", sess.get_inputs()), ("output", sess.get_outputs())):  # type: ignore[attr-defined]
        for a in args:
            lines.append(f"{role}: {a.name} {a.type} {list(a.shape)}")
            dims += [d for d in a.shape if isinstance(d, str) and d not in dims]
    lines.append(f"symbolic dims: {', '.join(dims) or 'none'}")
    lines.append("metadata:")
    props = sess.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    lines += [f"  {k} = {props[k]}" for k in sorted(props)]
    lines.append("providers:")
    lines += [f"  {name}: {status}" for name, status in probe_providers(m.path).items()]
    lines.append(f"csv reader and writer: {compiled.DESCRIPTION}")
    return lines
