"""Series -> chronological splits -> windows, and the fingerprint. Torch-free: export rebuilds test windows.

    from seqinfer.trainer.data import test_windows
    x = test_windows(torch.load("artifacts/lstm/checkpoint.pt", weights_only=True))   # [N, window, 1] raw
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from seqinfer.infer.errors import DataError
from seqinfer.infer.table import read_table

from .config import DataConfig

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Series:
    values: list[np.ndarray]     # one float64 [n, features] array per series; feature 0 is the target
    ids: list[str]
    source: str                  # "sine" or the CSV path
    column: str                  # the value column(s), as named in the file
    filled: int = 0              # values touched by the fill policy
    lines: list[np.ndarray] | None = None    # per series: the CSV line of each value (None: the sine)
    notes: tuple[str, ...] = ()  # what the reader understood and counted, for stderr
    names: tuple[str, ...] = ()  # the header's names of the value columns (none: the sine, no header)
    missing: list[np.ndarray] | None = None  # per series: bool [n], the target was made up by --fill


@dataclass(frozen=True)
class Windows:
    x: np.ndarray                # [N, window, features] float64, raw scale (the model casts to its input)
    y: np.ndarray                # [N, horizon] float64, raw scale (feature 0)

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Dataset:
    series: Series
    segments: dict[str, list[np.ndarray]]   # split -> one chronological piece per series
    windows: dict[str, Windows]             # split -> windows that lie wholly inside one piece
    mean: np.ndarray                        # [features], fitted on the train pieces only
    std: np.ndarray
    notes: tuple[str, ...] = ()             # series too short to give a split a window, for stderr
    # split -> bool over the windows each piece gives, in order: scored (val, test: no target --fill made
    # up; train keeps every window). `windows` holds the kept ones; baselines.origins applies the same.
    kept: dict[str, np.ndarray] | None = None


def sine(cfg: DataConfig) -> Series:
    """The tutorial's series: sin(2*pi*t/period) at `length` points, t spread over [0, 1000] by default."""
    step = cfg.step if cfg.step is not None else 1000.0 / (cfg.length - 1)
    t = np.arange(cfg.length, dtype=np.float64) * step
    y = np.sin(2 * np.pi * t / cfg.period)
    if cfg.noise > 0:
        y = y + np.random.default_rng(cfg.noise_seed).normal(0.0, cfg.noise, size=y.shape)
    return Series(values=[y[:, None]], ids=[""], source="sine", column="sin")


def load_series(cfg: DataConfig, report: Callable[[str], None] | None = None) -> Series:
    """The built-in sine, or the CSV read by the reader `seqinfer predict` uses (infer/table.py).
    `report` hears how the columns were read as soon as they are decided, before a bad line can fail the
    read; without it, that line leads the notes."""
    if cfg.path is None:
        return sine(cfg)
    said: list[str] = []
    t = read_table(cfg.path, cfg.columns(), fill=cfg.fill, report=report or said.append)
    column = ",".join(t.columns.label(i) for i in t.columns.values)
    head = t.columns.header
    names = tuple(head[i].strip() for i in t.columns.values) if head is not None else ()
    return Series(values=t.values, ids=t.ids, source=cfg.path, column=column, filled=t.filled,
                  lines=t.lines, notes=tuple(said + t.notes), names=names,
                  missing=t.missing if any(m.any() for m in t.missing) else None)


def split_points(n: int, cfg: DataConfig) -> tuple[int, int]:
    """End indices of train and val in a series of n points; test is the rest (its last test_frac)."""
    n_test = int(round(n * cfg.test_frac))
    n_val = int(round(n * cfg.val_frac))
    return n - n_val - n_test, n - n_test


def make_windows(values: np.ndarray, window: int, horizon: int) -> Windows:
    """values [n, F] -> x [n - window - horizon + 1, window, F], y [.., horizon] from feature 0."""
    n, feats = values.shape
    count = n - window - horizon + 1
    if count <= 0:
        return Windows(np.zeros((0, window, feats)), np.zeros((0, horizon)))
    v = values.astype(np.float64)
    x = sliding_window_view(v, (window, feats))[:count, 0]                  # (N, window, F)
    y = sliding_window_view(v[window:, 0], horizon)[:count]                 # (N, horizon)
    return Windows(np.ascontiguousarray(x), np.ascontiguousarray(y))


