"""The per-series state of a stateful model, and one step call over a micro-batch of rows.

    store = StepStore(model)
    y, seen = store.run(codes, values)      # rows in input order -> forecasts [n, horizon], rows seen before
    y, seen = store.run_plan(Plan.of(codes, values))      # the same, grouped by series beforehand

A series is a slot of contiguous arrays ([slots, layers, hidden] for h and c, [slots, features] for the last
value), addressed by the series code that infer/state.py's SeriesState gives each row. A call gathers the
slots of the series in the batch, runs every series' rows as one sequence (rows of several series padded to
the longest, each stopping at its own length: the graph's seq_lens), and scatters the new state back: one
recurrent step per new value. `seen` counts each series' earlier rows, for the warm-up.

`save` / `load` keep the state across runs (`predict --state PATH`): one .npz, written to a temporary name
and renamed, naming the model it belongs to (the sha256 of model.onnx): another model's file is refused.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clocks import Clocks
from .errors import ConfigError, ModelError
from .reader import writable
from .session import Model

STATE_FORMAT = "seqinfer-state/1"
TIME_PREFIX = "time_"      # a state file's time-column state (Clocks.FIELDS); files without it load too


def model_id(model: Model) -> str:
    """What a state file must match: the sha256 of the model file's bytes."""
    return hashlib.sha256(model.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Plan:
    """A micro-batch's rows grouped by series: each series' rows one sequence, padded to the longest."""

    n: int                       # rows
    slots: np.ndarray            # int64 [S]: the series (codes) in the batch, ascending
    lens: np.ndarray             # int64 [S]: rows of each
    x: np.ndarray                # [S, longest, F], C-contiguous
    row_of: np.ndarray           # int64 [n]: each input row's series (index into slots) ...
    pos: np.ndarray              # ... and its step in that series' sequence

    @staticmethod
    def of(codes: np.ndarray, values: np.ndarray) -> Plan:
        """Rows (series code [n], values [n, F]) in input order -> their plan."""
        n = len(codes)
        if n == 0 or (codes == codes[0]).all():                # one series: no grouping, no padding
            return Plan(n, codes[:1], np.array([n], np.int64), np.ascontiguousarray(values[None]),
                        np.zeros(n, np.int64), np.arange(n))
        order = np.argsort(codes, kind="stable")                # rows grouped by series, input order kept
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        slots = sorted_codes[starts]
        lens = np.diff(np.r_[starts, n])
        group = np.repeat(np.arange(len(slots)), lens)          # each sorted row's group
        within = np.arange(n) - np.repeat(starts, lens)         # its position in the group
        x = np.zeros((len(slots), int(lens.max()), values.shape[1]), values.dtype)
        x[group, within] = values[order]
        pos, row_of = np.empty(n, np.int64), np.empty(n, np.int64)
        pos[order], row_of[order] = within, group
        return Plan(n, slots, lens, x, row_of, pos)


class StepStore:
    """Per-series state arrays for `model` (a stateful seqinfer model), indexed by series code."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.names = list(model.meta.state)
        self.spec = model.meta.state
        self.arrays = {n: self._empty(n, 0) for n in self.names}
        self.seen = np.zeros(0, np.int64)                      # rows run so far, per slot

    def _empty(self, name: str, slots: int) -> np.ndarray:
        s = self.spec[name]
        dtype = np.dtype(s["dtype"])
        fill = np.nan if s["init"] == "nan" else 0.0
        return np.full((slots, *s["shape"]), fill, dtype)

    def _grow(self, top: int) -> None:
        have = len(self.seen)
        if top < have:
            return
        size = max(top + 1, 2 * have, 64)
        for n in self.names:
            self.arrays[n] = np.concatenate([self.arrays[n], self._empty(n, size - have)])
        self.seen = np.concatenate([self.seen, np.zeros(size - have, np.int64)])

    def reset(self, codes: Sequence[int]) -> None:
        """Slots handed to new series: back to the state of a series not seen yet."""
        if not len(codes):
            return
        idx = np.asarray(codes, np.int64)
        self._grow(int(idx.max()))
        for n in self.names:
            self.arrays[n][idx] = self._empty(n, 1)[0]
        self.seen[idx] = 0

    def run(self, codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows (series code [n], values [n, F]), in input order -> (forecasts [n, H], earlier rows each)."""
        return self.run_plan(Plan.of(codes, values))

    def state_of(self, p: Plan) -> list[np.ndarray]:
        """The state the plan's series start from (copies, in meta.state's order)."""
        at = self._at(p)
        return [self.arrays[name][at].copy() if isinstance(at, slice) else self.arrays[name][at]
                for name in self.names]

    def _at(self, p: Plan) -> slice | np.ndarray:
        """Where the plan's series are in the state arrays: a slice where they hold consecutive slots (series
        get slots in order of arrival, so a batch of every series is one), gathered and scattered without
        an index (at 10,000 series: 2.5 of 21 ms a call, the rest onnxruntime); else their slots."""
        first, last = int(p.slots[0]), int(p.slots[-1])             # sorted (Plan.of)
        self._grow(last)
        return slice(first, last + 1) if last - first == len(p.slots) - 1 else p.slots

    def run_plan(self, p: Plan) -> tuple[np.ndarray, np.ndarray]:
        """run, for rows already grouped by series (predict groups a batch on its parsing thread while the
        model thread runs the one before: 3.5 ms of 65,536 rows over 10,000 series, off the slowest stage)."""
        if p.n == 0:
            return np.zeros((0, self.model.meta.horizon), self.model.dtype), np.zeros(0, np.int64)
        at = self._at(p)
        y, new = self.model.step(p.x, [self.arrays[name][at] for name in self.names], p.lens)
        for name, s in zip(self.names, new, strict=True):
            self.arrays[name][at] = s
        seen = self.seen[p.slots][p.row_of] + p.pos
        self.seen[p.slots] += p.lens
        return y[p.row_of, p.pos], seen

    # --- across runs ------------------------------------------------------------------------------------
    def save(self, path: str | Path, keys: dict[Hashable, int], last: np.ndarray,
             clocks: Clocks | None = None, what: str = "--state") -> None:
        """Write the live series' state (keys: series id -> code; last: per code, the last value for
        --fill previous, NaN where none; clocks: their time column's state, the last time read and what the
        gap check keeps) atomically: a temporary file, fsync, rename. `what` names the path in errors."""
        path = Path(path)
        writable(path, what)
        items = sorted(keys.items(), key=lambda kv: kv[1])
        codes = np.array([c for _, c in items], np.int64)
        self._grow(int(codes.max()) if len(codes) else 0)
        none = np.array([k is None for k, _ in items], bool)
        ids = np.array([b"" if k is None else k if isinstance(k, bytes) else str(k).encode()
                        for k, _ in items], dtype=np.bytes_)
        last_arr = last[codes].astype(np.float64)
        tmp = path.with_name(f".{path.name}.tmp")
        arrays: dict[str, np.ndarray] = {
            "format": np.array(STATE_FORMAT), "model": np.array(model_id(self.model)), "ids": ids,
            "unnamed": none, "seen": self.seen[codes], "last": last_arr,
            **{f"state_{n}": self.arrays[n][codes] for n in self.names},
            **({} if clocks is None else {f"{TIME_PREFIX}{f}": a for f, a in clocks.of(codes).items()})}
        try:
            with open(tmp, "wb") as out:
                np.savez(out, **arrays)  # type: ignore[arg-type]
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as e:               # a full disk, a quota: the old file stays as it was
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"{what} {path}: cannot write ({e.strerror}); the file is left as it "
                              f"was") from None

    def load(self, path: str | Path, what: str = "--state") -> tuple[
            list[Hashable], np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """-> (series ids, their last values [S, F], their state arrays by name, their time state by
        Clocks.FIELDS or None where the file has none); the caller assigns codes and calls `put`.
        ModelError when the file is not a state file of this model. `what` names the path in errors."""
        try:
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except OSError as e:
            raise ModelError(f"{what} {path}: {e.strerror or e}") from None
        except (ValueError, EOFError, zipfile.BadZipFile, KeyError):   # cut short, empty, or not an .npz
            raise ModelError(f"{what} {path}: not a seqinfer state file (not a whole NumPy .npz of arrays: "
                             f"cut short, or another kind of file)") from None
        if str(data.get("format", "")) != STATE_FORMAT:
            raise ModelError(f"{what} {path}: not a seqinfer state file (format {STATE_FORMAT!r} expected)")
        if str(data["model"]) != model_id(self.model):
            raise ModelError(f"{what} {path}: the state of a different model (model.onnx sha256 "
                             f"{str(data['model'])[:12]}, this one {model_id(self.model)[:12]}); give the "
                             f"model it was written with, or another --state file")
        keys: list[Hashable] = [None if u else bytes(k)
                                for k, u in zip(data["ids"], data["unnamed"], strict=True)]
        states = {n: data[f"state_{n}"] for n in self.names}
        states["__seen__"] = data["seen"]
        timed = f"{TIME_PREFIX}last" in data
        clocks = {f: data[f"{TIME_PREFIX}{f}"] for f in Clocks.FIELDS} if timed else None
        return keys, data["last"], states, clocks

    def put(self, codes: np.ndarray, states: dict[str, np.ndarray]) -> None:
        """Place loaded state arrays at `codes`."""
        if not len(codes):
            return
        self._grow(int(codes.max()))
        for n in self.names:
            self.arrays[n][codes] = states[n].astype(self.arrays[n].dtype)
        self.seen[codes] = states["__seen__"]

