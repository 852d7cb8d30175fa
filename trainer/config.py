"""Frozen, validated configs for what to train on (DataConfig) and how to train (TrainConfig). Torch-free."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from seqinfer.infer.config import ColumnSpec
from seqinfer.infer.contract import SCALINGS
from seqinfer.infer.errors import ConfigError
from seqinfer.infer.table import TABLE_FILLS as FILLS  # a file read whole: a gap can be interpolated

KINDS = ("rnn", "lstm", "gru")

# Per-kind defaults, tuned on the built-in sine on a 2-core CPU (see README "Training"): each kind gets the
# batch size that is cheapest per window for its kernel. PyTorch's CPU LSTM runs one fused oneDNN kernel, so
# small batches are cheap; GRU and RNN run op by op, where a step costs about the same up to ~128 windows,
# so they take bigger batches and a higher learning rate. Any field set in TrainConfig overrides these.
# Stateful models (trainer/stateful.py): an epoch reads each series once (not every window), so it costs about
# a window's length less than a windowed epoch, and they take more of them; batches are stretches of series.
# stretch / tbptt / warmup are multiples of the window. Measured on the 12 series of bench section 11 (test
# MSE of the stateful model / its windowed twin's, seed 0, 300 epochs; geometric mean, worst):
#   stretch, warmup (tbptt 1/4)   lstm         gru
#   2, 1                          0.97, 1.28   0.99, 2.14
#   8, 1                          0.94, 2.80   0.92, 1.58
#   8, 2  (the default)           0.90, 1.12   0.87, 1.23
#   16, 2                         1.01, 1.94   0.74, 1.99
# A long stretch comes nearer the history the state carries in use (a whole series); it costs about 1.7x the
# training time of 2, 1 (fewer stretches to run side by side). The plain RNN did best with (4, tbptt 1/2, 3):
# 1.19, 3.60; (8, 1/2, 2) 1.24, 8.68; (8, 1/2, 3) 1.16, 3.08; (8, 1/2, 4) 1.33, 16.5 (worst: the sine).
# No learning rate, hidden size or tbptt brought the plain RNN from random weights level with its windowed
# twin over seeds. A warm start does (`start`: "warm"): the stateful RNN starts from the windowed RNN
# (trained first, same cell, transform and head), which forgets beyond its window, so run with its state
# carried it forecasts as well as windowed (noisy sine: test MSE 0.01333 against 0.01328), and stateful
# training at a fine-tuning rate (`tune` x lr) keeps that start unless it does better on validation.
# Stateful/windowed test MSE, seed 0, rnn, from random weights (lr 0.01) -> warm start at lr 0.01 -> warm
# start at lr 0.001: noisy sine 1.11 -> 1.02 -> 1.06, linear_trend 1.28 -> 1.08 -> 0.98, sunspots 1.35 ->
# 1.12 -> 1.13, nile 1.65 -> 1.49 -> 0.89.
# The LSTM and GRU from random weights did well on average but were worse than windowed beyond the DM test's
# noise on some series, by up to 2.5x, and which ones changed with the CPU's rounding. On the 12 series
# (seed 0; geometric mean, worst, the series worse beyond noise), Intel Xeon 2-core, 2026-11-26:
#   start                          lstm                                  gru
#   scratch                        1.13, 2.52: co2 nile random_walk sine  0.81, 1.36: elnino random_walk
#   warm, tune 1                   0.87, 1.75: elnino linear_trend noisy  0.71, 1.20: linear_trend
#   warm, tune 0.1                 1.00, 1.22: (9 series measured)        1.04, 1.20: linear_trend nile
#   best, tune 0.1 (LSTM default)  0.96, 1.22: elnino 1.01, noisy 1.02    0.82, 1.20: linear_trend nile
#   best, tune 1 (GRU default)                                           0.71, 1.20: linear_trend
# ("best" kept the scratch model on one of 24: the LSTM on cpi, 0.98 against the warm one's 0.93.)
# The windowed LSTM run with its state carried drifts on a trend (linear_trend 1.75 after fine-tuning at
# lr 0.01, 0.94 at 0.001); the GRU's fine-tuning at 0.001 seldom left its start (nile: 1.13 kept, 1.06
# fine-tuned at 0.01). Both rates are per kind (`tune`, no option: --lr scales them). "best" keeps
# the model trained from scratch only if it is better on validation beyond noise: picking the lower
# validation MSE alone took it on nile (0.78x the windowed validation MSE, then 2.52x its test MSE) and
# random_walk (0.97x, then 1.55x): its best of 300 epochs flatters it on 10-60 validation windows.
# `prefer`: which of the warm start and its fine-tuned weights stays unless the other is better on
# validation beyond noise. Seeds 0 and 1, the 12 series, best start; geometric mean, and the series worse
# than the windowed twin beyond noise (each candidate of one `--stateful both` run scored on test):
#   prefer               lstm seed 0, seed 1                      gru seed 0, seed 1
#   start                0.96: 2 (elnino, noisy);                 0.71: 1 (linear_trend 1.20);
#                        1.01: 4 (co2 elnino nile noisy)          0.79: 4 (co2 elnino exp_trend sunspots 1.50)
#   tuned (the default)  0.96: 1 (noisy 1.07);                    0.68: 1 (sunspots 1.43);
#                        0.99: 1 (noisy 1.17)                     0.74: 1 (elnino 1.59)
# The windowed start run with its state carried was itself worse than its twin beyond noise on up to 5
# series a seed (sunspots 1.50); fine-tuned, it was better on test in 27 of the 38 cells where the two
# differed, yet cleared the validation noise in few. The plain RNN keeps "start" (_start_or_better).
STATEFUL_DEFAULTS: dict[str, dict[str, Any]] = {
    "rnn": {"hidden": 32, "batch_size": 8, "lr": 0.01, "epochs": 300, "stretch": 4.0, "tbptt": 0.5,
            "warmup": 3.0, "patience": 300, "start": "warm", "tune": 0.1, "prefer": "start"},
    "lstm": {"hidden": 32, "batch_size": 8, "lr": 0.01, "epochs": 300, "stretch": 8.0, "tbptt": 0.25,
             "warmup": 2.0, "patience": 300, "start": "best", "tune": 0.1, "prefer": "tuned"},
    "gru": {"hidden": 64, "batch_size": 8, "lr": 0.01, "epochs": 300, "stretch": 8.0, "tbptt": 0.25,
            "warmup": 2.0, "patience": 300, "start": "best", "tune": 1.0, "prefer": "tuned"},
}
STARTS = ("warm", "scratch", "best")     # a stateful model's first weights (TrainConfig.start)
# "diff" by measurement (bench/accuracy.py): on the sine it reached test MSE 1.1e-9 (rnn) to 2.1e-9 (gru)
# against 4e-8 to 2.3e-7 for "global", and on every trending series it beat the naive forecast where
# "global" lost by 4x to 650x. "window" won on an exponential trend only.
DEFAULT_SCALING = "diff"
STATEFUL_CHOICES = ("no", "yes", "both")
DEFAULT_PATIENCE = 20
# A windowed model's epoch draws at most this many of the training windows, afresh each epoch, so that a big
# file trains in minutes: 50 series of 1,826 days (a tenth of Kaggle's store-item file, 59,900 windows) took
# 24.5 s an epoch for the GRU on this 2-core machine, 40 epochs 16 min. A stateful model's epoch draws whole
# stretches up to this many steps with a loss: on that file its 300 epochs (64,000 such steps each) took the
# GRU about 5 s each (2.2 s of it validation, since run side by side: stateful.forecast_all), 25 min a
# start; capped, 1.1 s. Every series of the bench (at most 1,320 windows and 1,400 training steps, on the
# sine) stays below it: the same epochs, bit for bit. 0: all of them, every epoch.
DEFAULT_EPOCH_WINDOWS = 16_384
STATEFUL_SUFFIX = "-stateful"        # a stateful model's name and folder: gru-stateful


def run_names(kinds: tuple[str, ...] | list[str], stateful: str) -> list[str]:
    """The models a run trains: each kind, its stateful twin, or both (windowed first)."""
    return [k + s for k in kinds for s in {"no": ("",), "yes": (STATEFUL_SUFFIX,),
                                           "both": ("", STATEFUL_SUFFIX)}[stateful]]


def split_name(name: str) -> tuple[str, bool]:
    """gru-stateful -> ("gru", True)."""
    return name.removesuffix(STATEFUL_SUFFIX), name.endswith(STATEFUL_SUFFIX)


KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "rnn": {"hidden": 32, "batch_size": 64, "lr": 0.01, "epochs": 80},
    "lstm": {"hidden": 32, "batch_size": 32, "lr": 0.01, "epochs": 72},
    "gru": {"hidden": 64, "batch_size": 128, "lr": 0.03, "epochs": 40},
}


def _check(cond: bool, field: str, msg: str) -> None:
    if not cond:
        raise ConfigError(msg, field=field)


@dataclass(frozen=True)
class DataConfig:
    """The series and how it is cut into windows. `path=None` means the built-in sine."""

    path: str | None = None          # CSV file; None: the built-in sine below
    # CSV columns, as `seqinfer predict` takes them (infer/columns.py): header names or 1-based numbers
    value_col: tuple[str, ...] = ()  # the value(s) to forecast; () lets the rules find it
    series_col: str | None = None    # series id; windows never cross series
    time_col: str | None = None      # passed through; checked for gaps
    keep: tuple[str, ...] = ()       # other columns, accepted and read past (predict copies them out)
    header: str = "auto"             # auto | yes | no
    date_order: str = "auto"         # auto | dmy | mdy: x/y/yyyy dates' day and month
    sep: str = ","                   # between fields: , ; tab |
    decimal: str = "."               # in numbers: . or ,
    na_values: tuple[str, ...] = ()  # more codes for a missing value (-9999)
    encoding: str = "utf-8"          # the file's text encoding (cp1252: a Windows spreadsheet's CSV)
    thousands: str = ""              # what groups thousands in numbers: none, . or ,
    fill: str = "stop"               # missing values: stop | previous | drop | interpolate
    season: int | None = None        # the baselines' season in steps; None: detected (trainer/baselines.py)
    length: int = 2000               # sine: number of points
    period: float = 20.0             # sine: sin(2*pi*t/period)
    step: float | None = None        # sine: t spacing; None spreads `length` points over t in [0, 1000]
    noise: float = 0.0               # sine: Gaussian noise sigma added to every point
    noise_seed: int = 0
    window: int = 80                 # past values per input window
    horizon: int = 1                 # future values predicted directly
    val_frac: float = 0.1            # chronological: train | val | test, test is the last test_frac
    test_frac: float = 0.2

    def __post_init__(self) -> None:
        _check(self.length >= 2, "data.length", f"must be >= 2, got {self.length}")
        _check(self.period > 0, "data.period", f"must be > 0, got {self.period}")
        _check(self.step is None or self.step > 0, "data.step", f"must be > 0, got {self.step}")
        _check(self.noise >= 0, "data.noise", f"must be >= 0, got {self.noise}")
        _check(self.window >= 1, "data.window", f"must be >= 1, got {self.window}")
        _check(self.horizon >= 1, "data.horizon", f"must be >= 1, got {self.horizon}")
        _check(self.season is None or self.season >= 1, "data.season", f"must be >= 1, got {self.season}")
        _check(0 < self.test_frac < 1, "data.test_frac", f"must be in (0, 1), got {self.test_frac}")
        _check(0 <= self.val_frac < 1 - self.test_frac, "data.val_frac",
               f"must be in [0, 1 - test_frac), got {self.val_frac}")
        _check(self.fill in FILLS, "data.fill", f"{self.fill!r} is not one of {', '.join(FILLS)}")
        object.__setattr__(self, "value_col", tuple(self.value_col))     # a list, from a checkpoint's JSON
        object.__setattr__(self, "keep", tuple(self.keep))
        object.__setattr__(self, "na_values", tuple(self.na_values))
        self.columns()                                                    # the column options' own checks
        if self.path is None:
            given = [n for n in ("value_col", "series_col", "time_col", "keep", "na_values")
                     if getattr(self, n)] + \
                [n for n, default in (("header", "auto"), ("date_order", "auto"), ("fill", "stop"),
                                      ("sep", ","), ("decimal", "."), ("encoding", "utf-8"),
                                      ("thousands", ""))
                 if getattr(self, n) != default]
            _check(not given, f"data.{given[0] if given else ''}",
                   "only applies to a CSV file (data.path; --data)")

    def columns(self) -> ColumnSpec:
        return ColumnSpec(value_col=self.value_col, series_col=self.series_col, time_col=self.time_col,
                          keep=self.keep, header=self.header, date_order=self.date_order, sep=self.sep,
                          decimal=self.decimal, na_values=self.na_values, encoding=self.encoding,
                          thousands=self.thousands)

    @property
    def source(self) -> str:
        return self.path if self.path is not None else "sine"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer, loop, device and model size. `None` picks the kind's tuned default (KIND_DEFAULTS)."""

    epochs: int | None = None        # most epochs; early stopping may end sooner
    batch_size: int | None = None
    lr: float | None = None          # peak of the one-cycle schedule
    epoch_windows: int | None = None  # training targets drawn per epoch: windows, or a stateful model's
                                      # forecast steps (whole stretches) [16,384; 0: all]
    patience: int | None = None      # epochs without a better validation loss before stopping [20; stateful:
                                     # off, their validation loss is noisy until the schedule has cooled]
    clip: float = 1.0                # gradient-norm clip
    seed: int = 0
    device: str = "auto"             # auto | cpu | cuda | cuda:N
    threads: int = 1                 # torch threads per training process (see run._plan for why 1)
    jobs: int | None = None          # kinds trained at once in separate processes; None: auto (CPU only)
    hidden: int | None = None        # model size
    scaling: str | None = None       # input transform: global | diff | window (trainer/model.py)
    stateful: str = "no"             # no | yes | both: step models carrying their state (trainer/stateful.py)
    stretch: int | None = None       # stateful: steps per training stretch [default: STATEFUL_DEFAULTS]
    tbptt: int | None = None         # stateful: steps per backward pass [default: STATEFUL_DEFAULTS]
    warmup: int | None = None        # stateful: steps without loss at a stretch's start [STATEFUL_DEFAULTS]
    start: str | None = None         # stateful: warm | scratch | best: the first weights [STATEFUL_DEFAULTS]
    layers: int = 1
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _check(self.threads >= 1, "train.threads", f"must be >= 1, got {self.threads}")
        for name in ("epochs", "batch_size", "jobs", "hidden", "stretch", "tbptt", "warmup"):
            v = getattr(self, name)
            _check(v is None or v >= 1, f"train.{name}", f"must be >= 1, got {v}")
        _check(self.lr is None or self.lr > 0, "train.lr", f"must be > 0, got {self.lr}")
        _check(self.epoch_windows is None or self.epoch_windows >= 0, "train.epoch_windows",
               f"must be >= 0 (0: all), got {self.epoch_windows}")
        _check(self.patience is None or self.patience >= 1, "train.patience",
               f"must be >= 1, got {self.patience}")
        _check(self.clip > 0, "train.clip", f"must be > 0, got {self.clip}")
        _check(self.layers >= 1, "train.layers", f"must be >= 1, got {self.layers}")
        _check(self.stateful in STATEFUL_CHOICES, "train.stateful",
               f"{self.stateful!r} is not one of {', '.join(STATEFUL_CHOICES)}")
        _check(self.start is None or self.start in STARTS, "train.start",
               f"{self.start!r} is not one of {', '.join(STARTS)}")
        _check(self.scaling is None or self.scaling in SCALINGS, "train.scaling",
               f"{self.scaling!r} is not one of {', '.join(SCALINGS)}")
        _check(0.0 <= self.dropout < 1.0, "train.dropout", f"must be in [0, 1), got {self.dropout}")
        dev = self.device
        ok = dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())
        _check(ok, "train.device", f"{dev!r} is not one of auto, cpu, cuda, cuda:N")

    def resolved(self, kind: str, window: int = 80, stateful: bool | None = None) -> dict[str, Any]:
        """This config as plain values with the kind's defaults filled in (a stateful model's stretch,
        tbptt and warm-up default to multiples of the data's `window`). `stateful`: which of a "both" run's
        two models (default: the stateful one unless stateful is "no")."""
        _check(kind in KINDS, "model.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        out = asdict(self)
        stateful = self.stateful != "no" if stateful is None else stateful
        out["stateful"] = stateful
        for k, v in (STATEFUL_DEFAULTS if stateful else KIND_DEFAULTS)[kind].items():
            if out.get(k) is None:                  # "tune", "prefer": no field, the kind's alone
                out[k] = max(1, round(v * window)) if k in ("stretch", "tbptt", "warmup") else v
        out["scaling"] = out["scaling"] or DEFAULT_SCALING
        out["patience"] = out["patience"] or DEFAULT_PATIENCE
        if out["epoch_windows"] is None:
            out["epoch_windows"] = DEFAULT_EPOCH_WINDOWS
        if not stateful:
            for k in ("stretch", "tbptt", "warmup", "start"):
                out.pop(k)

        return out


def parse_kinds(spec: str) -> tuple[str, ...]:
    """'all' | 'rnn' | 'lstm,gru' -> ('rnn', 'lstm', 'gru') order kept, duplicates dropped."""
    if spec.strip() == "all":
        return KINDS
    kinds = tuple(dict.fromkeys(k.strip() for k in spec.split(",") if k.strip()))
    bad = [k for k in kinds if k not in KINDS]
    _check(bool(kinds) and not bad, "model", f"{spec!r}: expected all or one or more of {', '.join(KINDS)}")
    return kinds
