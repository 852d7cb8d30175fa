"""Parity over the whole verify grid, for all three kinds and every graph form."""
from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

from seqinfer.export import ExportConfig, VerifyConfig, export_model
from seqinfer.export.config import CPU, CUDA, ONNX_FORMS
from seqinfer.infer.errors import ConfigError

from .conftest import KINDS, WINDOW, make_checkpoint

GRID_SEQS = (1, WINDOW // 2, WINDOW, 2 * WINDOW)


@pytest.mark.parametrize("kind", KINDS)
def test_default_export_passes_the_whole_grid(exported: dict, kind: str) -> None:
    r = exported[kind].report
    assert r.passed, r.table()
    inputs = {row.inputs for row in r.rows}
    runtimes = {(row.runtime, row.provider) for row in r.rows}
    assert ("torchscript", "cpu") in runtimes and ("onnxruntime", "CPUExecutionProvider") in runtimes
    for inp in inputs:
        for rt in runtimes:
            cells = {(row.batch, row.seq) for row in r.rows if (row.runtime, row.provider) == rt
                     and row.inputs == inp}
            assert cells == {(b, s) for b in (1, 2, 7, 64, 1000) for s in GRID_SEQS}
    assert inputs == {"random", "test", "shifted"}
    tol = r.tol
    assert tol is not None and tol.atol == 1e-4 and tol.rtol == 4 * 2.0**-23 and tol.io_dtype == "float32"
    assert all(row.tol_used <= 1 for row in r.rows)
    assert r.verdict().startswith("PASSED")


def test_test_windows_are_used_or_the_skip_says_why(exported: dict) -> None:
    r = exported["lstm"].report
    try:
        import seqinfer.trainer.data  # noqa: F401
    except ImportError:
        assert any(s.startswith("test windows:") for s in r.skipped)
    else:
        assert {row.inputs for row in r.rows} == {"random", "test", "shifted"}


@pytest.mark.parametrize("kind", KINDS)
def test_cuda_runs_the_whole_grid_or_is_reported_skipped(exported: dict, kind: str) -> None:
    """Where CUDA loads, it is compared on every cell like the CPU; where it does not, the skip says why."""
    r = exported[kind].report
    cuda = [row for row in r.rows if row.provider == CUDA]
    if not cuda:
        assert any(s.startswith(f"onnxruntime {CUDA}: ") for s in r.skipped), r.skipped
        return
    inputs = {row.inputs for row in r.rows if row.provider == CPU}
    want = {(i, b, s) for i in inputs for b in r.config.batches for s in GRID_SEQS}
    assert sorted((row.inputs, row.batch, row.seq) for row in cuda) == sorted(want)
    # tol_used = max |y - ref| / (atol + rtol |ref|): within tolerance when <= 1 (NaN fails too)
    bad = [row for row in cuda if not row.passed or not row.tol_used <= 1]
    assert not bad, bad


def test_cpu_alone_asked_runs_no_runtime_on_cuda(tmp_path: Path) -> None:
    """--provider cpu is a CPU-only verify, TorchScript included, also where a GPU is present: on an H200 it
    ran TorchScript on CUDA regardless, a third of the rows; here the skip line says why it did not run."""
    cfg = ExportConfig(verify=VerifyConfig(batches=(1, 7), inputs=("random",), providers=("cpu",)))
    r = export_model(make_checkpoint(tmp_path, "gru"), cfg).report
    assert r.passed and {row.provider for row in r.rows} == {"cpu", CPU}, r.table()
    assert "torchscript cuda: CUDA is not among the providers asked" in r.skipped, r.skipped


@pytest.mark.parametrize("form", [f for f in ONNX_FORMS if f != "hybrid"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_form_passes(tmp_path: Path, kind: str, form: str) -> None:
    """The other forms on a reduced grid (batches on both sides of the hybrid's switch, random windows)."""
    cfg = ExportConfig(onnx_form=form, verify=VerifyConfig(batches=(1, 7, 64), inputs=("random",),
                                                           providers=("cpu",), torchscript=False))
    r = export_model(make_checkpoint(tmp_path, kind, horizon=3, features=2), cfg).report
    assert r.passed, r.table()


def test_two_layers(tmp_path: Path) -> None:
    import torch

    from seqinfer.trainer.checkpoint import save_checkpoint
    from seqinfer.trainer.model import Forecaster, ModelConfig

    for kind in KINDS:
        torch.manual_seed(0)
        m = Forecaster(ModelConfig(kind=kind, hidden=8, layers=2))
        (tmp_path / kind).mkdir()
        save_checkpoint(tmp_path / kind / "checkpoint.pt", m, data={"window": 6, "fingerprint": "x"})
        quick = VerifyConfig(batches=(1, 1000), seqs=(1, 9), inputs=("random",), providers=("cpu",))
        r = export_model(tmp_path / kind, ExportConfig(verify=quick)).report
        assert r.passed, r.table()


def test_configs_validate_with_field_names() -> None:
    with pytest.raises(ConfigError, match="verify.atol"):
        VerifyConfig(atol=-1)
    with pytest.raises(ConfigError, match="verify.batches"):
        VerifyConfig(batches=(0,))
    with pytest.raises(ConfigError, match="export.onnx_form"):
        ExportConfig(onnx_form="dynamo")
    assert VerifyConfig.from_options(providers=["cuda"]).providers == ("CUDAExecutionProvider",)
    assert VerifyConfig().atol == 1e-4 and VerifyConfig().rtol is None
    assert VerifyConfig().rtol_for("float32") == 4 * 2.0**-23 and VerifyConfig().rtol_for("float64") == 0


def test_onnxruntime_is_the_gpu_build_or_cpu_only() -> None:
    assert "CPUExecutionProvider" in ort.get_available_providers()
