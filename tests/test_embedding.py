"""The .onnx file alone is enough: the Node.js and numpy-only examples give `seqinfer predict`'s forecasts,
and read a CSV file by predict's rules (header, value, series id, time columns) from the same bytes. A
stateful model's metadata is enough too: the Node.js example and docs/embedding.md's Python block drive its
step graph with a state per series and give predict's forecasts.

Run just these: .venv/bin/python -m pytest -q tests/test_embedding.py
The Node.js tests install examples/node's pinned dependencies on first use (npm ci, CUDA download skipped)
and are skipped, with the reason, only where node or npm is not on the PATH.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import random
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from seqinfer.export import ExportConfig, VerifyConfig, export_model
from seqinfer.export.onnx_export import export_onnx
from seqinfer.infer.columns import SAMPLE_LINES, resolve
from seqinfer.infer.config import PredictConfig
from seqinfer.infer.contract import (
    INPUT_NAME,
    META_PREFIX,
    NEXT_SUFFIX,
    OUTPUT_NAME,
    ROW_COLUMN,
    SEQ_LENS_NAME,
    SERIES_COLUMN,
    STATE_C,
    STATE_H,
    STATE_PREV,
    ModelMeta,
    forecast_columns,
)
from seqinfer.infer.errors import ConfigError
from seqinfer.trainer.checkpoint import save_checkpoint
from seqinfer.trainer.model import Forecaster, ModelConfig
from seqinfer.trainer.stateful import StatefulForecaster

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "examples" / "node"
PY_EXAMPLE = ROOT / "examples" / "python" / "forecast.py"
SEQINFER = [sys.executable, "-m", "seqinfer.infer.cli"]
WINDOW, HORIZON, MEAN, STD = 16, 2, 5.0, 2.0
ATOL = 1e-5
NPM_TIMEOUT_S = 900      # a clean `npm ci` took about 15 s here; CI machines and registries vary
RUN_TIMEOUT_S = 120
# The documented switch of onnxruntime-node's install script (script/install-utils.js): skip the optional
# CUDA download from api.nuget.org; the CPU binaries ship inside the npm package.
PREDICT = PredictConfig()     # `seqinfer predict` without options
NPM_ENV = {"ONNXRUNTIME_NODE_INSTALL": "skip", "npm_config_audit": "false", "npm_config_fund": "false",
           "npm_config_update_notifier": "false"}


# --- a tiny exported model and its eager reference -------------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Forecaster, Path]]:
    """One small exported model per kind, with its eager PyTorch twin as the reference."""
    out = {}
    for name, kind, window, features, io_dtype in [
            ("rnn", "rnn", WINDOW, 1, "float32"), ("lstm", "lstm", WINDOW, 1, "float32"),
            ("gru", "gru", WINDOW, 1, "float32"), ("gru-window-8", "gru", 8, 1, "float32"),
            ("gru-2-features", "gru", WINDOW, 2, "float32"), ("gru-float64", "gru", WINDOW, 1, "float64")]:
        torch.manual_seed(0)
        net = Forecaster(ModelConfig(kind=kind, features=features, hidden=8, horizon=HORIZON)).eval()
        mean, std = (MEAN,) + (0.0,) * (features - 1), (STD,) + (1.0,) * (features - 1)
        net.set_normalization(torch.tensor(mean), torch.tensor(std))
        meta = ModelMeta(seqinfer_version="test", kind=kind, window=window, horizon=HORIZON,
                         features=features, norm_mean=mean, norm_std=std, io_dtype=io_dtype)
        path = tmp_path_factory.mktemp(name) / "model.onnx"
        export_onnx(net, meta, path)
        out[name] = (net, path)
    return out


def series_csv(n_series: int = 3, steps: int = 40, header: bool = True) -> str:
    """Interleaved series on the raw scale (around MEAN, not normalized), or one bare value column."""
    rng = np.random.default_rng(1)
    lines = (["series,value"] if n_series > 1 else ["value"]) if header else []
    for t in range(steps):
        for s in range(n_series):
            v = MEAN + STD * np.sin(t / 3 + s) + 0.1 * rng.standard_normal()
            lines.append(f"s{s},{v:.6f}" if n_series > 1 else f"{v:.6f}")
    return "\n".join(lines) + "\n"


def rows_of(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()]


INPUTS = {
    "interleaved": series_csv(),
    "one-series-no-header": series_csv(n_series=1, steps=30, header=False),
    "one-series-header-crlf": series_csv(n_series=1, steps=20).replace("\n", "\r\n"),
    # text ids and no header: `s0,5.1` over `s1,4.9` is data, not a header
    "text-ids-no-header": series_csv(n_series=2, steps=20, header=False),
    # columns found by name and by content: value first, then the series id, then ISO dates
    "value-series-date": "value,sensor,date\n" + "".join(
        f"{v},{s},2024-01-{1 + i // 2:02d}\n" for i, (s, v) in enumerate(rows_of(series_csv(2, 20))[1:])),
    # series ids that need CSV quoting
    "quoted-ids": "series,value\n" + "".join(
        f'"id, ""{s}""",{v}\n' for s, v in rows_of(series_csv(2, 20))[1:]),
}


