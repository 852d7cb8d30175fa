"""Windowing and splits: no window crosses a split or a series, normalization sees the training part only."""
from __future__ import annotations

import numpy as np
import pytest

from seqinfer.infer.errors import ConfigError, DataError
from seqinfer.trainer.config import DataConfig, TrainConfig, parse_kinds
from seqinfer.trainer.data import SPLITS, Series, build, checkpoint_data, fingerprint, make_windows, sine


def counting(*lengths: int, gap: float = 10_000.0) -> Series:
    """Values are their own positions (offset per series), so a window shows where it came from."""
    return Series(values=[np.arange(n, dtype=np.float64) + i * gap for i, n in enumerate(lengths)],
                  ids=[f"s{i}" for i in range(len(lengths))], source="test", column="v")


def test_default_sine_matches_the_tutorial() -> None:
    cfg = DataConfig()
    y = sine(cfg).values[0][:, 0]
    assert len(y) == 2000
    t = np.linspace(0, 1000, 2000)
    np.testing.assert_allclose(y, np.sin(2 * np.pi * t / 20), atol=1e-12)
    ds = build(cfg)
    n = {s: len(ds.windows[s]) for s in SPLITS}
    assert n == {"train": 1400 - 80, "val": 200 - 80, "test": 400 - 80}   # test is the last 20 %
    assert ds.windows["train"].x.shape == (1320, 80, 1) and ds.windows["train"].y.shape == (1320, 1)


def test_noise_is_seeded() -> None:
    a, b = sine(DataConfig(noise=0.2)).values[0], sine(DataConfig(noise=0.2)).values[0]
    c = sine(DataConfig(noise=0.2, noise_seed=1)).values[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(np.std(a - sine(DataConfig()).values[0]) - 0.2) < 0.02


def test_make_windows_targets_follow_inputs() -> None:
    w = make_windows(np.arange(10.0).reshape(-1, 1), window=3, horizon=2)
    assert w.x.shape == (6, 3, 1) and w.y.shape == (6, 2)
    np.testing.assert_array_equal(w.x[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(w.y[0], [3, 4])
    np.testing.assert_array_equal(w.y[-1], [8, 9])
    assert len(make_windows(np.arange(4.0).reshape(-1, 1), window=3, horizon=2)) == 0


@pytest.mark.parametrize("horizon", [1, 3])
def test_no_window_crosses_a_split_or_a_series(horizon: int) -> None:
    cfg = DataConfig(window=5, horizon=horizon)
    ds = build(cfg, counting(100, 60))
    for split in SPLITS:
        w = ds.windows[split]
        full = np.concatenate([w.x[:, :, 0], w.y], axis=1)           # each row: window then targets
        assert np.all(np.diff(full, axis=1) == 1), f"{split}: a window is not one contiguous stretch"
        pieces = [(p[0, 0], p[-1, 0]) for p in ds.segments[split]]
        for row in full:
            assert any(lo <= row[0] and row[-1] <= hi for lo, hi in pieces), f"{split}: {row} crosses"
    # Chronological: all train before val before test, within each series.
    for s in range(2):
        ends = [ds.segments[name][s][:, 0] for name in SPLITS]
        assert ends[0].max() < ends[1].min() < ends[1].max() < ends[2].min()


def test_normalization_sees_only_the_training_part() -> None:
    cfg = DataConfig(window=5)
    base = counting(100)
    ds = build(cfg, base)
    train = ds.segments["train"][0]
    assert ds.mean[0] == pytest.approx(train.mean()) and ds.std[0] == pytest.approx(train.std())
    changed = base.values[0].copy()
    changed[80:] *= 1000.0                                        # only val/test values change
    ds2 = build(cfg, Series([changed], ["s0"], "test", "v"))
    np.testing.assert_array_equal(ds.mean, ds2.mean)
    np.testing.assert_array_equal(ds.std, ds2.std)


def test_a_split_too_short_for_a_window_is_a_data_error() -> None:
    with pytest.raises(DataError, match="test split has no window"):
        build(DataConfig(window=30), counting(100))


def test_series_too_short_for_a_split_are_said_not_dropped_silently() -> None:
    """A long-format file's late starters: one series (5 rows) gives no split a window, another (40 rows:
    val and test parts of 4 and 8) gives train windows only; the longest gives all three."""
    ds = build(DataConfig(window=8), counting(200, 5, 40))
    assert ds.notes == (
        "1 of 3 series too short for a window in any split (each split's part of a series needs window + "
        "horizon = 9 points; the shortest: 's1', 5 rows): not used",
        "1 of 3 series give the val split no window (its part needs window + horizon = 9 points; the "
        "shortest: 's2', 40 rows): not validated on",
        "1 of 3 series give the test split no window (its part needs window + horizon = 9 points; the "
        "shortest: 's2', 40 rows): not scored on")
    assert build(DataConfig(window=8), counting(200)).notes == ()


def test_fingerprint_tracks_data_and_config() -> None:
    cfg, m = DataConfig(window=5), {"kind": "rnn", "hidden": 8}
    s = counting(100)
    f = fingerprint(s, cfg, m)
    assert f == fingerprint(counting(100), cfg, m)
    assert f != fingerprint(counting(101), cfg, m)
    assert f != fingerprint(s, DataConfig(window=6), m)
    assert f != fingerprint(s, cfg, {"kind": "gru", "hidden": 8})
    data = checkpoint_data(build(cfg, s), cfg, m)
    assert data["window"] == 5 and data["fingerprint"] == f and isinstance(data["config"], dict)
    # what seqinfer wrote before DataConfig had date_order: checkpoints from then still match their data
    assert f == "00063d114c1036e64402afb3ab020191c9a019dda1f73b4b2c9f00795b39e451"
    assert f == fingerprint(s, DataConfig(window=5, path="d.csv"), m)          # the path is not part of it
    assert f != fingerprint(s, DataConfig(window=5, path="d.csv", date_order="dmy"), m)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"window": 0}, "data.window"), ({"horizon": 0}, "data.horizon"), ({"test_frac": 1.0}, "data.test_frac"),
    ({"val_frac": 0.9}, "data.val_frac"), ({"noise": -1.0}, "data.noise"),
    ({"path": "x.csv", "fill": "mean"}, "data.fill"), ({"value_col": ("a",)}, "data.value_col"),
])
def test_data_config_errors_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        DataConfig(**kwargs)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"epochs": 0}, "train.epochs"), ({"lr": 0.0}, "train.lr"), ({"device": "tpu"}, "train.device"),
    ({"batch_size": 0}, "train.batch_size"), ({"dropout": 1.0}, "train.dropout"),
    ({"start": "cold"}, "train.start"),
])
def test_train_config_errors_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**kwargs)


