"""Streaming behaviour through real pipes: a trickle gets each forecast before the next row is sent;
--verify compares with TorchScript; predict never imports torch; the CLI maps errors onto exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from infer_support import (
    SEQINFER,
    TIMEOUT_S,
    Fixture,
    one_error,
    parse_csv,
    readline,
    run_cli,
    sine,
    trickle,
    values_csv,
    within_trickle_bounds,
)
from typer.testing import CliRunner

from seqinfer.infer.cli import app


@pytest.mark.parametrize(("batch_size", "max_latency_ms"), [("1", "20"), ("256", "20"), ("256", "2000")])
def test_trickle_each_forecast_arrives_before_the_next_row(lstm: Fixture, batch_size: str,
                                                           max_latency_ms: str) -> None:
    values = [f"{v:.6f}" for v in sine(lstm.window + 15)]
    cmd = [*SEQINFER, "predict", str(lstm.dir), "--provider", "cpu", "--batch-size", batch_size,
           "--max-latency", max_latency_ms]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         bufsize=0)
    assert p.stdin is not None
    try:
        p.stdin.write(("\n".join(values[:lstm.window - 1]) + "\n").encode())
        assert readline(p) == b"row,yhat_1,yhat_2\n"
        lines, waits = trickle(p, values[lstm.window - 1:])
    finally:
        p.kill()
    for i, line in enumerate(lines, start=lstm.window):
        assert line.startswith(f"{i},".encode()), line
    within_trickle_bounds(waits, "trickle")


def test_verify_passes_and_reports_the_max_error(lstm: Fixture) -> None:
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--verify", "--horizon", "3"],
                values_csv(sine(40)))
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "verify: onnxruntime vs TorchScript" in err and "PASSED" in err
    assert parse_csv(r.stdout)[2].shape == (25, 3)


def test_verify_fails_naming_the_row(lstm: Fixture, tmp_path) -> None:  # noqa: ANN001
    import torch

    from seqinfer.trainer.model import Forecaster, ModelConfig

    (tmp_path / "model.onnx").write_bytes(lstm.onnx.read_bytes())
    torch.manual_seed(1)                                     # a different net: TorchScript disagrees
    other = Forecaster(ModelConfig(kind="lstm", hidden=8, horizon=2)).eval()
    torch.jit.script(other).save(str(tmp_path / "model.ts"))
    r = run_cli(["predict", str(tmp_path), "--provider", "cpu", "--verify"], values_csv(sine(20)))
    assert r.returncode == 2 and "--verify: row 16:" in one_error(r.stderr)
    assert parse_csv(r.stdout)[2].shape == (0, 2)


def test_verify_without_torchscript_is_a_model_error(lstm: Fixture, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "model.onnx").write_bytes(lstm.onnx.read_bytes())
    r = run_cli(["predict", str(tmp_path), "--provider", "cpu", "--verify"], "1\n")
    assert r.returncode == 2 and "no TorchScript model beside" in r.stderr.decode()


def test_predict_never_imports_torch(lstm: Fixture) -> None:
    """The Python API and the CLI function in a fresh interpreter: torch must not be in sys.modules."""
    code = f"""
