"""`seqinfer predict` through real pipes equals the eager PyTorch model within 1e-5, in every layout."""
from __future__ import annotations

import re

import numpy as np
import pytest
from infer_support import Fixture, parse_csv, parsed_values, run_cli, sine, values_csv

from seqinfer.infer import Forecaster
from seqinfer.infer.api import MIN_SPLIT, PREDICT_BATCH, split_batch
from seqinfer.infer.contract import format_forecast
from seqinfer.infer.errors import SeqinferError

ATOL = 1e-5
MEANISH = 0.5


def ok(r) -> None:  # noqa: ANN001 - CompletedProcess
    assert r.returncode == 0, r.stderr.decode()


def test_one_series_no_header(lstm: Fixture) -> None:
    v = sine(60)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], values_csv(v))
    ok(r)
    header, keys, y = parse_csv(r.stdout)
    assert header == ["row", "yhat_1", "yhat_2"]
    x = np.lib.stride_tricks.sliding_window_view(parsed_values(v), lstm.window)
    assert [k[0] for k in keys] == [str(i) for i in range(lstm.window, 61)]   # line numbers, 1-based
    np.testing.assert_allclose(y, lstm.eager(x), atol=ATOL, rtol=0)


def test_long_stream_full_and_partial_batches(lstm: Fixture) -> None:
    """1,500 rows: a full default batch (the exporter's large-batch graph branch) and a partial one."""
    v = sine(1500)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], values_csv(v))
    ok(r)
    _, keys, y = parse_csv(r.stdout)
    x = np.lib.stride_tricks.sliding_window_view(parsed_values(v), lstm.window)
    assert len(keys) == len(x) == 1485
    np.testing.assert_allclose(y, lstm.eager(x), atol=ATOL, rtol=0)


def test_output_is_exactly_the_documented_format(lstm: Fixture) -> None:
    v = sine(20)
    r = run_cli(["predict", str(lstm.onnx), "--provider", "cpu"], values_csv(v, header="value"))
    ok(r)
    lines = r.stdout.decode().splitlines(keepends=True)
    assert lines[0] == "row,yhat_1,yhat_2\n"
    x = np.lib.stride_tricks.sliding_window_view(parsed_values(v), lstm.window)
    y = Forecaster(lstm.onnx, provider="cpu").predict(x)
    assert lines[1:] == [format_forecast([], i + lstm.window + 1, list(y[i])) for i in range(len(y))]


def test_interleaved_series_with_header_and_kept_column(lstm: Fixture) -> None:
    n, names = 40, ["a", "b b", "c"]
    series = {s: sine(n, phase=i, seed=i) for i, s in enumerate(names)}
    lines = ["time,series,value"] + [f"t{t},{s},{series[s][t]:.6f}" for t in range(n) for s in names]
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--keep", "time", "--series-col", "series"],
                "\n".join(lines) + "\n")
    ok(r)
    header, keys, y = parse_csv(r.stdout)
    assert header == ["series", "time", "row", "yhat_1", "yhat_2"]
    want_keys, windows = [], []
    for t in range(lstm.window - 1, n):
        for i, s in enumerate(names):
            want_keys.append([s, f"t{t}", str(2 + t * len(names) + i)])
            windows.append(parsed_values(series[s][t + 1 - lstm.window:t + 1]))
    assert keys == want_keys
    np.testing.assert_allclose(y, lstm.eager(np.array(windows)), atol=ATOL, rtol=0)


def test_two_columns_default_to_series_value_and_bulk_equals_careful_path(lstm: Fixture) -> None:
    """Quoting one id sends its block down the careful path; the numbers must not change."""
    rng = np.random.default_rng(3)
    rows = [(f"s{rng.integers(3)}", MEANISH + float(rng.standard_normal())) for _ in range(300)]
    plain = "".join(f"{s},{v:.6f}\n" for s, v in rows)
    quoted = plain.replace("s1,", '"s1",', 1)
    a, b = (run_cli(["predict", str(lstm.dir), "--provider", "cpu"], t) for t in (plain, quoted))
    ok(a)
    ok(b)
    assert a.stdout == b.stdout and a.stdout.startswith(b"series,row,")


def test_windows_layout(lstm: Fixture) -> None:
    x = np.stack([sine(lstm.window, phase=i) for i in range(25)])
    text = "".join(",".join(f"{v:.6f}" for v in row) + "\n" for row in x)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--layout", "windows"], text)
    ok(r)
    header, keys, y = parse_csv(r.stdout)
    assert [k[0] for k in keys] == [str(i) for i in range(1, 26)]
    xr = np.array([[float(f"{v:.6f}") for v in row] for row in x], dtype=np.float32)
    np.testing.assert_allclose(y, lstm.eager(xr), atol=ATOL, rtol=0)
    auto = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)   # 16 fields: auto picks windows
    assert auto.stdout == r.stdout


@pytest.mark.parametrize("horizon", [1, 2, 5])
def test_horizons_direct_and_rolled_out(lstm: Fixture, horizon: int) -> None:
    v = sine(40)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--horizon", str(horizon),
                 "--batch-size", "7"], values_csv(v))
    ok(r)
    header, _, y = parse_csv(r.stdout)
    assert header[-1] == f"yhat_{horizon}" and y.shape == (40 - lstm.window + 1, horizon)
    x = np.lib.stride_tricks.sliding_window_view(parsed_values(v), lstm.window)
    np.testing.assert_allclose(y, lstm.eager(x, horizon), atol=ATOL, rtol=0)


