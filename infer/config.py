"""What `seqinfer predict` can be told: one frozen, validated dataclass (no numpy, no onnxruntime here)."""
from __future__ import annotations

import codecs
from dataclasses import dataclass

from .errors import ConfigError

LAYOUTS = ("auto", "series", "windows")
HEADER_CHOICES = ("auto", "yes", "no")
# Day and month in x/y/yyyy dates: auto (told from a field above 12 in the first lines), or said.
DATE_ORDERS = ("auto", "dmy", "mdy")
# Field separators and decimal marks a CSV may use (--sep, --decimal): a spreadsheet saved with a European
# locale writes `;` between fields and a decimal comma. seqinfer reads them as the comma CSV they stand for.
SEPARATORS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|"}
DECIMALS = (".", ",")
# What may group a number's thousands (--thousands): none, or . or , (not the decimal mark). pandas'
# `thousands=`: a German sheet's 1.287 or 1.287,5, an English one's "1,287.5" (quoted in a comma CSV).
THOUSANDS = ("", ".", ",")
# Text encodings a CSV may be written in (--encoding): UTF-8, or one that writes ASCII as ASCII (cp1252, a
# Windows spreadsheet's "CSV"; latin-1; iso-8859-15; shift_jis ...), so that lines still end at a newline
# byte. Each block is decoded from it and read as UTF-8. UTF-16 and UTF-32 are not: iconv converts them.
ASCII_PROBE = "\n\r\t ,;|\".-+0123456789eE"
FILLS = ("stop", "previous", "drop")          # missing values in a stream (train adds interpolate)


def check_stream_fill(fill: str) -> None:
    """--fill for a stream (predict, score): FILLS; interpolate is said to be the whole file's."""
    if fill == "interpolate":
        raise ConfigError("--fill interpolate needs the values after a gap, which a stream has not read yet: "
                          "predict and score take stop, previous or drop (train and evaluate read the whole "
                          "file, and interpolate)")
    if fill not in FILLS:
        raise ConfigError(f"--fill: {fill!r} is not one of {', '.join(FILLS)}")
DEFAULT_MAX_SERIES = 1_000_000
ON_ERROR = ("stop", "skip")
# A stateful model's rows at or before their series' last time in the --state file (an input overlapping
# the run that wrote it): stop with an error (running them again would carry the state on twice), skip
# them, or keep them (run them as new rows).
OVERLAPS = ("stop", "skip", "keep")
PROVIDER_CHOICES = ("auto", "cuda", "cpu")

# Measured on the 2-core target (LSTM hidden 32, window 80, one onnxruntime thread, windows per CPU-second):
# ONNX's LSTM op 39k at batch 16, 36k at 64, 32k at 96; the Scan form 52k at 768, 50k at 1024, 47k at 2048,
# 41k at 4096. 1024 sits in the Scan form's sweet spot for every kind, above each hybrid graph's switch to
# it (export/onnx_export.py OPS_MAX_BATCH). Small batches only ever happen when the input stalls, where
# latency matters more than throughput.
DEFAULT_BATCH_SIZE = 1024
# The Python API's largest batch run as one call on a session with one intra-op thread per worker
# (onnxruntime's own parallel loops); larger batches are split, each worker running its slice on one
# intra-op thread. Measured on the 2-core target (`python -m bench.model_probe --threads 2 --runtimes eager
# ort-ops seqinfer`, seq 80): the ONNX LSTM op on two threads ran batch 32-80 at 1.1-1.8x PyTorch eager,
# where split single-thread slices ran at 0.7-0.8x; from batch 256 up the split is ahead (1.1-1.3x eager at
# 384-1024, the wide call 0.6-0.8x). The LSTM's hybrid graph runs its op up to the same batch, since that
# is where the op on two threads wins (export/onnx_export.py OPS_MAX_BATCH).
WIDE_MAX = 96
# A stateful model's rows cost one recurrent step each, and a call over one series runs its rows in sequence:
# measured on 1M rows of one series (LSTM hidden 32), 1024-row calls took 2.68 s end to end, 8192 2.31 s,
# 65536 2.04 s (fewer calls, fewer hand-offs between threads). A trickle still goes out at --max-latency.
STEP_BATCH_SIZE = 65536
# Under --verify, a stateful model's calls take at most this many rows, so at most this many steps of one
# series: each call is compared with TorchScript from the same state, and over a long run of steps the float32
# rounding of two runtimes drifts apart (export verifies chunks of up to 257 steps the same way).
VERIFY_STEPS = 256
# While a stateful model runs, Python's thread switch interval (5 ms by default) is lowered: its model thread,
# back from onnxruntime, waits that long for the GIL held by the parsing or the formatting thread, once per
# call. Measured (stand-in LSTM, alternating runs in one sitting): 1M rows of 10,000 series 2.86 s -> 2.66 s,
# 10M rows of one series 14.2 s -> 13.6 s; windowed predict unchanged (21.5 s both), so it is left alone.
STEP_SWITCH_INTERVAL_S = 0.0005
DEFAULT_MAX_LATENCY_MS = 10.0


