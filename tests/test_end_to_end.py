"""The whole product on a tiny model, as a user runs it: train -> export -> verify -> predict through a pipe.

Run just this: .venv/bin/python -m pytest -q tests/test_end_to_end.py   (about 30 s on 2 cores)
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqinfer.infer.contract import CHECKPOINT_FILE, ONNX_FILE, TORCHSCRIPT_FILE
from seqinfer.trainer.checkpoint import load_checkpoint

_BIN = Path(sys.executable).parent / "seqinfer"
SEQINFER = str(_BIN) if _BIN.is_file() else f"{sys.executable} -m seqinfer.infer.cli"
WINDOW, HORIZON = 16, 2
TIMEOUT_S = 300


def sh(cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    """One shell line, pipes and all, with `seqinfer` meaning this checkout's command."""
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd.replace("seqinfer", SEQINFER)], cwd=cwd,
                       capture_output=True, text=True, timeout=TIMEOUT_S, env={**os.environ})
    assert r.returncode == 0, f"{cmd}\n--- stderr ---\n{r.stderr}"
    return r


def test_train_export_verify_predict_through_a_pipe(tmp_path: Path) -> None:
    sh(f"seqinfer train --model lstm --out art --length 300 --window {WINDOW} --horizon {HORIZON} "
       "--epochs 2 --hidden 8 --threads 1", tmp_path)
    model_dir = tmp_path / "art" / "lstm"
    assert (model_dir / CHECKPOINT_FILE).is_file()

    sh("seqinfer export art/lstm", tmp_path)
    assert (model_dir / ONNX_FILE).is_file() and (model_dir / TORCHSCRIPT_FILE).is_file()
    v = sh("seqinfer verify art/lstm", tmp_path)
    assert "PASSED" in v.stdout + v.stderr

    values = [f"{np.sin(t / 3):.4f}" for t in range(40)]
    printf = "printf '" + "\\n".join(["value", *values]) + "\\n'"
    r = sh(f"{printf} | seqinfer predict art/lstm --verify | cat", tmp_path)
    assert "verify: onnxruntime vs TorchScript" in r.stderr and "PASSED" in r.stderr

    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["row", "yhat_1", "yhat_2"]
    assert [int(row[0]) for row in rows[1:]] == list(range(WINDOW + 1, 42))   # header is line 1
    net, _ = load_checkpoint(model_dir / CHECKPOINT_FILE)
    x = np.lib.stride_tricks.sliding_window_view(np.array(values, np.float32), WINDOW)
    with torch.no_grad():
        want = net.eval()(torch.from_numpy(x.copy())[:, :, None]).numpy()
    got = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_train_then_predict_on_the_same_file_gives_the_reported_test_error(tmp_path: Path) -> None:
    """One reader for both: predict on the training file, with the same column option, makes the very
    forecasts train scored on its test part (same windows, same numbers)."""
    from seqinfer.trainer.config import DataConfig
    from seqinfer.trainer.data import load_series, split_points

    rng = np.random.default_rng(0)
    rows = ["site,day,load,temp"]
    for i in range(300):
        for site, level in (("north", 100.0), ("south", -20.0)):
            v = level + 10 * np.sin(i / 5) + rng.normal(0, 0.5)
            rows.append(f"{site},{np.datetime64('2021-01-01') + i},{v:.3f},{rng.normal(15, 5):.1f}")
    (tmp_path / "plant.csv").write_text("\n".join(rows) + "\n")
    sh(f"seqinfer train --model gru --data plant.csv --value-col load --out art --window {WINDOW} "
       f"--horizon {HORIZON} --epochs 3 --hidden 8 --threads 1", tmp_path)
    sh("seqinfer export art/gru", tmp_path)
    r = sh("seqinfer predict art/gru --input plant.csv --value-col load", tmp_path)
    assert "value=load, time=day (passed through, iso), series=site, ignored=temp" in r.stderr

    cfg = DataConfig(path=str(tmp_path / "plant.csv"), value_col=("load",), window=WINDOW, horizon=HORIZON)
    series = load_series(cfg)
    out = list(csv.reader(io.StringIO(r.stdout)))
    at = {(row[0], int(row[2])): [float(v) for v in row[3:]] for row in out[1:]}   # (site, row) -> yhat
    errors = []
    for sid, values, lines in zip(series.ids, series.values, series.lines or [], strict=True):
        _, test_start = split_points(len(values), cfg)
        for end in range(test_start + WINDOW - 1, len(values) - HORIZON):   # windows inside the test part
            truth = values[end + 1:end + 1 + HORIZON, 0]
            errors.append(np.array(at[(sid, int(lines[end]))]) - truth.astype(np.float32))
    metrics = json.loads((tmp_path / "art" / "gru" / "metrics.json").read_text())
    assert len(errors) == metrics["data"]["windows"]["test"]
    mse = float(np.mean(np.square(errors)))
    np.testing.assert_allclose(mse, metrics["metrics"]["test"]["mse"], rtol=1e-4)