# Every input layout on one kind, and the main layout on every kind: each process start costs ~0.5 s.
CASES = [("gru", name) for name in INPUTS] + [(kind, "interleaved") for kind in ("rnn", "lstm")]


def eager_forecasts(net: Forecaster, text: str,
                    window: int = WINDOW) -> tuple[list[str], list[list[str]], np.ndarray]:
    """The reference: header, the key columns of each forecast row, and the eager model's forecasts.

    Columns as `seqinfer predict` decides them by default (seqinfer.infer.columns.resolve, the one set of
    rules); the windows and forecasts are computed here, with PyTorch.
    """
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    cols = resolve(rows[:SAMPLE_LINES], PREDICT.columns(), features=1, window=window, layout=PREDICT.layout)
    history: dict[str, list[float]] = {}
    keys, windows = [], []
    for line_no, row in enumerate(rows, start=1):
        if cols.header and line_no == 1:
            continue
        h = history.setdefault(row[cols.series] if cols.series is not None else "", [])
        h.append(float(row[cols.values[0]]))
        if len(h) >= window:
            keys.append([row[j] for j in cols.passed] + [str(line_no)])
            windows.append(h[-window:])
    with torch.no_grad():
        y = net(torch.tensor(windows, dtype=torch.float32)[:, :, None]).numpy()  # (B, H)
    return [*cols.names, ROW_COLUMN, *forecast_columns(HORIZON)], keys, y


def parse_output(stdout: str) -> tuple[list[str], list[list[str]], np.ndarray]:
    rows = list(csv.reader(io.StringIO(stdout)))
    header, body = rows[0], rows[1:]
    n = len(forecast_columns(HORIZON))
    return header, [r[:-n] for r in body], np.array([[float(v) for v in r[-n:]] for r in body]).reshape(-1, n)


def assert_same_forecasts(got: tuple, want: tuple, what: str) -> None:
    (gh, gk, gy), (wh, wk, wy) = got, want
    assert gh == wh, f"{what}: columns {gh} != {wh}"
    assert gk == wk, f"{what}: forecast rows differ (first {gk[:3]} vs {wk[:3]})"
    err = float(np.max(np.abs(gy - wy))) if wy.size else 0.0
    assert err <= ATOL, f"{what}: max abs difference {err:.3g} > {ATOL}"


def run(cmd: list[str], text: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, input=text, capture_output=True, text=True, cwd=cwd, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stderr}"
    return r


# --- Node.js: install once, under a lock (parallel pytest runs share the working tree) ---------------------
def node_modules_ok() -> bool:
    """onnxruntime-node loads, at the version package.json pins (a stale node_modules is reinstalled)."""
    check = ("const pinned = require('./package.json').dependencies['onnxruntime-node'];\n"
             "require('onnxruntime-node');\n"
             "process.exit(require('onnxruntime-node/package.json').version === pinned ? 0 : 1);\n")
    r = subprocess.run(["node", "-e", check], cwd=NODE_DIR, capture_output=True)
    return r.returncode == 0


@pytest.fixture(scope="session")
def node_example() -> Path:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not on PATH: the Node.js embedding example cannot run here")
    lock = Path(tempfile.gettempdir()) / f"seqinfer-npm-{hashlib.sha1(bytes(NODE_DIR)).hexdigest()[:12]}.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not node_modules_ok():
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                               text=True, timeout=NPM_TIMEOUT_S, env={**os.environ, **NPM_ENV})
            assert r.returncode == 0, f"npm ci in {NODE_DIR} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
            assert node_modules_ok(), "onnxruntime-node still does not load after npm ci"
    return NODE_DIR / "forecast.js"


# --- the examples against the eager model ------------------------------------------------------------------
@pytest.fixture(params=["python", "node"])
def example(request: pytest.FixtureRequest) -> list[str]:
    """The command of each example; the Node.js one installs its dependencies first (or skips)."""
    if request.param == "python":
        return [sys.executable, str(PY_EXAMPLE)]
    return ["node", str(request.getfixturevalue("node_example"))]


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_example_matches_eager_torch(example: list[str], models: dict, kind: str, name: str) -> None:
    net, path = models[kind]
    r = run([*example, str(path)], INPUTS[name])
    assert_same_forecasts(parse_output(r.stdout), eager_forecasts(net, INPUTS[name]), f"{example[0]}, {name}")


def test_example_takes_the_window_from_the_metadata(example: list[str], models: dict) -> None:
    net, path = models["gru-window-8"]
    r = run([*example, str(path)], INPUTS["interleaved"])
    want = eager_forecasts(net, INPUTS["interleaved"], window=8)
    assert_same_forecasts(parse_output(r.stdout), want, f"{example[0]}, window 8")


