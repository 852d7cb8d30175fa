"""CSV input: header detection, column choice, series ids, and errors that name file:line:column."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqinfer.infer.errors import ConfigError, DataError
from seqinfer.trainer.config import DataConfig
from seqinfer.trainer.csvdata import read_csv
from seqinfer.trainer.data import build


def write(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_header_is_detected_and_column_by_name_or_index(tmp_path: Path) -> None:
    p = write(tmp_path, "time,value\n0,1.5\n1,2.5\n2,3.5\n")
    by_name = read_csv(p, column="value")
    by_index = read_csv(p, column="1")
    assert by_name.column == by_index.column == "value"
    np.testing.assert_array_equal(by_name.values[0], [1.5, 2.5, 3.5])
    headless = read_csv(write(tmp_path, "0,1.5\n1,2.5\n", "h.csv"), column="1")
    np.testing.assert_array_equal(headless.values[0], [1.5, 2.5])
    assert headless.column == "1"


def test_single_column_needs_no_column_option(tmp_path: Path) -> None:
    assert read_csv(write(tmp_path, "y\n1\n2\n\n3\n")).values[0].tolist() == [1.0, 2.0, 3.0]


def test_ambiguous_or_unknown_column_is_a_config_error(tmp_path: Path) -> None:
    p = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ConfigError, match="data.column: .* 2 candidate columns"):
        read_csv(p)
    with pytest.raises(ConfigError, match="no column named 'c'"):
        read_csv(p, column="c")
    with pytest.raises(ConfigError, match="index 5 out of range"):
        read_csv(p, column="5")


def test_series_column_splits_series(tmp_path: Path) -> None:
    p = write(tmp_path, "id,v\na,1\nb,10\na,2\nb,20\na,3\n")
    c = read_csv(p, column="v", series_col="id")
    assert c.ids == ["a", "b"]
    assert [v.tolist() for v in c.values] == [[1, 2, 3], [10, 20]]
    assert read_csv(p, series_col="id").column == "v"     # the one column left


@pytest.mark.parametrize(("cell", "why"), [
    ("", "missing value"), ("abc", "'abc' is not a finite number"), ("nan", "'nan' is not a finite number"),
    ("inf", "'inf' is not a finite number"), ("-Infinity", "is not a finite number"),
])
def test_bad_value_names_file_line_and_column(tmp_path: Path, cell: str, why: str) -> None:
    p = write(tmp_path, f"t,value\n0,1.0\n1,2.0\n2,{cell}\n3,4.0\n")
    with pytest.raises(DataError) as e:
        read_csv(p, column="value")
    assert e.value.line == 4 and e.value.column == "value" and e.value.source == p
    assert str(e.value).startswith(f"{p}:4:value: ") and why in str(e.value)


def test_short_row_is_a_missing_value(tmp_path: Path) -> None:
    p = write(tmp_path, "t,value\n0,1.0\n1\n")
    with pytest.raises(DataError, match=r":3:value: missing value"):
        read_csv(p, column="value")


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    p = write(tmp_path, 'note,v\n"two\nlines",1\n\nx,oops\n')
    with pytest.raises(DataError) as e:
        read_csv(p, column="v")
    assert e.value.line == 5


def test_fill_interpolate_and_drop_report_counts(tmp_path: Path) -> None:
    p = write(tmp_path, "t,v\n0,1\n1,\n2,3\n3,nan\n4,5\n5,x\n")
    filled = read_csv(p, column="v", fill="interpolate")
    assert filled.filled == 3
    np.testing.assert_array_equal(filled.values[0], [1, 2, 3, 4, 5, 5])   # the end takes the nearest value
    dropped = read_csv(p, column="v", fill="drop")
    assert dropped.filled == 3
    np.testing.assert_array_equal(dropped.values[0], [1, 3, 5])


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot open"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no data rows"):
        read_csv(write(tmp_path, "\n\n"))


def test_csv_feeds_the_dataset(tmp_path: Path) -> None:
    rows = "\n".join(f"a,{i}" if i < 50 else f"b,{i + 1000}" for i in range(100))
    p = write(tmp_path, "id,v\n" + rows + "\n")
    ds = build(DataConfig(path=p, column="v", series_col="id", window=4))
    assert ds.series.ids == ["a", "b"]
    full = np.concatenate([ds.windows["train"].x[:, :, 0], ds.windows["train"].y], axis=1)
    assert np.all(np.diff(full, axis=1) == 1)                 # never across the a|b boundary (49 -> 1050)
