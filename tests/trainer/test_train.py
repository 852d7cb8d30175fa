"""Training on tiny data: the loss falls, artifacts appear, the checkpoint round-trips, the CLI works."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from seqinfer.infer.errors import ConfigError
from seqinfer.trainer.checkpoint import load_checkpoint
from seqinfer.trainer.config import DataConfig, TrainConfig
from seqinfer.trainer.data import Series, build, test_windows
from seqinfer.trainer.fit import FitOptions, fit, resolve_device
from seqinfer.trainer.model import Forecaster, ModelConfig
from seqinfer.trainer.progress import Epoch, Progress
from seqinfer.trainer.run import train_all

TINY = DataConfig(length=300, step=0.5, window=12)
FAST = TrainConfig(epochs=3, hidden=8, batch_size=64, jobs=1, threads=1, device="cpu")
SEQINFER = [sys.executable, "-m", "seqinfer.infer.cli"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("art")
    train_all(("rnn", "gru"), TINY, FAST, out, progress=Progress(["rnn", "gru"], stream=io.StringIO()))
    return out


def test_a_tiny_run_lowers_the_loss() -> None:
    ds = build(TINY)
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(kind="lstm", hidden=8))
    w = ds.windows
    z = torch.from_numpy((w["train"].x - ds.mean) / ds.std).float()
    y = torch.from_numpy((w["train"].y - ds.mean[0]) / ds.std[0]).float()
    hist = fit(model, (z, y), (z[:20], y[:20]), FitOptions(epochs=8, batch_size=32, lr=0.02, patience=50,
                                                          clip=1.0, seed=0))
    assert hist.epochs == 8
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert min(hist.val_loss) == hist.val_loss[hist.best_epoch - 1]


def test_an_epoch_draws_at_most_epoch_windows_and_below_it_trains_as_before() -> None:
    """A big file's epoch is a fresh draw of `epoch_windows` training windows (config.DEFAULT_EPOCH_WINDOWS):
    counted in training batches. At or above the number of windows, the same weights and losses as no cap."""
    ds = build(TINY)
    w = ds.windows
    z = torch.from_numpy((w["train"].x - ds.mean) / ds.std).float()
    y = torch.from_numpy((w["train"].y - ds.mean[0]) / ds.std[0]).float()

    def run(cap: int) -> tuple[int, list[float], torch.Tensor]:
        torch.manual_seed(0)
        model = Forecaster(ModelConfig(kind="gru", hidden=4))
        batches = []
        model.head.register_forward_hook(lambda m, args, out: batches.append(m.training))
        hist = fit(model, (z, y), (z[:20], y[:20]), FitOptions(epochs=3, batch_size=10, lr=0.01, patience=50,
                                                              clip=1.0, seed=0, epoch_windows=cap))
        return sum(batches), hist.train_loss, next(model.parameters()).detach().clone()

    n = len(z)
    assert n > 40
    assert run(40)[0] == 3 * 4                                      # 3 epochs of 40 windows, 10 a batch
    assert run(0)[0] == 3 * -(-n // 10)
    every, capped_above = run(0), run(n)
    assert every[1] == capped_above[1] and torch.equal(every[2], capped_above[2])
    from seqinfer.trainer.config import DEFAULT_EPOCH_WINDOWS, TrainConfig
    assert TrainConfig().resolved("gru")["epoch_windows"] == DEFAULT_EPOCH_WINDOWS
    assert TrainConfig(stateful="yes").resolved("gru")["epoch_windows"] == DEFAULT_EPOCH_WINDOWS


def test_a_stateful_epoch_draws_stretches_up_to_epoch_steps_and_below_it_trains_as_before() -> None:
    """A stateful epoch on a big file is a fresh draw of whole stretches holding at most `epoch_steps` steps
    with a loss (--epoch-windows), counted in the steps the loss reads. At or above all of them, the same
    weights and losses as no cap."""
    from seqinfer.trainer.stateful import StatefulForecaster, StatefulOptions, fit_stateful

    series = [np.sin(np.arange(n) / 3.0)[:, None] + k for k, n in enumerate((400, 250, 330))]

    def run(cap: int) -> tuple[int, list[float], torch.Tensor]:
        torch.manual_seed(0)
        net = StatefulForecaster(ModelConfig(kind="gru", hidden=4, stateful=True))
        net.norm_std.fill_(0.1)
        net.out_std.fill_(0.1)
        steps = []
        net.head.register_forward_hook(                                # (B, T, hidden): steps run
            lambda m, args, out: steps.append(args[0].shape[0] * args[0].shape[1]) if m.training else None)
        opts = StatefulOptions(epochs=3, batch_size=2, lr=0.01, patience=50, clip=1.0, seed=0, stretch=40,
                               tbptt=20, warmup=10, epoch_steps=cap)
        hist = fit_stateful(net, series, lambda: 1.0, opts)
        return sum(steps), hist.train_loss, net.head.weight.detach().clone()

    every, above = run(0), run(980)
    assert every[1] == above[1] and torch.equal(every[2], above[2])
    capped = run(200)          # at most 5 stretches an epoch (40 loss steps, 10 of warm-up), 3 batches of 2
    assert capped[0] <= 3 * 3 * 2 * (40 + 10) < every[0] / 3, (capped[0], every[0])


@pytest.mark.parametrize("call_values", [1 << 24, 2_000])
def test_forecast_all_gives_each_series_the_forecasts_of_its_own_call(monkeypatch: pytest.MonkeyPatch,
                                                                      call_values: int) -> None:
    """Validation runs every series side by side, padded at its end, in calls of FORECAST_CALL_VALUES
    (2,000: several calls); each series' forecasts equal a call over it alone, in its own order."""
    from seqinfer.trainer import stateful

    monkeypatch.setattr(stateful, "FORECAST_CALL_VALUES", call_values)
    rng = np.random.default_rng(0)
    lengths = (5, 300, 1, 120, 0, 299)
    series = [np.cumsum(rng.normal(size=(n, 1)), axis=0) + 10 * k for k, n in enumerate(lengths)]
    for kind in ("lstm", "gru"):
        torch.manual_seed(0)
        net = stateful.StatefulForecaster(ModelConfig(kind=kind, hidden=8, horizon=2, stateful=True)).eval()
        got = stateful.forecast_all(net, series)
        assert [len(g) for g in got] == [len(v) for v in series]
        for v, g in zip(series, got, strict=True):
            if len(v):
                with torch.no_grad():
                    y, _ = net(torch.from_numpy(v.astype(np.float32))[None], net.initial_state(1))
                np.testing.assert_allclose(g, y[0].numpy(), rtol=1e-5, atol=1e-5)


