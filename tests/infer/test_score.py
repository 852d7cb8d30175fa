"""`seqinfer score` on a distributed.LocalCluster with 2 worker processes: the forecasts equal `seqinfer
predict` on the same rows concatenated, row for row, with no row lost or duplicated; a bad partition
fails the job naming file, row and column, and leaves no output that looks complete.
"""
from __future__ import annotations

import io
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from infer_support import Fixture, one_error, run_cli
from test_stateful import make_stateful

from seqinfer.infer.config import ColumnSpec
from seqinfer.infer.errors import ConfigError, DataError
from seqinfer.infer.score import ScoreConfig, run_score, score

distributed = pytest.importorskip("distributed", reason="seqinfer[dask] is not installed")


@pytest.fixture(scope="module")
def cluster() -> object:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def predict_csv(model: Path, csv: Path) -> pd.DataFrame:
    r = run_cli(["predict", str(model), "--provider", "cpu", "--input", str(csv)])
    assert r.returncode == 0, r.stderr.decode()
    return pd.read_csv(io.BytesIO(r.stdout), dtype={"series": str})


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 Parquet files of 40 interleaved series, each series split across files; the same rows as one CSV."""
    root = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    n = 2400
    df = pd.DataFrame({"sensor": [f"s{i}" for i in rng.integers(0, 40, n)],
                       "ts": pd.date_range("2024-01-01", periods=n, freq="min").strftime("%Y-%m-%dT%H:%M:%S"),
                       "value": np.round(np.sin(np.arange(n) / 9) + rng.normal(0, 0.1, n), 5)})
    for i in range(3):
        df.iloc[i * 800:(i + 1) * 800].to_parquet(root / f"part{i}.parquet", index=False)
    df.to_csv(root / "all.csv", index=False)
    return root


def test_many_series_equal_predict_row_for_row(cluster: object, many: Path, lstm: Fixture,
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    n = run_score(lstm.dir, str(many / "part*.parquet"), out, ColumnSpec(), ScoreConfig(),
                  scheduler=cluster.scheduler_address)                        # type: ignore[attr-defined]
    got = pd.read_parquet(out)
    want = predict_csv(lstm.dir, many / "all.csv")
    assert n == len(got) == len(want) and len(list(out.glob("*.parquet"))) == 3
    assert not got.duplicated(["series", "time"]).any()
    m = got.merge(want, left_on=["series", "time"], right_on=["series", "ts"], suffixes=("", "_p"))
    assert len(m) == len(want)                                               # every forecast, once
    np.testing.assert_allclose(m[["yhat_1", "yhat_2"]].to_numpy(), m[["yhat_1_p", "yhat_2_p"]].to_numpy(),
                               atol=1e-6)


@pytest.mark.parametrize("stateful", [False, True], ids=["windowed", "stateful"])
def test_one_long_series_over_partitions_equals_one_pass(cluster: object, lstm: Fixture, tmp_path: Path,
                                                         stateful: bool) -> None:
    model = make_stateful(tmp_path / "model", "gru")[1] if stateful else lstm.dir
    v = np.round(np.sin(np.arange(1500) / 11) * 5 + np.arange(1500) * 0.01, 5)
    sizes = [400, 7, 500, 3, 590]                           # a few tiny partitions: shorter than a window
    edges = np.cumsum([0, *sizes])
    names = [str(tmp_path / f"p{i}.csv{'.gz' if i == 2 else ''}") for i in range(len(sizes))]   # one gzip
    for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False)):
        pd.DataFrame({"value": v[a:b]}).to_csv(names[i], index=False)
    pd.DataFrame({"value": v}).to_csv(tmp_path / "all.csv", index=False)
    out = tmp_path / "out"
    run_score(model, ",".join(names), out, ColumnSpec(), ScoreConfig(), scheduler=cluster.scheduler_address)  # type: ignore[attr-defined]
    got = pd.read_parquet(out)
    offset = dict(zip(names, edges, strict=False))
    got["line"] = [offset[f] + r for f, r in zip(got["file"], got["row"], strict=True)]  # line in all.csv
    want = predict_csv(model, tmp_path / "all.csv")
    got = got.sort_values("line")
    assert got["line"].tolist() == want["row"].tolist()
    np.testing.assert_allclose(got[["yhat_1", "yhat_2"]].to_numpy(), want[["yhat_1", "yhat_2"]].to_numpy(),
                               atol=1e-6)


def test_a_bad_partition_fails_the_job_naming_file_row_and_column(cluster: object, many: Path, lstm: Fixture,
                                                                   tmp_path: Path) -> None:
    bad = pd.read_parquet(many / "part1.parquet")
    bad["value"] = bad["value"].astype(str)
    bad.loc[bad.index[17], "value"] = "oops"
    for name in ("part0.parquet", "part2.parquet"):
        (tmp_path / name).write_bytes((many / name).read_bytes())
    bad.to_parquet(tmp_path / "part1.parquet", index=False)
    out = tmp_path / "out"
    with pytest.raises(DataError) as e:
        run_score(lstm.dir, str(tmp_path / "part*.parquet"), out, ColumnSpec(), ScoreConfig(),
                  scheduler=cluster.scheduler_address)                      # type: ignore[attr-defined]
    assert str(e.value) == f"{tmp_path / 'part1.parquet'}:18:3: 'oops' is not a number (column 3 ('value'))"
    assert not out.exists() and not list(tmp_path.glob(".out*"))            # nothing left looking complete


def test_a_bad_value_on_the_cli_is_one_line_without_the_workers_log(lstm: Fixture, tmp_path: Path) -> None:
    """The worker's own 'Compute Failed' log and traceback went to stderr before seqinfer's one line, and
    distributed's 'Port 8787 is already in use' warning whenever another Dask cluster held that port."""
    f = tmp_path / "dump.csv"
    f.write_text("id,value\n" + "".join(f"7,{'NULL' if i == 20 else i % 5}\n" for i in range(40)))
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass                                              # taken already: the case itself
        r = run_cli(["score", str(lstm.dir), "--input", str(f), "--output", str(tmp_path / "out"),
                     "--workers", "1"], timeout=180)
    assert r.returncode == 2
    assert one_error(r.stderr) == f"seqinfer: error: {f}:22:2: missing value ('NULL') in column 2 " \
                                  f"('value'); --fill previous or --fill drop goes on past it"