def build(cfg: DataConfig, series: Series | None = None) -> Dataset:
    """Cut every series chronologically, window each piece on its own, fit normalization on train."""
    series = series if series is not None else load_series(cfg)
    segments: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    made_up: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for k, v in enumerate(series.values):
        v = v.reshape(len(v), -1)                                        # (n, features)
        a, b = split_points(len(v), cfg)
        miss = series.missing[k] if series.missing is not None else np.zeros(len(v), bool)
        for name, lo, hi in zip(SPLITS, (0, a, b), (a, b, len(v)), strict=True):
            segments[name].append(v[lo:hi])
            made_up[name].append(miss[lo:hi])
    windows, kept = {}, {}
    for name in SPLITS:
        parts = [make_windows(p, cfg.window, cfg.horizon) for p in segments[name]]
        keep = np.concatenate([_scored(m, cfg.window, cfg.horizon) if name != "train" else
                               np.ones(len(w), bool) for m, w in zip(made_up[name], parts, strict=True)])
        kept[name] = keep
        windows[name] = Windows(np.concatenate([w.x for w in parts])[keep],
                                np.concatenate([w.y for w in parts])[keep])
    need = cfg.window + cfg.horizon
    for name in ("train", "test") + (("val",) if cfg.val_frac > 0 else ()):
        if len(windows[name]) == 0 and len(kept[name]):
            raise DataError(f"the {name} split has no window to score: --fill {cfg.fill} made up the target "
                            f"of each of its {len(kept[name])}", source=series.source)
        if len(windows[name]) == 0:
            longest = max(len(p) for p in segments[name])
            raise DataError(f"the {name} split has no window: its longest piece has {longest} points, a "
                            f"window needs window + horizon = {need} (shorten --window or --horizon, or add "
                            f"data)",
                            source=series.source)
    train = np.concatenate(segments["train"])
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant series normalizes to zero, not to NaN
    unscored = {name: int((~kept[name]).sum()) for name in ("val", "test") if (~kept[name]).any()}
    said = () if not unscored else (
        f"--fill {cfg.fill}: " + " and ".join(f"{n} {name} origin(s)" for name, n in unscored.items()) +
        " whose target it made up are not scored (the models' and the baselines' alike)",)
    return Dataset(series, segments, windows, mean.astype(np.float32), std.astype(np.float32),
                   _short(series, segments, cfg) + _constant(series, segments) + said, kept)