def test_example_stops_at_a_bad_line_after_the_earlier_forecasts(example: list[str], models: dict) -> None:
    _, path = models["gru"]
    lines = INPUTS["interleaved"].splitlines()
    bad_line_no = len(lines) - 5
    lines[bad_line_no - 1] = "s1,not-a-number"
    r = subprocess.run([*example, str(path)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S)
    assert r.returncode == 2, r.stderr
    assert f"line {bad_line_no}:" in r.stderr and "not a number" in r.stderr
    _, keys, _ = parse_output(r.stdout)
    assert int(keys[-1][-1]) == bad_line_no - 1, "forecasts before the bad line are missing"


def test_example_refuses_an_empty_input(example: list[str], models: dict) -> None:
    r = subprocess.run([*example, str(models["gru"][1])], input="", capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S)
    assert (r.returncode, r.stdout) == (2, "") and "empty input" in r.stderr, r.stderr


def test_example_refuses_an_onnx_file_without_seqinfer_metadata(example: list[str], models: dict,
                                                                 tmp_path: Path) -> None:
    proto = onnx.load(str(models["gru"][1]))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "plain.onnx"))
    r = subprocess.run([*example, str(tmp_path / "plain.onnx")], input=INPUTS["interleaved"],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 2 and "not a seqinfer model" in r.stderr, r.stderr


def test_example_takes_the_export_folder_and_says_what_a_bad_path_is(example: list[str], models: dict,
                                                                     tmp_path: Path) -> None:
    """A folder holding model.onnx (what `seqinfer export` writes, what predict takes) runs as its file does;
    a missing path, or a file that is not ONNX, is one line and exit 2 (the Python one was a traceback)."""
    path = models["gru"][1]
    (tmp_path / "gru").mkdir()
    (tmp_path / "gru" / "model.onnx").write_bytes(path.read_bytes())
    folder, file = run([*example, str(tmp_path / "gru")], INPUTS["interleaved"]), \
        run([*example, str(path)], INPUTS["interleaved"])
    assert folder.stdout == file.stdout and folder.stdout.count("\n") > 1
    (tmp_path / "data.csv").write_text(INPUTS["interleaved"])
    bad_paths = {tmp_path / "nope": "no such model file", tmp_path / "data.csv": "not an ONNX model"}
    for bad, said in bad_paths.items():
        r = subprocess.run([*example, str(bad)], input=INPUTS["interleaved"], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT_S)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and said in r.stderr, r.stderr


def test_python_example_runs_with_seqinfer_and_torch_unimportable(models: dict) -> None:
    net, path = models["gru"]
    block = ("import runpy, sys\n"
             "sys.modules.update(torch=None, seqinfer=None)  # any import of them now raises ImportError\n"
             "sys.argv = [sys.argv[1], sys.argv[2]]\n"
             "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    r = run([sys.executable, "-c", block, str(PY_EXAMPLE), str(path)], INPUTS["interleaved"])
    assert_same_forecasts(parse_output(r.stdout), eager_forecasts(net, INPUTS["interleaved"]),
                          "python example without torch")


def test_node_example_formats_floats_like_python(node_example: Path) -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(2000) * 10.0 ** rng.integers(-12, 12, 2000),
                             [4.900390625, 4.751953125, 0.5, -0.0, 1e9, 123456789, 1e-5, 1e-4, 3.0]])
    values = values.astype(np.float32)
    script = ("const { formatG } = require(process.argv[1]);\n"
              "const xs = require('fs').readFileSync(0, 'utf8').trim().split('\\n').map(Number);\n"
              "process.stdout.write(xs.map((x) => formatG(Math.fround(x), 9)).join('\\n') + '\\n');\n"
              "process.stdout.write(xs.map((x) => formatG(x + x / 3, 17)).join('\\n') + '\\n');\n")
    r = run(["node", "-e", script, str(node_example)], "\n".join(repr(float(v)) for v in values) + "\n")
    doubles = [float(v) + float(v) / 3 for v in values]                 # a float64 model's forecasts
    assert r.stdout.splitlines() == [f"{v:.9g}" for v in values] + [f"{v:.17g}" for v in doubles]


