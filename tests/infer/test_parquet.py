"""Parquet in and out of `seqinfer predict`: the same rules, forecasts and errors as the CSV it holds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from infer_support import Fixture, one_error, parse_csv, run_cli


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    n = 200
    return pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="h"),
                         "sensor": np.where(np.arange(n) % 3, "a", "store 7"),
                         "value": np.round(np.sin(np.arange(n) / 5) * 10 + 100, 3)})


def test_parquet_in_gives_the_forecasts_of_the_same_rows_as_csv(lstm: Fixture, frame: pd.DataFrame,
                                                                 tmp_path: Path) -> None:
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    frame.to_csv(tmp_path / "d.csv", index=False)
    pq = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "d.parquet")])
    csv = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "d.csv")])
    assert pq.returncode == csv.returncode == 0, pq.stderr.decode()
    assert "series=sensor (header: the Parquet schema)" in pq.stderr.decode()
    h1, k1, y1 = parse_csv(pq.stdout)
    h2, k2, y2 = parse_csv(csv.stdout)
    assert h1 == h2 == ["series", "ts", "row", "yhat_1", "yhat_2"]
    np.testing.assert_array_equal(y1, y2)
    assert [int(k[2]) for k in k1] == [int(k[2]) - 1 for k in k2]      # Parquet rows count from 1, no header
    assert [k[0] for k in k1] == [k[0] for k in k2]


def test_csv_dialect_options_on_parquet_are_an_error(lstm: Fixture, frame: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "d.parquet"),
                 "--sep", ";"])
    assert r.returncode == 2
    assert "--sep, --decimal, --na-value and --encoding describe CSV text" in one_error(r.stderr)


def test_a_null_names_the_file_row_and_column(lstm: Fixture, frame: pd.DataFrame, tmp_path: Path) -> None:
    bad = frame.copy()
    bad.loc[40, "value"] = None
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "bad.parquet")])
    assert r.returncode == 2
    assert one_error(r.stderr).startswith(f"seqinfer: error: {tmp_path / 'bad.parquet'}:41:3: missing value")
    _, keys, _ = parse_csv(r.stdout)
    assert keys and max(int(k[2]) for k in keys) < 41                   # every forecast before it went out


def test_parquet_out_holds_what_csv_out_holds(lstm: Fixture, frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    out = tmp_path / "f.parquet"
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "d.parquet"),
                 "--output", str(out)])
    assert r.returncode == 0, r.stderr.decode()
    got = pd.read_parquet(out)
    assert list(got.columns) == ["series", "ts", "row", "yhat_1", "yhat_2"]
    assert str(got["row"].dtype) == "int64" and str(got["yhat_1"].dtype) == "float32"
    assert set(got["series"]) == {"a", "store 7"}
    csv = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "d.parquet")])
    _, _, y = parse_csv(csv.stdout)
    np.testing.assert_array_equal(got[["yhat_1", "yhat_2"]].to_numpy(), y.astype(np.float32))  # %.9g: exact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet", "f.parquet"]   # no temporary left
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(tmp_path / "d.parquet"),
                 "--output", str(tmp_path / "nodir" / "f.parquet")])     # was a FileNotFoundError traceback
    assert r.returncode == 2 and one_error(r.stderr).endswith(
        f"--output {tmp_path / 'nodir' / 'f.parquet'}: No such file or directory")
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", "-", "--output", "-"],
                (tmp_path / "d.parquet").read_bytes())            # `-`: stdin; Parquet there is said so
    assert r.returncode == 2 and "a Parquet file, not CSV" in one_error(r.stderr)