def test_window_override_and_precision(lstm: Fixture) -> None:
    v = sine(30)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--window", "5", "--precision", "3"],
                values_csv(v))
    ok(r)
    _, keys, y = parse_csv(r.stdout)
    assert keys[0] == ["5"]
    x = np.lib.stride_tricks.sliding_window_view(parsed_values(v), 5)
    np.testing.assert_allclose(y, np.round(lstm.eager(x), 3), atol=1.001e-3 / 2, rtol=0)
    assert all(len(f.split(".")[1]) == 3 for f in r.stdout.decode().splitlines()[1].split(",")[1:])


def test_multi_feature_model_in_both_layouts(gru2: Fixture) -> None:
    a, b = sine(20), sine(20, phase=1.0)
    text = "a,b\n" + "".join(f"{p:.6f},{q:.6f}\n" for p, q in zip(a, b, strict=True))
    r = run_cli(["predict", str(gru2.dir), "--provider", "cpu", "--value-col", "a,b"], text)
    ok(r)
    _, keys, y = parse_csv(r.stdout)
    xs = np.stack([parsed_values(a), parsed_values(b)], axis=1)            # (T, 2)
    x = np.lib.stride_tricks.sliding_window_view(xs, gru2.window, axis=0).transpose(0, 2, 1)
    np.testing.assert_allclose(y, gru2.eager(x), atol=ATOL, rtol=0)
    rows = "".join(",".join(f"{v:.6f}" for v in w.ravel()) + "\n" for w in x)   # time-major t0f0,t0f1,...
    w = run_cli(["predict", str(gru2.dir), "--provider", "cpu", "--layout", "windows"], rows)
    ok(w)
    np.testing.assert_allclose(parse_csv(w.stdout)[2], y, atol=ATOL, rtol=0)


def test_python_api_predict_and_stream(lstm: Fixture) -> None:
    f = Forecaster(lstm.dir, provider="cpu")
    assert f.meta.window == lstm.window and f.provider == "cpu"
    v = sine(50)
    x = np.lib.stride_tricks.sliding_window_view(v, lstm.window)
    np.testing.assert_allclose(f.predict(x), lstm.eager(x), atol=ATOL, rtol=0)
    np.testing.assert_allclose(f.predict(x, horizon=5), lstm.eager(x, 5), atol=ATOL, rtol=0)
    rows = [("p", float(a)) for a in v[:30]] + [("q", float(b)) for b in v]      # two series
    got = list(f.stream(rows, batch_size=8))
    assert [(g.position, g.series) for g in got][:2] == [(15, "p"), (16, "p")]
    assert len(got) == (30 - 15) + (50 - 15)
    assert np.allclose(got[-1].yhat, lstm.eager(x[-1:])[0], atol=ATOL)
    one = list(f.stream(v.tolist()))
    np.testing.assert_allclose(np.stack([g.yhat for g in one]), lstm.eager(x), atol=ATOL, rtol=0)
    # Misuse is a seqinfer error, not numpy's, nor a silent guess (another window ran; horizon 0 was the
    # model's; a third field was taken for the value).
    for call, said in ((lambda: f.predict(x[:, :5]), "windows: 5 values each, the window is 16"),
                       (lambda: f.predict(x, horizon=0), "horizon: must be >= 1, got 0"),
                       (lambda: f.predict([["a"] * lstm.window]), "windows: not an array of numbers"),
                       (lambda: list(f.stream([("p", "2024", 1.0)])), "rows are (series, value) pairs")):
        with pytest.raises(SeqinferError, match=re.escape(said)):
            call()
    np.testing.assert_allclose(Forecaster(lstm.dir, provider="cpu", window=5).predict(x[:, :5]),
                               lstm.eager(x[:, :5]), atol=ATOL, rtol=0)


def test_python_api_splits_a_large_batch_across_workers_with_the_same_result(lstm: Fixture) -> None:
    x = np.lib.stride_tricks.sliding_window_view(sine(3000), lstm.window)          # 2986 windows
    y1 = Forecaster(lstm.dir, provider="cpu", workers=1).predict(x)                 # 3 slices, one by one
    with Forecaster(lstm.dir, provider="cpu", workers=2) as two:                    # 4 slices, 2 at a time
        assert two.workers == 2
        y2 = two.predict(x)
        y4 = two.predict(x[:100], horizon=4)
        np.testing.assert_allclose(two.predict(x[:50]), y1[:50], atol=1e-6, rtol=0)   # one call on 2 threads
        np.testing.assert_allclose(y4, lstm.eager(x[:100], 4), atol=ATOL, rtol=0)
    np.testing.assert_allclose(y2, y1, atol=1e-6, rtol=0)
    np.testing.assert_allclose(y2, lstm.eager(x), atol=ATOL, rtol=0)
    np.testing.assert_array_equal(two.predict(x[:200]), y2[:200])   # a closed Forecaster restarts its pool
    assert two.predict(x[:0]).shape == (0, y2.shape[1])


@pytest.mark.parametrize("n, workers", [(1, 2), (63, 2), (64, 2), (80, 2), (1000, 4), (4096, 2), (5000, 1),
                                        (3000, 3)])
def test_split_batch_covers_every_row_once_in_near_equal_slices(n: int, workers: int) -> None:
    parts = split_batch(n, workers)
    assert parts[0].start == 0 and parts[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:], strict=False))
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1 and max(sizes) <= PREDICT_BATCH
    assert len(parts) == 1 or min(sizes) >= MIN_SPLIT
    if len(parts) > workers:
        assert len(parts) % workers == 0                        # every worker gets the same number of slices
    assert split_batch(0, workers) == []