def _scored(made_up: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """Per window of a piece (make_windows' order): True when none of its `horizon` targets was made up."""
    count = len(made_up) - window - horizon + 1
    if count <= 0:
        return np.zeros(0, bool)
    return np.asarray(~sliding_window_view(made_up[window:], horizon)[:count].any(axis=1), bool)


def _constant(series: Series, segments: dict[str, list[np.ndarray]]) -> tuple[str, ...]:
    """Say which series' target never changes in the training part (a stuck sensor, a placeholder code):
    the model can learn nothing there but that value, and the naive forecast is exact."""
    flat = [k for k, p in enumerate(segments["train"]) if len(p) > 1 and np.ptp(p[:, 0]) == 0]
    if not flat:
        return ()
    k = flat[0]
    value = f"{segments['train'][k][0, 0]:g}"
    if len(series.values) == 1:
        return (f"the value is {value} in every row of the training part: the model can learn nothing "
                f"but that value, and the naive forecast is exact there",)
    return (f"{len(flat)} of {len(series.values)} series never change in their training part (the first: "
            f"{series.ids[k]!r}, always {value}): nothing to learn from them",)


def _short(series: Series, segments: dict[str, list[np.ndarray]], cfg: DataConfig) -> tuple[str, ...]:
    """Say which series give a split no window (a store opened late, a sensor added last week): they are
    not trained on, validated or scored there, and a long-format file should not hide that."""
    need = cfg.window + cfg.horizon
    splits = SPLITS if cfg.val_frac > 0 else ("train", "test")
    few = {name: np.array([len(p) < need for p in segments[name]]) for name in splits}
    unused = np.logical_and.reduce(list(few.values()))
    rows = np.array([len(v) for v in series.values])

    def shortest(mask: np.ndarray) -> str:
        k = int(np.flatnonzero(mask)[np.argmin(rows[mask])])
        return f"{series.ids[k]!r}, {rows[k]} rows" if series.ids[k] else f"{rows[k]} rows"

    out = []
    if unused.any():
        out.append(f"{unused.sum()} of {len(rows)} series too short for a window in any split (each split's "
                   f"part of a series needs window + horizon = {need} points; the shortest: "
                   f"{shortest(unused)}): not used")
    use = {"train": "not trained on", "val": "not validated on", "test": "not scored on"}
    for name in splits:
        mask = few[name] & ~unused
        if mask.any():
            out.append(f"{mask.sum()} of {len(rows)} series give the {name} split no window (its part "
                       f"needs window + horizon = {need} points; the shortest: {shortest(mask)}): "
                       f"{use[name]}")
    return tuple(out)


# float32 holds about 7 significant digits. When its spacing at the training data's largest magnitude is
# above this share of the series' typical one-step change, the exported model takes and returns float64
# and does the level arithmetic in float64 (the recurrent core stays float32). Measured: a series
# 10,000 + 0.5 sin(2 pi t / 40) has a float32 spacing of 9.8e-4 at 10,000, 1.7% of its step: float32 input
# alone put an error of ~1e-3 into every forecast, more than the model's own error.
FLOAT64_SHARE = 1e-3


def io_dtype(ds: Dataset) -> str:
    """"float64" when float32 cannot hold the training data's precision (FLOAT64_SHARE), else "float32"."""
    train = np.concatenate(ds.segments["train"])[:, 0]
    steps = np.concatenate([np.diff(p[:, 0]) for p in ds.segments["train"] if len(p) > 1] or [np.zeros(1)])
    typical = float(np.std(steps)) or float(np.std(train)) or 1.0
    spacing = float(np.spacing(np.float32(np.abs(train).max(initial=0.0))))
    return "float64" if spacing > FLOAT64_SHARE * typical else "float32"


# DataConfig fields added after checkpoints were written, with their defaults: left out of the fingerprint at
# the default, so a checkpoint from before them still matches its data (export rebuilds its test split).
NEWER_FIELDS: dict[str, Any] = {"date_order": "auto", "keep": (), "sep": ",", "decimal": ".", "na_values": (),
                                "encoding": "utf-8", "thousands": ""}


def fingerprint(series: Series, cfg: DataConfig, model_config: Mapping[str, Any]) -> str:
    """sha256 over the series values, the data config (minus the file's path) and the model config."""
    h = hashlib.sha256()
    for sid, v in zip(series.ids, series.values, strict=True):
        h.update(sid.encode() + b"\0" + np.ascontiguousarray(v, dtype="<f8").tobytes())
    conf = {k: v for k, v in cfg.to_dict().items()
            if k != "path" and not (k in NEWER_FIELDS and NEWER_FIELDS[k] == v)}
    h.update(json.dumps({"data": conf, "model": dict(model_config)}, sort_keys=True).encode())
    return h.hexdigest()


def checkpoint_data(ds: Dataset, cfg: DataConfig, model_config: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` dict stored in checkpoint.pt: plain types, enough to rebuild every split."""
    return {
        "window": cfg.window,
        "horizon": cfg.horizon,
        "fingerprint": fingerprint(ds.series, cfg, model_config),
        "source": ds.series.source,
        "column": ds.series.column,
        "value_names": list(ds.series.names),          # the header's names of the features (metadata)
        "series": len(ds.series.values),
        "points": int(sum(len(v) for v in ds.series.values)),
        "filled": ds.series.filled,
        "windows": {name: len(ds.windows[name]) for name in SPLITS},
        "norm_mean": [float(v) for v in ds.mean],
        "norm_std": [float(v) for v in ds.std],
        "io_dtype": io_dtype(ds),
        "config": cfg.to_dict(),
    }


def split_windows(ckpt: Mapping[str, Any], split: str = "test") -> Windows:
    """Rebuild one split's windows from a checkpoint dict; DataError if the data changed since training."""
    data = ckpt["data"]
    cfg = DataConfig.from_dict(data["config"])
    series = load_series(cfg)
    got = fingerprint(series, cfg, ckpt["model_config"])
    if got != data["fingerprint"]:
        raise DataError(f"data differs from what the checkpoint was trained on (fingerprint {got[:12]} != "
                        f"{data['fingerprint'][:12]})", source=series.source)
    return build(cfg, series).windows[split]


def test_windows(ckpt: Mapping[str, Any]) -> np.ndarray:
    """The checkpoint's own test windows, raw float64 [N, window, features]."""
    return split_windows(ckpt, "test").x


test_windows.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into one