@dataclass(frozen=True)
class ColumnSpec:
    """Which CSV column is what: the same options in every command (infer/columns.py has the rules).

    A column is a header name or a 1-based number.
    """

    value_col: tuple[str, ...] = ()
    series_col: str | None = None   # one column, or several joined by commas: store,item
    time_col: str | None = None
    keep: tuple[str, ...] = ()
    header: str = "auto"            # auto | yes | no
    date_order: str = "auto"        # auto | dmy | mdy: x/y/yyyy dates' day and month
    sep: str = ","                  # between fields: , ; tab | (SEPARATORS)
    decimal: str = "."              # in numbers: . or , (a decimal comma needs another sep)
    na_values: tuple[str, ...] = () # more codes for a missing value, as the file writes them (-9999)
    encoding: str = "utf-8"         # the file's text encoding (ASCII_PROBE)
    thousands: str = ""             # what groups thousands in numbers: none, . or , (THOUSANDS)

    def __post_init__(self) -> None:
        for name in ("value_col", "keep"):        # a str from Python: one name, or a comma list, as the CLI
            if isinstance(getattr(self, name), str):  # (it was read one character at a time)
                object.__setattr__(self, name, tuple(v.strip() for v in getattr(self, name).split(",")
                                                     if v.strip()))
        if isinstance(self.na_values, str):              # one code (-999,9 holds a decimal comma)
            object.__setattr__(self, "na_values", (self.na_values,))
        object.__setattr__(self, "encoding", text_encoding(self.encoding))
        if self.sep not in SEPARATORS:
            raise ConfigError(f"sep: {self.sep!r} is not one of , ; tab |")
        object.__setattr__(self, "sep", SEPARATORS[self.sep])
        object.__setattr__(self, "na_values", tuple(v.strip() for v in self.na_values))
        for v in self.na_values:
            if not v or any(c in v for c in (self.sep, '"', "\r", "\n")):
                raise ConfigError(f"--na-value {v!r}: a missing-value code is one field's text, without "
                                  f"the separator or quotes")
        if self.decimal not in DECIMALS:
            raise ConfigError(f"decimal: {self.decimal!r} is not one of . ,")
        if self.decimal == "," and self.sep == ",":
            raise ConfigError("--decimal ',': the fields must then be separated by something else: --sep ';' "
                              "(or tab, |)")
        if self.thousands not in THOUSANDS:
            raise ConfigError(f"thousands: {self.thousands!r} is not one of . ,")
        if self.thousands and self.thousands == self.decimal:
            other = "," if self.decimal == "." else "."
            raise ConfigError(f"--thousands {self.thousands!r}: that is the decimal mark (--decimal "
                              f"{self.decimal!r}); where {self.thousands!r} groups thousands, {other!r} is "
                              f"the decimal mark: add --decimal {other!r}")
        if self.header not in HEADER_CHOICES:
            raise ConfigError(f"header: {self.header!r} is not one of {', '.join(HEADER_CHOICES)}")
        if self.date_order not in DATE_ORDERS:
            raise ConfigError(f"date_order: {self.date_order!r} is not one of {', '.join(DATE_ORDERS)}")
        for opt, specs in self.options():
            for s in specs:
                if not s.strip():
                    raise ConfigError(f"{opt}: an empty column name")
                if s.strip().isdigit() and int(s) < 1:
                    raise ConfigError(f"{opt} {s}: column numbers start at 1")

    def series_cols(self) -> tuple[str, ...]:
        """--series-col's columns: one, or several whose fields together name a series (`store,item`)."""
        return tuple(c.strip() for c in self.series_col.split(",")) if self.series_col is not None else ()

    def options(self) -> list[tuple[str, tuple[str, ...]]]:
        return [("--value-col", self.value_col), ("--series-col", self.series_cols()),
                ("--time-col", _opt(self.time_col)), ("--keep", self.keep)]


