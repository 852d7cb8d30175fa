"""`seqinfer score`: forecasts for partitioned Parquet or CSV data on a Dask cluster (or a local one).

    from seqinfer.infer.score import score, score_files
    out = score_files("artifacts/lstm", ["a.parquet", "b.parquet"], ColumnSpec(series_col="sensor"))
    out.to_parquet("forecasts/")          # a dask DataFrame: series, time, file, row, yhat_1 .. yhat_H

Every file is read by seqinfer's own reader (infer/arrowio.py, parse.py: the rules, missing values and
errors of `predict`, naming file, row and column). Then:
- many series: rows are grouped by series id (a shuffle on the series column) and ordered inside each
  series by time (the time column read as seconds; else file order, then row), so every series is scored
  whole in one task: no window crosses a series or loses rows at a partition edge;
- one series (no series column): partitions stay in file order; a windowed model's partition gets the
  previous `window - 1` values of the series first, so its windows are those of a single pass; a stateful
  model's partitions run one after another, the state carried.
Each worker process opens the model once (onnxruntime sessions do not pickle) with `threads` intra-op
threads (default 1), so workers do not oversubscribe the cores. Needs `seqinfer[dask]`.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .arrowio import ParquetCsv, header_rule, is_parquet
from .columns import SAMPLE_LINES, Columns, resolve, understood
from .config import DEFAULT_BATCH_SIZE, ColumnSpec, check_stream_fill
from .contract import FORECAST_PREFIX, ROW_COLUMN, SERIES_COLUMN, forecast_columns
from .errors import ConfigError, DataError
from .parse import after_header, parse_block, sample, split_fields
from .reader import Dialect, LineReader, open_input
from .session import Model, load_model

TIME_COLUMN = "time"
FILE_COLUMN = "file"
_ORDER, _T = "_order", "_t"           # internal: file-then-row order, time in seconds
_MODELS: dict[tuple[str, str, int], Model] = {}        # per worker process: the open model


@dataclass(frozen=True)
class ScoreConfig:
    """How `score` runs: missing values, the model's provider and threads per worker, the warm-up."""

    fill: str = "stop"
    provider: str = "cpu"
    threads: int = 1                  # onnxruntime intra-op threads per worker process
    warmup: int | None = None         # stateful models: rows held back per series [default: the model's]

    def __post_init__(self) -> None:
        check_stream_fill(self.fill)
        if self.threads < 1:
            raise ConfigError(f"threads: must be >= 1, got {self.threads}")


def model_here(path: str, provider: str, threads: int) -> Model:
    """The model, opened once per process (a worker's first task opens it)."""
    key = (path, provider, threads)
    if key not in _MODELS:
        _MODELS[key] = load_model(path, provider, threads)
    return _MODELS[key]


# --- reading ----------------------------------------------------------------------------------------------
def _blocks(path: str, enough: int | None = None, spec: ColumnSpec | None = None) -> list[Any]:
    """The file's lines as blocks (all, or the first blocks holding `enough` lines); a CSV read in
    `spec`'s dialect (sep, decimal, na_values: Dialect.for_input)."""
    parquet = is_parquet(path)
    dialect = Dialect.for_input(spec, parquet, path) if spec is not None else None
    src = ParquetCsv(path) if parquet else open_input(path)
    with contextlib.closing(src):
        reader = LineReader(src, path, first_line=0 if parquet else 1,  # type: ignore[arg-type]
                            dialect=dialect)
        blocks, lines = [], 0
        while (b := reader.read()) is not None and (enough is None or lines < enough):
            if b.nlines:
                blocks.append(b)
                lines += b.nlines
    return blocks


def decide(path: str, spec: ColumnSpec, features: int, window: int, names: tuple[str, ...] = ()) -> Columns:
    """The columns, from the first file, by predict's rules (a Parquet schema is its header); `names`: the
    model's value columns (columns.resolve)."""
    blocks = _blocks(path, SAMPLE_LINES, spec)
    if not blocks:
        raise DataError("empty file", source=path)
    spec, _ = header_rule(spec, is_parquet(path))
    return resolve(sample(blocks, path), spec, features=features, window=window, layout="series", source=path,
                   names=names)


