"""`seqinfer evaluate` through a subprocess, on a model and a series whose errors are known in advance.

The model is a "diff" model whose network outputs 0, so it forecasts last value + out_mean per step
(+0.5 at step 1, +1.0 at step 2). On the line v_t = 2t its errors are exactly 1.5 and 3.0, the naive
forecast's 2 and 4, the seasonal naive's (season 3) 6 and 6; the file's one-step naive MAE is 2.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from infer_support import one_error, run_cli

from seqinfer.export.onnx_export import export_onnx
from seqinfer.infer.backtest import detect_season, season_of
from seqinfer.infer.contract import ModelMeta
from seqinfer.trainer.model import Forecaster, ModelConfig

WINDOW, HORIZON, N = 4, 2, 20


@pytest.fixture(scope="module")
def constant_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    net = Forecaster(ModelConfig(kind="rnn", hidden=4, horizon=HORIZON, scaling="diff")).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    net.set_normalization(torch.zeros(1), torch.ones(1), torch.tensor([0.5, 1.0]), torch.ones(2))
    root = tmp_path_factory.mktemp("evaluate")
    meta = ModelMeta(seqinfer_version="test", kind="rnn", window=WINDOW, horizon=HORIZON, features=1,
                     norm_mean=(0.0,), norm_std=(1.0,), scaling="diff")
    export_onnx(net, meta, root / "model.onnx")
    (root / "line.csv").write_text("t,value\n" + "".join(f"{t},{2 * t}\n" for t in range(N)))
    return root


def test_evaluate_gives_the_known_errors(constant_step: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt.json"
    r = run_cli(["evaluate", str(constant_step), "--input", str(constant_step / "line.csv"), "--season", "3",
                 "--plot", str(tmp_path / "f.png"), "--json", str(out), "--provider", "cpu"])
    assert r.returncode == 0, r.stderr.decode()
    bt = json.loads(out.read_text())
    assert bt["origins"] == N - HORIZON - 3 and bt["season"] == 3 and bt["mase_scale"] == 2.0
    want = {"model": (1.5, 3.0), "naive": (2.0, 4.0), "seasonal_naive": (6.0, 6.0)}
    for method, errors in want.items():
        for h, e in enumerate(errors):
            s = bt["steps"][h][method]
            assert s["mse"] == pytest.approx(e**2) and s["mae"] == pytest.approx(e)
            assert s["mase"] == pytest.approx(e / 2.0)
        assert bt["overall"][method]["mse"] == pytest.approx(sum(e**2 for e in errors) / 2)
    table = r.stdout.decode()
    assert table.startswith("| step | model MSE | model MAE | model MASE | naive MSE |")
    assert "| 1 | 2.25 | 1.5 | 0.750 | 4 | 2 | 1.000 | 36 | 6 | 3.000 |" in table
    assert "The model beats the naive forecast: MSE 5.625 against 10 (0.562 of it). Over 15 origins that " \
        "is beyond their noise (Diebold-Mariano p 0, 5% level)." in table          # the same gain every time
    assert bt["tests"]["naive"] == {"stat": float("-inf"), "p": 0.0, "n": 15} or \
        bt["tests"]["naive"]["stat"] is None                                     # -inf: null in strict JSON
    assert (tmp_path / "f.png").stat().st_size > 10_000
    assert "season 3 (given)" in r.stderr.decode()


@pytest.mark.parametrize(("rows", "noise", "said"), [
    (WINDOW + HORIZON, 0.0, "From 1 origin(s): too few to tell the two apart."),
    (200, 40.0, "Over 195 origins that is within their noise (Diebold-Mariano p 0.35, 5% level)."),
    (200, 1.0, "Over 195 origins that is beyond their noise (Diebold-Mariano p 1.1e-89, 5% level).")])
def test_evaluate_says_whether_the_origins_tell_the_model_from_naive(constant_step: Path, tmp_path: Path,
                                                                     rows: int, noise: float, said: str
                                                                     ) -> None:
    """A verdict from one forecast origin said "The model beats the naive forecast" as from thousands. Now
    each verdict says whether the origins can tell the two apart: the Diebold-Mariano test, as train's
    (infer/significance.py); in --json, its statistic and p (null when there is none)."""
    v = 2 * np.arange(rows) + np.random.default_rng(0).normal(0, noise, rows)
    f = tmp_path / "few.csv"
    f.write_text("t,value\n" + "".join(f"{t},{x:.6f}\n" for t, x in enumerate(v)))
    out = tmp_path / "bt.json"
    r = run_cli(["evaluate", str(constant_step), "--input", str(f), "--json", str(out), "--provider", "cpu"])
    assert r.returncode == 0, r.stderr.decode()
    verdict = next(ln for ln in r.stdout.decode().splitlines() if "the naive forecast" in ln)
    assert verdict.endswith(said), verdict
    dm = json.loads(out.read_text())["tests"]["naive"]
    assert dm["n"] == rows - WINDOW - HORIZON + 1 and (dm["p"] is None) == (rows == WINDOW + HORIZON)


def test_evaluate_errors_are_one_line(constant_step: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("value\n1\n2\n3\n")
    r = run_cli(["evaluate", str(constant_step), "--input", str(short), "--provider", "cpu"])
    assert r.returncode == 2 and "no forecast origin" in one_error(r.stderr)
    bad = tmp_path / "bad.csv"
    bad.write_text("value\n1\n2\nx\n4\n")
    r = run_cli(["evaluate", str(constant_step), "--input", str(bad), "--provider", "cpu"])
    assert r.returncode == 2 and f"{bad}:4:1: 'x' is not a number" in one_error(r.stderr)
    r = run_cli(["evaluate", str(constant_step), "--input", str(short), "--provider", "cpu", "--plot",
                 str(tmp_path / "nodir" / "f.png")])        # before the backtest (it was matplotlib's, after)
    assert r.returncode == 2 and one_error(r.stderr) == \
        f"seqinfer: error: --plot {tmp_path / 'nodir' / 'f.png'}: no folder {tmp_path / 'nodir'}"


def test_evaluate_on_values_that_never_change(constant_step: Path, tmp_path: Path) -> None:
    """Naive is exact there: no ratio to it and no MASE (both divided by zero: a traceback)."""
    flat = tmp_path / "flat.csv"
    flat.write_text("value\n" + "3.0\n" * N)
    r = run_cli(["evaluate", str(constant_step), "--input", str(flat), "--provider", "cpu", "--plot",
                 str(tmp_path / "f.png")])
    assert r.returncode == 0, r.stderr.decode()
    table = r.stdout.decode()
    assert "| all | 0.625 | 0.75 | nan | 0 | 0 | nan |" in table
    assert "does NOT beat the naive forecast: MSE 0.625 against 0 (naive is exact" in table


def test_evaluate_says_which_series_are_too_short_to_score(constant_step: Path, tmp_path: Path) -> None:
    """Series `b` (5 values) has no origin at window 4, season 3, horizon 2 (6 values needed): it is
    counted and named, and the scores are a's alone. --plot '' draws nothing."""
    f = tmp_path / "two.csv"
    f.write_text("id,t,value\n" + "".join(f"a,{t},{2 * t}\n" for t in range(N))
                 + "".join(f"b,{t},{5 * t}\n" for t in range(5)))
    r = run_cli(["evaluate", str(constant_step), "--input", str(f), "--season", "3", "--plot", "",
                 "--json", str(tmp_path / "bt.json"), "--provider", "cpu"])
    assert r.returncode == 0, r.stderr.decode()
    assert ("seqinfer: 1 of 2 series too short for a forecast origin (a backtest needs 6 values: window 4, "
            "season 3, horizon 2; the shortest: b, 5): not scored") in r.stderr.decode().splitlines()
    assert json.loads((tmp_path / "bt.json").read_text())["origins"] == N - HORIZON - 3
    assert "wrote" not in r.stderr.decode() and not Path(".png").exists()


