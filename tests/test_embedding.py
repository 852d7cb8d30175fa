"""The .onnx file alone is enough: the Node.js and numpy-only examples give `seqinfer predict`'s forecasts.

Run just these: .venv/bin/python -m pytest -q tests/test_embedding.py
The Node.js tests install examples/node's pinned dependencies on first use (npm ci, CUDA download skipped)
and are skipped, with the reason, only where node or npm is not on the PATH.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import os
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

from seqinfer.export.onnx_export import export_onnx
from seqinfer.infer.contract import (
    INPUT_NAME,
    META_PREFIX,
    OUTPUT_NAME,
    ROW_COLUMN,
    SERIES_COLUMN,
    ModelMeta,
    forecast_columns,
)
from seqinfer.trainer.model import Forecaster, ModelConfig

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
NPM_ENV = {"ONNXRUNTIME_NODE_INSTALL": "skip", "npm_config_audit": "false", "npm_config_fund": "false",
           "npm_config_update_notifier": "false"}


# --- a tiny exported model and its eager reference -------------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Forecaster, Path]]:
    """One small exported model per kind, with its eager PyTorch twin as the reference."""
    out = {}
    for name, kind, window in [("rnn", "rnn", WINDOW), ("lstm", "lstm", WINDOW), ("gru", "gru", WINDOW),
                               ("gru-window-8", "gru", 8)]:
        torch.manual_seed(0)
        net = Forecaster(ModelConfig(kind=kind, hidden=8, horizon=HORIZON)).eval()
        net.set_normalization(torch.tensor([MEAN]), torch.tensor([STD]))
        meta = ModelMeta(seqinfer_version="test", kind=kind, window=window, horizon=HORIZON, features=1,
                         norm_mean=(MEAN,), norm_std=(STD,))
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


INPUTS = {
    "interleaved": series_csv(),
    "one-series-no-header": series_csv(n_series=1, steps=30, header=False),
    "one-series-header-crlf": series_csv(n_series=1, steps=20).replace("\n", "\r\n"),
    # numeric ids and no header: line 1 is all numbers, so it is data
    "numeric-ids-no-header": series_csv(n_series=2, steps=20, header=False).replace("s", ""),
    # columns found by name: value first, series second, an ignored extra column
    "named-columns": "\n".join(["value,series,note"] + [f"{v},{s},x" for s, v in (
        line.split(",") for line in series_csv(n_series=2, steps=20).splitlines()[1:])]) + "\n",
    # series ids that need CSV quoting
    "quoted-ids": "series,value\n" + "".join(
        f'"id, ""{s}""",{v}\n' for s, v in (line.split(",") for line in series_csv(2, 20).splitlines()[1:])),
}


# Every input layout on one kind, and the main layout on every kind: each process start costs ~0.5 s.
CASES = [("gru", name) for name in INPUTS] + [(kind, "interleaved") for kind in ("rnn", "lstm")]


def is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def eager_forecasts(net: Forecaster, text: str,
                    window: int = WINDOW) -> tuple[list[str], list[list[str]], np.ndarray]:
    """The reference: header, the key columns of each forecast row, and the eager model's forecasts.

    Columns as `seqinfer predict` decides them by default: line 1 is a header when any field is not a number;
    the value is the column named `value` (else the only one, else the second of two); the series is the
    column named `series` (else the first of two when no column is named `value`).
    """
    rows = list(csv.reader(io.StringIO(text)))
    first = rows[0]
    header = not all(is_number(f) for f in first)
    series_col = None
    if header and "value" in first:
        value_col = first.index("value")
    elif len(first) == 1:
        value_col = 0
    else:
        series_col, value_col = 0, 1
    if header and series_col is None and "series" in first:
        series_col = first.index("series")
    history: dict[str, list[float]] = {}
    keys, windows = [], []
    for line_no, row in enumerate(rows, start=1):
        if header and line_no == 1:
            continue
        series = [] if series_col is None else [row[series_col]]
        h = history.setdefault(series[0] if series else "", [])
        h.append(float(row[value_col]))
        if len(h) >= window:
            keys.append(series + [str(line_no)])
            windows.append(h[-window:])
    with torch.no_grad():
        y = net(torch.tensor(windows, dtype=torch.float32)[:, :, None]).numpy()  # (B, H)
    columns = ([SERIES_COLUMN] if series_col is not None else []) + [ROW_COLUMN] + forecast_columns(HORIZON)
    return columns, keys, y


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
    script = ("const { formatG9 } = require(process.argv[1]);\n"
              "const xs = require('fs').readFileSync(0, 'utf8').trim().split('\\n').map(Number);\n"
              "process.stdout.write(xs.map((x) => formatG9(Math.fround(x))).join('\\n') + '\\n');\n")
    r = run(["node", "-e", script, str(node_example)], "\n".join(repr(float(v)) for v in values) + "\n")
    assert r.stdout.splitlines() == [f"{v:.9g}" for v in values]


# --- the key test: the Node.js example and `seqinfer predict` on the same model and input ----------------
def seqinfer_predict(path: Path, text: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([*SEQINFER, "predict", str(path)], input=text, capture_output=True, text=True,
                       cwd=ROOT, timeout=RUN_TIMEOUT_S)
    if p.returncode != 0 and "predict: not implemented yet" in p.stderr:
        pytest.skip("seqinfer predict is not implemented yet (infer/cli.py)")
    return p



@pytest.mark.parametrize(("kind", "name"), CASES)
def test_node_example_matches_seqinfer_predict(node_example: Path, models: dict, kind: str,
                                               name: str) -> None:
    _, path = models[kind]
    p = seqinfer_predict(path, INPUTS[name])
    assert p.returncode == 0, f"seqinfer predict exited {p.returncode}:\n{p.stderr}"
    r = run(["node", str(node_example), str(path)], INPUTS[name])
    assert_same_forecasts(parse_output(r.stdout), parse_output(p.stdout), f"node vs seqinfer predict, {name}")


# --- the docs name the whole contract ----------------------------------------------------------------------
def test_embedding_doc_names_every_metadata_key_and_tensor() -> None:
    doc = (ROOT / "docs" / "embedding.md").read_text()
    missing = [META_PREFIX + f.name for f in fields(ModelMeta) if META_PREFIX + f.name not in doc]
    assert not missing, f"docs/embedding.md does not mention {missing}"
    for word in (f'"{INPUT_NAME}"', f'"{OUTPUT_NAME}"', "float32", "batch", "seq", "horizon",
                 ROW_COLUMN, SERIES_COLUMN, "ONNXRUNTIME_NODE_INSTALL=skip"):
        assert word in doc, f"docs/embedding.md does not mention {word}"


@pytest.mark.parametrize("bad", ["s1,not-a-number", "s1,nan", "s1", ""],
                         ids=["text", "nan", "fields", "empty"])
def test_node_example_and_seqinfer_predict_stop_at_the_same_bad_line(node_example: Path, models: dict,
                                                                     bad: str) -> None:
    _, path = models["gru"]
    lines = INPUTS["interleaved"].splitlines()
    lines[len(lines) - 5] = bad
    text = "\n".join(lines) + "\n"
    p = seqinfer_predict(path, text)
    r = subprocess.run(["node", str(node_example), str(path)], input=text, capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S)
    assert (r.returncode, p.returncode) == (2, 2), f"node: {r.stderr}\npredict: {p.stderr}"
    want = parse_output(p.stdout)
    assert_same_forecasts(parse_output(r.stdout), want, f"node vs seqinfer predict, bad line {bad!r}")
