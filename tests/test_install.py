"""The inference-only install: `pip install seqinfer` (this checkout's wheel, base dependencies only) into a
fresh venv has no torch and no onnx, yet predict (CSV and Parquet), info and evaluate give exactly what the
full install gives; train / export / verify and score say in one line which extra to install.

    .venv/bin/python -m pytest -q tests/test_install.py   # about 30 s here, mostly installing onnxruntime

pip resolves the base dependencies from the indexes configured on the machine, pinned by constraints.txt.
Without an index to reach the test is skipped, naming pip's error; any other pip failure fails it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "infer"))
from infer_support import make_model, run_cli, sine, values_csv  # noqa: E402

PIP_TIMEOUT_S = 900
CLI_TIMEOUT_S = 120
# What pip prints when it cannot reach an index at all (no network, no proxy): the one reason to skip.
_OFFLINE = re.compile(r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
                      r"resolution|Network is unreachable|Max retries exceeded|ProxyError|ConnectTimeout")


@dataclass
class Venv:
    python: Path
    seqinfer: Path
    cwd: Path             # outside the checkout, so nothing imports from the source tree by accident

    def run(self, args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        return subprocess.run(args, input=stdin.encode(), capture_output=True, cwd=self.cwd, env=env,
                              timeout=CLI_TIMEOUT_S)


def _pip(args: list[str], what: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                       timeout=PIP_TIMEOUT_S)
    if r.returncode == 0:
        return
    said = r.stderr + r.stdout
    offline = _OFFLINE.search(said)
    if offline:
        line = said[said.rfind("\n", 0, offline.start()) + 1:].partition("\n")[0].strip()
        pytest.skip(f"{what}: pip cannot reach a package index: {line[:300]}")
    pytest.fail(f"{what} failed (pip exit {r.returncode}):\n{said[-4000:]}")


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv holding the wheel with its base dependencies and nothing else."""
    tmp = tmp_path_factory.mktemp("install")
    # Build from a copy: setuptools writes build/ and *.egg-info into the tree it builds, and this checkout
    # is shared.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    for pkg in ("trainer", "export", "infer"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _pip(["wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)], "building the wheel")
    wheel, = (tmp / "dist").glob("seqinfer-*.whl")

    venv = tmp / "venv"
    # No pip inside it: the running pip installs there with --python, which saves ensurepip's seconds.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    _pip(["--python", str(python), "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)],
         "installing the wheel with its base dependencies")
    return Venv(python, venv / "bin" / "seqinfer", tmp)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny exported LSTM (window 16, horizon 2), made here with the full install's torch."""
    return make_model(tmp_path_factory.mktemp("model"), torchscript=False).onnx


def test_the_lean_install_has_no_torch_and_runs_the_wheel(lean: Venv) -> None:
    probe = ("import importlib.util as u, seqinfer.infer as s; "
             "print(s.__file__); print([m for m in ('torch', 'onnx', 'matplotlib', 'statsmodels') "
             "if u.find_spec(m) is not None])")
    r = lean.run([str(lean.python), "-c", probe])
    assert r.returncode == 0, r.stderr.decode()
    where, present = r.stdout.decode().splitlines()
    assert where.startswith(str(lean.python.parents[1])), f"seqinfer imported from {where}, not the wheel"
    assert present == "[]", f"the inference-only install holds {present}"
    for mod in ("torch", "onnx"):
        r = lean.run([str(lean.python), "-c", f"import {mod}"])
        assert r.returncode == 1 and f"No module named '{mod}'" in r.stderr.decode()


def test_predict_through_a_pipe_matches_the_full_install(lean: Venv, model: Path) -> None:
    csv = values_csv(sine(200), header="value")
    # --provider cpu on both sides: the full install's torch may bring CUDA libraries the lean one lacks.
    args = ["predict", str(model), "--provider", "cpu"]
    got = lean.run([str(lean.seqinfer), *args], stdin=csv)
    assert got.returncode == 0, got.stderr.decode()
    want = run_cli(args, csv)
    assert want.returncode == 0, want.stderr.decode()
    assert got.stdout.count(b"\n") == 1 + 200 - 16 + 1      # the header, then one forecast per full window
    assert got.stdout == want.stdout


def test_predict_reads_parquet_without_the_extras(lean: Venv, model: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "series.parquet"
    pq.write_table(pa.table({"value": sine(100)}), data)
    args = ["predict", str(model), "--input", str(data), "--provider", "cpu"]
    got = lean.run([str(lean.seqinfer), *args])
    assert got.returncode == 0, got.stderr.decode()
    assert got.stdout == run_cli(args).stdout and got.stdout.count(b"\n") == 1 + 100 - 16 + 1


def test_info_and_evaluate_match_the_full_install(lean: Venv, model: Path, tmp_path: Path) -> None:
    got = lean.run([str(lean.seqinfer), "info", str(model)])
    assert got.returncode == 0, got.stderr.decode()
    want = run_cli(["info", str(model)])
    # The providers that load may differ (CUDA libraries); everything above them is the model's.
    assert got.stdout.split(b"providers:")[0] == want.stdout.split(b"providers:")[0]
    assert b"kind: lstm  window: 16  horizon: 2" in got.stdout

    data = tmp_path / "series.csv"
    data.write_text(values_csv(sine(120), header="value"))
    args = ["evaluate", str(model), "--input", str(data), "--provider", "cpu",
            "--plot", str(tmp_path / "f.png")]
    got = lean.run([str(lean.seqinfer), *args])
    assert got.returncode == 0, got.stderr.decode()
    assert "no plot: matplotlib is not installed" in got.stderr.decode()
    want = run_cli(args)
    assert want.returncode == 0, want.stderr.decode()
    assert got.stdout == want.stdout and got.stdout.startswith(b"| step |")


@pytest.mark.parametrize("command", [["train"], ["export", "artifacts/lstm"], ["verify", "artifacts/lstm"]],
                         ids=lambda c: c[0])
def test_training_commands_name_the_extras_in_one_line(lean: Venv, command: list[str]) -> None:
    r = lean.run([str(lean.seqinfer), *command])
    assert r.returncode == 2 and r.stdout == b""
    # export and verify meet onnx before torch: the line names the first missing module the command needed.
    said = r.stderr.decode()
    assert re.fullmatch(rf"seqinfer: error: seqinfer {command[0]} needs the training extras: pip install "
                        r"'seqinfer\[train\]' \((torch|onnx) is not installed\)\n", said), said


def test_score_names_the_dask_extra_in_one_line(lean: Venv, model: Path, tmp_path: Path) -> None:
    data = tmp_path / "series.csv"
    data.write_text(values_csv(sine(40), header="value"))
    r = lean.run([str(lean.seqinfer), "score", str(model), "--input", str(data),
                  "--output", str(tmp_path / "out")])
    assert r.returncode == 2 and r.stdout == b""
    said = r.stderr.decode()
    assert re.fullmatch(r"seqinfer: error: seqinfer score needs Dask: pip install 'seqinfer\[dask\]' "
                        r"\(\w+ is not installed\)\n", said), said