def read_file(path: str, index: int, cols: Columns, missing_ok: bool, spec: ColumnSpec | None = None) -> Any:
    """One file -> a pandas frame: series, time (text), file, row, _order, _t, v0..v{F-1}; DataError names
    the file, row and column of the first bad value."""
    import pandas as pd

    blocks = _blocks(path, None, spec)
    if not blocks:
        raise DataError("empty file", source=path)
    first = [f.strip() for f in split_fields(blocks[0].data.split(b"\n", 1)[0], path, blocks[0].first_line)]
    if cols.header is not None and tuple(first) != cols.header:
        raise DataError(f"columns {first} differ from the first file's {list(cols.header)}", source=path)
    lines, values, series, times, secs = [], [], [], [], []
    for block in after_header(blocks, cols):
        rows, errors = parse_block(block, cols, path, stop=True, missing_ok=missing_ok)
        if errors:
            raise errors[0]
        lines.append(rows.lines)
        values.append(rows.values)
        series += [s.decode("utf-8", "replace") for s in rows.series] if rows.series is not None else \
            [""] * len(rows)
        at = cols.passed.index(cols.time[0]) if cols.time else None
        times += [t.decode("utf-8", "replace") for t in rows.text[at]] if at is not None else [""] * len(rows)
        secs.append(rows.times if rows.times is not None else np.full(len(rows), np.nan))
    v = np.concatenate(values) if values else np.zeros((0, len(cols.values)))
    row = np.concatenate(lines) if lines else np.zeros(0, np.int64)
    frame = pd.DataFrame({SERIES_COLUMN: pd.array(series, dtype="string"),
                          TIME_COLUMN: pd.array(times, dtype="string"),
                          FILE_COLUMN: pd.array([path] * len(row), dtype="string"),
                          ROW_COLUMN: row.astype(np.int64), _ORDER: (np.int64(index) << 32) + row,
                          _T: np.concatenate(secs) if secs else np.zeros(0)})
    for j in range(v.shape[1]):
        frame[f"v{j}"] = v[:, j]
    return frame


def _meta(features: int, horizon: int | None = None, dtype: str = "float32") -> Any:
    """The frames' columns: read_file's (horizon None), or the forecasts' (yhat in the model's I/O type,
    as predict --output x.parquet writes them)."""
    import pandas as pd

    cols: dict[str, Any] = {SERIES_COLUMN: pd.Series(dtype="string"), TIME_COLUMN: pd.Series(dtype="string"),
                            FILE_COLUMN: pd.Series(dtype="string"), ROW_COLUMN: pd.Series(dtype="int64")}
    if horizon is None:
        cols |= {_ORDER: pd.Series(dtype="int64"), _T: pd.Series(dtype="float64")}
        cols |= {f"v{j}": pd.Series(dtype="float64") for j in range(features)}
    else:
        cols |= {n: pd.Series(dtype=dtype) for n in forecast_columns(horizon)}
    return pd.DataFrame(cols)


# --- scoring ----------------------------------------------------------------------------------------------
def _ordered(frame: Any) -> Any:
    """Rows of each series in time order (then file order, then row): the order predict would see them."""
    keys = [SERIES_COLUMN, _T, _ORDER] if frame[_T].notna().any() else [SERIES_COLUMN, _ORDER]
    return frame.sort_values(keys, kind="stable")


def _one_time_each(frame: Any, before: tuple[float, str, int] | None = None) -> None:
    """Each series' times, in the order it is scored (frame: by series, then as scored), must rise: a time
    that repeats or steps back is several series read as one (an id column not read, or only in a folder's
    name: hive partitions), a file given twice, or one series' rows out of order; each was scored as one
    series without a word. `before`: the one series' last (time, file, row) in the partitions before. A
    DataError at the first such row."""
    t = frame[_T].to_numpy(np.float64)
    series = frame[SERIES_COLUMN].to_numpy(object)
    if before is not None and len(t):
        t, series = np.r_[before[0], t], np.r_[series[:1], series]
    same = series[1:] == series[:-1]
    bad = np.flatnonzero(same & ~(np.diff(t) > 0) & ~np.isnan(t[1:]) & ~np.isnan(t[:-1]))
    if not len(bad):
        return
    k = int(bad[0]) + 1 - (before is not None)                  # the offending row, in `frame`
    at = frame.iloc[k]
    if k > 0:
        prev = frame.iloc[k - 1]
        earlier = (str(prev[FILE_COLUMN]), int(prev[ROW_COLUMN]))
    else:
        assert before is not None
        earlier = before[1:]
    how = "repeats" if t[bad[0] + 1] == t[bad[0]] else "steps back"
    who = f"series {at[SERIES_COLUMN]!r}" if at[SERIES_COLUMN] else "the one series"
    raise DataError(f"time {str(at[TIME_COLUMN])!r} {how} within {who} (after {earlier[0]} row "
                    f"{earlier[1]}): several series read as one (name their id column with --series-col; "
                    f"an id only in a folder's name must be a column), a file given twice, or rows out of "
                    f"time order? (local times repeat an hour as daylight saving time ends: write them "
                    f"with their offset)", source=str(at[FILE_COLUMN]), line=int(at[ROW_COLUMN]))


