"""The exported-model contract, defined once: tensor names, symbolic axes, metadata keys, output columns.

export/ writes it, verify/ and infer/ read it, and docs/embedding.md documents it. Torch-free on purpose.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, AnyStr

from .errors import ModelError

INPUT_NAME = "x"          # float32 [batch, seq, features], raw (unnormalized) values
OUTPUT_NAME = "y"         # float32 [batch, horizon], forecasts on the original scale
BATCH_AXIS = "batch"
SEQ_AXIS = "seq"
INPUT_AXES = {0: BATCH_AXIS, 1: SEQ_AXIS}
OUTPUT_AXES = {0: BATCH_AXIS}
OPSET = 17

# Stateful (step) models: x [batch, seq, features] and the state in; y [batch, seq, horizon], one forecast per
# step, and the new state out. Every state tensor has the batch on axis 0 (one row per series), and each
# output is its input's name + NEXT_SUFFIX. Which tensors a model has: state_spec().
STATE_H = "h"             # float32 [batch, layers, hidden]: the recurrent layers' hidden state
STATE_C = "c"             # float32 [batch, layers, hidden]: the LSTM's cell state
STATE_PREV = "prev"       # the model's dtype [batch, features]: the last value seen ("diff" scaling); NaN
                          # for a series not seen yet (the graph then reads its first change as 0)
NEXT_SUFFIX = "_next"
SEQ_LENS_NAME = "seq_lens"   # int32 [batch], required: valid steps per row (>= 1) of a padded batch
STEP_OUTPUT_AXES = {0: BATCH_AXIS, 1: SEQ_AXIS}


def state_spec(kind: str, scaling: str, layers: int, hidden: int, features: int,
               io_dtype: str = "float32") -> dict[str, dict[str, Any]]:
    """name -> {"shape": per-row shape, "dtype", "init": "zeros" | "nan"}: what to feed a series first."""
    spec = {STATE_H: {"shape": [layers, hidden], "dtype": "float32", "init": "zeros"}}
    if kind == "lstm":
        spec[STATE_C] = {"shape": [layers, hidden], "dtype": "float32", "init": "zeros"}
    if scaling == "diff":
        spec[STATE_PREV] = {"shape": [features], "dtype": io_dtype, "init": "nan"}
    return spec

ONNX_FILE = "model.onnx"
TORCHSCRIPT_FILE = "model.ts"
CHECKPOINT_FILE = "checkpoint.pt"
PARITY_FILE = "parity.json"

# CUDA computes float32 as float32: TF32 rounds matmul inputs to 10 mantissa bits (about 5e-4 relative), past
# verify's tolerance. One setting for training, verify, predict and the bench, so that what verify passed on
# CUDA is what predict runs there (onnxruntime's CUDA provider turns TF32 on unless told otherwise).
CUDA_TF32 = False
ORT_CUDA_OPTIONS = {"use_tf32": "1" if CUDA_TF32 else "0"}

# Output CSV of `seqinfer predict` (and of every embedding example): passed-through columns, then these.
ROW_COLUMN = "row"            # 1-based line number of the input row the forecast was made at
SERIES_COLUMN = "series"      # series id, when the input has a series column
# A series named by several columns (--series-col store,item) has the id `1/7`: its fields joined by this, as
# the id is shown in messages, plots, metrics and state files. The output keeps each field in its own column.
SERIES_JOIN = "/"
_ESCAPE = "\\"         # before a part's own SERIES_JOIN (or itself): store `a/b` + item `c` is `a\/b/c`


def join_key(parts: Sequence[AnyStr]) -> AnyStr:
    """Several columns' fields -> one series id, SERIES_JOIN between them. A part holding SERIES_JOIN or the
    escape has them escaped, so that store `a/b` + item `c` and store `a` + item `b/c` stay two series (both
    were `a/b/c`); ids without either read as before, so state files keep theirs."""
    join, esc = (SERIES_JOIN, _ESCAPE) if isinstance(parts[0], str) else \
        (SERIES_JOIN.encode(), _ESCAPE.encode())
    return join.join([p.replace(esc, esc + esc).replace(join, esc + join) if join in p or esc in p else p
                      for p in parts])  # type: ignore[arg-type, return-value]
FORECAST_PREFIX = "yhat_"     # yhat_1 .. yhat_H


def forecast_columns(horizon: int) -> list[str]:
    return [f"{FORECAST_PREFIX}{i}" for i in range(1, horizon + 1)]


CSV_SEPARATOR = ","
CSV_NEWLINE = "\n"               # LF only, also on Windows
FLOAT_FORMAT = "%.9g"            # default: 9 significant digits round-trip any float32 (printf %g rules)
FLOAT64_FORMAT = "%.17g"         # a float64 model's forecasts: 17 digits round-trip any float64
FIXED_FORMAT = "%.{precision}f"  # with `--precision N`: N digits after the decimal point


def format_forecast(passthrough: list[str], row: int, yhat: list[float], precision: int | None = None,
                    io_dtype: str = "float32") -> str:
    """One line of `seqinfer predict`'s output: the reference that every writer of the format follows.

    The output CSV is: one header line, `[series,][kept columns,]row,yhat_1,...,yhat_H`, then one line per
    forecast in input order. Fields are separated by CSV_SEPARATOR and every line (the last one too) ends
    in CSV_NEWLINE. A passed-through text field (series id, --keep column) is written as it came, except
    that one holding `,`, `"`, CR or LF is quoted RFC 4180 style ("a,b" -> `"a,b"`, `"` doubled). `row` is
    a decimal integer. Each forecast is the float32 value formatted with FLOAT_FORMAT (C printf `%.9g`,
    e.g. 0.123456791, 1e-05, -12.5, 123456792), a float64 model's with FLOAT64_FORMAT (`%.17g`), or, given a
    precision, FIXED_FORMAT (`%.3f` -> 0.123).
    Non-finite forecasts print as nan, inf, -inf.
    """
    fmt = FIXED_FORMAT.format(precision=precision) if precision is not None else \
        FLOAT64_FORMAT if io_dtype == "float64" else FLOAT_FORMAT
    fields = [_csv_field(p) for p in passthrough] + [str(row)] + [fmt % float(v) for v in yhat]
    return CSV_SEPARATOR.join(fields) + CSV_NEWLINE


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


META_PREFIX = "seqinfer."
# What the graph does between raw x and the recurrent core (trainer/model.py has the formulas):
# global: (x - mean) / std; diff: one-step changes, forecast added to the last value; window: per-window
# level (last value) and scale (std, floored), forecast scaled back and added to the last value.
SCALINGS = ("global", "diff", "window")
IO_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class ModelMeta:
    """Everything an application needs to use model.onnx from the file alone (ONNX metadata_props)."""

    seqinfer_version: str
    kind: str                       # rnn | lstm | gru
    window: int                     # sequence length the model was trained on
    horizon: int                    # values predicted per call
    features: int                   # input features per step; feature 0 is the forecast target
    norm_mean: tuple[float, ...]    # per-feature mean applied inside the graph (after `scaling`'s transform)
    norm_std: tuple[float, ...]     # per-feature std applied inside the graph
    scaling: str = "global"         # the transform inside the graph: global | diff | window (SCALINGS)
    io_dtype: str = "float32"       # x and y: float32, or float64 where float32 cannot hold the data
    stateful: bool = False          # a step model: state in and out, a forecast per step (state_spec)
    state: dict[str, Any] = field(default_factory=dict)   # stateful: state_spec(...), as JSON
    warmup: int = 0                 # stateful: steps a series needs before its forecasts are trusted
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    torch_version: str = ""
    onnx_version: str = ""
    opset: int = OPSET
    exporter: str = ""
    fingerprint: str = ""           # sha256 of training data + config
    value_names: tuple[str, ...] = ()   # the training file's header names of the features, in order (feature
                                        # 0 the target); () for the sine or a file without a header
    parity: dict[str, Any] = field(default_factory=dict)  # summary of verification

    def __post_init__(self) -> None:
        """Checked on construction, so a hand-edited file fails on load naming the key, not later."""
        for name in ("window", "horizon", "features", "opset"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ModelError(f"metadata {META_PREFIX}{name} is {_shown(v)} (must be an integer >= 1)")
        for name in ("norm_mean", "norm_std"):
            key, v = META_PREFIX + name, getattr(self, name)
            if not isinstance(v, tuple):
                raise ModelError(f"metadata {key} is {_shown(v)} (must be a list, a number per feature)")
            if len(v) != self.features:
                raise ModelError(f"metadata {key} has {len(v)} value(s), but {META_PREFIX}features is "
                                 f"{self.features}")
            for i, x in enumerate(v):
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or (
                        name == "norm_std" and x <= 0):
                    must = "a finite number > 0" if name == "norm_std" else "a finite number"
                    raise ModelError(f"metadata {key}[{i}] is {_shown(x)} (must be {must})")
        for name, allowed in (("scaling", SCALINGS), ("io_dtype", IO_DTYPES)):
            if getattr(self, name) not in allowed:
                shown = _shown(getattr(self, name))
                raise ModelError(f"metadata {META_PREFIX}{name} is {shown} (must be one of "
                                 f"{', '.join(allowed)})")
        if not isinstance(self.stateful, bool) or not isinstance(self.state, dict) or \
                isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ModelError(f"metadata {META_PREFIX}stateful / state / warmup: a bool, a JSON object and an "
                             f"integer >= 0 (got {_shown(self.stateful)}, {_shown(self.state)}, "
                             f"{_shown(self.warmup)})")
        if self.stateful and set(self.state) != set(state_spec(self.kind, self.scaling, 1, 1, 1)):
            raise ModelError(f"metadata {META_PREFIX}state names {sorted(self.state)}, a stateful "
                             f"{self.kind} with {self.scaling} scaling carries "
                             f"{sorted(state_spec(self.kind, self.scaling, 1, 1, 1))}")
        names = self.value_names
        if not isinstance(names, tuple) or not all(isinstance(v, str) for v in names) \
                or len(names) not in (0, self.features):
            raise ModelError(f"metadata {META_PREFIX}value_names is {_shown(names)} (must be a list of "
                             f"{self.features} column name(s), or empty)")
        if not isinstance(self.parity, dict):
            raise ModelError(f"metadata {META_PREFIX}parity is {_shown(self.parity)} (must be a JSON object)")

    def to_props(self) -> dict[str, str]:
        """Flatten to string key/values (ONNX metadata_props only holds strings)."""
        out = {}
        for k, v in asdict(self).items():
            out[META_PREFIX + k] = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
        return out

    @classmethod
    def from_props(cls, props: dict[str, str], source: str = "model") -> ModelMeta:
        kw: dict[str, Any] = {}
        for f in fields(cls):
            key = META_PREFIX + f.name
            if key not in props:
                if f.name in ("seqinfer_version", "kind", "window", "horizon", "features",
                              "norm_mean", "norm_std"):
                    raise ModelError(f"{source}: not a seqinfer model (metadata key {key!r} missing)")
                continue
            raw = props[key]
            if f.type == "str":
                kw[f.name] = raw
            else:
                try:
                    val = json.loads(raw)
                except json.JSONDecodeError as e:
                    raise ModelError(f"{source}: metadata {key!r} is not valid JSON: {e}") from None
                kw[f.name] = tuple(val) if isinstance(val, list) else val
        try:
            return cls(**kw)
        except ModelError as e:
            raise ModelError(f"{source}: {e}") from None


def _shown(value: Any) -> str:
    """A metadata value as the file holds it (JSON), for error messages."""
    return json.dumps(list(value) if isinstance(value, tuple) else value, default=repr)


def strict_json(obj: Any) -> str:
    """JSON every parser reads: NaN and inf (a score of a split with no window, a constant series' MASE, a
    test from one origin) as null, where json.dumps writes the bare NaN that strict parsers refuse. train's
    metrics.json and comparison.json, evaluate's --json."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(obj), indent=2, allow_nan=False)