def test_evaluate_keep_accepts_an_extra_column(constant_step: Path, tmp_path: Path) -> None:
    f = tmp_path / "units.csv"
    f.write_text("site,t,load,unit\n" + "".join(f"north,{t},{2 * t},kW\n" for t in range(N)))
    args = ["evaluate", str(constant_step), "--input", str(f), "--series-col", "site", "--plot", "",
            "--provider", "cpu"]
    r = run_cli(args)
    said = one_error(r.stderr)
    assert r.returncode == 2 and "column 4 ('unit') holds text: pass it through with --keep" in said
    r = run_cli([*args, "--keep", "unit"])
    assert r.returncode == 0 and "kept=unit" in r.stderr.decode(), r.stderr.decode()
    assert "| 1 | 2.25 | 1.5 | 0.750 | 4 | 2 | 1.000 |" in r.stdout.decode()


def _daily(days: int, weekly: float = 1.5, seed: int = 0) -> np.ndarray:
    """Daily values: a yearly cycle (amplitude 10), a weekly one, a slow trend and noise (sigma 1)."""
    t = np.arange(days)
    noise = np.random.default_rng(seed).normal(0.0, 1.0, days)
    return 100 + 0.01 * t + 10 * np.sin(2 * np.pi * t / 365.25) + weekly * np.sin(2 * np.pi * t / 7) + noise


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_season_of_calendar_shaped_series(seed: int) -> None:
    """detect_season: the week under the year in daily data (before: none from 2 and 3 years, 330-337 from
    4: a weekly ripple on the yearly slope made local peaks, the first one high enough won); the year itself
    where there is no week, or a faint one; the day under the week in hourly data; monthly data with a
    wandering level (before: none in 27 of 40 such series); and no season in noise or a random walk."""
    rng = np.random.default_rng(seed)
    for days in (730, 1095, 1460):
        assert detect_season(_daily(days, seed=seed)[:int(0.8 * days)]) == 7, days
    for weekly in (0.0, 0.5):              # no week, or one too faint to tell from the noise: the year
        assert abs(detect_season(_daily(1460, weekly, seed)[:1168]) - 365) <= 3  # type: ignore[operator]
    hours = np.arange(24 * 7 * 8)
    hourly = 5 * np.sin(2 * np.pi * hours / 24) + 5 * np.sin(2 * np.pi * hours / 168) \
        + rng.normal(size=len(hours))
    assert detect_season(hourly) == 24
    months = np.arange(3000)
    assert detect_season(3 * np.sin(2 * np.pi * months / 12) + 0.5 * np.cumsum(rng.normal(size=3000))) == 12
    assert detect_season(rng.normal(size=1000)) is None
    assert detect_season(np.cumsum(rng.normal(size=2000))) is None
    assert detect_season(rng.normal(size=1000), given=7) == 7


