"""Smoke test of the benchmark harness on a tiny model and tiny sizes, so it cannot rot. Asserts no speeds."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import data as D  # noqa: E402
from bench import e2e  # noqa: E402
from bench.run import QUICK, run  # noqa: E402


def test_model_and_training_sections_write_all_outputs(tmp_path: Path) -> None:
    res = run(tmp_path / "out", tmp_path / "no-artifacts", QUICK, ("lstm",), tmp_path / "data",
              sections=("training", "model"))
    out = tmp_path / "out"
    assert json.loads((out / "latest.json").read_text())["machine"]["cores"] >= 1
    assert "## Targets" in (out / "latest.md").read_text()
    assert (out / "latest.png").stat().st_size > 1000
    rows = res["model"]["lstm"]["rows"]
    assert [r["batch"] for r in rows] == [1, 16]
    assert rows[0]["runtimes"]["ort_cpu"]["windows_per_s"] > 0
    assert rows[1]["runtimes"]["seqinfer"]["windows_per_s"] > 0
    assert {t["status"] for t in res["targets"]} <= {"PASS", "MISS", "n/a"}
    assert res["ceiling"]["matmul"]["gflops"] > 0 and res["ceiling"]["kinds"]["lstm"]["windows_per_s"] > 0
    assert "Machine ceiling" in (out / "latest.md").read_text()
    tr = res["training"]        # the harness trained for real (quick: 2 epochs) and read every kind back
    assert tr["rc"] == 0 and tr["wall_s"] > 0 and tr["peak_rss_mb"] > 0
    assert [r["kind"] for r in tr["rows"]] == ["rnn", "lstm", "gru"]
    assert all(r["test_mse"] > 0 and r["epochs"] <= 2 for r in tr["rows"])
    assert "whole command (wall)" in (out / "latest.md").read_text()


def test_trickle_counts_only_rows_after_the_first_forecast(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from bench.models import load_model

    m = load_model("rnn", tmp_path / "no-artifacts", tmp_path, hidden=4, window=8)
    r = e2e.trickle(m.onnx_path, m.window, rate=100.0, seconds=1.0)
    assert "skipped" not in r, r
    assert r["forecasts"] == 100            # exactly the rows written once forecasts were flowing
    assert r["warmup_s"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]


def test_e2e_floors_on_tiny_files(tmp_path: Path) -> None:
    s = D.series_file(300, tmp_path)
    w = D.windows_file(50, 8, tmp_path)
    assert D.count_rows(s) == 300 and D.count_rows(w) == 50
    cat = e2e.cat_floor(s, 300)
    assert cat["rc"] == 0 and cat["peak_rss_mb"] > 0
    p = e2e.parse_floor(w, 50, window=8)
    assert p["reader"].startswith("infer's LineReader") and p["rows_parsed"] == 50, p
    assert e2e.parse_floor(s, 300)["rows_parsed"] == 300
    assert p.get("rows_parsed", 50) == 50 and p.get("values", 400) == 400


def test_torch_loop_runs_one_window_at_a_time(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from seqinfer.trainer.model import Forecaster, ModelConfig

    model = Forecaster(ModelConfig(kind="rnn", hidden=4)).eval()
    r = e2e.torch_loop(model, D.series_file(40, tmp_path), 8, 30, windows_file=False)
    assert r["prefix_rows"] == 30 and r["rows_per_s"] > 0
    assert torch.get_num_threads() >= 1


def test_readme_figures_are_the_committed_bench_run() -> None:
    """The README's bench block is exactly what `make bench` wrote from bench/results/latest.json."""
    from bench.report import README_END, README_START, readme_block

    text = (ROOT / "README.md").read_text()
    block = text[text.index(README_START):text.index(README_END) + len(README_END)]
    res = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    assert block == readme_block(res)
    assert res["mode"] == "full"


def test_flop_count_matches_the_issue_figure_for_the_reference_lstm() -> None:
    from bench.machine import flop_per_window

    assert flop_per_window("lstm", 32, 1, 80) == 2 * 4 * 32 * 33 * 80 + 2 * 32        # 0.68 MFLOP (issue 5)
    assert flop_per_window("gru", 64, 1, 80, layers=2) == 2 * 3 * 64 * (65 + 128) * 80 + 2 * 64


