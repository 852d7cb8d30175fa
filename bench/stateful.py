"""Section 9: stateful against windowed predict on the same files, in one run, and where its time goes.

    python -m bench.run --only stateful

Files: 1M rows of one series, and 1M rows of 10,000 interleaved series (bench/data.py); and those rows
again with an ISO time column (end to end only). Models: an untrained
stateful LSTM (hidden 32, diff scaling) stand-in, since speed does not depend on the weights, run with
--warmup 0 so that every row is forecast and written; the windowed model is the one section 2 measures.
End to end, each figure is the median of STATEFUL_RUNS runs, the two models taking turns on the same file.
Stages, each timed alone in this process over the whole file: parse (infer's reader and parser), state (the
per-series bookkeeping: codes, recency), model (gathering each series' state, onnxruntime, scattering it
back; with the onnxruntime threads predict gives it, one per core), format (the output CSV). predict runs
parse on one thread, the model on a second and formatting on a third, so its limit is the slowest stage, or
all the stages' CPU time shared by the cores, whichever is lower. The op ceiling: onnxruntime's LSTM
operator alone (hidden 32, predict's threads, random weights, no transform, no head), fed the shapes
predict gives it here (op_shapes): no predict can beat it.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from . import data as D
from . import e2e

SERIES = 10_000
TIMED = f"{SERIES:,} series, time column"
# Each end-to-end figure is the median of this many runs, the stateful and the windowed model taking turns:
# the machine's speed drifts by tens of percent from minute to minute (the LSTM op alone, below, ran at 2.0
# to 5.9 million steps/s within one hour of 2026-11-27), and one run caught wherever it was.
STATEFUL_RUNS = 3
STATEFUL_ARGS = ["--warmup", "0", "--provider", "cpu"]
CPU_ARGS = ["--provider", "cpu"]


def op_shapes() -> dict[str, tuple[int, int]]:
    """(batch, steps) of predict's onnxruntime calls on each file: one STEP_BATCH_SIZE-row batch is one
    series' sequence, or every series' share of it."""
    from seqinfer.infer.config import STEP_BATCH_SIZE

    return {"one series": (1, STEP_BATCH_SIZE), f"{SERIES:,} series": (SERIES, -(-STEP_BATCH_SIZE // SERIES))}


def op_ceiling(batch: int, steps: int, hidden: int = 32, budget_s: float = 2.0) -> float:
    """Steps per second of onnxruntime's LSTM operator alone at (batch, steps), on the threads predict gives
    a stateful model."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from seqinfer.export.onnx_graph import IR_VERSION
    from seqinfer.infer.session import default_workers, session_options

    rng = np.random.default_rng(0)
    w = {"W": rng.normal(0, 0.1, (1, 4 * hidden, 1)), "R": rng.normal(0, 0.1, (1, 4 * hidden, hidden)),
         "B": np.zeros((1, 8 * hidden))}
    shapes: dict[str, list[str | int | None]] = {"x": ["s", "b", 1], "h0": [1, "b", hidden],
                                                 "c0": [1, "b", hidden]}
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in shapes.items()]
    outs = ["y", "hn", "cn"]
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], outs, hidden_size=hidden)
    graph = helper.make_graph(
        [node], "lstm_op", io, [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outs],
        [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.astype(np.float32).ravel())
         for n, a in w.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = IR_VERSION
    sess = ort.InferenceSession(model.SerializeToString(), session_options(default_workers("cpu")),
                                providers=["CPUExecutionProvider"])
    feed = {"x": rng.normal(size=(steps, batch, 1)).astype(np.float32),
            "h0": np.zeros((1, batch, hidden), np.float32), "c0": np.zeros((1, batch, hidden), np.float32)}
    sess.run(None, feed)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < budget_s:
        sess.run(None, feed)
        n += 1
    return n * batch * steps / (time.perf_counter() - t)


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


def stages(model_path: Path, data: Path) -> dict[str, dict[str, float]]:
    """Each stage over the whole file (module docstring), one after another: wall seconds ("s") and the
    process's CPU seconds ("cpu_s", onnxruntime's own threads included). The model gets the onnxruntime
    threads predict gives a stateful model."""
    from seqinfer.infer import csvout
    from seqinfer.infer.columns import resolve
    from seqinfer.infer.config import ColumnSpec
    from seqinfer.infer.parse import after_header, parse_block, sample
    from seqinfer.infer.reader import LineReader
    from seqinfer.infer.session import default_workers, load_model
    from seqinfer.infer.state import SeriesState
    from seqinfer.infer.stepstate import StepStore

    blocks = []
    with open(data, "rb") as f:
        reader = LineReader(f, str(data))
        while (b := reader.read()) is not None:
            if b.nlines:
                blocks.append(b)
    cols = resolve(sample(blocks, str(data)), ColumnSpec(), features=1, window=1)
    out: dict[str, dict[str, float]] = {}
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        out[name] = {"s": wall - clock[0], "cpu_s": cpu - clock[1]}
        clock[:] = [time.perf_counter(), time.process_time()]

    rows = [parse_block(b, cols, str(data), True)[0] for b in after_header(blocks, cols)]
    lap("parse_s")
    model = load_model(model_path, "cpu", default_workers("cpu"))
    state, store = SeriesState(1, 1), StepStore(model)
    clock[:] = [time.perf_counter(), time.process_time()]
    ready = []
    for r in rows:
        src, idx, mask = state.ready(r.values, r.series)
        ready.append((src[idx][:, 0, :], state.row_codes[mask], r))
    lap("state_s")
    done = [(store.run(codes, values)[0], r) for values, codes, r in ready]
    lap("model_s")
    fmt = csvout.value_format(None)
    for y, r in done:
        csvout.format_rows(r.text, r.lines, y, fmt)
    lap("format_s")
    return out


def files(rows: int, data_dir: Path) -> list[tuple[str, Path]]:
    """The two inputs: `rows` rows of one series, and of SERIES interleaved series."""
    return [("one series", D.series_file(rows, data_dir)),
            (f"{SERIES:,} series", D.interleaved_file(rows, SERIES, data_dir))]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rows/s (a failed run when none finished), with every run's rows/s."""
    ok = sorted((r for r in runs if "rows_per_s" in r), key=lambda r: r["rows_per_s"])
    if not ok:
        return runs[0]
    return {**ok[(len(ok) - 1) // 2], "runs_rows_per_s": [r["rows_per_s"] for r in ok]}


def side_by_side(models: dict[str, tuple[Path, list[str]]], data: Path, rows: int, timeout: float,
                 rounds: int = STATEFUL_RUNS) -> dict[str, dict[str, Any]]:
    """predict end to end with each model (name -> (model, extra options)) on `data`, `rounds` times, the
    models taking turns: each one's median run (median_run)."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, (model, extra) in models.items():
            runs[name].append(e2e.predict(model, data, rows, extra, timeout))
    return {name: median_run(r) for name, r in runs.items()}


def measure(model: Path, data: Path, rows: int, timeout: float, windowed: Path | None = None,
            rounds: int = STATEFUL_RUNS) -> dict[str, Any]:
    """A stateful model's predict on one file: end to end ("stateful"; beside the windowed model's,
    "windowed", when given; side_by_side), each stage alone, and the limit."""
    models = {"stateful": (model, STATEFUL_ARGS)} | ({"windowed": (windowed, CPU_ARGS)} if windowed else {})
    sec: dict[str, Any] = {"file": str(data), **side_by_side(models, data, rows, timeout, rounds)}
    st = stages(model, data)
    sec["stages"] = {k: {**v, "rows_per_s": rows / v["s"]} for k, v in st.items()}
    # Two ceilings: the slowest stage alone (stages run on their own threads), and every stage's CPU spread
    # over the machine's cores. The lower one is the limit.
    cores, cpu = os.cpu_count() or 1, sum(v["cpu_s"] for v in st.values())
    sec["all_stages_rows_per_s"] = rows * cores / cpu
    slowest = max(st, key=lambda k: st[k]["s"])
    sec["limit"] = slowest.removesuffix("_s") if st[slowest]["s"] >= cpu / cores else \
        f"all stages on {cores} cores"
    return sec


def bench_model(model: Path, data_dir: Path, rows: int, timeout: float, rounds: int = STATEFUL_RUNS
                ) -> dict[str, Any]:
    """`seqinfer bench` on a stateful model: `measure` on both files."""
    return {"model": str(model), "rows": rows, "files": {
        name: measure(model, path, rows, timeout, None, rounds) for name, path in files(rows, data_dir)}}


def table(res: dict[str, Any]) -> list[str]:
    """bench_model's figures as markdown."""
    head = ["| input | rows/s end to end | parse | state | model | format | all stages, every core | limit |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, sec in res["files"].items():
        e = sec["stateful"]
        rate = f"{e['rows_per_s']:,.0f}" if "rows_per_s" in e else e.get("skipped", "not run")
        st = [f"{sec['stages'][k]['rows_per_s']:,.0f}" for k in ("parse_s", "state_s", "model_s", "format_s")]
        head.append(f"| {name} | {rate} | {' | '.join(st)} | {sec['all_stages_rows_per_s']:,.0f} | "
                    f"{sec['limit']} |")
    return [f"**{res['model']}** (stateful: `seqinfer predict --warmup 0` on {res['rows']:,} rows; stages "
            f"in rows/s, each alone)", "", *head]


def windowed_forecasts(rows: int, series: int, window: int) -> int:
    """Forecasts a windowed model writes for `rows` rows dealt round-robin to `series` series (data.py's
    interleaved file): each series' rows from its window-th on."""
    each, extra = divmod(rows, series)
    return extra * max(0, each + 1 - window + 1) + (series - extra) * max(0, each - window + 1)


def stateful_section(windowed: Path, data_dir: Path, rows: int, timeout: float,
                     big_rows: int | None = None, rounds: int = STATEFUL_RUNS) -> dict[str, Any]:
    """Stateful and windowed predict end to end on both files, and the stateful stages; with big_rows, the
    stateful peak RSS again on that many rows of one series (flat memory: it should not grow)."""
    from seqinfer.infer.session import load_model

    res: dict[str, Any] = {"rows": rows, "series": SERIES, "windowed_model": str(windowed), "rounds": rounds}
    window = res["window"] = load_model(windowed, "cpu").meta.window
    with tempfile.TemporaryDirectory(prefix="seqinfer-bench-stateful-") as td:
        model = stand_in(Path(td))
        res["model"] = "untrained stateful LSTM stand-in, hidden 32, diff scaling (--warmup 0)"
        for name, path in files(rows, data_dir):
            sec = measure(model, path, rows, timeout, windowed, rounds)
            s, w = sec["stateful"].get("rows_per_s"), sec["windowed"].get("rows_per_s")
            sec["ratio"] = s / w if s and w else None
            # The windowed model forecasts a row only once its series has a full window: on 10,000 series
            # of 100 rows each, 21 rows of each. The stateful stand-in forecasts every row (--warmup 0).
            count = 1 if name == "one series" else SERIES
            sec["windowed_forecasts"] = windowed_forecasts(rows, count, window)
            sec["ratio_per_forecast"] = sec["ratio"] * rows / sec["windowed_forecasts"] \
                if sec["ratio"] and sec["windowed_forecasts"] else None
            sec["op_shape"] = op_shapes()[name]
            sec["op_ceiling_steps_per_s"] = op_ceiling(*sec["op_shape"])
            res[name] = sec
        # The same rows as a database export writes them, with an ISO time per row: the time column is
        # read, checked for gaps per series and passed through. End to end only.
        timed = D.timed_file(rows, SERIES, data_dir)
        both = {"stateful": (model, STATEFUL_ARGS), "windowed": (windowed, CPU_ARGS)}
        sec = {"file": str(timed), **side_by_side(both, timed, rows, timeout, rounds)}
        s, w = sec["stateful"].get("rows_per_s"), sec["windowed"].get("rows_per_s")
        sec["ratio"] = s / w if s and w else None
        res[TIMED] = sec
        # The other two cells at their stateful default size, end to end: their step graphs run a Scan on
        # the batches of many series (export/onnx_export.py STEP_OPS_MAX_BATCH), the LSTM its op.
        from seqinfer.trainer.config import STATEFUL_DEFAULTS

        res["cells"] = {}
        for kind in ("rnn", "gru"):
            hidden = STATEFUL_DEFAULTS[kind]["hidden"]
            cell = stand_in(Path(td), kind, hidden)
            alone = {"stateful": (cell, STATEFUL_ARGS)}
            res["cells"][kind] = {"hidden": hidden, **{
                name: side_by_side(alone, path, rows, timeout, rounds)["stateful"]
                for name, path in files(rows, data_dir)}}
        one = res["one series"]["stateful"]
        if big_rows and "rows_per_s" in one:
            est = big_rows / one["rows_per_s"]
            if est > timeout:
                res["rss"] = {"rows_big": big_rows,
                              "skipped": f"{big_rows:,} rows would take ~{est:.0f} s at the measured rate"}
            else:
                big = e2e.predict(model, D.series_file(big_rows, data_dir), big_rows, STATEFUL_ARGS, timeout)
                res["rss"] = {"rows_small": rows, "rows_big": big_rows, "rss_small_mb": one["peak_rss_mb"],
                              "rss_big_mb": big.get("peak_rss_mb"), "big": big}
    return res