def test_the_week_of_daily_counts_under_their_noise() -> None:
    """Store-item sales (Kaggle's shape): Poisson counts around 30 with a weekday factor of 0.85-1.15 and a
    yearly swing, 639 training days. Under that noise the week's autocorrelation is about 0.2, below the
    long search's 0.3, yet 5 standard errors clear: before, 2 of these 8 series got their week and 6 none."""
    t = np.arange(639)
    weekday = np.array([0.85, 0.9, 0.95, 1.0, 1.05, 1.15, 1.1])[t % 7]
    for seed in range(8):
        sales = np.random.default_rng(seed).poisson(30 * weekday * (1 + 0.2 * np.sin(2 * np.pi * t / 365.25)))
        assert detect_season(sales.astype(float)) == 7, seed


def test_a_file_of_many_series_gets_the_season_most_of_them_show() -> None:
    """season_of votes: a store-item file whose first series shows no week (here pure noise) still gets the
    week that most of its series show, and says how many; series without a common season get none."""
    t = np.arange(639)
    weekday = np.array([0.85, 0.9, 0.95, 1.0, 1.05, 1.15, 1.1])[t % 7]
    rng = np.random.default_rng(0)
    noise = [rng.poisson(30, size=639).astype(float) for _ in range(2)]
    weekly = [rng.poisson(30 * weekday).astype(float) for _ in range(6)]
    assert detect_season(noise[0]) is None
    m, how = season_of(noise + weekly)
    assert m == 7 and how in ("detected in 5 of 8 series", "detected in 6 of 8 series"), how
    assert season_of(weekly[:1]) == (7, "detected")
    assert season_of(noise + weekly, given=12) == (12, "given")
    walks = [np.cumsum(rng.normal(size=800)) for _ in range(30)] + [rng.normal(size=800) for _ in range(30)]
    assert season_of(walks) == (None, "detected")