def _last_time(frame: Any, carry: Any) -> Any:
    """The one series' last read (time, file, row) after this partition, for the next one's check."""
    t = frame[_T].to_numpy(np.float64)
    ok = np.flatnonzero(~np.isnan(t))
    if not len(ok):
        return None if carry is None else carry.get("time")
    last = frame.iloc[int(ok[-1])]
    return float(t[ok[-1]]), str(last[FILE_COLUMN]), int(last[ROW_COLUMN])


def _fill(v: np.ndarray, fill: str, prev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """--fill on one series' values [n, F] (NaN: missing) -> (values, rows kept)."""
    missing = np.isnan(v).any(axis=1)
    if not missing.any():
        return v, np.ones(len(v), bool)
    if fill == "drop":
        return v[~missing], ~missing
    out = v.copy()                                                    # previous
    for f in range(v.shape[1]):
        col = np.concatenate([[np.nan if prev is None else prev[f]], out[:, f]])
        at = np.where(np.isnan(col), 0, np.arange(len(col)))
        np.maximum.accumulate(at, out=at)
        out[:, f] = col[at][1:]
    kept = ~np.isnan(out).any(axis=1)
    return out[kept], kept


def _windowed(model: Model, v: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Values [n, F] and the rows whose window ends there -> forecasts [len(ends), H], in calls of
    DEFAULT_BATCH_SIZE windows."""
    w = model.meta.window
    if not len(ends):
        return np.zeros((0, model.meta.horizon), model.dtype)
    x = np.lib.stride_tricks.sliding_window_view(v.astype(model.dtype, copy=False), w, axis=0)
    x = x.transpose(0, 2, 1)                                                        # windows by end - w + 1
    return np.concatenate([model.predict(np.ascontiguousarray(x[ends[i:i + DEFAULT_BATCH_SIZE] - w + 1]))
                           for i in range(0, len(ends), DEFAULT_BATCH_SIZE)])


def _output(frame: Any, rows: np.ndarray, y: np.ndarray) -> Any:
    out = frame.iloc[rows][[SERIES_COLUMN, TIME_COLUMN, FILE_COLUMN, ROW_COLUMN]].reset_index(drop=True)
    for h, name in enumerate(forecast_columns(y.shape[1])):
        out[name] = y[:, h]                          # the model's type, as predict writes it
    return out


def score_series_partition(frame: Any, model_path: str, cfg: ScoreConfig, features: int) -> Any:
    """A partition holding whole series -> their forecasts (one row per forecast). The windows of all its
    series go through the model together, in calls of DEFAULT_BATCH_SIZE: measured on 400,000 rows of 1,000
    series, one call per series (~320 windows) spent 12 s in onnxruntime, 4x what full batches take."""
    from .stepstate import StepStore

    model = model_here(model_path, cfg.provider, cfg.threads)
    warmup = model.meta.warmup if cfg.warmup is None else cfg.warmup
    vcols = [f"v{j}" for j in range(features)]
    frame = _ordered(frame).reset_index(drop=True)         # labels = positions (partitions repeat labels)
    _one_time_each(frame)
    values, keep, codes = [], [], []
    for code, (_, g) in enumerate(frame.groupby(SERIES_COLUMN, sort=False)):
        v, kept = _fill(g[vcols].to_numpy(np.float64), cfg.fill)
        values.append(v)
        keep.append(g.index[kept])
        codes.append(np.full(len(v), code, np.int64))
    if not values:
        return _meta(features, model.meta.horizon, model.meta.io_dtype)
    frame = frame.iloc[np.concatenate(keep)]
    v = np.concatenate(values).astype(model.dtype)
    if model.meta.stateful:                    # every series from a fresh state, all in one padded call
        y, seen = StepStore(model).run(np.concatenate(codes), v)
        show = np.flatnonzero(seen >= warmup)
        return _output(frame, show, y[show])
    w, starts, rows = model.meta.window, np.cumsum([0, *map(len, values)]), []
    for a, b in zip(starts, starts[1:], strict=False):
        rows.append(np.arange(a + w - 1, b))                       # each row whose window is in its series
    ends = np.concatenate(rows)
    return _output(frame, ends, _windowed(model, v, ends))


def _score_frames(frames: Any, model: str | Path, features: int, cfg: ScoreConfig, one_series: bool) -> Any:
    """Internal frames (read_file's layout, a dask DataFrame) -> a dask DataFrame of forecasts."""
    import dask.dataframe as dd
    from dask import delayed

    path = str(model)
    meta_model = load_model(path, "cpu")
    horizon, window, stateful = meta_model.meta.horizon, meta_model.meta.window, meta_model.meta.stateful
    out_meta = _meta(features, horizon, meta_model.meta.io_dtype)
    if not one_series:
        grouped = frames.shuffle(on=SERIES_COLUMN)                  # every series whole in one partition
        return grouped.map_partitions(score_series_partition, path, cfg, features, meta=out_meta)
    parts, outs, carry = frames.to_delayed(), [], None
    for part in parts:
        res = delayed(_score_single, nout=2)(part, carry, path, cfg, features, window if not stateful else 0)
        outs.append(res[0])
        carry = res[1]
    return dd.from_delayed(outs, meta=out_meta)


def _score_single(frame: Any, carry: Any, model_path: str, cfg: ScoreConfig, features: int,
                  overlap: int) -> tuple[Any, Any]:
    """One partition of the one series, after those before it: a windowed model gets the previous
    `window - 1` values first (carry: the series' tail); a stateful model its state (carry: the store)."""
    from .stepstate import StepStore

    model = model_here(model_path, cfg.provider, cfg.threads)
    vcols = [f"v{j}" for j in range(features)]
    frame = frame.sort_values(_ORDER, kind="stable")
    _one_time_each(frame, None if carry is None else carry.get("time"))
    prev = None if carry is None else carry["last"]
    v, kept = _fill(frame[vcols].to_numpy(np.float64), cfg.fill, prev)
    frame = frame[kept]
    if model.meta.stateful:                   # the state travels as arrays (a session does not pickle)
        store = StepStore(model)
        if carry is not None:
            store.put(np.zeros(1, np.int64), carry["state"])
        warmup = model.meta.warmup if cfg.warmup is None else cfg.warmup
        y, seen = store.run(np.zeros(len(v), np.int64), v.astype(model.dtype))
        show = np.flatnonzero(seen >= warmup)
        state = {n: store.arrays[n][:1].copy() for n in store.names} | {"__seen__": store.seen[:1].copy()}
        return _output(frame, show, y[show]), {"state": state, "last": v[-1] if len(v) else prev,
                                               "time": _last_time(frame, carry)}
    tail = carry["tail"] if carry is not None else np.zeros((0, features))
    both = np.concatenate([tail, v])
    ends = np.arange(max(len(tail), model.meta.window - 1), len(both))   # windows ending in this partition
    out = _output(frame, ends - len(tail), _windowed(model, both, ends))
    return out, {"tail": both[len(both) - (overlap - 1):] if overlap > 1 else both[:0],
                 "last": v[-1] if len(v) else prev, "time": _last_time(frame, carry)}


def score_files(model: str | Path, files: Sequence[str], spec: ColumnSpec, cfg: ScoreConfig | None = None
                ) -> tuple[Any, Columns]:
    """Parquet or CSV files (in time order for one series) -> (forecasts as a dask DataFrame, the columns)."""
    import dask.dataframe as dd

    cfg = cfg or ScoreConfig()
    if not files:
        raise ConfigError("--input: no file matches")
    m = load_model(model, "cpu")
    features = m.meta.features
    # The columns from the first file holding a row: an empty first file (a header, or a schema alone) told
    # nothing of the series column, and every series was scored as one.
    first = next((f for f in files if sum(b.nlines for b in _blocks(str(f), 2, spec)) > 1), files[0])
    cols = decide(str(first), spec, features, m.meta.window, m.meta.value_names)
    frames = dd.from_map(read_file, [str(f) for f in files], list(range(len(files))),
                         args=(cols, cfg.fill != "stop", spec), meta=_meta(features),
                         enforce_metadata=False)
    return _score_frames(frames, model, features, cfg, one_series=cols.series is None), cols


def score(ddf: Any, model: str | Path, spec: ColumnSpec | None = None, cfg: ScoreConfig | None = None) -> Any:
    """A dask DataFrame of your rows (any columns) -> a dask DataFrame of forecasts: series, time, file
    (the partition), row (within it), yhat_1..H. Columns chosen and read by predict's rules: each
    partition is written out as CSV and read by seqinfer's reader, so types, missing values and errors
    are the same as for a file."""
    import pandas as pd

    spec, cfg = spec or ColumnSpec(), cfg or ScoreConfig()
    m = load_model(model, "cpu")
    features = m.meta.features
    head = ddf.head(50, npartitions=-1)
    lines = [list(map(str, ddf.columns))] + [["" if pd.isna(x) else str(x) for x in r]
                                             for r in head.itertuples(index=False)]
    cols = resolve(lines, replace(spec, header="yes"), features=features, window=m.meta.window,
                   layout="series", source="dataframe", names=m.meta.value_names)
    frames = ddf.map_partitions(_from_frame, cols, cfg.fill != "stop", meta=_meta(features),
                                partition_info=True, enforce_metadata=False)
    return _score_frames(frames, model, features, cfg, one_series=cols.series is None)


def _from_frame(df: Any, cols: Columns, missing_ok: bool, partition_info: dict | None = None) -> Any:
    """One partition of a user's frame -> read_file's layout, through CSV text and seqinfer's reader."""
    import tempfile

    index = (partition_info or {}).get("number", 0)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        df.to_csv(f, index=False)
    try:
        frame = read_file(f.name, index, cols, missing_ok)
    finally:
        Path(f.name).unlink(missing_ok=True)
    frame[FILE_COLUMN] = f"partition {index}"
    return frame


def expand(pattern: str) -> list[str]:
    """--input: a glob or a comma list of files, each glob's in natural order (file order is time order for
    one series): part.2 before part.10, as Dask and Spark number their files (it ran part.10 after part.1)."""
    import glob
    import re

    def natural(name: str) -> list[Any]:
        return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]

    files: list[str] = []
    for part in (p.strip() for p in pattern.split(",") if p.strip()):
        hits = sorted(glob.glob(part), key=natural)
        files += hits if hits else ([part] if Path(part).is_file() else [])
    return files


def run_score(model: str | Path, pattern: str, output: str | Path, spec: ColumnSpec, cfg: ScoreConfig,
              scheduler: str | None = None, workers: int = 2, report: Any = None) -> int:
    """`seqinfer score`: the files' forecasts as Parquet partitions in OUTPUT (a new folder), written to
    a temporary folder beside it and renamed when complete; -> the number of forecasts."""
    import os
    import shutil
    import sys

    say = report or (lambda _: None)
    out = Path(output)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"--output {out}: exists and is not empty (score writes a new folder)")
    files = expand(pattern)
    if not files:
        raise ConfigError(f"--input {pattern!r}: no such file")
    try:
        from distributed import Client, LocalCluster, progress
    except ModuleNotFoundError as e:
        raise ConfigError(f"seqinfer score needs Dask: pip install 'seqinfer[dask]' ({e.name} is not "
                          f"installed)") from None
    logging.getLogger("distributed").setLevel(logging.ERROR)   # its shuffle notes are not the user's business
    forecasts, cols = score_files(model, files, spec, cfg)
    _, where = header_rule(spec, is_parquet(files[0]))
    dialect = Dialect.for_input(spec, is_parquet(files[0]), files[0])
    how = "one series: partitions in file order" if cols.series is None else "grouped by series"
    for line in understood(cols, where, dialect, f"; {len(files)} file(s), {how}"):
        say(line)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            # silence_logs: a worker's 'Compute Failed' log and traceback for a bad value is not for the
            # user: the error comes back through gather() and is said in one line (a bug keeps its traceback).
            # The scheduler's HTTP server (health routes, even with no dashboard) on a free local port: on
            # 8787 it warned 'Port 8787 is already in use' whenever another Dask cluster ran.
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1,
                                                       processes=True, dashboard_address=None,
                                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                                       silence_logs=logging.CRITICAL))
            client = stack.enter_context(Client(cluster))
        say(f"score: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}")
        job = client.compute([forecasts.to_parquet(str(tmp), compute=False, write_index=False),
                              forecasts.map_partitions(len).sum()])
        if sys.stderr.isatty():
            progress(job)
        try:
            _, total = client.gather(job)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)          # nothing half-written may look complete
            raise
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return int(total)


__all__ = ["ScoreConfig", "score", "score_files", "read_file", "FORECAST_PREFIX"]