def test_kind_defaults_fill_only_unset_fields() -> None:
    r = TrainConfig(lr=0.5).resolved("gru")
    assert r["lr"] == 0.5 and r["hidden"] >= 1 and r["epochs"] >= 1
    assert parse_kinds("all") == ("rnn", "lstm", "gru")
    assert parse_kinds("gru,rnn,gru") == ("gru", "rnn")
    with pytest.raises(ConfigError, match="model"):
        parse_kinds("transformer")


@pytest.mark.parametrize("fill", ["previous", "interpolate"])
def test_origins_whose_target_fill_made_up_are_not_scored(tmp_path, fill: str) -> None:
    """A file with empty values read with --fill: a val or test window whose target the fill made up is not
    scored, by the models or the baselines (with `previous`, naive had a free zero error there), as
    `seqinfer evaluate` does; training keeps every window. Said on stderr (the notes)."""
    from seqinfer.trainer.baselines import baselines, naive_pred, origins

    v = 3 * np.sin(np.arange(300) / 5) + 0.01 * np.arange(300)
    holes = {100, 225, 250, 251, 290}                 # train | val (210-239) | test (240-299)
    f = tmp_path / "holes.csv"
    f.write_text("value\n" + "".join("NA\n" if i in holes else f"{x:.5f}\n" for i, x in enumerate(v)))
    cfg = DataConfig(path=str(f), window=10, horizon=2, fill=fill)
    ds = build(cfg)
    made_up = np.zeros(300, bool)
    made_up[list(holes)] = True
    for name, lo, hi in (("train", 0, 210), ("val", 210, 240), ("test", 240, 300)):
        t = np.arange(lo + 9, hi - 2)                  # every window's last value in the part
        if name != "train":
            t = t[~(made_up[t + 1] | made_up[t + 2])]
        assert len(ds.windows[name]) == len(t), name
        np.testing.assert_array_equal(origins(ds, cfg)[name].t, t)
        np.testing.assert_allclose(ds.windows[name].y[:, 0], ds.series.values[0][t + 1, 0])
    assert any("2 val origin(s) and 4 test origin(s) whose target it made up are not scored" in n
               for n in ds.notes), ds.notes
    naive = baselines(ds, cfg)["naive"]["test"]["mse"]
    values = ds.series.values[0]
    t = origins(ds, cfg)["test"].t
    pred = np.array([naive_pred(values, k, 2) for k in t])
    assert naive == pytest.approx(float(np.mean((pred - ds.windows["test"].y) ** 2)))
    from seqinfer.trainer.parts import selection

    split, o, truth = selection(ds, cfg)             # where a stateful model picks its epoch: every val step
    t = np.arange(209, 238)
    t = t[~(made_up[t + 1] | made_up[t + 2])]
    assert split == "val" and len(t) == 27
    np.testing.assert_array_equal(o.t, t)
    np.testing.assert_allclose(truth[:, 1], values[t + 2, 0])
