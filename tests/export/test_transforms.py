"""The input transforms inside the graph (trainer/model.py `scaling`): parity far from the training level,
tolerances in the series' own scale, and float64 I/O where float32 cannot hold the data.

Run just these: .venv/bin/python -m pytest -q tests/export/test_transforms.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from seqinfer.export import ExportConfig, VerifyConfig, export_model
from seqinfer.trainer.checkpoint import load_checkpoint
from seqinfer.trainer.config import DataConfig, TrainConfig
from seqinfer.trainer.run import train_all

from .conftest import KINDS, make_checkpoint

GRID = VerifyConfig(batches=(1, 7, 64), providers=("cpu",))


@pytest.mark.parametrize("scaling", ["diff", "window"])
@pytest.mark.parametrize("kind", KINDS)
def test_parity_far_from_the_training_level(tmp_path: Path, kind: str, scaling: str) -> None:
    """Trained around 0 (the sine), checked on windows moved 10,000 series scales away, with the tolerance
    in the series' scale, not in the raw value's: eager, TorchScript and onnxruntime agree."""
    r = export_model(make_checkpoint(tmp_path, kind, scaling=scaling), ExportConfig(verify=GRID)).report
    assert r.passed, r.table()
    far = [row for row in r.rows if row.inputs == "shifted"]
    assert len(far) == 2 * 3 * 4 and r.tol is not None                  # 2 runtimes x 3 batches x 4 seqs
    assert 0.5 < r.tol.scale < 1.0                                            # the sine's std, ~0.707
    assert all(row.max_abs <= 1e-4 * r.tol.scale + 4 * 2.0**-23 * 1e4 for row in far)


@pytest.mark.parametrize("scaling", ["global", "diff", "window"])
def test_a_transform_changes_the_forecast_as_its_formula_says(tmp_path: Path, scaling: str) -> None:
    """The graph computes the documented transform: adding a constant to a window moves a level-free
    forecast by that constant (diff, window), and scaling the window about its last value scales the
    forecast's change (window); the global model does neither."""
    export_model(make_checkpoint(tmp_path, "gru", scaling=scaling), ExportConfig(verify=GRID))
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x = np.sin(np.arange(16, dtype=np.float32) / 3)[None, :, None]
    y = sess.run(None, {"x": x})[0]
    moved = sess.run(None, {"x": x + 100})[0]
    level_free = np.allclose(moved, y + 100, atol=1e-3)
    assert level_free == (scaling != "global")
    last = x[:, -1:, :]
    scaled = sess.run(None, {"x": last + 3 * (x - last)})[0]
    assert np.allclose(scaled - last[:, :, 0], 3 * (y - last[:, :, 0]), atol=1e-4) == (scaling == "window")


def test_float64_where_float32_cannot_hold_the_data(tmp_path: Path) -> None:
    """10,000 + 0.5 sin: float32's spacing at 10,000 (9.8e-4) is 1.7% of a step. The exported model takes
    and returns float64, does the level arithmetic in float64, and agrees with eager to far below that."""
    t = np.arange(1200)
    csv = tmp_path / "far.csv"
    csv.write_text("t,value\n" + "".join(f"{i},{10_000 + 0.5 * np.sin(2 * np.pi * i / 40):.6f}\n" for i in t))
    train_all(["rnn"], DataConfig(path=str(csv), window=40), TrainConfig(epochs=8, hidden=8, jobs=1),
              tmp_path / "art")
    ckpt = torch.load(tmp_path / "art" / "rnn" / "checkpoint.pt", weights_only=True)
    assert ckpt["data"]["io_dtype"] == "float64"
    result = export_model(tmp_path / "art" / "rnn", ExportConfig(verify=GRID))
    assert result.report.passed and result.meta.io_dtype == "float64", result.report.table()
    proto = onnx.load(str(result.onnx_path))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    model, _ = load_checkpoint(tmp_path / "art" / "rnn")
    x = np.loadtxt(csv, delimiter=",", skiprows=1)[-41:-1, 1][None, :, None]       # float64, as read
    sess = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
        ref32 = model(torch.from_numpy(x.astype(np.float32))).numpy()
    assert y.dtype == np.float64 and abs(float(y[0, 0] - ref[0, 0])) < 1e-5
    assert abs(float(ref32[0, 0]) - float(ref[0, 0])) > 1e-4        # what float32 input alone costs here
