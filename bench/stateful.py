"""Section 9: stateful against windowed predict on the same files, in one run, and where its time goes.

    python -m bench.run --only stateful

Files: 1M rows of one series, and 1M rows of 10,000 interleaved series (bench/data.py). Models: an untrained
stateful LSTM (hidden 32, diff scaling) stand-in, since speed does not depend on the weights, run with
--warmup 0 so that every row is forecast and written; the windowed model is the one section 2 measures.
Stages, each timed alone in this process over the whole file: parse (infer's reader and parser), state (the
per-series bookkeeping: codes, recency), model (gathering each series' state, onnxruntime, scattering it
back), format (the output CSV). predict runs parse on one thread, the model on a second and formatting on
a third, so the slowest stage, not their sum, is its limit.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from . import data as D
from . import e2e

SERIES = 10_000


def stand_in(tmp: Path, kind: str = "lstm", hidden: int = 32) -> Path:
    """An untrained stateful model exported to tmp/<kind>-stateful.onnx."""
    from seqinfer.export.onnx_export import export_onnx
    from seqinfer.infer.contract import ModelMeta, state_spec
    from seqinfer.trainer.model import ModelConfig
    from seqinfer.trainer.stateful import StatefulForecaster

    cfg = ModelConfig(kind=kind, hidden=hidden, scaling="diff", stateful=True)
    net = StatefulForecaster(cfg).eval()
    meta = ModelMeta(seqinfer_version="bench", kind=kind, window=80, horizon=1, features=1,
                     norm_mean=(0.0,), norm_std=(1.0,), scaling="diff", stateful=True, warmup=0,
                     state=state_spec(kind, "diff", 1, hidden, 1))
    path = tmp / f"{kind}-stateful.onnx"
    export_onnx(net, meta, path)
    return path


def stages(model_path: Path, data: Path) -> dict[str, float]:
    """Seconds of each stage over the whole file (module docstring), one after another."""
    from seqinfer.infer import csvout
    from seqinfer.infer.columns import resolve
    from seqinfer.infer.config import ColumnSpec
    from seqinfer.infer.parse import after_header, parse_block, sample
    from seqinfer.infer.reader import LineReader
    from seqinfer.infer.session import load_model
    from seqinfer.infer.state import SeriesState
    from seqinfer.infer.stepstate import StepStore

    blocks = []
    with open(data, "rb") as f:
        reader = LineReader(f, str(data))
        while (b := reader.read()) is not None:
            if b.nlines:
                blocks.append(b)
    cols = resolve(sample(blocks, str(data)), ColumnSpec(), features=1, window=1)
    t = time.perf_counter()
    rows = [parse_block(b, cols, str(data), True)[0] for b in after_header(blocks, cols)]
    out = {"parse_s": time.perf_counter() - t}
    model = load_model(model_path, "cpu")
    state, store = SeriesState(1, 1), StepStore(model)
    t = time.perf_counter()
    ready = []
    for r in rows:
        src, idx, mask = state.ready(r.values, r.series)
        ready.append((src[idx][:, 0, :], state.row_codes[mask], r))
    out["state_s"] = time.perf_counter() - t
    t = time.perf_counter()
    done = [(store.run(codes, values)[0], r) for values, codes, r in ready]
    out["model_s"] = time.perf_counter() - t
    fmt = csvout.value_format(None)
    t = time.perf_counter()
    for y, r in done:
        csvout.format_rows(r.text, r.lines, y, fmt)
    out["format_s"] = time.perf_counter() - t
    return out


def stateful_section(windowed: Path, data_dir: Path, rows: int, timeout: float) -> dict[str, Any]:
    """Stateful and windowed predict end to end on both files, and the stateful stages."""
    res: dict[str, Any] = {"rows": rows, "series": SERIES, "windowed_model": str(windowed)}
    with tempfile.TemporaryDirectory(prefix="seqinfer-bench-stateful-") as td:
        model = stand_in(Path(td))
        res["model"] = "untrained stateful LSTM stand-in, hidden 32, diff scaling (--warmup 0)"
        for name, path in (("one series", D.series_file(rows, data_dir)),
                           (f"{SERIES:,} series", D.interleaved_file(rows, SERIES, data_dir))):
            sec: dict[str, Any] = {"file": str(path)}
            sec["stateful"] = e2e.predict(model, path, rows, ["--warmup", "0", "--provider", "cpu"], timeout)
            sec["windowed"] = e2e.predict(windowed, path, rows, ["--provider", "cpu"], timeout)
            s, w = sec["stateful"].get("rows_per_s"), sec["windowed"].get("rows_per_s")
            sec["ratio"] = s / w if s and w else None
            st = stages(model, path)
            sec["stages"] = {k: {"s": v, "rows_per_s": rows / v} for k, v in st.items()}
            sec["limit"] = max(st, key=lambda k: st[k]).removesuffix("_s")
            res[name] = sec
    return res