# --- the key test: `seqinfer predict` and both examples on the same bytes ----------------------------------
def seqinfer_predict(path: Path, text: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([*SEQINFER, "predict", str(path)], input=text, capture_output=True, text=True,
                       cwd=ROOT, timeout=RUN_TIMEOUT_S)
    if p.returncode != 0 and "predict: not implemented yet" in p.stderr:
        pytest.skip("seqinfer predict is not implemented yet (infer/cli.py)")
    return p


def three_ways(node_example: Path, path: Path, text: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """The same bytes through `seqinfer predict`, the Python example and the Node.js example."""
    ex = {"python": [sys.executable, str(PY_EXAMPLE)], "node": ["node", str(node_example)]}
    out = {"predict": seqinfer_predict(path, text)}
    for name, cmd in ex.items():
        out[name] = subprocess.run([*cmd, str(path)], input=text, capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT_S)
    return out


def assert_same_bytes(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    p = runs["predict"]
    for name in ("python", "node"):
        r = runs[name]
        assert (r.returncode, r.stdout) == (p.returncode, p.stdout), (
            f"{name} example and seqinfer predict differ: exit {r.returncode} vs {p.returncode}\n"
            f"--- {name} stdout ---\n{r.stdout[:600]}--- {name} stderr ---\n{r.stderr}"
            f"--- predict stdout ---\n{p.stdout[:600]}--- predict stderr ---\n{p.stderr}")


def lines(*rows: str) -> str:
    return "".join(f"{r}\n" for r in rows)


def values(n: int) -> list[str]:
    rng = np.random.default_rng(2)
    return [f"{MEAN + STD * np.sin(t / 3) + 0.1 * rng.standard_normal():.4f}" for t in range(n)]


V = values(24)                                            # one series: 9 forecasts with window 16
AB = [f"{'ab'[t % 2]},{v}" for t, v in enumerate(values(40))]    # two interleaved series: 10 forecasts each
FORECAST = ",".join([ROW_COLUMN, *forecast_columns(HORIZON)])

# Small inputs on purpose: each tool runs all their forecasts as one batch. Batches of other sizes may differ
# in the last float32 bit (one row at a time vs 600 at once: up to 4.8e-7 here), which is not a CSV rule.
# name: (input, the output header that predict's rules give it)
SAME_BYTES = {
    "values-no-header": (lines(*V), FORECAST),
    "value-header": (lines("value", *V), FORECAST),
    "a,5.0-no-header": (lines(*AB), f"series,{FORECAST}"),            # line 1 is data, not a header
    "sensor,value": (lines("sensor,value", *AB), f"series,{FORECAST}"),
    "date,value-iso": (lines("date,value", *(f"2024-{1 + t // 28:02d}-{1 + t % 28:02d},{v}"
                                             for t, v in enumerate(V))), f"date,{FORECAST}"),
    # one date twice (a repeated reading), so only the YYYYMMDD rule, not rising integers, says "time"
    "yyyymmdd-no-header": (lines(*(f"195803{t + (t < 12):02d},{v}" for t, v in enumerate(V))),
                           f"col1,{FORECAST}"),
    "quoted-YEAR,SUNACTIVITY": (lines('"YEAR","SUNACTIVITY"',
                                      *(f'"{1700 + t}","{v}"' for t, v in enumerate(V))), f"YEAR,{FORECAST}"),
    "timestamp,series,value": (lines("timestamp,series,value",
                                     *(f"2024-01-01T{t // 2:02d}:00,{ab}" for t, ab in enumerate(AB))),
                               f"series,timestamp,{FORECAST}"),
    "first-line-0": (lines("0", *V), FORECAST),                     # data under auto, as in pandas' to_csv
    # the same rules, beyond the four shapes
    "bom-crlf-value,series": ("\ufeff" + lines("value,series", *(",".join(r.split(",")[::-1]) for r in AB))
                              .replace("\n", "\r\n"), f"series,{FORECAST}"),
    "ids-that-need-quotes": (lines(*(f'"id, ""{ab[0]}""",{ab[2:]}' for ab in AB)), f"series,{FORECAST}"),
    "date,time,value": (lines("date,time,value", *(f"2024-01-{1 + t // 10:02d},{t % 10:02d}:00,{v}"
                                                   for t, v in enumerate(V))), f"date,time,{FORECAST}"),
    "ds,y,temp-temp-ignored": (lines("ds,y,temp", *(f"2024-01-{1 + t:02d},{v},{20 + t % 3}"
                                                    for t, v in enumerate(V))), f"ds,{FORECAST}"),
    "years-within-each-series": (lines(*(f"{ab[0]},{1700 + t // 2},{ab[2:]}" for t, ab in enumerate(AB))),
                                 f"series,col2,{FORECAST}"),
    "date,0-over-dates": (lines("date,0", *(f"2024-01-{1 + t:02d},{v}" for t, v in enumerate(V))),
                          f"date,{FORECAST}"),                       # pandas' header for a dated Series
    "header-only": (lines("date,value"), f"date,{FORECAST}"),
}


@pytest.mark.parametrize("name", SAME_BYTES)
def test_examples_write_the_same_bytes_as_seqinfer_predict(node_example: Path, models: dict,
                                                           name: str) -> None:
    text, header = SAME_BYTES[name]
    runs = three_ways(node_example, models["gru"][1], text)
    p = runs["predict"]
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n", 1)[0] == header, f"predict read {name} as {p.stdout.splitlines()[0]}"
    assert_same_bytes(runs)


def test_examples_write_the_same_bytes_as_seqinfer_predict_for_a_float64_model(node_example: Path,
                                                                              models: dict) -> None:
    """A float64 model (seqinfer.io_dtype): windows in float64, forecasts with 17 digits, as predict."""
    level = [f"{10_000 + 0.001 * np.sin(t / 3):.6f}" for t in range(24)]    # float32 cannot hold the steps
    for text in (lines("date,value", *(f"2024-01-{1 + t:02d},{v}" for t, v in enumerate(level))),
                 lines(*(f"{'ab'[t % 2]},{v}" for t, v in enumerate(level + level)))):
        runs = three_ways(node_example, models["gru-float64"][1], text)
        assert runs["predict"].returncode == 0, runs["predict"].stderr
        assert len(runs["predict"].stdout.splitlines()[1].split(",")[-1]) > 12, "not %.17g: a weak test"
        assert_same_bytes(runs)


# name: (input, the line predict stops at or None where it cannot settle the columns, what the examples say)
SAME_ERROR = {
    "missing-value": (lines("value", *V[:20], "NA", *V[20:]), 22, "missing value"),
    "empty-field": (lines(*AB[:35], "b,", *AB[35:]), 36, "missing value"),
    "beyond-float32": (lines(*V[:20], "1e39", *V[20:]), 21, "float32"),
    "inf": (lines("date,value", *(f"2024-01-{1 + t:02d},{'inf' if t == 18 else v}"
                                  for t, v in enumerate(V))), 20, "float32"),
    "text-value": (lines(*AB[:34], "a,not-a-number", *AB[34:]), 35, "not a number"),
    "field-count": (lines(*AB[:37], "a", *AB[37:]), 38, "field(s)"),
    "empty-line": (lines(*V[:18], "", *V[18:]), 19, "empty line"),
    "header-again": (lines("value", *V[:20], "value", *V[20:]), 22, "header"),
    "totals-row": (lines("date,value", *(f"2024-01-{1 + t:02d}" + f",{v}" for t, v in enumerate(V)),
                         "Total,99"), len(V) + 2, "totals row"),
    "ambiguous-numbers": (lines("1,100", "2,105"), None, "seqinfer predict"),
    "two-text-columns": (lines("sensor,site,value", *(f"{ab[0]},x{t % 3},{ab[2:]}"
                                                      for t, ab in enumerate(AB))), None, "seqinfer predict"),
}


@pytest.mark.parametrize("name", SAME_ERROR)
def test_examples_stop_like_seqinfer_predict(node_example: Path, models: dict, name: str) -> None:
    """Exit status 2 after the same earlier forecasts; the examples name the line and the problem."""
    text, line, says = SAME_ERROR[name]
    runs = three_ways(node_example, models["gru"][1], text)
    assert runs["predict"].returncode == 2, runs["predict"].stderr
    if line is not None:
        assert f"<stdin>:{line}:" in runs["predict"].stderr
        assert len(runs["predict"].stdout.splitlines()) > 1, "no forecasts before the bad line: a weak test"
    assert_same_bytes(runs)
    for example in ("python", "node"):
        err = runs[example].stderr
        assert f"line {line or 1}:" in err and says in err, f"{example}: {err}"


def test_examples_leave_other_layouts_to_seqinfer_predict(node_example: Path, models: dict) -> None:
    """Rows of a whole window, and models with several features: predict reads them, the examples say so."""
    rows = [",".join(V[i:i + WINDOW]) for i in range(5)]                     # 16 numbers a row: windows
    pairs = [f"{v},{w}" for v, w in zip(V, reversed(V), strict=True)]        # 2 features a step
    for model, text in (("gru", lines(*rows)), ("gru-2-features", lines("value,temp", *pairs))):
        runs = three_ways(node_example, models[model][1], text)
        assert runs["predict"].returncode == 0, runs["predict"].stderr
        for name in ("python", "node"):
            r = runs[name]
            assert (r.returncode, r.stdout) == (2, "") and "seqinfer predict" in r.stderr, (name, r.stderr)


# --- the rules themselves: the examples' decide() against predict's columns.resolve, on many small files ----
CELLS = {   # how one column is written, by (row, series id, rng)
    "number": lambda t, s, r: f"{r.uniform(-10, 400):.{r.randint(0, 3)}f}",
    "small int": lambda t, s, r: str(r.randint(0, 5)),
    "year": lambda t, s, r: str(1700 + t),
    "year per series": lambda t, s, r: str(1700 + t // 3),
    "series id": lambda t, s, r: s,
    "numeric id": lambda t, s, r: str("abc".index(s)),
    "iso date": lambda t, s, r: f"2020-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "iso time": lambda t, s, r: f"2020-01-05T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"
                                + r.choice(["", "Z", "+05:00"]),
    "not a date": lambda t, s, r: f"2021-02-{r.randint(28, 31)}",
    "yyyymmdd": lambda t, s, r: f"19{r.randint(10, 99)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}",
    "d/m/y": lambda t, s, r: f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/2020",
    "quarter": lambda t, s, r: f"19{r.randint(10, 99)}Q{r.randint(1, 4)}",
    "yyyymm": lambda t, s, r: f"19{r.randint(10, 99)}{r.randint(1, 12):02d}",
    "mm.yyyy": lambda t, s, r: f"{r.randint(1, 12):02d}{r.choice('./-')}19{r.randint(10, 99)}",
    "missing": lambda t, s, r: r.choice(["", "NA", "nan", "null", "None", ".", "-", "--", "?", "<NA>",
                                         "1.#QNAN"]),
    "am/pm time": lambda t, s, r: f"3/{r.randint(1, 28)}/2024 {r.randint(1, 12)}:{r.randint(0, 59):02d} "
                                  + r.choice(["AM", "PM"]),
    "utc word": lambda t, s, r: f"2024-03-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:00:00 UTC",
    "month name": lambda t, s, r: r.choice([f"{r.randint(1, 28)}-Mar-2024", f"Mar {r.randint(1, 28)}, 2024",
                                            f"{r.randint(1, 28)} March 2024 {r.randint(1, 12)}:00 PM",
                                            "Mar 2024", "2024 MAR", f"{r.randint(10, 28)}MAR2024",
                                            f"0{r.randint(1, 9)}mar2024:13:00:00",
                                            f"Fri, {r.randint(10, 28)} Mar 2024 13:00:00 +0100"]),
    "two-digit year": lambda t, s, r: r.choice([f"Mar-{r.randint(10, 30)}", f"{r.randint(1, 28):02d}-MAR-24",
                                                f"03/{r.randint(1, 28):02d}/24 1:00 PM"]),
    "annotation": lambda t, s, r: r.choice(["#group", "#datatype", "#default"]),
    "date or total": lambda t, s, r: r.choice([f"2021-03-{1 + t % 28:02d}"] * 5 + ["Total", "Grand total"]),
    "mostly numbers": lambda t, s, r: r.choice(["1.5", "2", "2", "x", "NA"]),
    "text": lambda t, s, r: r.choice(["foo", "bar", "baz qux"]),
    "huge": lambda t, s, r: r.choice(["inf", "1e39", "5"]),
}
NAMES = ["value", "y", "Target", "series", "id", "store_id", "date", "Time", "ds", "YEAR", "created_at", "",
         "index", "sensor", "x", "temp", "key", "0", "NA", "1.5", "a", "2020-01-01"]


def sample_files(n: int, seed: int = 0) -> list[list[list[str]]]:
    """Small CSV files (as fields) of 1 to 4 columns drawn from CELLS, with or without a header line."""
    r = random.Random(seed)
    files = []
    for _ in range(n):
        ncols, nrows = r.choice([1, 2, 2, 3, 3, 4]), r.choice([0, 1, 2, 3, 6, 12, 60])
        cycle = r.random() < 0.5                          # series ids a, b, c in turn, or at random
        ids = ["abc"[t % 3] if cycle else r.choice("abc") for t in range(nrows)]
        how = [CELLS[r.choice(list(CELLS))] for _ in range(ncols)]
        rows = [[f(t, ids[t], r) for f in how] for t in range(nrows)]
        if nrows == 0 or r.random() < 0.5:
            rows.insert(0, [r.choice(NAMES) for _ in range(ncols)])
        if r.random() < 0.1:
            rows.insert(r.randrange(len(rows) + 1), ["1"] * (ncols + 1))     # a line of the wrong length
        if r.random() < 0.05:
            rows.insert(0, r.choice([["sep=", ""], ["sep=;"], ["TOA5", "CR1000", "x", "y", "z", "w"]]))
        files.append(rows[:SAMPLE_LINES])
    return files


def predict_roles(rows: list[list[str]], window: int) -> list | str | None:
    try:
        c = resolve(rows, PREDICT.columns(), features=1, window=window, layout=PREDICT.layout)
    except ConfigError as e:
        if "newest first" in str(e):
            return None   # predict reads the times and refuses these; the examples read none (embedding.md)
        return "error"
    if c.layout == "windows":
        return "error"                                    # the examples leave whole-window rows to predict
    if len(rows[0]) == 1 and c.series is not None:
        return None   # predict makes a lone `id` column both series id and value (one value per series)
    return [c.header is not None, c.values[0], c.series, list(c.time), list(c.names)]


@pytest.mark.parametrize("window", [WINDOW, 2])
def test_examples_decide_header_and_columns_like_predict(node_example: Path, window: int) -> None:
    files = sample_files(1000, seed=window)
    want = [predict_roles(rows, window) for rows in files]
    example = runpy.run_path(str(PY_EXAMPLE))
    python = []
    for rows in files:
        try:
            c = example["decide"](rows, window)
            python.append([c.header is not None, c.value, c.series, list(c.time), list(c.names)])
        except example["InputError"]:
            python.append("error")
    script = ("const { decide, InputError } = require(process.argv[1]);\n"
              "const files = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
              "process.stdout.write(JSON.stringify(files.map((rows) => {\n"
              "  try {\n"
              "    const c = decide(rows, Number(process.argv[2]));\n"
              "    return [c.header !== null, c.value, c.series, c.time, c.names];\n"
              "  } catch (e) { if (e instanceof InputError) return 'error'; throw e; }\n"
              "})));\n")
    node = json.loads(run(["node", "-e", script, str(node_example), str(window)], json.dumps(files)).stdout)
    checked = [i for i, w in enumerate(want) if w is not None]
    assert len(checked) > 700 and sum(want[i] != "error" for i in checked) > 300, "too few files to judge by"
    for what, got in (("python", python), ("node", node)):
        wrong = [i for i in checked if got[i] != want[i]]
        assert not wrong, (f"{what} example decides {len(wrong)} of {len(checked)} files unlike predict; "
                           f"first: {files[wrong[0]][:4]} -> {got[wrong[0]]}, predict: {want[wrong[0]]}")


# --- stateful models: a state per series, carried from call to call ----------------------------------------
STATE_WARMUP = 5          # the models' seqinfer.warmup: each series' first 5 forecasts are held back
STATE_TOL = 1e-6          # forecasts of runs that cut the rows into other calls than predict's (see below)


def make_stateful(root: Path, kind: str) -> Path:
    """A small stateful model ("diff" scaling: a NaN prev for a new series), exported and verified as
    tests/infer/test_stateful.py builds one."""
    torch.manual_seed(0)
    net = StatefulForecaster(ModelConfig(kind=kind, hidden=8, horizon=HORIZON, scaling="diff", stateful=True))
    net.set_normalization(torch.zeros(1), torch.full((1,), 0.3), torch.zeros(HORIZON),
                          torch.full((HORIZON,), 0.3))
    save_checkpoint(root / "checkpoint.pt", net.eval(), data={"window": 10, "fingerprint": f"test-{kind}",
                                                               "warmup": STATE_WARMUP, "norm_mean": [0.0],
                                                               "norm_std": [1.0]})
    grid = VerifyConfig(batches=(1, 7), providers=("cpu",), inputs=("random",))
    result = export_model(root, ExportConfig(verify=grid))
    assert result.report.passed and result.meta.stateful and result.meta.warmup == STATE_WARMUP
    return root / "model.onnx"


@pytest.fixture(scope="module")
def stateful_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {kind: make_stateful(tmp_path_factory.mktemp(f"stateful-{kind}"), kind)
            for kind in ("gru", "lstm")}


def interleaved_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """(series, value) of three series of different lengths, interleaved irregularly."""
    rng = np.random.default_rng(seed)
    owners = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    return [(s, f"{3 * np.sin(i / 4) + 10 * 'abc'.index(s) + rng.normal(0, 0.1):.4f}")
            for i, s in enumerate(owners)]


MIXED = interleaved_rows(90, seed=0)
STATEFUL_INPUTS = {
    "one-series-header": lines("value", *values(40)),
    "one-series-no-header": lines(*values(40)),
    "interleaved-header": lines("series,value", *(f"{s},{v}" for s, v in MIXED)),
    "interleaved-no-header": lines(*(f"{s},{v}" for s, v in MIXED)),
    # a time column passed through, ids that need quoting, CRLF
    "series,date,value-crlf": lines("series,date,value", *(
        f'"id, {s}",2024-{1 + i // 28:02d}-{1 + i % 28:02d},{v}' for i, (s, v) in enumerate(MIXED)
    )).replace("\n", "\r\n"),
}


def predict_stateful(path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEQINFER, "predict", str(path), "--provider", "cpu", *args], input=text,
                          capture_output=True, text=True, cwd=ROOT, timeout=RUN_TIMEOUT_S)


def node_stateful(node_example: Path, path: Path, text: str, *args: str,
                  batch: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({} if batch is None else {"BATCH": str(batch)})}
    return subprocess.run(["node", str(node_example), str(path), *args], input=text, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, env=env)


def assert_same_csv(got: str, want: str, tol: float, what: str) -> None:
    """The same lines, fields and row numbers exactly; the forecasts within `tol` (0: the same bytes)."""
    if tol == 0:
        assert got == want, f"{what}: stdout differs\n--- got ---\n{got[:800]}--- predict ---\n{want[:800]}"
        return
    g, w = list(csv.reader(io.StringIO(got))), list(csv.reader(io.StringIO(want)))
    n = len(forecast_columns(HORIZON))
    assert [r[:-n] for r in g] == [r[:-n] for r in w], f"{what}: rows or columns differ"
    assert g[0] == w[0], f"{what}: header differs"
    err = np.abs(np.array([r[-n:] for r in g[1:]], float) - np.array([r[-n:] for r in w[1:]], float))
    assert err.max(initial=0.0) <= tol, f"{what}: max abs difference {err.max():.3g} > {tol}"


# Predict runs the rows of one input (one block, one batch here) as one call, every series' rows one padded
# row of it; so does the Node.js example by default, and both print the same bytes. With BATCH=1 (one value
# per call) or BATCH=7 (chunks that cut across series) the same steps run in other calls, which onnxruntime
# may round differently in the last float32 bit: those are compared within STATE_TOL, all else exactly. Those
# runs are what shows the state carried from call to call; the one-call run shows each series its own row.
@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("name", STATEFUL_INPUTS)
def test_node_example_runs_a_stateful_model_like_seqinfer_predict(node_example: Path, stateful_models: dict,
                                                                  kind: str, name: str) -> None:
    path, text = stateful_models[kind], STATEFUL_INPUTS[name]
    p = predict_stateful(path, text)
    assert p.returncode == 0, p.stderr
    rows = len(text.splitlines()) - (0 if "no-header" in name else 1)
    n_series = 1 if "one-series" in name else 3
    assert len(p.stdout.splitlines()) == 1 + rows - n_series * STATE_WARMUP, "predict held back other rows"
    for batch, tol in ((None, 0.0), (1, STATE_TOL), (7, STATE_TOL)):
        r = node_stateful(node_example, path, text, batch=batch)
        assert r.returncode == 0, r.stderr
        assert_same_csv(r.stdout, p.stdout, tol, f"{kind}, {name}, BATCH={batch}")


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_node_example_takes_the_warmup_option_like_predict(node_example: Path, stateful_models: dict,
                                                           kind: str) -> None:
    """--warmup 0 shows the first rows' forecasts: those made from the state a new series starts with."""
    path, text = stateful_models[kind], STATEFUL_INPUTS["interleaved-header"]
    for warmup in ("0", "12"):
        p = predict_stateful(path, text, "--warmup", warmup)
        assert p.returncode == 0 and len(p.stdout.splitlines()) == 1 + len(MIXED) - 3 * int(warmup), p.stderr
        for batch, tol in ((None, 0.0), (1, STATE_TOL)):
            r = node_stateful(node_example, path, text, "--warmup", warmup, batch=batch)
            assert r.returncode == 0, r.stderr
            assert_same_csv(r.stdout, p.stdout, tol, f"{kind}, --warmup {warmup}, BATCH={batch}")


def test_node_example_stops_a_stateful_run_like_predict(node_example: Path, stateful_models: dict) -> None:
    rows = [f"{s},{v}" for s, v in MIXED]
    text = lines("series,value", *rows[:60], "a,oops", *rows[60:])
    p = predict_stateful(stateful_models["gru"], text)
    r = node_stateful(node_example, stateful_models["gru"], text)
    assert p.returncode == 2 and "<stdin>:62:" in p.stderr, p.stderr
    assert len(p.stdout.splitlines()) > 40, "few forecasts before the bad line: a weak test"
    assert (r.returncode, r.stdout) == (2, p.stdout), r.stderr
    assert "line 62:" in r.stderr and "not a number" in r.stderr


def test_embedding_doc_python_block_drives_a_stateful_model_like_predict(stateful_models: dict) -> None:
    """docs/embedding.md's stateful Python block (numpy + onnxruntime only), run as written on (series, value)
    rows, one value per call: predict's forecasts, within STATE_TOL (predict runs each series in one call)."""
    doc = (ROOT / "docs" / "embedding.md").read_text()
    section = doc[doc.index("\n## Stateful models"):]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, "no Python block in the Stateful models section"
    for kind, path in stateful_models.items():
        code = block.group(1).replace('"model.onnx"', repr(str(path)))
        scope: dict = {"rows": [(s, float(v)) for s, v in MIXED]}
        exec(compile(code, "docs/embedding.md", "exec"), scope)  # noqa: S102 - the documented code, as written
        p = predict_stateful(path, STATEFUL_INPUTS["interleaved-header"])
        body = list(csv.reader(io.StringIO(p.stdout)))[1:]
        assert [s for s, _ in scope["forecasts"]] == [r[0] for r in body], kind
        got = np.array([y for _, y in scope["forecasts"]])
        err = np.abs(got - np.array([r[-HORIZON:] for r in body], float))
        assert len(body) > 60 and err.max() <= STATE_TOL, f"{kind}: max abs difference {err.max():.3g}"


def test_python_example_points_a_stateful_model_elsewhere(stateful_models: dict) -> None:
    r = subprocess.run([sys.executable, str(PY_EXAMPLE), str(stateful_models["gru"])],
                       input=STATEFUL_INPUTS["one-series-header"], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S)
    assert (r.returncode, r.stdout) == (2, "") and "stateful" in r.stderr and "forecast.js" in r.stderr


# --- the docs name the whole contract ----------------------------------------------------------------------
def test_embedding_doc_names_every_metadata_key_and_tensor() -> None:
    doc = (ROOT / "docs" / "embedding.md").read_text()
    missing = [META_PREFIX + f.name for f in fields(ModelMeta) if META_PREFIX + f.name not in doc]
    assert not missing, f"docs/embedding.md does not mention {missing}"
    for word in (f'"{INPUT_NAME}"', f'"{OUTPUT_NAME}"', "float32", "batch", "seq", "horizon",
                 ROW_COLUMN, SERIES_COLUMN, "ONNXRUNTIME_NODE_INSTALL=skip", f'"{SEQ_LENS_NAME}"',
                 *(f'"{n}"' for n in (STATE_H, STATE_C, STATE_PREV)),
                 *(f'"{n}{NEXT_SUFFIX}"' for n in (STATE_H, STATE_C, STATE_PREV))):
        assert word in doc, f"docs/embedding.md does not mention {word}"