def test_early_stopping_restores_the_best_weights() -> None:
    ds = build(TINY)
    model = Forecaster(ModelConfig(kind="rnn", hidden=4))
    z = torch.from_numpy((ds.windows["train"].x - ds.mean) / ds.std).float()
    y = torch.from_numpy((ds.windows["train"].y - ds.mean[0]) / ds.std[0]).float()
    hist = fit(model, (z, y), (z, y), FitOptions(epochs=200, batch_size=512, lr=5.0, patience=2, clip=1.0,
                                                 seed=0))   # a silly lr, so validation stops improving
    assert hist.stopped_early and hist.epochs < 200
    with torch.no_grad():
        now = torch.mean((model.forward_normalized(z) - y) ** 2).item()
    assert now == pytest.approx(min(hist.val_loss), rel=1e-4)


def test_artifacts_of_a_run(trained: Path) -> None:
    for kind in ("rnn", "gru"):
        for name in ("checkpoint.pt", "metrics.json", "loss.png", "forecast.png"):
            assert (trained / kind / name).stat().st_size > 0, f"{kind}/{name}"
        m = json.loads((trained / kind / "metrics.json").read_text())
        for split in ("train", "val", "test"):
            assert set(m["metrics"][split]) == {"mse", "mae", "rmse", "mase"}
            assert m["baseline"][split]["mse"] > 0 and m["baselines"]["naive"][split] == m["baseline"][split]
            assert set(m["baselines"]["ets"][split]) == {"mse", "mae", "rmse", "mase", "windows"}
        assert m["baselines"]["season"] == 40 and m["model_config"]["scaling"] == "diff"
        assert m["epochs"] == 3 and m["device"] == "cpu" and m["seed"] == 0
        assert {"torch", "numpy", "seqinfer", "python"} <= set(m["versions"])
    table = (trained / "comparison.md").read_text()
    assert "| rnn (diff)" in table and "| gru (diff)" in table
    assert "| ETS (damped trend, season 40) |" in table
    assert (trained / "comparison.png").stat().st_size > 0


def test_checkpoint_round_trip(trained: Path) -> None:
    ckpt = torch.load(trained / "gru" / "checkpoint.pt", weights_only=True)   # plain types only
    assert ckpt["data"]["window"] == 12 and len(ckpt["data"]["fingerprint"]) == 64
    model, ckpt2 = load_checkpoint(trained / "gru")
    assert model.config == ModelConfig(**ckpt["model_config"])
    x = test_windows(ckpt)                                                     # rebuilt from the config
    ds = build(TINY)
    np.testing.assert_array_equal(x, ds.windows["test"].x)
    assert x.dtype == np.float64 and x.shape[1:] == (12, 1)
    with torch.no_grad():                                                      # raw in, raw out
        pred = model(torch.from_numpy(x)).numpy()
    mse = float(np.mean((pred - ds.windows["test"].y) ** 2))
    saved = json.loads((trained / "gru" / "metrics.json").read_text())["metrics"]["test"]["mse"]
    assert mse == pytest.approx(saved, rel=1e-4)
    np.testing.assert_allclose(ckpt["data"]["norm_mean"], ds.mean)          # the data's own level
    steps = np.diff(ds.segments["train"][0][:, 0])                             # "diff" reads one-step changes
    assert abs(model.norm_std.item() - np.std(steps)) < 0.1 * np.std(steps) < 0.2 * ds.std[0]