def text_encoding(name: str) -> str:
    """--encoding's codec, by Python's name for it (cp1252, utf-8); ConfigError for one seqinfer cannot
    read line by line."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ConfigError(f"--encoding {name!r}: no such text encoding (utf-8, cp1252, latin-1 ...)") \
            from None
    try:
        ascii_ok = ASCII_PROBE.encode(codec) == ASCII_PROBE.encode("ascii")
    except UnicodeError:
        ascii_ok = False
    if not ascii_ok:
        raise ConfigError(f"--encoding {name}: seqinfer reads encodings that write ASCII as ASCII (utf-8, "
                          f"cp1252, latin-1 ...); convert this one first: iconv -f {name} -t UTF-8")
    return codec


def _opt(s: str | None) -> tuple[str, ...]:
    return (s,) if s is not None else ()


@dataclass(frozen=True)
class PredictConfig:
    """Everything `seqinfer predict` can be told; validated here so every entry point gets the same errors."""

    layout: str = "auto"                  # auto | series | windows
    value_col: tuple[str, ...] = ()       # header names or 1-based numbers; one per model feature
    series_col: str | None = None
    time_col: str | None = None           # passed through; read for gap checks
    keep: tuple[str, ...] = ()            # columns copied to the output
    header: str = "auto"                  # auto | yes | no (columns.py rule 1)
    date_order: str = "auto"              # auto | dmy | mdy: x/y/yyyy dates' day and month
    sep: str = ","                        # between fields: , ; tab |
    decimal: str = "."                    # in numbers: . or ,
    na_values: tuple[str, ...] = ()       # more codes for a missing value (-9999)
    encoding: str = "utf-8"               # the file's text encoding
    thousands: str = ""                   # what groups thousands: none, . or ,
    fill: str = "stop"                    # missing values: stop | previous | drop
    max_series: int = DEFAULT_MAX_SERIES  # series held at once; past it the least recently seen is evicted
    window: int | None = None             # None: the model's metadata
    horizon: int | None = None            # None: the model's own; more rolls out autoregressively
    batch_size: int | None = None         # None: DEFAULT_BATCH_SIZE, or STEP_BATCH_SIZE for a stateful model
    max_latency_ms: float = DEFAULT_MAX_LATENCY_MS
    precision: int | None = None          # None: %.9g; N: N digits after the point
    on_error: str = "stop"                # stop | skip
    provider: str = "auto"                # auto | cuda | cpu
    threads: int | None = None            # onnxruntime intra-op threads; None: session.DEFAULT_THREADS, or
    #                                       a stateful model on CPU: one per core (stream.predict)
    workers: int | None = None            # model threads (0: run inline); None: stream.default_workers
    verify: bool = False                  # compare with TorchScript (imports torch)
    state: str | None = None              # stateful models: load the per-series state here, write it back
    warmup: int | None = None             # stateful models: rows per series before forecasts show
    overlap: str = "stop"                 # stateful models with --state: OVERLAPS

    def __post_init__(self) -> None:
        self.columns()                    # the column options' own checks
        check_stream_fill(self.fill)
        choices = {"layout": LAYOUTS, "on_error": ON_ERROR, "provider": PROVIDER_CHOICES, "overlap": OVERLAPS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for name in ("window", "horizon", "batch_size", "max_series"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name}: must be >= 1, got {v}")
        if self.warmup is not None and self.warmup < 0:
            raise ConfigError(f"warmup: must be >= 0, got {self.warmup}")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers: must be >= 0 (0: the reading thread runs the model), "
                              f"got {self.workers}")
        if not 0 <= self.max_latency_ms <= 60_000:
            raise ConfigError(f"max_latency_ms: must be in [0, 60000], got {self.max_latency_ms}")
        if self.precision is not None and not 0 <= self.precision <= 17:
            raise ConfigError(f"precision: must be in [0, 17], got {self.precision}")

    def columns(self) -> ColumnSpec:
        return ColumnSpec(value_col=self.value_col, series_col=self.series_col, time_col=self.time_col,
                          keep=self.keep, header=self.header, date_order=self.date_order, sep=self.sep,
                          decimal=self.decimal, na_values=self.na_values, encoding=self.encoding,
                          thousands=self.thousands)
