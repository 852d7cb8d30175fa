"""The files: metadata round trip, byte-identical re-export, raw-in/raw-out, torch-free use, CLI failures."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper
from typer.testing import CliRunner

from seqinfer.export import ExportConfig, ParityFailed, VerifyConfig, export_model, verify
from seqinfer.export.pipeline import TS_META_FILE
from seqinfer.infer import __version__
from seqinfer.infer.cli import app
from seqinfer.infer.contract import INPUT_NAME, OUTPUT_NAME, ModelMeta
from seqinfer.infer.errors import ModelError
from seqinfer.trainer.checkpoint import load_checkpoint

from .conftest import make_checkpoint

SEQINFER = [sys.executable, "-m", "seqinfer.infer.cli"]
QUICK = VerifyConfig(batches=(1, 64), providers=("cpu",))


def _meta(path: Path) -> ModelMeta:
    return ModelMeta.from_props({p.key: p.value for p in onnx.load(str(path)).metadata_props})


def test_metadata_round_trip_and_every_field_filled(exported: dict) -> None:
    res = exported["gru"]
    meta = _meta(res.onnx_path)
    assert meta == res.meta
    assert meta.seqinfer_version == __version__ and meta.kind == "gru" and meta.window == 16
    assert (meta.horizon, meta.features) == (2, 1)
    assert meta.torch_version == torch.__version__ and meta.onnx_version == onnx.__version__
    assert meta.opset == 17 and "hybrid" in meta.exporter and meta.fingerprint
    assert meta.parity["passed"] is True and meta.parity["atol"] == 1e-4
    assert meta.parity["rtol"] == 4 * 2.0**-23
    assert meta.parity["scale"] > 0 and (meta.scaling, meta.io_dtype) == ("global", "float32")
    assert meta.parity["runtimes"]["onnxruntime/CPUExecutionProvider"]["max_abs"] <= 1e-5
    model, _ = load_checkpoint(res.onnx_path.parent)
    assert np.allclose(meta.norm_mean, model.norm_mean.numpy()) and np.allclose(meta.norm_std, model.norm_std)
    extra = {TS_META_FILE: ""}
    torch.jit.load(str(res.ts_path), _extra_files=extra)
    assert ModelMeta.from_props(json.loads(extra[TS_META_FILE])) == meta
    sidecar = json.loads((res.onnx_path.parent / "parity.json").read_text())
    assert sidecar["passed"] and sidecar["summary"] == json.loads(json.dumps(meta.parity))


def test_reexport_is_byte_identical(tmp_path: Path) -> None:
    d = make_checkpoint(tmp_path / "lstm", "lstm")
    first = export_model(d, ExportConfig(verify=QUICK))
    blobs = first.onnx_path.read_bytes(), first.ts_path.read_bytes()
    second = export_model(d, ExportConfig(verify=QUICK))
    assert (second.onnx_path.read_bytes(), second.ts_path.read_bytes()) == blobs
    assert not list(d.glob(".*partial")) and not list(d.glob("*.failed"))


def test_normalization_is_inside_the_graph(tmp_path: Path) -> None:
    """Raw in, raw out: ORT on raw values equals eager on raw values, far from the unnormalized model's."""
    d = make_checkpoint(tmp_path / "rnn", "rnn", mean=100.0, std=20.0)
    res = export_model(d, ExportConfig(verify=QUICK))
    model, _ = load_checkpoint(d)
    x = (model.norm_mean.numpy() + model.norm_std.numpy()
         * np.random.default_rng(3).standard_normal((5, 16, 1))).astype(np.float32)
    sess = ort.InferenceSession(str(res.onnx_path), providers=["CPUExecutionProvider"])
    y = sess.run(None, {INPUT_NAME: x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
        unscaled = model.forward_normalized(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    assert np.abs(y - unscaled).max() > 1.0 and abs(float(y.mean()) - 100.0) < 5 * 20.0


def test_onnx_runs_with_only_numpy_and_onnxruntime(exported: dict, tmp_path: Path) -> None:
    res = exported["lstm"]
    x = np.random.default_rng(7).normal(10.0, 3.0, (9, 24, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        import onnxruntime as ort
        s = ort.InferenceSession({str(res.onnx_path)!r}, providers=["CPUExecutionProvider"])
        y = s.run([{OUTPUT_NAME!r}], {{{INPUT_NAME!r}: np.load({str(tmp_path / 'x.npy')!r})}})[0]
        np.save({str(tmp_path / 'y.npy')!r}, y)
        assert "torch" not in sys.modules, "torch was imported"
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "seqinfer")))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    model, _ = load_checkpoint(res.onnx_path.parent)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, rtol=1e-4, atol=1e-5)


def test_corrupted_onnx_fails_verify_with_a_table_and_exit_2(exported: dict, tmp_path: Path) -> None:
    src = exported["rnn"].onnx_path
    proto = onnx.load(str(src))
    head = next(t for t in proto.graph.initializer if t.name == "head_b")
    arr = numpy_helper.to_array(head).copy()
    arr[0] += 0.01                                           # one weight, slightly off
    head.CopyFrom(numpy_helper.from_array(arr, "head_b"))
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, str(bad))
    ckpt = src.parent / "checkpoint.pt"
    out = subprocess.run([*SEQINFER, "verify", str(bad), "--checkpoint", str(ckpt), "--provider", "cpu"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    report = json.loads((tmp_path / "bad.parity.json").read_text())
    assert report["passed"] is False and all(c["passed"] for c in report["checks"])  # only values are off
    assert report["rows"] and not any(r["passed"] for r in report["rows"])
    lines = out.stdout.strip().splitlines()                  # the report: verify's output
    assert any(line.startswith("runtime") and "max abs" in line and "max rel" in line for line in lines)
    assert sum(line.endswith("  FAIL") for line in lines) == len(report["rows"])
    err = out.stderr.strip().splitlines()                    # and the one error line
    assert len(err) == 1 and err[0].startswith("seqinfer: error: verify FAILED"), out.stderr


def test_failed_export_leaves_no_good_looking_file(tmp_path: Path) -> None:
    d = make_checkpoint(tmp_path / "gru", "gru")
    export_model(d, ExportConfig(verify=QUICK))                          # a good earlier export
    assert (d / "model.onnx").is_file()
    # atol 1e-12, rtol 0: onnxruntime's float32 rounding differs from eager's, so this must fail
    strict = VerifyConfig(atol=1e-12, rtol=0, batches=(64,), providers=("cpu",))
    with pytest.raises(ParityFailed, match="^verify FAILED") as e:
        export_model(d, ExportConfig(verify=strict))
    assert any(line.endswith("  FAIL") for line in e.value.report.table().splitlines())
    assert not (d / "model.onnx").exists() and not (d / "model.ts").exists()
    assert (d / "model.onnx.failed").is_file() and not list(d.glob(".*partial"))
    assert json.loads((d / "parity.json").read_text())["passed"] is False


def test_cli_export_then_verify(tmp_path: Path) -> None:
    """In process (CliRunner): the options reach the library; exit codes via main() are tested above."""
    d = make_checkpoint(tmp_path / "lstm", "lstm")
    res = CliRunner().invoke(app, ["export", str(d), "--form", "scan", "--provider", "cpu"])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr.strip().splitlines()[-1].startswith("PASSED")
    assert "scan form" in _meta(d / "model.onnx").exporter
    res = CliRunner().invoke(app, ["verify", str(d), "--atol", "1e-4", "--json", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    assert "atol 0.0001" in res.stdout and res.stdout.strip().splitlines()[-1].startswith("PASSED")
    assert res.stderr == ""                   # the report is verify's output: `verify m > report.txt`
    assert json.loads((tmp_path / "p.json").read_text())["config"]["atol"] == 1e-4


def test_verify_needs_a_checkpoint_for_a_lone_onnx(exported: dict, tmp_path: Path) -> None:
    lone = tmp_path / "lone.onnx"
    shutil.copy(exported["rnn"].onnx_path, lone)
    out = subprocess.run([*SEQINFER, "verify", str(lone)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "--checkpoint" in out.stderr


@pytest.mark.parametrize("bad", ["missing", "not-onnx"])
def test_verify_unusable_model_is_a_model_error(exported: dict, tmp_path: Path, bad: str) -> None:
    target = tmp_path / "x.onnx"
    if bad == "not-onnx":
        target.write_text("hello")
    with pytest.raises(ModelError, match="x.onnx"):
        verify(target, checkpoint=exported["rnn"].onnx_path.parent)