def test_evaluate_says_the_week_of_a_daily_file(constant_step: Path, tmp_path: Path) -> None:
    """A date,value file of three years of days through `seqinfer evaluate`: the seasonal naive forecast
    looks one week back, and stderr says so."""
    f = tmp_path / "daily.csv"
    days = np.datetime64("2021-01-01") + np.arange(1095)
    f.write_text("date,sales\n" + "".join(f"{d},{v:.3f}\n" for d, v in zip(days, _daily(1095), strict=True)))
    out = tmp_path / "bt.json"
    r = run_cli(["evaluate", str(constant_step), "--input", str(f), "--plot", "", "--json", str(out),
                 "--provider", "cpu"])
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(out.read_text())["season"] == 7
    assert "season 7 (detected)" in r.stderr.decode(), r.stderr.decode()


@pytest.mark.parametrize("fill", ["previous", "interpolate"])
def test_evaluate_scores_no_target_that_fill_made_up(constant_step: Path, tmp_path: Path, fill: str) -> None:
    """v_10 missing on the line: --fill makes one up for the windows, but an origin whose target it is was
    scored against it (previous: v_9, which gave the naive forecast an error of 0 there). Its two origins
    (t = 8, 9 for steps 2, 1) are left out and counted; interpolate restores the line, so the errors left
    are the line's exactly."""
    text = (constant_step / "line.csv").read_text().replace("\n10,20\n", "\n10,NA\n")
    (tmp_path / "gap.csv").write_text(text)
    out = tmp_path / "bt.json"
    r = run_cli(["evaluate", str(constant_step), "--input", str(tmp_path / "gap.csv"), "--season", "3",
                 "--fill", fill, "--plot", "", "--json", str(out), "--provider", "cpu"])
    assert r.returncode == 0, r.stderr.decode()
    assert f"--fill {fill}: 2 forecast origin(s) whose target is a filled value (not in the file) not " \
           f"scored" in r.stderr.decode()
    bt = json.loads(out.read_text())
    assert bt["origins"] == N - HORIZON - 3 - 2
    if fill == "interpolate":
        assert bt["steps"][0]["naive"]["mae"] == pytest.approx(2.0) and \
            bt["steps"][1]["model"]["mae"] == pytest.approx(3.0)


def test_the_plot_draws_the_seasonal_naive_forecast_too(constant_step: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """forecast.png drew the model and naive only, where the verdict above it may be that seasonal naive
    beats the model: it draws that forecast too, with its MSE."""
    import matplotlib.axes

    from seqinfer.infer.backtest import evaluate, plot
    from seqinfer.infer.config import ColumnSpec

    drawn: list[str] = []
    draw = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, *a, **k: drawn.append(k.get("label", "")) or draw(self, *a, **k))
    bt = evaluate(constant_step, constant_step / "line.csv", ColumnSpec(), season=3, provider="cpu")
    assert plot(bt, tmp_path / "f.png")
    assert [d.split(" (MSE")[0] for d in drawn] == ["truth", "model", "naive", "seasonal naive (3)"], drawn
    assert "seasonal naive (3) (MSE 36)" in drawn