def test_score_cli_and_the_python_api_on_a_dask_frame(many: Path, lstm: Fixture, tmp_path: Path) -> None:
    import dask.dataframe as dd

    r = run_cli(["score", str(lstm.dir), "--input", str(many / "part*.parquet"), "--output",
                 str(tmp_path / "out"), "--workers", "2"], timeout=180)
    assert r.returncode == 0, r.stderr.decode()
    assert "series=sensor (header: the Parquet schema); 3 file(s), grouped by series" in r.stderr.decode()
    assert "WARNING" not in r.stderr.decode()
    cli = pd.read_parquet(tmp_path / "out")
    ddf = dd.read_parquet(str(many / "part*.parquet"))
    api = score(ddf, lstm.dir, ColumnSpec(series_col="sensor")).compute(scheduler="synchronous")
    m = cli.merge(api, on=["series", "time"], suffixes=("", "_api"))
    assert len(m) == len(cli) == len(api)
    np.testing.assert_allclose(m["yhat_1"], m["yhat_1_api"], atol=1e-6)
    again = run_cli(["score", str(lstm.dir), "--input", str(many / "part*.parquet"), "--output",
                     str(tmp_path / "out")])
    assert again.returncode == 2 and "exists and is not empty" in one_error(again.stderr)
    with pytest.raises(ConfigError, match="no such file"):
        run_score(lstm.dir, str(tmp_path / "nothing*.parquet"), tmp_path / "o2", ColumnSpec(), ScoreConfig())


def test_one_series_files_are_taken_in_natural_order(cluster: object, lstm: Fixture, tmp_path: Path) -> None:
    """One series in part.0 ... part.11 (as Dask and Spark number their files): taken part.2 before
    part.10, the forecasts those of one pass (plain string order ran part.10 after part.1, without a word)."""
    v = np.round(np.sin(np.arange(1200) / 11) * 5, 5)
    ts = pd.date_range("2024-01-01", periods=1200, freq="h").strftime("%Y-%m-%dT%H:%M:%S")
    for i in range(12):
        pd.DataFrame({"ts": ts[i * 100:(i + 1) * 100], "value": v[i * 100:(i + 1) * 100]}).to_parquet(
            tmp_path / f"part.{i}.parquet", index=False)
    pd.DataFrame({"ts": ts, "value": v}).to_csv(tmp_path / "all.csv", index=False)
    out = tmp_path / "out"
    run_score(lstm.dir, str(tmp_path / "part.*.parquet"), out, ColumnSpec(), ScoreConfig(),
              scheduler=cluster.scheduler_address)                            # type: ignore[attr-defined]
    got = pd.read_parquet(out).sort_values("time")
    want = predict_csv(lstm.dir, tmp_path / "all.csv")
    assert got["time"].tolist() == want["ts"].tolist()
    np.testing.assert_allclose(got[["yhat_1", "yhat_2"]].to_numpy(), want[["yhat_1", "yhat_2"]].to_numpy(),
                               atol=1e-6)


