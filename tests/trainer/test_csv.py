"""CSV input to training: predict's reader and rules (infer/columns.py), errors that name file:line:column."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqinfer.infer.errors import ConfigError, DataError
from seqinfer.trainer.config import DataConfig
from seqinfer.trainer.data import build, load_series


def write(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def series(path: str, **kw: object):  # noqa: ANN201
    return load_series(DataConfig(path=path, **kw))  # type: ignore[arg-type]


def test_header_is_detected_and_column_by_name_or_1_based_number(tmp_path: Path) -> None:
    p = write(tmp_path, "time,value\n0,1.5\n1,2.5\n2,3.5\n")
    by_name, by_number, by_rules = series(p, value_col=("value",)), series(p, value_col=("2",)), series(p)
    assert by_name.column == by_number.column == by_rules.column == "value"
    np.testing.assert_array_equal(by_name.values[0][:, 0], [1.5, 2.5, 3.5])
    assert "time=time (passed through" in by_rules.notes[0]
    headless = series(write(tmp_path, "0,1.5\n1,2.5\n", "h.csv"), value_col=("2",))
    np.testing.assert_array_equal(headless.values[0][:, 0], [1.5, 2.5])
    assert headless.column == "column 2"


def test_single_column_needs_no_option_and_a_header_0_needs_header_yes(tmp_path: Path) -> None:
    assert series(write(tmp_path, "y\n1\n2\n3\n")).values[0][:, 0].tolist() == [1.0, 2.0, 3.0]
    pandas = write(tmp_path, "0\n1.5\n2.5\n", "p.csv")              # pandas.Series.to_csv(index=False)
    assert series(pandas).values[0][:, 0].tolist() == [0.0, 1.5, 2.5]
    assert series(pandas, header="yes").values[0][:, 0].tolist() == [1.5, 2.5]


def test_ambiguous_or_unknown_column_is_a_config_error(tmp_path: Path) -> None:
    p = write(tmp_path, "a,b\n1.5,2\n2.5,1\n")
    with pytest.raises(ConfigError, match=r"columns 1 \('a'\), 2 \('b'\) are all numbers; .* --value-col"):
        series(p)
    with pytest.raises(ConfigError, match="--value-col 'c': no such column"):
        series(p, value_col=("c",))
    with pytest.raises(ConfigError, match="--value-col 5: there are only 2 column"):
        series(p, value_col=("5",))


def test_series_column_splits_series(tmp_path: Path) -> None:
    p = write(tmp_path, "id,v\na,1\nb,10\na,2\nb,20\na,3\n")
    c = series(p, value_col=("v",), series_col="id")
    assert c.ids == ["a", "b"]
    assert [v[:, 0].tolist() for v in c.values] == [[1, 2, 3], [10, 20]]
    assert [ln.tolist() for ln in c.lines or []] == [[2, 4, 6], [3, 5]]
    assert series(p).ids == ["a", "b"]                  # a text column is the series id by the rules


@pytest.mark.parametrize(("cell", "why"), [
    ("", "missing value (empty field)"), ("abc", "'abc' is not a number"), ("nan", "missing value ('nan')"),
    ("inf", "'inf' is not a finite float32 number"), ("1e39", "'1e39' is not a finite float32 number"),
])
def test_bad_value_names_file_line_and_column(tmp_path: Path, cell: str, why: str) -> None:
    p = write(tmp_path, f"t,value\n0,1.0\n1,2.0\n2,{cell}\n3,4.0\n")
    with pytest.raises(DataError) as e:
        series(p, value_col=("value",))
    assert e.value.line == 4 and e.value.column == 2 and e.value.source == p
    assert str(e.value).startswith(f"{p}:4:2: ") and why in str(e.value)


def test_short_row_is_an_error_with_its_line(tmp_path: Path) -> None:
    p = write(tmp_path, "t,value\n0,1.0\n1\n")
    with pytest.raises(DataError, match=r":3: 1 field\(s\), expected 2 like line 1"):
        series(p)


def test_one_row_per_line_a_quoted_newline_is_an_error_with_its_line(tmp_path: Path) -> None:
    p = write(tmp_path, 'note,v\nx,1\n"two\nlines",1\nx,2\n')
    with pytest.raises(DataError, match=r"d.csv:3:1: bad CSV quoting: the quoted field does not close on its "
                                        r"line \(a line break inside a quoted cell"):
        series(p, value_col=("v",))
    p = write(tmp_path, 'note,v\nx,1\n"a"b,1\n')               # closed, then more: plain bad quoting
    with pytest.raises(DataError, match=r"d.csv:3: bad CSV quoting: ',' expected after"):
        series(p, value_col=("v",))


def test_fill_interpolate_previous_drop_report_counts(tmp_path: Path) -> None:
    p = write(tmp_path, "t,v\n0,1\n1,\n2,3\n3,nan\n4,5\n5,NA\n")
    filled = series(p, fill="interpolate")
    said = ("3 missing value(s) interpolated (1 at a series' start or end, with one neighbour: its nearest "
            "value)")
    assert filled.filled == 3 and any(said in n for n in filled.notes), filled.notes
    np.testing.assert_array_equal(filled.values[0][:, 0], [1, 2, 3, 4, 5, 5])   # an end takes the nearest
    previous = series(p, fill="previous")
    np.testing.assert_array_equal(previous.values[0][:, 0], [1, 1, 3, 3, 5, 5])
    dropped = series(p, fill="drop")
    assert dropped.filled == 3 and any("3 row(s) with a missing value left out" in n for n in dropped.notes)
    np.testing.assert_array_equal(dropped.values[0][:, 0], [1, 3, 5])
    assert (dropped.lines or [])[0].tolist() == [2, 4, 6]


def test_gaps_in_time_are_reported(tmp_path: Path) -> None:
    days = [f"2020-01-{d:02d}" for d in (1, 2, 3, 4, 5, 6, 12, 13, 14)]
    p = write(tmp_path, "date,v\n" + "".join(f"{d},{i}\n" for i, d in enumerate(days)))
    notes = series(p).notes
    assert any("1 gap(s) longer than 1.5x" in n and "6.0 steps, ends at line 8" in n for n in notes), notes


def test_business_days_skip_weekends_without_gaps(tmp_path: Path) -> None:
    """A weekday series (a price or weekday-sales download) steps Friday -> Monday every week: weekends,
    not gaps (each was a gap of 3 steps). A missing Wednesday is still one; a series that has weekend days
    and misses one weekend has a gap there."""
    def notes(days: list[np.datetime64], name: str) -> list[str]:
        p = write(tmp_path, "date,v\n" + "".join(f"{d},{i}\n" for i, d in enumerate(days)), name)
        return [n for n in series(p).notes if n.startswith("time:")]

    every = [np.datetime64("2024-01-01") + i for i in range(120)]           # 2024-01-01 was a Monday
    weekdays = [d for d in every if (d.astype(int) + 3) % 7 < 5]
    got = notes(weekdays, "biz.csv")
    assert got == ["time: business days: 17 step(s) from a Friday to a Monday, not counted as gaps"], got
    got = notes([d for d in weekdays if d != np.datetime64("2024-02-14")], "biz_gap.csv")
    assert any(n.startswith("time: 1 gap(s)") and "2.0 steps, ends at line 34" in n for n in got), got
    daily = [d for d in every if d not in (np.datetime64("2024-02-17"), np.datetime64("2024-02-18"))]
    got = notes(daily, "daily.csv")
    assert any(n.startswith("time: 1 gap(s)") and "3.0 steps, ends at line 49" in n for n in got), got
    assert not any("business days" in n for n in got), got


def test_date_order_reads_dates_the_first_lines_leave_open(tmp_path: Path) -> None:
    """Hourly d/m/y times on the 1st and 2nd of March: no field above 12, so auto cannot tell the order and
    reads no gaps; --date-order dmy reads them."""
    hours = [h for h in range(40) if h not in range(20, 25)]
    stamps = [f"{1 + h // 24:02d}/03/2024 {h % 24:02d}:00" for h in hours]
    p = write(tmp_path, "Time,v\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps)))
    auto = series(p).notes
    assert "--date-order dmy or mdy reads them" in auto[0] and not any("gap" in n for n in auto[1:]), auto
    said = series(p, date_order="dmy").notes
    assert "(passed through, d/m/y)" in said[0], said
    assert any("1 gap(s)" in n and "6.0 steps, ends at line 22" in n for n in said), said
    with pytest.raises(ConfigError, match="data.date_order: only applies to a CSV"):
        DataConfig(date_order="mdy")


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot open"):
        series(str(tmp_path / "nope.csv"))
    with pytest.raises(DataError, match="no data rows"):
        series(write(tmp_path, ""))


def test_csv_feeds_the_dataset(tmp_path: Path) -> None:
    rows = "\n".join(f"a,{i}" if i < 50 else f"b,{i + 1000}" for i in range(100))
    p = write(tmp_path, "id,v\n" + rows + "\n")
    ds = build(DataConfig(path=p, value_col=("v",), series_col="id", window=4))
    assert ds.series.ids == ["a", "b"]
    full = np.concatenate([ds.windows["train"].x[:, :, 0], ds.windows["train"].y], axis=1)
    assert np.all(np.diff(full, axis=1) == 1)                 # never across the a|b boundary (49 -> 1050)


def _export(order: np.ndarray, days: int = 40) -> str:
    """A database export of two sensors over `days` days, one NULL each, its rows in `order`."""
    rows = []
    for sid, base in (("s1", 10.0), ("s2", 500.0)):
        for d in range(days):
            v = "" if d == 17 else f"{base + d + 0.25 * (d % 7):.2f}"
            rows.append(f"{sid},2024-{1 + d // 28:02d}-{1 + d % 28:02d},{v}")
    return "sensor,day,reading\n" + "".join(rows[i] + "\n" for i in order)


def test_a_whole_file_out_of_time_order_is_sorted_per_series_before_filling(tmp_path: Path) -> None:
    """A database export ordered by another key: train (and evaluate, the API) sort each series by time,
    then fill, so the values are the sorted file's exactly; the note says so. A stream cannot sort."""
    n = 80
    shuffled = np.random.default_rng(3).permutation(n)
    kw = {"value_col": ("reading",), "series_col": "sensor", "time_col": "day", "fill": "previous"}
    want = series(write(tmp_path, _export(np.arange(n)), "sorted.csv"), **kw)
    got = series(write(tmp_path, _export(shuffled), "shuffled.csv"), **kw)
    assert sorted(got.ids) == want.ids == ["s1", "s2"]                  # first seen first
    for sid, b in zip(want.ids, want.values, strict=True):
        np.testing.assert_array_equal(got.values[got.ids.index(sid)], b)  # the NULL took the day before's
    assert want.values[0][17, 0] == want.values[0][16, 0] and want.filled == got.filled == 2
    note = next(x for x in got.notes if "not in time order" in x)
    assert "rows of 2 series" in note and "sorted by time before filling" in note
    assert not any("does not increase" in x for x in got.notes)          # nothing left out of order
    assert not any("not in time order" in x for x in want.notes)