def test_covariates_train_export_predict_and_no_rollout_past_the_horizon(tmp_path: Path) -> None:
    """--value-col load,temp: load is the target, temp a covariate observed with it; the model takes both,
    predict reads both, and a horizon past the model's is a clear error (temp's future is unknown)."""
    rng = np.random.default_rng(1)
    temp = 20 + 8 * np.sin(np.arange(400) / 10) + rng.normal(0, 0.5, 400)
    load = 100 + 3 * temp + np.cumsum(rng.normal(0, 0.2, 400))
    rows = "".join(f"2022-01-01T{i // 60:02d}:{i % 60:02d},{lv:.3f},{tv:.3f}\n"
                   for i, (lv, tv) in enumerate(zip(load, temp, strict=True)))
    (tmp_path / "grid.csv").write_text("time,load,temp\n" + rows)
    sh(f"seqinfer train --model lstm --data grid.csv --value-col load,temp --out art --window {WINDOW} "
       "--epochs 3 --hidden 8 --threads 1", tmp_path)
    m = json.loads((tmp_path / "art" / "lstm" / "metrics.json").read_text())
    assert m["model_config"]["features"] == 2 and m["data"]["column"] == "load,temp"
    sh("seqinfer export art/lstm", tmp_path)
    r = sh("seqinfer predict art/lstm --input grid.csv --value-col load,temp", tmp_path)
    assert "reading value=load,temp, time=time" in r.stderr
    out = list(csv.reader(io.StringIO(r.stdout)))
    assert out[0] == ["time", "row", "yhat_1"] and len(out) - 1 == 400 - WINDOW + 1
    net, _ = load_checkpoint(tmp_path / "art" / "lstm")
    x = np.stack([load, temp], axis=1).round(3).astype(np.float32)[:WINDOW][None]
    with torch.no_grad():
        want = float(net(torch.from_numpy(x))[0, 0])
    assert abs(float(out[1][2]) - want) < 1e-4
    cmd = f"{SEQINFER} predict art/lstm --input grid.csv --value-col load,temp --horizon 3"
    bad = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "rolling out needs a single-feature model" in bad.stderr.splitlines()[-1]
    # The columns in another order, no --value-col: read by the names the model was trained on (they were
    # taken in file order, the covariate forecast as the target, without a word); names it lacks: an error.
    (tmp_path / "swapped.csv").write_text("time,temp,load\n" + "".join(
        f"{t},{b},{a}\n" for t, a, b in (ln.split(",") for ln in rows.splitlines())))
    r = sh("seqinfer predict art/lstm --input swapped.csv", tmp_path)
    assert "reading value=load,temp, time=time" in r.stderr and r.stdout.splitlines()[1].endswith(out[1][2])
    (tmp_path / "renamed.csv").write_text("time,a,b\n" + rows)
    cmd = f"{SEQINFER} predict art/lstm --input renamed.csv"
    bad = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1].endswith(
        "the model takes 2 values per step, trained on the columns load, temp in that order (the first is "
        "forecast); this header has time, a, b: name them with --value-col, in that order")
    # --value-col naming the model's columns in another order: the covariate would be forecast. An error.
    cmd = f"{SEQINFER} predict art/lstm --input grid.csv --value-col temp,load"
    bad = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1].endswith(
        "--value-col temp,load: the model was trained on load,temp in that order (the first is forecast); "
        "give them so, or leave --value-col out (the header names them)"), bad.stderr


def test_stateful_train_export_predict_through_a_pipe(tmp_path: Path) -> None:
    """seqinfer train --stateful both: the windowed and the stateful RNN side by side in comparison.md; the
    stateful one exports (verified over thousands of steps) and predict gives eager's forecasts per row."""
    from seqinfer.trainer.stateful import StatefulForecaster, forecast_series

    r = sh(f"seqinfer train --model rnn --stateful both --out art --length 400 --window {WINDOW} "
           "--epochs 3 --hidden 8 --threads 1", tmp_path)
    table = (tmp_path / "art" / "comparison.md").read_text()
    assert "| rnn (diff)" in table and "| rnn-stateful (diff)" in table and "rnn-stateful" in r.stdout
    tests = json.loads((tmp_path / "art" / "comparison.json").read_text())["tests"]
    assert [(t["model"], t["against"]) for t in tests] == [("rnn", "naive"), ("rnn-stateful", "naive"),
                                                         ("rnn-stateful", "rnn")]
    mse = {n: json.loads((tmp_path / "art" / n / "metrics.json").read_text())["metrics"]["test"]["mse"]
           for n in ("rnn", "rnn-stateful")}
    naive = json.loads((tmp_path / "art" / "rnn" / "metrics.json").read_text())["baseline"]["test"]["mse"]
    assert tests[0]["mse_ratio"] == pytest.approx(mse["rnn"] / naive, rel=1e-6)        # the same forecasts
    assert tests[2]["mse_ratio"] == pytest.approx(mse["rnn-stateful"] / mse["rnn"], rel=1e-6)
    assert f"| rnn-stateful | rnn | {tests[2]['mse_ratio']:.3f} |" in table
    sh("seqinfer export art/rnn-stateful", tmp_path)
    values = [f"{np.sin(t / 3):.4f}" for t in range(60)]
    printf = "printf '" + "\\n".join(["value", *values]) + "\\n'"
    out = sh(f"{printf} | seqinfer predict art/rnn-stateful --warmup 3 | cat", tmp_path)
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["row", "yhat_1"] and [int(row[0]) for row in rows[1:]] == list(range(5, 62))
    net, ckpt = load_checkpoint(tmp_path / "art" / "rnn-stateful")
    assert isinstance(net, StatefulForecaster) and ckpt["data"]["warmup"] == 3 * WINDOW    # rnn: 3 windows
    want = forecast_series(net, np.array(values, np.float64)[:, None])[3:, 0]
    np.testing.assert_allclose([float(row[1]) for row in rows[1:]], want, atol=1e-5)