def test_seqinfer_bench_command_on_one_model_and_on_a_folder_without_one(tmp_path: Path) -> None:
    """`seqinfer bench MODEL` in a real process: a table with the seqinfer column; a user error exits 2."""
    torch = pytest.importorskip("torch")
    import subprocess

    from seqinfer.trainer.checkpoint import save_checkpoint
    from seqinfer.trainer.model import Forecaster, ModelConfig

    torch.manual_seed(0)
    (tmp_path / "lstm").mkdir()
    save_checkpoint(tmp_path / "lstm" / "checkpoint.pt", Forecaster(ModelConfig(kind="lstm", hidden=4)),
                    data={"window": 12, "fingerprint": "test"})
    exe = [sys.executable, "-m", "seqinfer.infer.cli", "bench"]
    r = subprocess.run(exe + [str(tmp_path / "lstm"), "--quick"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    header = next(line for line in r.stdout.splitlines() if line.startswith("| batch"))
    assert "seqinfer" in header and "torch_eager" in header and "seqinfer/eager" in header
    batches = [line.split("|")[1].strip() for line in r.stdout.splitlines() if line[2:3].isdigit()]
    assert batches == ["1", "16"]                              # --quick: two batch sizes, every runtime
    bad = subprocess.run(exe + [str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    last = bad.stderr.strip().splitlines()[-1]
    assert last.startswith("seqinfer: error: ") and "checkpoint.pt" in last


def test_seqinfer_bench_command_on_a_stateful_model_measures_predict(tmp_path: Path) -> None:
    """A stateful model has no windows to time: `seqinfer bench` runs its predict end to end and each stage
    on both inputs (it died in a traceback calling the model without its state)."""
    torch = pytest.importorskip("torch")
    import subprocess

    from seqinfer.export import ExportConfig, VerifyConfig, export_model
    from seqinfer.trainer.checkpoint import save_checkpoint
    from seqinfer.trainer.model import ModelConfig
    from seqinfer.trainer.stateful import StatefulForecaster

    torch.manual_seed(0)
    root = tmp_path / "gru-stateful"
    root.mkdir()
    net = StatefulForecaster(ModelConfig(kind="gru", hidden=4, scaling="diff", stateful=True))
    data = {"window": 10, "fingerprint": "test", "warmup": 3, "norm_mean": [0.0], "norm_std": [1.0]}
    save_checkpoint(root / "checkpoint.pt", net.eval(), data=data)
    exe = [sys.executable, "-m", "seqinfer.infer.cli", "bench", str(root), "--quick"]
    early = subprocess.run(exe, capture_output=True, text=True, timeout=120)
    assert early.returncode == 2 and early.stderr.strip().splitlines()[-1].endswith(f"export {root} first")
    grid = VerifyConfig(batches=(1,), providers=("cpu",), inputs=("random",))
    export_model(root, ExportConfig(verify=grid))
    r = subprocess.run(exe, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    rows = [line.split("|") for line in r.stdout.splitlines() if line.startswith(("| one", "| 10,000"))]
    assert [c[1].strip() for c in rows] == ["one series", "10,000 series"], r.stdout
    assert all(float(c[2].replace(",", "")) > 0 and c[-2].strip() for c in rows), r.stdout


def test_quality_and_seeds_sections_train_as_a_user_would(tmp_path: Path) -> None:
    """Quick: one quality series and the tiny sine for seed 0, the rnn alone, 1 epoch; figures read back."""
    res = run(tmp_path / "out", tmp_path / "no-artifacts", QUICK, ("lstm",), tmp_path / "data",
              sections=("quality", "seeds"))
    q = res["quality"]["rows"]
    assert [r["series"] for r in q] == ["linear_trend"]
    assert all(r["naive_mse"] > 0 and r["rnn_over_naive"] > 0 and r["ets_over_naive"] > 0 for r in q), q
    assert q[0]["rnn_stateful_over_windowed"] == pytest.approx(
        q[0]["rnn_stateful_over_naive"] / q[0]["rnn_over_naive"], rel=1e-12)
    assert q[0]["season"] == 12 and "--value-col value --window 24" in q[0]["command"]
    assert q[0]["rnn_stateful_verdict"] in ("better", "worse", "no significant difference")
    assert 0 <= q[0]["rnn_stateful_p"] <= 1                       # from the run's comparison.json
    s = res["seeds"]["rows"]
    assert [r["kind"] for r in s] == ["rnn", "lstm", "gru"]
    assert len(s[0]["mse"]) == 1 and all(v > 0 for v in s[0]["mse"]) and s[0]["median"] > 0
    assert s[1]["median"] is None                          # quick: only the rnn trains
    md = (tmp_path / "out" / "latest.md").read_text()
    assert "## 7. Forecast quality" in md and "## 8. The default sine over seeds" in md
    assert "## 11. Stateful against windowed" in md and "| linear_trend | " in md.split("## 11.")[1]
    assert any(t["target"].startswith("every kind beats naive") for t in res["targets"])
    st = [t for t in res["targets"] if "-stateful" in t["target"]]
    assert [t["target"] for t in st] == ["rnn-stateful: test MSE <= windowed rnn's on every series"]
    assert "Diebold-Mariano, 5%" in st[0]["measured"]


def test_stateful_section_measures_both_models_and_every_stage(tmp_path: Path) -> None:
    """Section 9 on tiny files, each end-to-end figure the median of two runs (the full bench: three)."""
    res = run(tmp_path / "out", tmp_path / "no-artifacts", replace(QUICK, stateful_runs=2), ("lstm",),
              tmp_path / "data", sections=("stateful",))
    for name in ("one series", "10,000 series"):
        sec = res["stateful"][name]
        assert sec["stateful"]["rows_per_s"] > 0 and sec["windowed"]["rows_per_s"] > 0, sec
        for m in ("stateful", "windowed"):                 # the models took turns, two runs each
            runs = sec[m]["runs_rows_per_s"]
            assert len(runs) == 2 and runs == sorted(runs) and sec[m]["rows_per_s"] == runs[0], sec[m]
        assert sec["ratio"] == sec["stateful"]["rows_per_s"] / sec["windowed"]["rows_per_s"]
        assert set(sec["stages"]) == {"parse_s", "state_s", "model_s", "format_s"}
        assert sec["limit"] in ("parse", "state", "model", "format", f"all stages on {os.cpu_count()} cores")
        assert all(v["cpu_s"] > 0 and v["s"] > 0 for v in sec["stages"].values()), sec["stages"]
        assert sec["op_ceiling_steps_per_s"] > 10_000, sec          # onnxruntime's LSTM op alone
        assert sec["op_shape"][0] == (1 if name == "one series" else 10_000)
    timed = res["stateful"]["10,000 series, time column"]          # a database's rows: time, id, value
    assert timed["stateful"]["rows_per_s"] > 0 and timed["windowed"]["rows_per_s"] > 0, timed
    assert Path(timed["file"]).read_text().splitlines()[:2] == ["timestamp,sensor_id,reading",
                                                               "2024-01-01T00:00:00Z,s0,0.001257"]
    md = (tmp_path / "out" / "latest.md").read_text()
    assert "## 9. Stateful predict" in md
    assert "| 10,000 series, time column | " in md
    assert "(one series: batch 1 x 65,536 steps; 10,000 series: batch 10,000 x 7 steps)" in md
    rss = res["stateful"]["rss"]                             # flat memory: a longer stream measured too
    assert rss["rows_big"] == QUICK.big_rows and rss["rss_big_mb"] > 0 and rss["rss_small_mb"] > 0, rss
    assert "Memory: stateful predict on one series peaks at" in md
    assert sum(t["target"].startswith("stateful predict") for t in res["targets"]) == 5
    assert "End to end: the median of 2 runs, the stateful and the windowed model taking turns" in md
    assert "; 10,000 series, time column, windowed: " in md


def test_median_run_takes_the_middle_finished_run() -> None:
    from bench.stateful import median_run

    runs = [{"rows_per_s": 3.0, "run": "c"}, {"rc": 1, "skipped": "predict exited 1"},
            {"rows_per_s": 1.0, "run": "a"}, {"rows_per_s": 2.0, "run": "b"}]
    got = median_run(runs)
    assert got["run"] == "b" and got["runs_rows_per_s"] == [1.0, 2.0, 3.0]
    assert median_run(runs[:1] + runs[2:3])["run"] == "a"         # two finished: the slower one
    assert median_run(runs[1:2]) == runs[1]                         # none finished: the failure, as it is


def test_windowed_forecasts_counts_rows_with_a_full_window() -> None:
    from bench.stateful import windowed_forecasts

    assert windowed_forecasts(1_000_000, 10_000, 80) == 210_000
    assert windowed_forecasts(1_000_000, 1, 80) == 1_000_000 - 79
    assert windowed_forecasts(2_000, 10_000, 80) == 0
    assert windowed_forecasts(25, 3, 8) == 4                 # 9, 8, 8 rows: 2 + 1 + 1 forecasts