def test_out_of_order_rows_stay_in_input_order_when_a_time_does_not_read(tmp_path: Path) -> None:
    days = [str(np.datetime64("2024-01-01") + i) for i in (1, 0, *range(2, 60))]
    days[55] = "soon"                                 # past the lines that decide the column's format
    p = write(tmp_path, "day,v\n" + "".join(f"{d},{i}\n" for i, d in enumerate(days)))
    got = series(p, value_col=("v",), time_col="day")
    assert got.values[0][:, 0].tolist() == list(range(len(days)))
    assert any("rows are used in input order (sort the file by time first)" in x for x in got.notes)
    assert not any("not in time order" in x for x in got.notes)


def test_cli_train_on_a_file_out_of_time_order_fits_what_the_sorted_file_fits(tmp_path: Path) -> None:
    n = 2 * 120
    files = {"sorted": np.arange(n), "shuffled": np.random.default_rng(4).permutation(n)}
    fit = {}
    for name, order in files.items():
        path = write(tmp_path, _export(order, 120), f"{name}.csv")
        r = subprocess.run([sys.executable, "-m", "seqinfer.infer.cli", "train", "--data", path,
                            "--value-col", "reading", "--series-col", "sensor", "--time-col", "day",
                            "--fill", "previous", "--model", "rnn", "--window", "6", "--epochs", "2",
                            "--hidden", "4", "--device", "cpu", "--out", str(tmp_path / name)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert ("not in time order" in r.stderr) == (name == "shuffled"), r.stderr
        fit[name] = json.loads((tmp_path / name / "rnn" / "metrics.json").read_text())
    assert fit["shuffled"]["data"]["fingerprint"] == fit["sorted"]["data"]["fingerprint"]
    # Compared exactly: on the CPU (a GPU's RNN kernels do not give the same sums twice)
    assert fit["shuffled"]["metrics"]["test"] == fit["sorted"]["metrics"]["test"]


def test_times_that_step_back_and_repeat_are_several_series_not_one_to_sort(tmp_path: Path) -> None:
    """store,date,sales in blocks per store with only --value-col sales: sorting by time would interleave
    the stores into one saw-tooth series. That is an error naming --series-col; with it, two series."""
    rows = [f"{st},{np.datetime64('2024-01-01') + i},{100 * st + i}" for st in (1, 2) for i in range(60)]
    p = write(tmp_path, "store,date,sales\n" + "".join(r + "\n" for r in rows))
    with pytest.raises(ConfigError, match=r"repeats within the series .* first lines 2 and 62.*--series-col"):
        series(p, value_col=("sales",))
    two = series(p, value_col=("sales",), series_col="store")
    assert two.ids == ["1", "2"] and [v[:2, 0].tolist() for v in two.values] == [[100, 101], [200, 201]]
    assert not any("time order" in n for n in two.notes)


def test_a_series_named_by_two_columns_is_read_per_pair_and_sorted_per_pair(tmp_path: Path) -> None:
    """store,item,date,sales ordered by date, pairs interleaved, one pair's rows out of time order: with
    --series-col store,item each pair is a series (id `1/2`), sorted by time on its own."""
    rows = [f"{st},{it},{np.datetime64('2024-01-01') + d},{100 * st + 10 * it + d}"
            for d in range(30) for st in (1, 2) for it in (1, 2)]
    rows[4], rows[8] = rows[8], rows[4]                  # pair 1/1, days 1 and 2 swapped
    p = write(tmp_path, "store,item,date,sales\n" + "".join(r + "\n" for r in rows))
    with pytest.raises(ConfigError, match=r"repeats within a series .*--series-col store,item"):
        series(p, value_col=("sales",), series_col="store")
    four = series(p, series_col="store,item")
    assert four.ids == ["1/1", "1/2", "2/1", "2/2"]
    assert [v[:3, 0].tolist() for v in four.values] == [[110, 111, 112], [120, 121, 122], [210, 211, 212],
                                                        [220, 221, 222]]
    assert any("time order" in n for n in four.notes)


def _local_quarter_hours(n: int, start: str, jitter: bool = False) -> list[str]:
    """15-minute stamps on a local clock (no zone) that is set back an hour at 02:00 on 2024-11-03, as US
    daylight saving time ends: 01:00-01:45 come twice. `jitter`: every 5th row swapped with the next."""
    t0, out = np.datetime64(start), []
    for i in range(n):
        t = t0 + np.timedelta64(15 * i, "m")
        out.append(t - np.timedelta64(1, "h") if t >= np.datetime64("2024-11-03T02:00") else t)
    if jitter:
        for i in range(0, n - 1, 5):
            out[i], out[i + 1] = out[i + 1], out[i]
    return [str(t).replace("T", " ") for t in out]


def test_a_clock_set_back_an_hour_keeps_input_order(tmp_path: Path) -> None:
    """A smart meter's local-time file across the end of daylight saving time: its time steps back an hour
    once and repeats 01:00-01:45, yet the rows are in order. They stay so (it was the error for several
    series read as one, whose advice, sorting by time, would interleave the two hours), and the note says
    why; a log whose rows step back often, by minutes, is still sorted."""
    stamps = _local_quarter_hours(200, "2024-11-02T12:00")
    p = write(tmp_path, "Interval Start,kWh\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps)))
    got = series(p)
    assert got.values[0][:, 0].tolist() == list(range(200))
    note = next(x for x in got.notes if "does not increase" in x)
    assert note.startswith("time: 1 step(s) where time does not increase within a series (first at line 58)")
    assert "a clock set back, as when daylight saving time ends" in note
    hourly = _local_quarter_hours(800, "2024-11-02T12:00")[::4]       # 01:00 twice: a repeat, no step back
    p = write(tmp_path, "time,kWh\n" + "".join(f"{t},{i}\n" for i, t in enumerate(hourly)), "hourly.csv")
    note = next(x for x in series(p).notes if "does not increase" in x)
    assert note.endswith("(each a time repeated: a clock set back an hour, or a row written twice?)"), note
    jittered = _local_quarter_hours(200, "2024-10-02T12:00", jitter=True)     # no clock change in it
    p = write(tmp_path, "Interval Start,kWh\n" + "".join(f"{t},{i}\n" for i, t in enumerate(jittered)),
              "jittered.csv")
    got = series(p)
    assert any("not in time order" in x for x in got.notes), got.notes
    assert got.values[0][:2, 0].tolist() == [1, 0]


def test_train_refuses_a_sheets_totals_row(tmp_path: Path) -> None:
    rows = "".join(f"{np.datetime64('2024-01-01') + i},{i % 7}\n" for i in range(30))
    p = write(tmp_path, "Date,Sales\n" + rows + "Total,90\n")
    with pytest.raises(DataError, match=r"d.csv:32:1: 'Total' in the time column: a totals row"):
        series(p)


def test_train_refuses_a_sheets_sum_row_without_a_label(tmp_path: Path) -> None:
    rows = "".join(f"{np.datetime64('2024-01-01') + i},{i % 7}\n" for i in range(30))
    p = write(tmp_path, "Date,Sales\n" + rows + ",90\n")
    with pytest.raises(DataError, match=r"d.csv:32:1: no time \(an empty field\) in the time column"):
        series(p)


def test_train_reads_a_newest_first_download_oldest_first(tmp_path: Path) -> None:
    rows = [f"{np.datetime64('2024-01-01') + i},{i}" for i in range(30)]
    got = series(write(tmp_path, "Date,Close\n" + "".join(r + "\n" for r in reversed(rows))))
    assert got.values[0][:, 0].tolist() == list(range(30))
    assert any("sorted by time" in n for n in got.notes)


def test_a_gzip_csv_trains_as_the_csv_inside(tmp_path: Path) -> None:
    """train --data sales.csv.gz reads the text inside (as pandas does); an error in it still names its
    line and column."""
    import gzip

    text = "id,date,value\n" + "".join(f"{s},2020-01-{d:02d},{d * (1 + k)}.5\n"
                                       for k, s in enumerate("ab") for d in range(1, 29))
    plain = series(write(tmp_path, text))
    packed = tmp_path / "d.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    got = series(str(packed))
    assert got.ids == plain.ids == ["a", "b"] and got.column == "value"
    for a, b in zip(got.values, plain.values, strict=True):
        np.testing.assert_array_equal(a, b)
    packed.write_bytes(gzip.compress(text.replace("2020-01-05,5.5", "2020-01-05,x").encode()))
    with pytest.raises(DataError, match=r"d\.csv\.gz:6:3: 'x' is not a number"):
        series(str(packed))


def test_train_keep_accepts_an_extra_column_as_predict_does(tmp_path: Path) -> None:
    """The reader's errors advise --keep in every command; train has it too (it reads past the column),
    and the checkpoint's data config carries it, so export rebuilds the same test windows."""
    text = "site,date,sales,unit\n" + "".join(f"north,{np.datetime64('2020-01-01') + d},{d % 7}.5,kg\n"
                                               for d in range(120))
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match="column 4 \\('unit'\\) holds text: pass it through with --keep"):
        series(p, series_col="site")
    assert series(p, series_col="site", keep=("unit",)).ids == ["north"]
    out = tmp_path / "art"
    r = subprocess.run([sys.executable, "-m", "seqinfer.infer.cli", "train", "--data", p, "--series-col",
                        "site", "--keep", "unit", "--model", "rnn", "--window", "8", "--hidden", "4",
                        "--epochs", "1", "--jobs", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "kept=unit" in r.stderr
    ckpt = json.loads((out / "rnn" / "metrics.json").read_text())
    assert ckpt["data"]["config"]["keep"] == ["unit"]


def test_a_last_line_cut_short_is_named_as_one(tmp_path: Path) -> None:
    text = "date,value\n" + "".join(f"{np.datetime64('2020-01-01') + d},{d % 7}.5\n" for d in range(40))
    with pytest.raises(DataError, match=r"d\.csv:42: 1 field\(s\), expected 2 like line 1 \(the last line, "
                                        r"with no newline: cut short while the file was being written\?"):
        series(write(tmp_path, text + "2020-02-10"))
    with pytest.raises(DataError, match=r"d\.csv:42: 1 field\(s\), expected 2 like line 1$"):
        series(write(tmp_path, text + "2020-02-10\n"))


def test_a_semicolon_file_with_decimal_commas_trains_from_the_same_values(tmp_path: Path) -> None:
    """--sep ';' --decimal ',' reach train's reader (DataConfig.columns); on the sine they need a file."""
    v = np.round(np.sin(np.arange(200) / 5) * 100, 2)
    (tmp_path / "de.csv").write_text("Datum;Wert\r\n" + "".join(
        f"{d % 28 + 1:02d}.{d // 28 % 12 + 1:02d}.{2020 + d // 336};{str(x).replace('.', ',')}\r\n"
        for d, x in enumerate(v)))
    said: list[str] = []
    series = load_series(DataConfig(path=str(tmp_path / "de.csv"), sep=";", decimal=","), report=said.append)
    np.testing.assert_array_equal(series.values[0][:, 0], v)
    assert "fields separated by ';', decimal ','" in said[0]
    with pytest.raises(ConfigError, match="data.sep: only applies to a CSV"):
        DataConfig(sep=";")


def test_thousands_separators_reach_trains_reader(tmp_path: Path) -> None:
    """--thousands reaches train's reader (DataConfig.columns): a German sheet's 1.287,5 trains from 1287.5;
    a checkpoint's data config without the field reads as before (NEWER_FIELDS)."""
    v = np.round(1000 + np.sin(np.arange(200) / 5) * 800, 1)
    de = [f"{x:,.1f}".translate(str.maketrans(",.", ".,")) for x in v]
    (tmp_path / "de.csv").write_text("Datum;Wert\r\n" + "".join(
        f"{d % 28 + 1:02d}.{d // 28 % 12 + 1:02d}.{2020 + d // 336};{x}\r\n" for d, x in enumerate(de)))
    cfg = DataConfig(path=str(tmp_path / "de.csv"), sep=";", decimal=",", thousands=".")
    np.testing.assert_array_equal(load_series(cfg).values[0][:, 0], v)
    assert DataConfig.from_dict({"path": "x.csv"}).thousands == ""


def test_a_missing_value_code_is_filled_as_a_missing_value(tmp_path: Path) -> None:
    v = np.round(np.sin(np.arange(100) / 5) * 10, 3)
    cells = ["-9999" if i in (30, 31) else str(x) for i, x in enumerate(v)]
    (tmp_path / "log.csv").write_text("t,temp\n" + "".join(f"{i},{c}\n" for i, c in enumerate(cells)))
    series = load_series(DataConfig(path=str(tmp_path / "log.csv"), na_values=("-9999",), fill="interpolate"))
    got = series.values[0][:, 0]
    np.testing.assert_allclose(got[30:32], v[29] + (v[32] - v[29]) * np.array([1, 2]) / 3)
    assert got.min() > -100


def test_train_counts_a_missing_value_code_past_the_first_lines_as_predict_does(tmp_path: Path) -> None:
    v = [f"{12 + np.sin(i / 10):.3f}" for i in range(400)]
    v[250] = "-9999"
    s = series(write(tmp_path, "temp\n" + "\n".join(v) + "\n"))
    assert any(n.startswith("1 value(s) such as -9999 far outside the values around them (the first at line "
                            "252)") for n in s.notes), s.notes


def test_train_and_evaluate_read_a_parquet_file_as_its_csv_twin(tmp_path: Path) -> None:
    """A .parquet --data (train) or --input (evaluate) is read by predict's rules, as the CSV it stands for
    (it was refused as "a Parquet file, not CSV: name it with a .parquet suffix", which it had)."""
    import pandas as pd

    n = 240
    df = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Berlin"),
                       "sensor": np.repeat(["a", "b"], n // 2),
                       "value": np.round(np.sin(np.arange(n) / 5), 4)})
    df.to_parquet(tmp_path / "t.parquet", index=False)
    df.to_csv(tmp_path / "t.csv", index=False)
    said: list[str] = []
    got = load_series(DataConfig(path=str(tmp_path / "t.parquet")), report=said.append)
    want = load_series(DataConfig(path=str(tmp_path / "t.csv")))
    assert got.ids == want.ids == ["a", "b"] and "(header: the Parquet schema)" in said[0], said
    for a, b in zip(got.values, want.values, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (got.lines or [])[0][0] == 1                     # row 1 of the file (the schema is line 0)