def test_an_empty_first_file_does_not_hide_the_series_column(cluster: object, many: Path, lstm: Fixture,
                                                               tmp_path: Path) -> None:
    """A first file holding the schema and no row: the columns are decided from the first file with rows
    (from it, the series column was not seen, and every series was scored as one)."""
    first = pd.read_parquet(many / "part0.parquet")
    first.iloc[:0].to_parquet(tmp_path / "a_empty.parquet", index=False)
    for i in range(3):
        (tmp_path / f"part{i}.parquet").write_bytes((many / f"part{i}.parquet").read_bytes())
    out = tmp_path / "out"
    n = run_score(lstm.dir, str(tmp_path / "*.parquet"), out, ColumnSpec(), ScoreConfig(),
                  scheduler=cluster.scheduler_address)                      # type: ignore[attr-defined]
    assert n == len(predict_csv(lstm.dir, many / "all.csv"))
    assert pd.read_parquet(out)["series"].nunique() == 40


@pytest.mark.parametrize("case", ["id not read", "a file given twice", "id in the folder name"])
def test_times_that_repeat_or_step_back_in_a_series_are_an_error(cluster: object, many: Path, lstm: Fixture,
                                                                  tmp_path: Path, case: str) -> None:
    """Several series read as one (an integer id the rules leave unread, where predict stops; an id only in
    a hive partition's folder name), or a file given twice: each was scored without a word, windows mixing
    series or rows run twice. An error naming the file and row, and --series-col."""
    out = tmp_path / "out"
    if case == "id not read":
        days = pd.date_range("2024-01-01", periods=100, freq="D").strftime("%Y-%m-%d")
        rows = [(s, d, np.sin(i / 5) + s) for s in (1, 2) for i, d in enumerate(days)]
        pd.DataFrame(rows, columns=["store", "ts", "value"]).to_csv(tmp_path / "d.csv", index=False)
        pattern, where = str(tmp_path / "d.csv"), f"{tmp_path / 'd.csv'}:102: time '2024-01-01' steps back"
    elif case == "a file given twice":
        for name in ("part0.parquet", "part1.parquet", "part2.parquet"):
            (tmp_path / name).write_bytes((many / name).read_bytes())
        (tmp_path / "part1_copy.parquet").write_bytes((many / "part1.parquet").read_bytes())
        pattern, where = str(tmp_path / "part*.parquet"), "repeats within series"
    else:
        df = pd.read_parquet(many / "part0.parquet")
        for s in ("s1", "s2"):
            (tmp_path / f"sensor={s}").mkdir()
            df[df.sensor == s].drop(columns="sensor").to_parquet(tmp_path / f"sensor={s}" / "p.parquet",
                                                                 index=False)
        pattern, where = str(tmp_path / "sensor=*" / "*.parquet"), "steps back within the one series"
    with pytest.raises(DataError) as e:
        run_score(lstm.dir, pattern, out, ColumnSpec(), ScoreConfig(),
                  scheduler=cluster.scheduler_address)                      # type: ignore[attr-defined]
    assert where in str(e.value) and "--series-col" in str(e.value), str(e.value)
    assert not out.exists()


def test_forecasts_keep_the_models_type_as_predict_writes_them(cluster: object, many: Path, lstm: Fixture,
                                                                tmp_path: Path) -> None:
    """yhat in the model's I/O type (float32 here), as `predict --output x.parquet` writes it: score wrote
    float64, so the two outputs of one model did not concatenate to one schema. ColumnSpec takes a str from
    Python as the CLI's comma list (it was read one character at a time)."""
    out = tmp_path / "out"
    run_score(lstm.dir, str(many / "part0.parquet"), out, ColumnSpec(value_col="value"), ScoreConfig(),
              scheduler=cluster.scheduler_address)                          # type: ignore[attr-defined]
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(many / "part0.parquet"),
                 "--output", str(tmp_path / "p.parquet")])
    assert r.returncode == 0, r.stderr.decode()
    got, want = pd.read_parquet(out), pd.read_parquet(tmp_path / "p.parquet")
    assert str(got["yhat_1"].dtype) == str(want["yhat_1"].dtype) == "float32"
    assert ColumnSpec(value_col="load, temp", keep="a").value_col == ("load", "temp")
    assert ColumnSpec(na_values="-999,9", sep=";").na_values == ("-999,9",)