def test_test_windows_notices_changed_data(trained: Path) -> None:
    ckpt = torch.load(trained / "rnn" / "checkpoint.pt", weights_only=True)
    ckpt["data"]["config"]["noise"] = 0.1
    with pytest.raises(Exception, match="fingerprint"):
        test_windows(ckpt)


def test_cuda_without_cuda_is_a_config_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here, so asking for it is not an error")
    with pytest.raises(ConfigError, match="train.device: 'cuda' asked for"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
def test_training_on_cuda(tmp_path: Path) -> None:
    """Windowed and stateful (warm start from its twin, and from scratch) on the GPU, in full float32."""
    r = train_all(("lstm",), TINY, TrainConfig(epochs=2, hidden=8, device="cuda", stateful="both",
                                               start="best"),
                  tmp_path, progress=Progress(["lstm", "lstm-stateful"], stream=io.StringIO()))
    assert [m["name"] for m in r.results] == ["lstm", "lstm-stateful"]
    for m in r.results:
        assert m["device"].startswith("cuda:0 (") and m["device"].endswith(", TF32 off)")
        assert np.isfinite(m["metrics"]["test"]["mse"])


def test_training_prepares_its_data_on_the_models_device() -> None:
    """The windows and a stateful model's step targets are made on the device the model is on. CI has no
    GPU, so the meta device stands in for it: mixing it with the CPU fails as mixing CUDA and the CPU does
    (the first CUDA run of `seqinfer train` failed so, in _tensors)."""
    from seqinfer.trainer.parts import _tensors
    from seqinfer.trainer.stateful import StatefulForecaster

    meta = torch.device("meta")
    ds = build(TINY)
    for scaling in ("global", "diff", "window"):
        model = Forecaster(ModelConfig(kind="gru", features=1, hidden=4, scaling=scaling)).to(meta)
        z, t = _tensors(model, ds.windows["train"], meta)
        assert z.device == t.device == meta and z.dtype == torch.float32
    for scaling in ("global", "diff"):
        step = StatefulForecaster(ModelConfig(kind="lstm", features=1, hidden=4, scaling=scaling,
                                              stateful=True)).to(meta)
        z, t = step.step_targets(torch.zeros(1, 30, 1, dtype=torch.float64, device=meta))
        assert z.device == t.device == meta and t.shape == (1, 30, 1)


def test_progress_lines_and_bar() -> None:
    plain, live = io.StringIO(), io.StringIO()
    p, q = Progress(["rnn"], stream=plain, tty=False), Progress(["rnn"], stream=live, tty=True)
    for i in range(1, 21):
        e = Epoch("rnn", i, 20, 1.0 / i, 2.0 / i, 0.1 * i)
        p.update(e)
        q.update(e)
    lines = plain.getvalue().splitlines()
    assert 5 <= len(lines) <= 12 and "\x1b" not in plain.getvalue()
    assert lines[-1].startswith("rnn: epoch 20/20 train 5.000e-02 val 1.000e-01")
    assert "ETA" in live.getvalue() and "\x1b[2K" in live.getvalue()


def test_cli_train_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "art"
    r = subprocess.run([*SEQINFER, "train", "--model", "rnn", "--out", str(out), "--length", "300",
                        "--step", "0.5", "--window", "12", "--epochs", "2", "--hidden", "8", "--jobs", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "| rnn (diff)" in r.stdout and "rnn: epoch" in r.stderr    # the table on stdout, progress: stderr
    assert (out / "rnn" / "checkpoint.pt").is_file() and (out / "comparison.md").is_file()


def test_cli_train_user_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("v\n1\n2\nx\n")
    r = subprocess.run([*SEQINFER, "train", "--data", str(bad), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    said = r.stderr.strip().splitlines()                # how it read the file, then the bad line (as predict)
    assert r.returncode == 2 and len(said) == 2, r.stderr
    assert said[0] == f"{bad}: reading value=v, time=none, series=none (header: line 1)"
    assert said[1] == f"seqinfer: error: {bad}:4:1: 'x' is not a number (column 1 ('v'))"
    r = subprocess.run([*SEQINFER, "train", "--model", "lstm", "--window", "0"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and r.stderr == "seqinfer: error: --window: must be >= 1, got 0\n"  # the option
    r = subprocess.run([*SEQINFER, "train", "--model", "lstm", "--na-value", "-1", "--test-frac", "1.5"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr == "seqinfer: error: --test-frac: must be in (0, 1), got 1.5\n"
    short = tmp_path / "short.csv"                       # read fine, but too short for the window
    short.write_text("date,load\n" + "".join(f"2024-01-{d:02d},{d}.5\n" for d in range(1, 31)))
    r = subprocess.run([*SEQINFER, "train", "--data", str(short), "--window", "20", "--out",
                        str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    said = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(said) == 2, r.stderr
    assert said[0] == (f"{short}: reading value=load, time=date (passed through, iso), series=none "
                       "(header: line 1)")
    assert said[1].startswith(f"seqinfer: error: {short}: the test split has no window"), said


def test_cli_train_column_is_a_deprecated_0_based_alias_of_value_col(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i % 7 * 0.5},{np.sin(i / 4):.4f}\n" for i in range(200)))
    common = ["train", "--model", "rnn", "--data", str(data), "--window", "8", "--epochs", "1", "--hidden",
              "4", "--jobs", "1"]
    old = subprocess.run([*SEQINFER, *common, "--column", "1", "--out", str(tmp_path / "old")],
                         capture_output=True, text=True, timeout=120)
    assert old.returncode == 0, old.stderr
    assert "seqinfer: --column is deprecated and goes in the next release: use --value-col 2" in old.stderr
    assert "reading value=b" in old.stderr
    new = subprocess.run([*SEQINFER, *common, "--value-col", "b", "--out", str(tmp_path / "new")],
                         capture_output=True, text=True, timeout=120)
    assert new.returncode == 0 and "deprecated" not in new.stderr, new.stderr
    m = [json.loads((tmp_path / d / "rnn" / "metrics.json").read_text())["metrics"] for d in ("old", "new")]
    assert m[0] == m[1]                                     # the same column, the same model


def test_stateful_training_on_many_short_series(tmp_path: Path) -> None:
    """40 series of 200 rows: more stretches per epoch than one per stretch length (the cut moves every
    epoch); the learning-rate schedule must not run past its end (it did: 'Tried to step 799 times')."""
    from seqinfer.trainer.config import DataConfig as D
    from seqinfer.trainer.config import TrainConfig as T
    from seqinfer.trainer.run import train_all

    f = tmp_path / "many.csv"
    rows = (f"s{i % 40},{np.sin(i / 120) + i % 40:.4f}\n" for i in range(8000))
    f.write_text("series,value\n" + "".join(rows))
    report = train_all(["rnn"], D(path=str(f), window=10), T(stateful="yes", epochs=2, hidden=4, jobs=1),
                       tmp_path / "art")
    m = report.results[0]
    assert m["name"] == "rnn-stateful" and m["epochs"] == 2 and m["metrics"]["test"]["mse"] > 0


@pytest.mark.parametrize(("val_frac", "split"), [("0.1", "validation"), ("0", "test")])
def test_train_on_a_series_that_never_changes(tmp_path: Path, val_frac: str, split: str) -> None:
    """A stuck sensor: naive is exact, so MASE and the ratio to naive have no value (NaN, "-"), and the run
    still finishes, says the series never changes and that the model loses to naive (it divided by zero: a
    traceback), on the split that decided it (with --val-frac 0 it said "validation (MSE nan)")."""
    f = tmp_path / "stuck.csv"
    f.write_text("value\n" + "5.0\n" * 200)
    r = subprocess.run([*SEQINFER, "train", "--data", str(f), "--model", "rnn", "--window", "8", "--epochs",
                        "1", "--hidden", "4", "--jobs", "1", "--val-frac", val_frac, "--out",
                        str(tmp_path / "art")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "the value is 5 in every row of the training part" in r.stderr
    assert f"WARNING: rnn does not beat the naive forecast on {split} (MSE " in r.stderr
    assert "nan" not in r.stderr.split("WARNING")[1].splitlines()[0] and "Traceback" not in r.stderr
    assert f"does not beat the naive forecast on {split}**" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("| rnn (diff)"))
    assert row.split(" | ")[3:5] == ["nan", "-"]                  # MASE, MSE / naive
    m = json.loads((tmp_path / "art" / "rnn" / "metrics.json").read_text())
    assert m["metrics"]["test"]["mase"] is None and m["baseline"]["test"]["mse"] == 0   # no value: null


def test_stopper_keeps_a_warm_start_no_epoch_beats() -> None:
    from seqinfer.trainer.fit import Stopper

    net = Forecaster(ModelConfig(kind="rnn", hidden=4))
    start = {k: v.clone() for k, v in net.state_dict().items()}
    stop = Stopper(net, 3, 10, None, start_loss=0.5)
    for epoch, val in enumerate((0.7, 0.6), start=1):
        with torch.no_grad():
            net.head.weight.add_(1.0)                       # the weights move, and score worse
        stop.epoch(epoch, 1.0, val)
    hist = stop.finish()
    assert hist.best_epoch == 0 and torch.equal(net.head.weight, start["head.weight"])


def test_a_warm_started_stateful_rnn_is_no_worse_on_validation_than_its_start(tmp_path: Path) -> None:
    """The stateful RNN starts from the windowed RNN (same run options) and keeps it unless stateful
    training does better on validation: so its validation MSE is at most that of the windowed weights run
    with their state carried. From random weights (--start scratch), 6 epochs leave it worse."""
    from seqinfer.trainer.baselines import origins
    from seqinfer.trainer.stateful import StatefulForecaster, forecast_series

    got = {}
    for start in ("warm", "scratch"):
        quiet = Progress(["rnn", "rnn-stateful"], stream=io.StringIO())
        lr = 0.001 if start == "scratch" else None      # the fine-tuning rate: short of the start
        report = train_all(["rnn"], TINY, replace(FAST, stateful="both", start=start, epochs=6, lr=lr),
                           tmp_path / start, progress=quiet)
        windowed, stateful = report.results
        assert stateful["train_config"]["start"] == start
        got[start] = stateful["metrics"]["val"]["mse"]
    net, _ = load_checkpoint(tmp_path / "warm" / "rnn")
    carried = StatefulForecaster(replace(net.config, stateful=True)).eval()
    carried.load_state_dict(net.state_dict())
    ds = build(TINY)
    where = origins(ds, TINY)["val"]
    every = forecast_series(carried, ds.series.values[0])
    start_val = float(np.mean((every[where.t] - ds.windows["val"].y) ** 2))
    assert got["warm"] <= start_val * (1 + 1e-5), (got, start_val)
    assert got["scratch"] > start_val, (got, start_val)          # the premise: not there from random weights


def test_fit_stateful_keeps_its_start_when_no_epoch_scores_better() -> None:
    from seqinfer.trainer.stateful import StatefulForecaster, StatefulOptions, fit_stateful

    net = StatefulForecaster(ModelConfig(kind="rnn", hidden=4, stateful=True))
    start = {k: v.clone() for k, v in Forecaster(ModelConfig(kind="rnn", hidden=4)).state_dict().items()}

    def score() -> float:                                   # the start scores best, anything else worse
        return 0.5 if all(torch.equal(v, start[k]) for k, v in net.state_dict().items()) else 1.0

    opts = StatefulOptions(epochs=2, batch_size=4, lr=0.01, patience=10, clip=1.0, seed=0, stretch=8, tbptt=4,
                           warmup=2)
    hist = fit_stateful(net, [np.sin(np.arange(60.0))[:, None]], score, opts, start=start)
    assert hist.epochs == 2 and hist.best_epoch == 0 and score() == 0.5


def test_the_summary_says_when_a_stateful_model_kept_its_warm_start() -> None:
    """best 0 alone reads like a failed run: the line says the warm start was kept, and why."""
    from seqinfer.trainer.run import _summary

    base = {"metrics": {"test": {"mse": 1.0}}, "baseline": {"test": {"mse": 2.0}}, "stopped_early": False,
            "epochs": 300, "train_seconds": 1.0, "device": "cpu", "model_config": {"stateful": True},
            "train_config": {}}
    dm = {"fine_tuned": False, "split": "val", "stat": -0.4, "p": 0.67, "n": 36}
    warm = {"start": "warm", "split": "val"}
    assert "best 0; kept its warm start: fine-tuning was not better on val beyond noise (p 0.67))" in \
        _summary(base | {"best_epoch": 0, "start_check": warm | {"fine_tune": dm}})
    assert "best 0; kept its warm start: no epoch scored lower)" in \
        _summary(base | {"best_epoch": 0, "start_check": warm | {"fine_tune": None}})
    tuned_first = dm | {"prefer": "tuned", "p": 0.02}
    assert "best 0; kept its warm start: it was better on val than fine-tuned beyond noise (p 0.02))" in \
        _summary(base | {"best_epoch": 0, "start_check": warm | {"fine_tune": tuned_first}})
    assert "kept" not in _summary(base | {"best_epoch": 12, "start_check": warm | {"fine_tune": dm}})
    scratch = {"start": "scratch", "split": "val"}
    assert "kept" not in _summary(base | {"best_epoch": 0, "start_check": scratch})
    best = {"start": "best", "split": "val", "fine_tune": None}
    assert "best 0; kept its warm start: no epoch scored lower; training from scratch was not better on " \
        "val beyond noise (p 0.3))" in _summary(base | {"best_epoch": 0, "start_check": best | {
            "scratch": {"kept": False, "p": 0.3}}})
    assert "; training from scratch did worse on val (p 0.002))" in _summary(base | {   # not "not better"
        "best_epoch": 0, "start_check": best | {"scratch": {"kept": False, "p": 0.002, "stat": 3.1}}})
    line = _summary(base | {"best_epoch": 0, "start_check": best | {"scratch": {"kept": True, "p": 0.01}}})
    assert "best 0; trained from scratch: better on val than from its warm start beyond noise (p 0.01))" \
        in line and "kept its warm start" not in line


def val_errors(ratio: float, n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets [n, 1] and two independent error series: a reference with MSE 1, the other with MSE exactly
    ratio**2 (0.97: 3% smaller, within a DM test's noise at n = 40; 0.3: clearly smaller)."""
    truth, e_ref, e_other = np.random.default_rng(0).normal(size=(3, n, 1))
    return truth, e_ref / np.sqrt(np.mean(e_ref**2)), e_other * ratio / np.sqrt(np.mean(e_other**2))


@pytest.mark.parametrize("prefer, tuned_noise, kept", [("start", 0.97, "start"), ("start", 0.3, "tuned"),
                                                       ("tuned", 1.03, "tuned"), ("tuned", 3.0, "start")])
def test_the_warm_start_and_its_fine_tuning_give_way_only_beyond_validation_noise(
        prefer: str, tuned_noise: float, kept: str) -> None:
    """prefer start (the RNN): a lower validation MSE by chance (independent errors, 3% smaller) keeps the
    start; a clearly lower one (70% smaller) keeps the fine-tuned weights. prefer tuned (the LSTM, GRU):
    the fine-tuned weights stay when 3% worse by chance, and give way to a start clearly better."""
    from seqinfer.trainer.parts import _start_or_better
    from seqinfer.trainer.stateful import StatefulForecaster

    net = StatefulForecaster(ModelConfig(kind="rnn", hidden=4, stateful=True))
    start = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        net.head.bias.add_(1.0)
    tuned = {k: v.clone() for k, v in net.state_dict().items()}
    truth, e_start, e_tuned = val_errors(tuned_noise)

    def val_pred() -> np.ndarray:
        at_start = torch.equal(net.head.bias, start["head.bias"])
        return truth + (e_start if at_start else e_tuned)

    check = _start_or_better(net, start, val_pred, truth, prefer)
    want = start if kept == "start" else tuned
    assert all(torch.equal(v, want[k]) for k, v in net.state_dict().items())
    assert check["fine_tuned"] is (kept == "tuned") and check["n"] == 40 and check["prefer"] == prefer, check


@pytest.mark.parametrize("start", ["warm", "scratch"])
def test_a_stateful_model_without_a_validation_split_still_trains(tmp_path: Path, start: str) -> None:
    """--val-frac 0: like a windowed model, a stateful one stops on its training part. It scored NaN on the
    missing split, no epoch was ever "better", and the untrained start came back."""
    data = replace(TINY, val_frac=0.0)
    log = io.StringIO()
    cfg = replace(FAST, stateful="yes", start=start)
    report = train_all(["rnn"], data, cfg, tmp_path, progress=Progress(["rnn-stateful"], stream=log))
    m = report.results[0]
    assert m["best_epoch"] >= 1 and all(np.isfinite(m["loss_history"]["val"])), m["loss_history"]
    assert "rnn-stateful: epoch 1/" in log.getvalue() and "/scratch" not in log.getvalue()   # one part


@pytest.mark.parametrize("scratch_noise, kept", [(0.97, "warm"), (0.3, "scratch")])
def test_best_start_keeps_the_scratch_model_only_when_better_beyond_validation_noise(
        monkeypatch: pytest.MonkeyPatch, scratch_noise: float, kept: str) -> None:
    """--start best trains from the warm start and from scratch: the scratch model wins only with clearly
    lower validation errors (70% smaller), not by chance (3% smaller, independent errors), whose best of
    300 epochs flatters it (nile: 0.78x the windowed twin's validation MSE, then 2.5x its test MSE)."""
    from seqinfer.trainer import parts

    truth, e_warm, e_scratch = val_errors(scratch_noise)
    calls = []

    def fit(model, ds, data, r, seed, dtype, base, on_epoch, start=None):  # type: ignore[no-untyped-def]
        calls.append((r["lr"], start is not None))
        e = e_warm if start is not None else e_scratch
        preds = {"val": truth + e, "test": truth + e, "select": truth + e}
        return parts.History(), {}, preds, None

    monkeypatch.setattr(parts, "_fit_stateful", fit)
    monkeypatch.setattr(parts, "selection", lambda ds, data: ("val", None, truth))
    monkeypatch.setattr(parts, "_windowed_start", lambda *a: {})
    ds = build(TINY)
    fitted = [parts.fit_part("lstm-stateful", p, ds, TINY, FAST, {})
              for p in parts.parts_of("lstm-stateful", FAST, TINY.window)]
    got = parts.combine(fitted, ds, TINY, "best")
    assert calls == [(0.001, True), (0.01, False)]                       # fine-tuned at r["tune"] x lr
    assert got.part == kept and got.check is not None and got.check["scratch"]["kept"] is (kept == "scratch")
    assert np.array_equal(got.preds["test"], truth + (e_warm if kept == "warm" else e_scratch))
    assert got.hist.seconds == pytest.approx(sum(p.hist.seconds for p in fitted))     # both parts' cost


def test_a_stateful_lstm_trains_both_ways_by_default_and_says_which_it_kept(tmp_path: Path) -> None:
    """The LSTM's default start is best: metrics.json records the fine-tuning check and the scratch model's
    test against the warm one on validation, and the kept model is the one whose validation MSE it reports."""
    quiet = Progress(["lstm-stateful"], stream=io.StringIO())
    report = train_all(["lstm"], TINY, replace(FAST, stateful="yes", epochs=2), tmp_path, progress=quiet)
    m = report.results[0]
    check = m["start_check"]
    assert m["train_config"]["start"] == "best" and check["start"] == "best" and check["split"] == "val"
    from seqinfer.trainer.baselines import origins
    from seqinfer.trainer.parts import selection
    from seqinfer.trainer.stateful import forecast_series

    ds = build(TINY)
    assert {"stat", "p", "n", "kept"} <= set(check["scratch"])
    assert check["scratch"]["n"] == len(selection(ds, TINY)[1].t) > len(ds.windows["val"])
    assert m["train_config"]["tune"] == 0.1 and m["train_config"]["prefer"] == "tuned"
    assert check["fine_tune"] is None or check["fine_tune"]["prefer"] == "tuned"
    net, _ = load_checkpoint(tmp_path / "lstm-stateful")                 # the model saved is the one scored
    every = forecast_series(net.eval(), ds.series.values[0])
    val = float(np.mean((every[origins(ds, TINY)["val"].t] - ds.windows["val"].y) ** 2))
    assert val == pytest.approx(m["metrics"]["val"]["mse"], rel=1e-5)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_both_run_warm_starts_the_stateful_model_from_its_windowed_twin_trained_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    """--stateful both: the stateful RNN starts from the run's own windowed RNN (metrics.json says so) instead
    of training that model a second time, and ends exactly where a run that trains its start itself
    (--stateful yes) ends. jobs 2: the twin's weights cross from one worker process to another."""
    from seqinfer.trainer import parts

    cfg = replace(FAST, epochs=3, start="warm")
    quiet = Progress(["rnn", "rnn-stateful"], stream=io.StringIO())
    alone = train_all(["rnn"], TINY, replace(cfg, stateful="yes"), tmp_path / "alone",
                      progress=quiet).results[0]

    def again(*_: object) -> None:
        raise AssertionError("the windowed twin was trained a second time")

    monkeypatch.setattr(parts, "_windowed_start", again)        # reaches the jobs=1 path, in this process
    windowed, stateful = train_all(["rnn"], TINY, replace(cfg, stateful="both", jobs=jobs), tmp_path / "both",
                                   progress=quiet).results
    assert alone["start_check"]["windowed_start"] == "trained here"
    assert stateful["start_check"]["windowed_start"] == "the run's windowed model"
    assert stateful["metrics"]["test"]["mse"] == alone["metrics"]["test"]["mse"]
    assert stateful["best_epoch"] == alone["best_epoch"]
    assert stateful["train_seconds"] >= windowed["train_seconds"]   # its start's training counts as its own


def test_a_best_start_trains_its_two_parts_side_by_side_and_ends_where_one_process_does(
        tmp_path: Path) -> None:
    """--start best with two jobs: the scratch part trains in a process of its own beside the warm one (its
    progress under lstm-stateful/scratch), and the run keeps the same model with the same scores and check
    as a run with one job, where the parts train one after the other."""
    got = {}
    for jobs in (1, 2):
        log = io.StringIO()
        report = train_all(["lstm"], TINY, replace(FAST, stateful="both", epochs=3, jobs=jobs),
                           tmp_path / str(jobs), progress=Progress(["lstm", "lstm-stateful"], stream=log,
                                                                   tty=False))
        got[jobs] = [(r["metrics"], r["start_check"], r["best_epoch"]) for r in report.results]
        assert ("lstm-stateful/scratch: epoch 1/3" in log.getvalue()), log.getvalue()
    assert got[1] == got[2]


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc; zombies are not alive)."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            stat = (d / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()           # state, ppid, ...
        if d.name.isdigit() and int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal (prctl) is Linux's")
def test_killing_train_ends_the_worker_processes_training_its_kinds(tmp_path: Path) -> None:
    """`kill PID` of a `seqinfer train` whose kinds train in worker processes: the workers end with it.
    Before, they trained on, orphaned (Ctrl-C reaches the process group; a kill reaches the parent only)."""
    import signal
    import time

    p = subprocess.Popen([*SEQINFER, "train", "--model", "rnn,gru", "--jobs", "2", "--epochs", "5000",
                          "--out", str(tmp_path / "art")], stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        for line in p.stderr:                                   # the workers are training
            if "epoch" in line:
                break
        workers = [c for c in _children(p.pid) if c != p.pid]
        assert len(workers) >= 2, workers
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        end = time.monotonic() + 20
        while any(_alive(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "workers outlived the killed train"
    finally:
        if p.poll() is None:
            p.kill()


@pytest.mark.parametrize("val_frac", [0.1, 0.0])
def test_a_stateful_model_is_chosen_on_every_step_of_its_validation_part(val_frac: float) -> None:
    """parts.selection: each series' every origin from the last training value to the last whose next
    horizon values are all in the validation part, with those values as truth (a window of history inside
    the part is not needed: the windowed origins are a subset). Without a validation part, the training
    windows' origins, as a windowed model's."""
    from seqinfer.trainer.baselines import origins
    from seqinfer.trainer.parts import selection

    values = [np.arange(n, dtype=np.float64)[:, None] * (k + 1) for k, n in enumerate((300, 420))]
    series = Series(values=values, ids=["a", "b"], source="two.csv", column="value")
    data = replace(TINY, window=20, horizon=3, val_frac=val_frac)
    ds = build(data, series)
    split, o, truth = selection(ds, data)
    windowed = origins(ds, data)[split]
    if val_frac == 0:
        assert split == "train" and np.array_equal(o.t, windowed.t)
        assert np.array_equal(o.series, windowed.series)
        assert np.array_equal(truth, ds.windows["train"].y)
        return
    train = [len(p) for p in ds.segments["train"]]
    val = [len(p) for p in ds.segments["val"]]
    assert split == "val" and len(o.t) == sum(n - data.horizon + 1 for n in val) > len(windowed.t)
    for k in (0, 1):
        t = o.t[o.series == k]
        assert (t[0], t[-1]) == (train[k] - 1, train[k] + val[k] - data.horizon - 1)
        assert np.array_equal(t, np.arange(t[0], t[-1] + 1))
    v = [x.reshape(-1) for x in series.values]
    want = [v[k][t + 1:t + 1 + data.horizon] for k, t in zip(o.series, o.t, strict=True)]
    assert np.array_equal(truth, np.stack(want))
    at = {(k, t): i for i, (k, t) in enumerate(zip(o.series, o.t, strict=True))}
    at_windowed = [at[(k, t)] for k, t in zip(windowed.series, windowed.t, strict=True)]
    assert np.array_equal(truth[at_windowed], ds.windows["val"].y)


def test_metrics_files_are_strict_json_and_the_ets_row_names_the_season_it_used() -> None:
    """A constant series' MASE (0/0) and a split with no window wrote bare NaN into metrics.json, which
    strict parsers refuse; ETS's row named the detected season where a series' training part was too short
    for ETS to take it (4 seasons)."""
    from seqinfer.trainer.run import _ets_label, strict_json

    text = strict_json({"mse": float("nan"), "rows": [1.5, float("inf")], "deep": {"x": (float("-inf"),)}})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}")) == \
        {"mse": None, "rows": [1.5, None], "deep": {"x": [None]}}
    assert _ets_label({"season": 12, "ets_season": 12}) == "ETS (damped trend, season 12)"
    assert _ets_label({"season": 40, "ets_season": None}) == \
        "ETS (damped trend; season 40 needs 4 in a series' training part)"
    assert _ets_label({"season": None, "ets_season": None}) == "ETS (damped trend)"
    assert _ets_label({"season": 7, "ets_season": "some series"}) == \
        "ETS (damped trend, season 7 where a series' training part holds 4)"
    from seqinfer.trainer.baselines import baselines
    from seqinfer.trainer.data import build

    for length, used in ((300, 40), (150, None)):             # training parts of 210 and 105 points
        cfg = DataConfig(length=length, window=8)
        assert baselines(build(cfg), cfg, season=40)["ets_season"] == used


def test_the_table_names_every_baseline_ahead_of_a_model(tmp_path: Path) -> None:
    """A weekly pattern and a model trained one epoch: seasonal naive and ETS both beat it on test, and the
    statements under the table name both, best first (they named ETS only)."""
    f = tmp_path / "weekly.csv"
    t = np.arange(300)
    f.write_text("value\n" + "".join(f"{v:.4f}\n" for v in 3 * np.sin(2 * np.pi * t / 7) + 0.01 * (t % 3)))
    r = subprocess.run([*SEQINFER, "train", "--data", str(f), "--model", "rnn", "--window", "14", "--epochs",
                        "1", "--hidden", "4", "--jobs", "1", "--out", str(tmp_path / "art")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    line = next(s for s in r.stdout.splitlines() if s.startswith("- Ahead of rnn on test"))
    names = [part.split(" (MSE")[0] for part in line.split(": ", 1)[1].split("), ")]
    assert sorted(names) == ["ETS", "seasonal naive (season 7)"], line
    mses = [float(x.split(")")[0]) for x in line.split("(MSE ")[2:]]
    assert mses == sorted(mses), line


def test_forecast_png_draws_one_series_and_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a file of several series, forecast.png shows the first series' test windows and rollout, titled
    with its id: the test windows of every series joined into one line read as one series that jumps."""
    import seqinfer.trainer.run as run
    from seqinfer.trainer.config import DataConfig as D
    from seqinfer.trainer.config import TrainConfig as T

    drawn: list[tuple] = []
    monkeypatch.setattr(run, "forecast_plot", lambda *a, **k: drawn.append(a))
    f = tmp_path / "two.csv"
    rows = (f"{s},{np.sin(i / 7) + (0 if s == 'a' else 1000):.4f}\n" for i in range(300) for s in "ab")
    f.write_text("store,value\n" + "".join(rows))
    train_all(["rnn"], D(path=str(f), window=10), T(epochs=1, hidden=4, jobs=1), tmp_path / "art")
    (_, name, truth, pred, context, roll, roll_truth, _, who), = drawn
    assert name == "rnn" and who == "series 'a' (1 of 2)"
    assert len(truth) == 60 - 10 and np.abs(truth).max() < 2 and np.abs(context).max() < 2
    assert np.abs(roll_truth).max() < 2