import io, json, sys
import numpy as np
from seqinfer.infer import Forecaster
from seqinfer.infer.config import PredictConfig
from seqinfer.infer.stream import predict
f = Forecaster({str(lstm.dir)!r}, provider="auto")
f.predict(np.zeros((3, {lstm.window}), np.float32))
list(f.stream([0.5] * 40, batch_size=4))
out = io.BytesIO()
predict({str(lstm.dir)!r}, PredictConfig(), io.BytesIO(b"1\\n" * 40), out, report=lambda m: None)
from typer.testing import CliRunner
from seqinfer.infer.cli import app
r = CliRunner().invoke(app, ["predict", {str(lstm.dir)!r}, "--provider", "cpu"], input="1\\n" * 40)
print(json.dumps({{"torch": "torch" in sys.modules, "lines": out.getvalue().count(b"\\n"),
                   "cli": r.exit_code, "cli_lines": r.stdout.count("\\n")}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"torch": False, "lines": 26, "cli": 0, "cli_lines": 26}


def test_info_lists_inputs_dims_metadata_and_providers(lstm: Fixture) -> None:
    r = run_cli(["info", str(lstm.dir)])
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    for want in ("input: x tensor(float) ['batch', 'seq', 1]", "output: y tensor(float) ['batch', 2]",
                 "symbolic dims: batch, seq", "seqinfer.window = 16", "CPUExecutionProvider: runs here",
                 "CUDAExecutionProvider:"):
        assert want in out, out


# --- CliRunner: the typer layer alone --------------------------------------------------------------------
def test_every_choice_the_cli_offers_is_the_librarys_own() -> None:
    """typer needs its choices written out as Literals; each list must be the constant the library checks
    against, so that a choice added to one is not missing from the other."""
    import typer.main

    from seqinfer.export.config import ONNX_FORMS
    from seqinfer.infer import config as ic
    from seqinfer.infer.table import TABLE_FILLS
    from seqinfer.trainer import config as tc

    sep = [k for k in ic.SEPARATORS if k != "\t"]            # a raw tab is the API's alias of "tab"
    common = {"--header": ic.HEADER_CHOICES, "--date-order": ic.DATE_ORDERS, "--sep": sep,
              "--decimal": ic.DECIMALS, "--thousands": ic.THOUSANDS}
    want = {"train": {**common, "--fill": tc.FILLS, "--stateful": tc.STATEFUL_CHOICES, "--start": tc.STARTS},
            "export": {"--form": ONNX_FORMS},
            "predict": {**common, "--layout": ic.LAYOUTS, "--on-error": ic.ON_ERROR,
                        "--overlap": ic.OVERLAPS,
                        "--provider": ic.PROVIDER_CHOICES},
            "evaluate": {**common, "--fill": TABLE_FILLS, "--provider": ic.PROVIDER_CHOICES},
            "score": {**common}}
    group = typer.main.get_command(app)
    got = {name: {p.opts[0]: list(p.type.choices) for p in cmd.params if getattr(p.type, "choices", None)}
           for name, cmd in group.commands.items()}                      # type: ignore[attr-defined]
    assert {k: v for k, v in got.items() if v} == \
        {k: {o: list(c) for o, c in v.items()} for k, v in want.items()}
    for name in ("predict", "score"):     # a stream's --fill: the library checks it (explains interpolate)
        params = group.commands[name].params                              # type: ignore[attr-defined]
        fill = next(p for p in params if p.opts[0] == "--fill")
        assert fill.metavar == f"<{'|'.join(ic.FILLS)}>"


def test_cli_runner_predict_and_errors(lstm: Fixture) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["predict", str(lstm.dir), "--provider", "cpu"], input=values_csv(sine(17)))
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "row,yhat_1,yhat_2" and len(r.stdout.splitlines()) == 3
    r = runner.invoke(app, ["predict", str(lstm.dir), "--layout", "rows"], input="1\n")
    assert r.exit_code == 2 and "rows" in r.output                        # click's own usage error
    r = runner.invoke(app, ["predict", str(lstm.dir), "--batch-size", "0"], input="1\n")
    assert isinstance(r.exception, Exception) and "batch_size: must be >= 1" in str(r.exception)
    r = runner.invoke(app, ["predict", str(lstm.dir), "--value-col", "price"], input="1\n")
    assert "--value-col 'price': line 1 is not a header" in str(r.exception)


def test_cli_input_and_output_files(lstm: Fixture, tmp_path) -> None:  # noqa: ANN001
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(values_csv(sine(20)))
    r = run_cli(["predict", str(lstm.onnx), "--provider", "cpu", "-i", str(src), "-o", str(dst)])
    assert r.returncode == 0 and r.stdout == b""
    assert dst.read_text().count("\n") == 6
    r = run_cli(["predict", str(lstm.onnx), "--input", str(tmp_path / "nope.csv")])
    assert r.returncode == 2 and "--input" in r.stderr.decode() and "No such file" in r.stderr.decode()
