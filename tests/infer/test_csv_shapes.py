"""The README's table "Your CSV file": one test per row, through the CLI in a subprocess.

Each file is written the way real exports write it (pandas, spreadsheets, loggers, databases); each test
checks what predict said it read, the forecast count, the passed-through columns and every forecast against
eager PyTorch on the windows the user meant (each series on its own values, in file order).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from infer_support import Fixture, one_error, parse_csv, run_cli

N = 40          # rows per series; the fixture's window is 16


def values(n: int = N, seed: int = 0, level: float = 0.0) -> list[str]:
    rng = np.random.default_rng(seed)
    v = 0.5 + 2 * np.sin(np.arange(n) / 3 + seed) + 0.1 * rng.standard_normal(n)
    return [f"{level + x:.4f}" for x in v]


def predict(fx: Fixture, text: str | bytes, *args: str) -> tuple[str, list[list[str]], dict[str, list[str]]]:
    """Run predict; -> (stderr, output rows with header, {column: values})."""
    r = run_cli(["predict", str(fx.dir), "--provider", "cpu", *args], text)
    assert r.returncode == 0, r.stderr.decode()
    rows = list(csv.reader(io.StringIO(r.stdout.decode())))
    cols = {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}
    return r.stderr.decode(), rows, cols


def check(fx: Fixture, cols: dict[str, list[str]], meant: dict[str, list[tuple[int, str]]]) -> None:
    """Forecasts equal eager PyTorch on each series' own windows: `meant` maps series -> (line, value)."""
    want: dict[int, np.ndarray] = {}
    for rows in meant.values():
        v = np.array([float(x) for _, x in rows], np.float32)
        if len(v) < fx.window:
            continue
        win = np.lib.stride_tricks.sliding_window_view(v, fx.window)
        for (line, _), y in zip(rows[fx.window - 1:], fx.eager(win), strict=True):
            want[line] = y
    got_lines = [int(r) for r in cols["row"]]
    assert sorted(got_lines) == sorted(want), "one forecast per row whose window is complete, no more"
    assert got_lines == sorted(got_lines), "input order"
    got = np.array([[float(cols[f"yhat_{h + 1}"][i]) for h in range(2)] for i in range(len(got_lines))])
    np.testing.assert_allclose(got, np.array([want[ln] for ln in got_lines]), atol=1e-5, rtol=1e-5)


def test_date_value_iso_dates(lstm: Fixture) -> None:
    dates = [str(np.datetime64("2020-01-01") + i) for i in range(N)]
    v = values()
    text = "date,value\n" + "".join(f"{d},{x}\n" for d, x in zip(dates, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "reading value=value, time=date (passed through, iso), series=none (header: line 1)" in err
    assert cols["date"] == dates[15:]
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_timestamp_series_value_interleaved(lstm: Fixture) -> None:
    a, b = values(seed=1), values(seed=2, level=100)
    lines, meant = ["timestamp,series,value"], {"a": [], "b": []}
    for i in range(N):
        for sid, v in (("a", a[i]), ("b", b[i])):
            lines.append(f"2024-03-01T{i // 60:02d}:{i % 60:02d}:00Z,{sid},{v}")
            meant[sid].append((len(lines), v))
    err, rows, cols = predict(lstm, "\n".join(lines) + "\n")
    assert "value=value, time=timestamp (passed through, iso), series=series" in err
    assert rows[0] == ["series", "timestamp", "row", "yhat_1", "yhat_2"]
    assert cols["series"].count("a") == cols["series"].count("b") == N - 15
    check(lstm, cols, meant)


def test_sensor_value_with_text_ids_is_two_series_never_one(lstm: Fixture) -> None:
    a, b = values(seed=3), values(seed=4, level=-50)
    lines, meant = ["sensor,value"], {"a": [], "b": []}
    for i in range(N):
        for sid, v in (("a", a[i]), ("b", b[i])):
            lines.append(f"{sid},{v}")
            meant[sid].append((len(lines), v))
    err, _, cols = predict(lstm, "\n".join(lines) + "\n")
    assert "series=sensor" in err and len(cols["row"]) == 2 * (N - 15)       # not 2N - 15 mixed windows
    check(lstm, cols, meant)


def test_headerless_text_id_lines_are_data(lstm: Fixture) -> None:
    a, b = values(seed=5), values(seed=6)
    lines = [f"{sid},{v}" for i in range(N) for sid, v in (("a", a[i]), ("b", b[i]))]
    err, _, cols = predict(lstm, "\n".join(lines) + "\n")
    assert "series=column 1 (header: none)" in err
    check(lstm, cols, {s: [(i + 1, lines[i].split(",")[1]) for i in range(len(lines)) if lines[i][0] == s]
                       for s in "ab"})


def test_headerless_numbers(lstm: Fixture) -> None:
    v = values()
    err, rows, cols = predict(lstm, "\n".join(v) + "\n")
    assert "value=column 1, time=none, series=none (header: none)" in err and rows[0][0] == "row"
    check(lstm, cols, {"": [(i + 1, x) for i, x in enumerate(v)]})


def test_pandas_unnamed_series_header_0(lstm: Fixture) -> None:
    """pandas.Series.to_csv(index=False) writes a header line `0`: data under auto, a header with yes."""
    v = values()
    text = "0\n" + "\n".join(v) + "\n"
    err, _, cols = predict(lstm, text, "--header", "yes")
    assert "(header: line 1)" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})
    err, _, cols = predict(lstm, text)
    assert "(header: none)" in err
    check(lstm, cols, {"": [(1, "0")] + [(i + 2, x) for i, x in enumerate(v)]})


def test_pandas_dataframe_with_its_index(lstm: Fixture) -> None:
    """df.to_csv() keeps the index: an unnamed first column 0, 1, 2 ... passed through, not a value."""
    v = values()
    err, rows, cols = predict(lstm, ",value\n" + "".join(f"{i},{x}\n" for i, x in enumerate(v)))
    assert "value=value, time=column 1 (passed through, number)" in err and rows[0][0] == ""
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_iso_datetimes_with_zones_and_gaps_reported(lstm: Fixture) -> None:
    v = values()
    hours = [i if i < 30 else i + 10 for i in range(N)]                 # 10 hours missing before row 30
    stamps = [f"2021-06-0{1 + h // 24}T{h % 24:02d}:00:00+02:00" for h in hours]
    text = "time,value\n" + "".join(f"{t},{x}\n" for t, x in zip(stamps, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "time: 1 gap(s) longer than 1.5x the series' usual step; the longest, 11.0 steps, ends at line " \
        "32" in err, err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize(("step", "longest"), [("D", "2.0"), ("M", "1.9")])
def test_one_missing_day_or_month_is_a_gap(lstm: Fixture, step: str, longest: str) -> None:
    """A daily or monthly series with one row missing (2021-03-14; 2021-03): one gap. Months' own lengths
    (28 to 31 days) are not gaps."""
    v = values()
    first = np.datetime64("2021-03-01" if step == "D" else "2019-01", step)
    times = first + np.arange(1 + N)
    times = np.delete(times, 13 if step == "D" else 26)                # 2021-03-14; 2021-03
    text = "date,value\n" + "".join(f"{np.datetime64(t, 'D')},{x}\n"
                                     for t, x in zip(times, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert f"time: 1 gap(s) longer than 1.5x the series' usual step; the longest, {longest} steps" in err, err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize(("shape", "name"), [("{m:02d}.{y}", "mm.yyyy"), ("{m}/{y}", "mm.yyyy"),
                                            ("{y}{m:02d}", "yyyymm")])
def test_months_written_month_year_or_yyyymm_are_months(lstm: Fixture, shape: str, name: str) -> None:
    """A monthly file with its months as 01.2010 (a German statistics office) or 201001: read as months, the
    one month missing one gap. As numbers, 01.2010 was 1.201 (train sorted the file by it, every January
    first) and 201012 -> 201101 a gap of 89 steps."""
    v = values()
    months = [i for i in range(N + 1) if i != 20]                       # 2011-09 missing
    stamps = [shape.format(m=1 + i % 12, y=2010 + i // 12) for i in months]
    text = "period,value\n" + "".join(f"{t},{x}\n" for t, x in zip(stamps, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert f"time=period (passed through, {name})" in err, err
    assert "time: 1 gap(s) longer than 1.5x the series' usual step; the longest, 2.0 steps, ends at line 22" \
        in err, err
    assert "does not increase" not in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_iso_weeks_are_read_for_gaps_across_a_53_week_year(lstm: Fixture) -> None:
    """Weekly data written as ISO weeks (2020-W53, 2021-W01, as Eurostat and pandas' %G-W%V write them): the
    53rd week of 2020 is one step, the weeks missing later one gap."""
    v = values()
    mondays = np.datetime64("2020-11-02") + 7 * np.r_[0:25, 28:N + 3]              # 3 weeks missing
    weeks = [f"{d.astype(object).isocalendar()[0]}-W{d.astype(object).isocalendar()[1]:02d}" for d in mondays]
    assert "2020-W53" in weeks
    text = "week,sales\n" + "".join(f"{w},{x}\n" for w, x in zip(weeks, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "time=week (passed through, iso week)" in err
    assert "time: 1 gap(s) longer than 1.5x the series' usual step; the longest, 4.0 steps, ends at line 27" \
        in err, err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_quoted_header_and_fields_yearly(lstm: Fixture) -> None:
    """A statistics-package export: quoted names, years, quoted numbers."""
    v = values()
    text = '"YEAR","SUNACTIVITY"\n' + "".join(f'"{1700 + i}","{x}"\n' for i, x in enumerate(v))
    err, rows, cols = predict(lstm, text)
    assert "value=SUNACTIVITY, time=YEAR (passed through, number)" in err
    assert rows[0][:2] == ["YEAR", "row"] and cols["YEAR"][0] == "1715"
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize("header", [True, False])
def test_yyyymmdd_dates_are_time_not_series(lstm: Fixture, header: bool) -> None:
    v = values()
    days = [str(np.datetime64("1958-03-29") + 7 * i).replace("-", "") for i in range(N)]
    text = ("date,co2\n" if header else "") + "".join(f"{d},{x}\n" for d, x in zip(days, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "time=" in err and "yyyymmdd" in err and "series=none" in err
    check(lstm, cols, {"": [(i + 1 + header, x) for i, x in enumerate(v)]})


def test_extra_columns_passed_through_with_keep(lstm: Fixture) -> None:
    v = values()
    text = "site,date,value,unit,note\n" + "".join(
        f'north,2020-01-{i % 28 + 1:02d},{x},kg,"ok, {i}"\n' for i, x in enumerate(v))
    err, rows, cols = predict(lstm, text, "--keep", "unit,note")
    assert "kept=unit,note" in err
    assert rows[0] == ["series", "date", "unit", "note", "row", "yhat_1", "yhat_2"]
    assert cols["note"][0] == "ok, 15" and set(cols["unit"]) == {"kg"}
    check(lstm, cols, {"north": [(i + 2, x) for i, x in enumerate(v)]})


def sheet(v: np.ndarray, start: str, day_first: bool, empty_cols: int = 0) -> bytes:
    """A spreadsheet's "Save as CSV": BOM, CRLF, a Date column written d/m/Y (zero-padded) or m/d/Y."""
    days = [np.datetime64(start) + i for i in range(len(v))]
    dates = [f"{str(d)[8:10]}/{str(d)[5:7]}/{str(d)[:4]}" if day_first else
             f"{int(str(d)[5:7])}/{int(str(d)[8:10])}/{str(d)[:4]}" for d in days]
    tail = "," * empty_cols
    return ("\ufeffDate,Sales" + tail + "\r\n" +
            "".join(f"{d},{x}{tail}\r\n" for d, x in zip(dates, v, strict=True))).encode()


def test_spreadsheet_export_bom_crlf_day_first_dates(lstm: Fixture) -> None:
    v = values()
    err, _, cols = predict(lstm, sheet(v, "2022-12-20", day_first=True))
    assert "value=Sales, time=Date (passed through, d/m/y)" in err
    assert "gap" not in err                                       # month and year ends are no gaps
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize("fill", ["previous", "drop"])
def test_database_export_with_nulls(lstm: Fixture, fill: str) -> None:
    v = values()
    cells = [("NULL" if i in (20, 21, 30) else x) for i, x in enumerate(v)]
    text = "id,ts,value\n" + "".join(f"7,2020-01-01 00:{i:02d}:00,{c}\n" for i, c in enumerate(cells))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and ":22:3: missing value ('NULL')" in one_error(r.stderr)
    err, _, cols = predict(lstm, text, "--fill", fill)
    meant = []
    for i, c in enumerate(cells):
        if c == "NULL":
            if fill == "drop":
                continue
            c = meant[-1][1]
        meant.append((i + 2, c))
    check(lstm, cols, {"7": meant})
    said = "3 missing value(s) repeated" if fill == "previous" else "3 row(s) with a missing value left out"
    assert said in err and "series=id" in err


def test_semicolon_files_are_an_error_naming_the_options_not_one_text_column(lstm: Fixture) -> None:
    text = "date;value\n2020-01-01;1,5\n2020-01-02;2,5\n"           # a decimal comma, as such files have
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and "separated by ';', not commas: read them with --sep ';' --decimal ','" \
        in one_error(r.stderr)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text.replace(",", "."))
    assert r.returncode == 2 and one_error(r.stderr).endswith("read them with --sep ';'")


def european(rows: list[tuple[str, str, str]]) -> bytes:
    """A spreadsheet saved with a German locale: `;` between fields, decimal commas, d.m.Y dates, CRLF, a
    store name with a comma (quoted), one number quoted, and the empty rows it kept as `;;`."""
    lines = ["Datum;Filiale;Umsatz"]
    for i, (day, store, v) in enumerate(rows):
        cell = v.replace(".", ",")
        lines.append(f'{day};{store if "," not in store else chr(34) + store + chr(34)};'
                     f'{chr(34) + cell + chr(34) if i == 7 else cell}')
    return ("\r\n".join(lines) + "\r\n;;\r\n;;\r\n").encode()


def test_a_semicolon_file_with_decimal_commas_forecasts_as_its_comma_twin(lstm: Fixture) -> None:
    """--sep ';' --decimal ',': the same rows as the comma CSV they stand for give the same bytes out, the
    store name with a comma passed through quoted."""
    rows = [(f"{d % 28 + 1:02d}.{d // 28 + 1:02d}.2024", store, x) for d in range(N)
            for store, x in (("Hamburg, Nord", values()[d]), ("Köln", values(seed=1, level=-3)[d]))]
    twin = "Datum,Filiale,Umsatz\n" + "".join(f'{day},"{s}",{v}\n' if "," in s else f"{day},{s},{v}\n"
                                               for day, s, v in rows)
    err, got, cols = predict(lstm, european(rows), "--sep", ";", "--decimal", ",")
    err2, want, _ = predict(lstm, twin)
    assert got == want and len(got) > 1
    assert "Hamburg, Nord" in cols["series"]
    assert "fields separated by ';', decimal ','" in err and "series=Filiale" in err, err
    check(lstm, cols, {s: [(2 + i, v) for i, (_, s2, v) in enumerate(rows) if s2 == s]
                       for s in ("Hamburg, Nord", "Köln")})


@pytest.mark.parametrize("shape", ["german", "english"])
def test_thousands_separators_read_with_the_option_forecast_as_plain_numbers(lstm: Fixture, shape: str
                                                                          ) -> None:
    """--thousands: a German sheet's 1.287,5 (`;`, decimal comma) or an English one's "1,287.5" (quoted in a
    comma CSV) forecasts as the plain numbers, the dates' dots and a number not grouped by threes (10,5)
    untouched. Without it, the column is an error naming --thousands; with it equal to --decimal, an error
    naming the decimal mark to give."""
    v = [1000 + 500 * np.sin(i / 3) + i for i in range(N)]
    plain = "Datum,Umsatz\n" + "".join(f"{i + 1:02d}.01.2024,{x:.1f}\n" for i, x in enumerate(v))
    if shape == "german":
        de = [f"{x:,.1f}".translate(str.maketrans(",.", ".,")) for x in v]          # 1.287,5
        text = "Datum;Umsatz\n" + "".join(f"{i + 1:02d}.01.2024;{x}\n" for i, x in enumerate(de))
        args = ["--sep", ";", "--decimal", ",", "--thousands", "."]
    else:
        text = "Datum,Umsatz\n" + "".join(f'{i + 1:02d}.01.2024,"{x:,.1f}"\n' for i, x in enumerate(v))
        args = ["--thousands", ","]
    assert "1.0" in text.split("\n")[1] or "1,0" in text.split("\n")[1]
    err, got, cols = predict(lstm, text, *args)
    _, want, _ = predict(lstm, plain)
    assert got == want and len(got) == N - lstm.window + 2, err
    assert f"thousands '{args[-1]}'" in err
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", *args[:-2]], text)
    assert r.returncode == 2 and f"groups its thousands? --thousands '{args[-1]}' reads it" in \
        one_error(r.stderr), r.stderr
    if shape == "german":
        r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--sep", ";", "--thousands", "."], text)
        assert r.returncode == 2 and "add --decimal ','" in one_error(r.stderr)


def test_a_dot_in_a_value_read_with_decimal_comma_is_an_error_at_its_line(lstm: Fixture,
                                                                         tmp_path: Path) -> None:
    """--decimal ',': `12.162` is twelve thousand one hundred and sixty-two in a German count column (the dot
    groups thousands), or a decimal point in a file that mixes the two marks; it was read as 12.162 without
    a word. The dates' dots (02.01.2024) are not values. The rows before it are forecast (stdin); train
    stops at it too. (In a later block: test_units.test_dots_keep_their_line_numbers_across_blocks.)"""
    rows = [(f"{d % 28 + 1:02d}.{d // 28 + 1:02d}.2024", "a", x) for d, x in enumerate(values(60))]
    text = european(rows)
    lines = text.split(b"\r\n")
    at = 20                                                       # its line number (the header is line 1)
    lines[at - 1] = lines[at - 1].rsplit(b";", 1)[0] + b";12.162"
    text = b"\r\n".join(lines)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--sep", ";", "--decimal", ","], text)
    assert r.returncode == 2 and one_error(r.stderr).endswith(
        f"<stdin>:{at}:3: '12.162' has a '.' in a file read with --decimal ',': a thousands separator "
        f"(12162?) or a decimal point among decimal commas? --thousands . reads it so"), r.stderr.decode()
    _, keys, _ = parse_csv(r.stdout)
    assert [int(k[-1]) for k in keys] == list(range(17, at))
    (tmp_path / "de.csv").write_bytes(text)
    r = run_cli(["train", "--data", str(tmp_path / "de.csv"), "--out", str(tmp_path), "--model", "rnn",
                 "--epochs", "1", "--window", "8", "--sep", ";", "--decimal", ","])
    assert r.returncode == 2 and f"{tmp_path / 'de.csv'}:{at}:3: '12.162' has a '.'" in r.stderr.decode()


def test_a_windows_spreadsheets_cp1252_export_reads_with_encoding_as_its_utf8_twin(lstm: Fixture) -> None:
    """Excel on Windows saves "CSV" in cp1252: `Umsatz (€)`, `Köln` are single bytes that are not UTF-8.
    Without --encoding: an error at line 1 naming the option; with it, the bytes its UTF-8 twin gives, the
    names written out in UTF-8."""
    rows = [(f"{d % 28 + 1:02d}.{d // 28 + 1:02d}.2024", store, x) for d in range(N)
            for store, x in (("Köln", values()[d]), ("Düsseldorf", values(seed=1, level=-3)[d]))]
    utf8 = european(rows).replace(b"Umsatz", "Umsatz (€)".encode())
    cp1252 = utf8.decode().encode("cp1252")
    assert cp1252 != utf8
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--sep", ";", "--decimal", ","], cp1252)
    assert r.returncode == 2 and "<stdin>:1: not valid UTF-8 (byte 23): --encoding cp1252" \
        in one_error(r.stderr)
    err, got, cols = predict(lstm, cp1252, "--sep", ";", "--decimal", ",", "--encoding", "cp1252")
    _, want, _ = predict(lstm, utf8, "--sep", ";", "--decimal", ",")
    assert got == want and {"Köln", "Düsseldorf"} == set(cols["series"])
    assert "value=Umsatz (€)" in err and "encoding cp1252" in err
    r = run_cli(["predict", str(lstm.dir), "--encoding", "utf-16"], utf8)
    assert r.returncode == 2 and "convert this one first: iconv -f utf-16 -t UTF-8" in one_error(r.stderr)


def test_train_and_score_read_a_semicolon_file_as_predict_does(tmp_path: Path) -> None:
    from seqinfer.infer.config import ColumnSpec
    from seqinfer.infer.score import decide, read_file
    from seqinfer.infer.table import read_table

    rows = [(f"{d % 28 + 1:02d}.{d // 28 + 1:02d}.2024", "a", x) for d, x in enumerate(values())]
    (tmp_path / "de.csv").write_bytes(european(rows))
    (tmp_path / "en.csv").write_text("Datum,Filiale,Umsatz\n" + "".join(f"{d},{s},{v}\n" for d, s, v in rows))
    de = ColumnSpec(sep=";", decimal=",")
    said: list[str] = []
    t = read_table(tmp_path / "de.csv", de, report=said.append)
    t2 = read_table(tmp_path / "en.csv", ColumnSpec())
    assert np.array_equal(t.values[0], t2.values[0]) and t.ids == t2.ids == ["a"]
    assert "fields separated by ';', decimal ','" in said[0]
    cols = decide(str(tmp_path / "de.csv"), de, features=1, window=16)
    frame = read_file(str(tmp_path / "de.csv"), 0, cols, False, de)
    assert np.allclose(frame["v0"].to_numpy(), [float(v) for v in values()])
    (tmp_path / "win.csv").write_bytes(european(rows).replace(b"Filiale", "Filiale (Köln)".encode("cp1252")))
    win = ColumnSpec(sep=";", decimal=",", encoding="cp1252")
    t3 = read_table(tmp_path / "win.csv", win)
    assert np.array_equal(t3.values[0], t2.values[0])
    assert t3.columns.label(t3.columns.series) == "Filiale (Köln)"
    frame = read_file(str(tmp_path / "win.csv"), 0, decide(str(tmp_path / "win.csv"), win, features=1,
                                                           window=16), False, win)
    assert np.allclose(frame["v0"].to_numpy(), [float(v) for v in values()])


def test_dialect_options_that_cannot_hold_are_errors_naming_them(lstm: Fixture) -> None:
    comma = "date,value\n" + "".join(f"2020-01-{i + 1:02d},{x}\n" for i, x in enumerate(values()[:20]))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--sep", ";"], comma)
    assert r.returncode == 2 and "--sep ';', but line 1 has no ';' and has commas" in one_error(r.stderr)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--decimal", ","], comma)
    assert r.returncode == 2 and "--decimal ',': the fields must then be separated by something else: " \
        "--sep ';'" in one_error(r.stderr)
    thousands = "Datum;Wert\n" + "".join(f"{i + 1:02d}.01.2024;1.2{i:02d},5\n" for i in range(20))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--sep", ";", "--decimal", ","], thousands)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "column 2 ('Wert') holds '1.200,5' (line 2), not a plain number" in err, err
    late = "Datum;Wert\n" + "".join(f"{i + 1:02d}.01.2024;{'1.219' if i == 19 else i},5\n"
                                     for i in range(20))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--sep", ";", "--decimal", ","], late)
    assert r.returncode == 2 and ":21:2:" in one_error(r.stderr) and "1.219,5" in one_error(r.stderr), \
        r.stderr.decode()


def test_a_missing_value_code_is_a_missing_value_as_an_empty_field_is(lstm: Fixture) -> None:
    """A logger's -9999 (or -999,9 in a semicolon file with decimal commas): --na-value makes it missing,
    as an empty field; without it, it is a value like any other."""
    v = values()
    coded = [x if i not in (20, 21, 33) else "-9999" for i, x in enumerate(v)]
    text = "time,value\n" + "".join(f"2024-01-01 00:{i:02d},{x}\n" for i, x in enumerate(coded))
    err, got, _ = predict(lstm, text, "--na-value", "-9999", "--fill", "previous")
    _, want, _ = predict(lstm, text.replace("-9999", ""), "--fill", "previous")
    assert got == want and "missing also: -9999" in err and "3 missing value(s) repeated" in err, err
    said, plain, _ = predict(lstm, text)
    assert plain != want
    assert "column 2 ('value') holds -9999 (line 22), far outside its other values" in said and \
        "a missing-value code? --na-value -9999 reads it as missing" in said, said
    assert "far outside" not in err
    prices = "day,price\n" + "".join(f"{i},{9990 + (i * 7) % 20}\n" for i in range(30))   # 9999 is a price
    assert "9999" in prices and "far outside" not in predict(lstm, prices)[0]
    semi = text.replace(",", ";").replace(".", ",").replace("-9999", "-999,9")
    _, got, _ = predict(lstm, semi, "--sep", ";", "--decimal", ",", "--na-value", "-999,9",
                        "--fill", "previous")
    assert got == want
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--na-value", '"x"'], text)
    assert r.returncode == 2 and "a missing-value code is one field's text" in one_error(r.stderr)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--na-value", "-9999"], text)   # no --fill
    assert r.returncode == 2 and "<stdin>:22:2: missing value (empty field or --na-value -9999) in " \
        "column 2 ('value')" in one_error(r.stderr)


def test_a_tab_separated_file_forecasts_as_its_comma_twin(lstm: Fixture) -> None:
    v = values()
    tabs = "time\tvalue\n" + "".join(f"2024-01-01 00:{i:02d}\t{x}\n" for i, x in enumerate(v))
    _, got, _ = predict(lstm, tabs, "--sep", "tab")
    _, want, _ = predict(lstm, tabs.replace("\t", ","))
    assert got == want and len(got) == N - 16 + 2


def test_ambiguous_numbers_name_the_option(lstm: Fixture, tmp_path: Path) -> None:
    text = "".join(f"{i},{100 + 5 * i}\n" for i in range(30))       # both columns rise: which is the value?
    f = tmp_path / "two.csv"
    f.write_text(text)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(f)])
    assert r.returncode == 2
    assert one_error(r.stderr) == f"seqinfer: error: {f}: columns 1, 2 are all numbers; say which is the " \
                                  f"value with --value-col (and --time-col or --keep for the others)"
    _, _, cols = predict(lstm, text, "--value-col", "2", "--time-col", "1")
    check(lstm, cols, {"": [(i + 1, str(100 + 5 * i)) for i in range(30)]})


def test_max_series_evicts_the_least_recently_seen_and_says_so(lstm: Fixture) -> None:
    v = values(n=20)
    lines = [f"s{k},{x}" for k in range(3) for x in v] + [f"s0,{x}" for x in v[:5]]
    err, _, cols = predict(lstm, "\n".join(lines) + "\n", "--max-series", "2")
    assert "--max-series: 2 series evicted" in err          # s0 when s2 came, then s1 when s0 came back
    assert cols["series"].count("s0") == 5                  # s0 came back with a new window: 5 values, none
    assert cols["series"].count("s2") == 5


def test_pandas_series_with_a_dated_index(lstm: Fixture) -> None:
    """Series.to_csv() with an index named `date`: the header `date,0` has a number in it, yet it is one."""
    v = values()
    dates = [str(np.datetime64("2020-01-01") + i) for i in range(N)]
    err, rows, cols = predict(lstm, "date,0\n" + "".join(f"{d},{x}\n" for d, x in zip(dates, v, strict=True)))
    assert "value=0, time=date (passed through, iso), series=none (header: line 1)" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_a_single_column_named_like_an_id_is_still_the_value(lstm: Fixture) -> None:
    v = values()
    err, _, cols = predict(lstm, "id\n" + "\n".join(v) + "\n")
    assert "value=id, time=none, series=none" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_header_names_that_need_quotes_are_quoted_in_the_output(lstm: Fixture) -> None:
    v = values()
    text = 'site,"note, x",value\n' + "".join(f"a,ok,{x}\n" for x in v)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--keep", "2"], text)
    assert r.stdout.decode().splitlines()[0] == 'series,"note, x",row,yhat_1,yhat_2'


# --- shapes from real exports that once went wrong ----------------------------------------------------------
def test_database_dump_backslash_n_is_a_missing_value(lstm: Fixture) -> None:
    """PostgreSQL COPY and MySQL write NULL as \\N; every field quoted, timestamptz with a `+00` zone."""
    v = values()
    cells = [("\\N" if i == 20 else f'"{x}"') for i, x in enumerate(v)]
    hours = [i if i < 30 else i + 5 for i in range(N)]                   # 5 hours missing before row 30
    text = '"id","ts","value"\n' + "".join(
        f'"7","2020-01-0{1 + h // 24} {h % 24:02d}:00:00+00",{c}\n'
        for h, c in zip(hours, cells, strict=True))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and ":22:3: missing value ('\\N')" in one_error(r.stderr), r.stderr.decode()
    err, _, cols = predict(lstm, text, "--fill", "previous")
    assert "time=ts (passed through, iso), series=id" in err
    assert "1 gap(s)" in err and "ends at line 32" in err
    meant = [(i + 2, v[i - 1] if i == 20 else x) for i, x in enumerate(v)]
    check(lstm, cols, {"7": meant})


@pytest.mark.parametrize("cell", [".", "-", "--", "?"])
def test_fred_dot_and_table_dashes_are_missing_values(lstm: Fixture, cell: str) -> None:
    """FRED's downloads write a missing observation as `.`; statistics offices' tables `-` or `--`; the UCI
    repository `?`. Never a number: a missing value that --fill decides, not a "not a number" dead end."""
    v = values()
    text = "DATE,GDPC1\n" + "".join(f"{1947 + i // 4}-{1 + 3 * (i % 4):02d}-01,{cell if i == 20 else x}\n"
                                   for i, x in enumerate(v))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and f":22:2: missing value ('{cell}')" in one_error(r.stderr), r.stderr.decode()
    err, _, cols = predict(lstm, text, "--fill", "previous")
    assert "value=GDPC1, time=DATE (passed through, iso)" in err and "1 missing value(s) repeated" in err
    check(lstm, cols, {"": [(i + 2, v[i - 1] if i == 20 else x) for i, x in enumerate(v)]})


def _hourly(stamp: str, skip: range) -> tuple[list[str], list[int]]:
    """N hourly stamps from 2024-03-13 09:00 (through noon and midnight), the hours in `skip` left out;
    -> (cells, the hour of each)."""
    hours = [h for h in range(9, 9 + N + len(skip)) if h not in skip]
    return [stamp.format(d=13 + h // 24, h=h % 24, h12=(h % 12) or 12, ampm="AM" if h % 24 < 12 else "PM")
            for h in hours], hours


@pytest.mark.parametrize(("stamp", "form"), [("3/{d}/2024 {h12}:00:00 {ampm}", "m/d/y"),
                                             ("{d}/3/2024 {h12}:00 {ampm}", "d/m/y"),
                                             ("2024-03-{d:02d} {h:02d}:00:00 UTC", "iso"),
                                             ("{d}-Mar-2024 {h:02d}:00", "month name"),
                                             ("March {d}, 2024 {h12}:00 {ampm}", "month name"),
                                             ("{d}MAR2024:{h:02d}:00:00", "month name"),          # SAS
                                             ("Wed, {d} Mar 2024 {h:02d}:00:00 +0000", "month name")])
def test_am_pm_and_utc_times_are_read_for_gaps(lstm: Fixture, stamp: str, form: str) -> None:
    """A spreadsheet's AM/PM times, BigQuery's `UTC` timestamps and month names, under a header that does not
    say time: the time column, read for gaps. 12 AM is midnight and 12 PM noon: read otherwise, a step would
    go back."""
    v = values()
    cells, _ = _hourly(stamp, range(30, 35))                 # 5 hours missing: one gap of 6 steps
    text = "Reading,kWh\n" + "".join(f'"{c}",{x}\n' for c, x in zip(cells, v, strict=True))   # as pandas
    err, _, cols = predict(lstm, text)
    assert f"value=kWh, time=Reading (passed through, {form}), series=none" in err, err
    assert "time: 1 gap(s) longer than 1.5x the series' usual step; the longest, 6.0 steps, ends at line " \
        "23" in err and "does not increase" not in err and "not in the column's format" not in err, err
    assert cols["Reading"] == cells[lstm.window - 1:]
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_date_order_settles_day_and_month_the_first_lines_leave_open(lstm: Fixture) -> None:
    """A logger's d/m/y AM/PM times on the 1st and 2nd of the month: no field above 12 in the lines that
    decide, so auto reads no gaps and says which option does; --date-order dmy reads them. An order the
    dates contradict is an error."""
    v = values()
    hours = [h for h in range(N + 5) if h not in range(20, 25)]
    cells = [f"{1 + h // 24}/3/2024 {(h % 12) or 12}:00 {'AM' if h % 24 < 12 else 'PM'}" for h in hours]
    text = "Reading,kWh\n" + "".join(f"{c},{x}\n" for c, x in zip(cells, v, strict=True))
    err, _, _ = predict(lstm, text)
    assert "(passed through, d/m/y or m/d/y; not read for gaps: --date-order dmy or mdy reads them)" in err
    assert "gap(s)" not in err, err
    err, _, cols = predict(lstm, text, "--date-order", "dmy")
    assert "time=Reading (passed through, d/m/y)" in err and "time: 1 gap(s)" in err and "6.0 steps" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})
    late = text.replace("2/3/2024", "13/3/2024")                        # a day above 12: d/m/y, said
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--date-order", "mdy"], late)
    err = one_error(r.stderr)
    first = 2 + next(i for i, c in enumerate(cells) if c.startswith("2/3/2024 1:00 AM"))
    assert r.returncode == 2 and f"--date-order mdy: '13/3/2024 1:00 AM' in column 1 ('Reading'), line " \
        f"{first}, has no such month: its dates are d/m/y" in err, err


@pytest.mark.parametrize("stamp", ["03/{d}/24 {h12}:00:00 {ampm}", "{d}-MAR-24 {h:02d}:00"])
def test_times_in_an_unread_form_are_never_series_ids(lstm: Fixture, stamp: str) -> None:
    """A logger's two-digit years (03/13/24, Oracle's 13-MAR-24) under a header that does not say time were
    taken as a series id: one series per row, and no forecast. Now an error naming --time-col."""
    v = values()
    cells, _ = _hourly(stamp, range(0))
    text = "Reading,kWh\n" + "".join(f"{c},{x}\n" for c, x in zip(cells, v, strict=True))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "column 1 ('Reading') looks like a time" in err and "--time-col" in err, err
    err, _, cols = predict(lstm, text, "--time-col", "Reading")
    assert "value=kWh, time=Reading (passed through; not read for gaps), series=none" in err
    assert cols["Reading"] == cells[lstm.window - 1:]
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize("rows", [N, 6000])          # within the lines that decide the columns; past 64 KiB
def test_a_sheets_totals_row_is_an_error_at_its_line_not_data(lstm: Fixture, rows: int) -> None:
    """A spreadsheet exported with its `Total` row under the dates: that row's number is not one more value
    of the series. An error at its line, every forecast before it kept (the small and the pyarrow parse)."""
    v = values(rows)
    days = [str(np.datetime64("2000-01-01") + i) for i in range(rows)]
    text = '"Date","Sales"\n' + "".join(f'"{d}","{x}"\n' for d, x in zip(days, v, strict=True))
    text += f'"Grand Total","{sum(float(x) for x in v):.1f}"\n'
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and f":{rows + 2}:1: 'Grand Total' in the time column: a totals row?" in err, err
    assert "time=Date (passed through, iso)" in r.stderr.decode()
    out = list(csv.reader(io.StringIO(r.stdout.decode())))
    cols = {name: [row[i] for row in out[1:]] for i, name in enumerate(out[0])}
    assert cols["Date"] == days[lstm.window - 1:]                        # every forecast before it
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize(("head", "end", "said"), [
    ("Daily sales report,\ndate,value\n", "", "line 1 holds one field and 1 empty one(s) ('Daily sales "
     "report,'): a title above the header, padded to the sheet's width? remove it (tail -n +2 FILE)"),
    ("date,value,\n", "", "line 1, the header, ends in an empty field ('date,value,'): one more than the "
     "rows below; remove the separator at its end"),
    ("date,value\n", ",", "every row ends in an empty field, one more than the header ('date,value'): "
     "remove the separator at their ends, or name the column in the header")])
def test_a_separator_too_many_at_the_end_of_lines_is_named_as_such(lstm: Fixture, head: str, end: str,
                                                                   said: str) -> None:
    """A sheet's title padded with commas to its width, a header or rows ending in a comma: one error that
    says so. They were read as data (and then 'value' is not a number, after advice to --fill drop) or
    called comment lines above the header."""
    days = [str(np.datetime64("2024-01-01") + i) for i in range(N)]
    text = head + "".join(f"{d},{x}{end}\n" for d, x in zip(days, values(), strict=True))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and one_error(r.stderr).endswith(said), r.stderr


def test_whole_numbers_with_a_dot_grouping_thousands_in_a_semicolon_file_are_said(lstm: Fixture) -> None:
    """A German spreadsheet's whole numbers (991, 1.287: one thousand two hundred and eighty-seven) saved
    with `;` and read without --decimal ',': '.' is read as the decimal point, and now stderr says so and
    what 1.287 would be grouped. Numbers with other decimals, or no whole number beside them, are not."""
    counts = [991 + 37 * i for i in range(N)]
    grouped = [f"{c // 1000}.{c % 1000:03d}" if c >= 1000 else str(c) for c in counts]
    text = "Datum;Umsatz\n" + "".join(f"{i + 1:02d}.01.2024;{g}\n" for i, g in enumerate(grouped[:28]))
    err, _, _ = predict(lstm, text, "--sep", ";")
    assert "column 2 ('Umsatz') holds 1.028 beside whole numbers such as 991, in a ';' file: read with '.' " \
        "as the decimal point (1.028); if it groups thousands there (1028), --decimal , --thousands . " \
        "reads it so" in err, err
    err, _, _ = predict(lstm, text, "--sep", ";", "--decimal", ",", "--thousands", ".")
    assert "groups thousands" not in err and "thousands '.'" in err
    for other in (["1.25", "2", "3.5"] * 10, ["1.287", "2.500", "3.125"] * 10):
        text = "Datum;Umsatz\n" + "".join(f"{i + 1:02d}.01.2024;{x}\n" for i, x in enumerate(other[:28]))
        err, _, _ = predict(lstm, text, "--sep", ";")
        assert "groups thousands" not in err, err


def test_text_new_on_every_row_is_not_taken_for_the_series_id(lstm: Fixture) -> None:
    """Dates in a form seqinfer does not read under a name that is not a time's (`when`, 2024年1月1日): the
    column was the series id, a series a row, and predict wrote nothing with exit 0. An error naming
    --time-col, --keep and --series-col; --time-col reads it. Many stores interleaved (the first lines one
    date's stores, each new) stay series."""
    v = values()
    days = [np.datetime64("2024-01-01") + i for i in range(N)]
    jp = [f"{d.astype(object).year}年{d.astype(object).month}月{d.astype(object).day}日" for d in days]
    text = "when,value\n" + "".join(f"{d},{x}\n" for d, x in zip(jp, v, strict=True))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "--time-col when" in err and "--series-col when" in err, err
    assert "column 1 ('when') is text new on every row ('2024年1月1日', '2024年1月2日'" in err, err
    err, _, cols = predict(lstm, text, "--time-col", "when")
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})
    stores = [f"store {k}" for k in range(60)]
    text = "date,store,value\n" + "".join(f"{d},{s},{x}\n" for d, x in zip(days, v, strict=True)
                                            for s in stores)
    err, _, cols = predict(lstm, text)
    assert "series=store" in err and len(cols["row"]) == 60 * (N - lstm.window + 1)


@pytest.mark.parametrize(("rows", "at"), [(N, None), (6000, None), (N, 25)])
def test_a_sheets_sum_row_without_a_label_is_an_error_at_its_line_not_data(lstm: Fixture, rows: int,
                                                                         at: int | None) -> None:
    """Excel's sum under the values with its date cell empty (`,9997.96`; `,9974.55,,` from a sheet with
    empty columns), or a subtotal between the days: not one more value of the series. It was read as one,
    the only word a time field "not in the column's format". An error at its line naming --keep, every
    forecast before it kept; --keep Date reads the file as it is."""
    v = values(rows)
    days = [str(np.datetime64("2000-01-01") + i) for i in range(rows)]
    lines = [f"{d},{x},," for d, x in zip(days, v, strict=True)]
    total = f",{sum(float(x) for x in v[:at]):.2f},,"
    lines.insert(len(lines) if at is None else at, total)
    text = "\ufeffDate,Sales,,\r\n" + "\r\n".join(lines) + "\r\n,,,\r\n"
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    line = (rows if at is None else at) + 2
    assert r.returncode == 2 and "--keep Date" in err, err
    assert f":{line}:1: no time (an empty field) in the time column, whose other rows have one: a totals " \
        "or subtotal row? remove it" in err, err
    out = list(csv.reader(io.StringIO(r.stdout.decode())))
    cols = {name: [row[i] for row in out[1:]] for i, name in enumerate(out[0])}
    assert cols["Date"] == days[lstm.window - 1:line - 2]                # every forecast before it
    err, _, cols = predict(lstm, text, "--keep", "Date")
    assert len(cols["row"]) == rows + 1 - lstm.window + 1


@pytest.mark.parametrize("doubled", [False, True])
def test_a_download_written_newest_first_is_an_error_that_says_so(lstm: Fixture, doubled: bool) -> None:
    """Price and bank downloads often list the newest day first. Forecast in input order, every window
    would run backwards: an error before any output, which says how to reverse the file. A day listed
    twice (a doubled row) does not make it oldest first."""
    days = [str(np.datetime64("2024-01-01") + i) for i in range(N)][::-1]
    if doubled:
        days.insert(5, days[5])
    v = values(len(days))
    text = "Date,Close\n" + "".join(f"{d},{x}\n" for d, x in zip(days, v, strict=True))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and r.stdout == b"", err
    assert "fall from each row to the next (newest first)" in err and "tac" in err and "--keep" in err
    err, _, cols = predict(lstm, text, "--keep", "Date")              # the way to say: this order
    assert "kept=Date" in err and cols["Date"] == days[lstm.window - 1:]
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_influxdb_annotated_csv_is_an_error_that_says_so(lstm: Fixture) -> None:
    v = values()
    text = ("#datatype,string,long,dateTime:RFC3339,double\n#group,false,false,false,false\n"
            "#default,_result,,,\n,result,table,_time,_value\n"
            + "".join(f",,0,2024-03-01T{i // 60:02d}:{i % 60:02d}:00Z,{x}\n" for i, x in enumerate(v)))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "lines 1 and 2 start with '#'" in err and "grep -v '^#'" in err, err


def test_spreadsheet_trailing_empty_columns_are_ignored(lstm: Fixture) -> None:
    """Excel's "Save as CSV" of a sheet with formatted empty columns: `Date,Sales,,` and `3/21/2021,5.1,,`."""
    v = values()
    err, rows, cols = predict(lstm, sheet(v, "2021-03-01", day_first=False, empty_cols=2))
    assert "value=Sales, time=Date (passed through, m/d/y), series=none, ignored=column 3,column 4" in err
    assert rows[0] == ["Date", "row", "yhat_1", "yhat_2"]
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})



def test_a_true_false_column_is_not_a_series_id(lstm: Fixture) -> None:
    v = values()
    text = "date,value,holiday\n" + "".join(
        f"2020-01-{i + 1:02d},{x},{'TRUE' if i % 7 == 0 else 'FALSE'}\n" for i, x in enumerate(v[:28]))
    err, _, cols = predict(lstm, text)
    assert "value=value, time=date (passed through, iso), series=none, ignored=holiday" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v[:28])]})



def test_a_time_with_a_zone_numpy_does_not_read_is_counted_without_a_library_warning(lstm: Fixture) -> None:
    """`+1` after the sample decided the column is ISO: one time not read (said), no numpy warning."""
    v = values(72)
    times = (np.datetime64("2024-01-01T00", "h") + np.arange(72)).astype(str)
    rows = [f"{t}:00:00{'+1' if i == 60 else 'Z'},{x}" for i, (t, x) in enumerate(zip(times, v, strict=True))]
    err, _, _ = predict(lstm, "time,value\n" + "\n".join(rows) + "\n")       # line 62: past the sample
    assert "time=time (passed through, iso)" in err and "Warning" not in err, err
    assert "time: 1 time field(s) not in the column's format (first at line 62;" in err, err


def test_an_id_column_counting_rows_is_a_row_number_not_a_series_id(lstm: Fixture) -> None:
    """A database's `id` key counting 1, 2, 3: each row was its own series, so predict wrote no forecast and
    exit 0. Beside a time with a new time on every row it is a row number; beside times repeated (series
    interleaved) it is the series id; with no time to tell, an error naming both readings."""
    v = values()
    hourly = [f"2024-01-02T{i // 4:02d}:{i % 4 * 15:02d}:00" for i in range(N)]
    err, _, cols = predict(lstm, "id,time,reading\n" + "".join(
        f"{i + 1},{t},{x}\n" for i, (t, x) in enumerate(zip(hourly, v, strict=True))))
    assert "value=reading, time=id,time" in err and "series=none" in err, err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})
    w = values(seed=1)
    rows = [(f"{i + 1}", f"2024-01-02T{d // 4:02d}:{d % 4 * 15:02d}:00", x)
            for d in range(N) for i, x in enumerate((v[d], w[d]))]
    err, _, cols = predict(lstm, "id,time,reading\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    assert "series=id" in err, err
    check(lstm, cols, {k: [(n + 2, x) for n, (s, _, x) in enumerate(rows) if s == k] for k in ("1", "2")})
    text = "id,reading\n" + "".join(f"{i + 1},{x}\n" for i, x in enumerate(v))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and one_error(r.stderr).endswith(
        "column 1 ('id') counts up by one row by row (1, 2, 3 ...): a row number, or the ids of series one "
        "row each so far? --keep id reads past it (one series), --series-col id makes it the series id")
    err, _, cols = predict(lstm, text, "--keep", "id")
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_a_text_column_in_runs_beside_a_rising_time_is_an_error_naming_both_readings(lstm: Fixture) -> None:
    """A logger's `status` (OK, then MAINT for a while) was read as the series id without a word on the
    doubt: one series cut into pieces short of a window, their forecasts lost. Text in runs beside a time
    rising row by row is a status, or sensors logged at their own instants, one far more often: an error
    naming --keep and --series-col, each of which then reads it so. Sensors taking turns (an id change on
    every row) stay the series id."""
    v = values()
    status = ["MAINT" if 10 <= i < 14 else "OK" for i in range(N)]
    text = "time,status,value\n" + "".join(f"2024-01-02T{i // 4:02d}:{i % 4 * 15:02d}:00,{s},{x}\n"
                                           for i, (s, x) in enumerate(zip(status, v, strict=True)))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and one_error(r.stderr).endswith(
        "column 2 ('status') is text that changes in 2 of 39 rows while the time rises row by row: a status "
        "or note column (--keep status: one series), or series logged each at its own times (--series-col "
        "status)?"), r.stderr.decode()
    err, _, cols = predict(lstm, text, "--keep", "status")
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})
    err, _, cols = predict(lstm, text, "--series-col", "status")
    assert "series=status" in err
    w = values(seed=1)
    rows = [(f"2024-01-02T{d // 4:02d}:{d % 4 * 15:02d}:{k:02d}", s, x)
            for d in range(N) for k, (s, x) in enumerate((("in", v[d]), ("out", w[d])))]
    err, _, cols = predict(lstm, "time,sensor,value\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    assert "series=sensor" in err, err
    check(lstm, cols, {k: [(n + 2, x) for n, (_, s, x) in enumerate(rows) if s == k] for k in ("in", "out")})


def test_a_header_naming_the_value_twice_is_an_error_unless_numbers_place_both(lstm: Fixture) -> None:
    """`time,value,value` (two exports pasted side by side): the first was read as the value and the other
    ignored, without a word on which; by name it cannot be told. Numbers settle it."""
    v, w = values(), values(seed=1)
    text = "time,value,value\n" + "".join(f"2024-01-02T{i // 4:02d}:{i % 4 * 15:02d}:00,{a},{b}\n"
                                          for i, (a, b) in enumerate(zip(v, w, strict=True)))
    said = "the header names 'value' twice (columns 2 and 3): rename one, or give columns by number " \
           "(--value-col 3, --keep 2)"
    for args in ([], ["--value-col", "value"]):
        r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", *args], text)
        assert r.returncode == 2 and one_error(r.stderr).endswith(said), r.stderr.decode()
    err, _, cols = predict(lstm, text, "--value-col", "3", "--keep", "2")
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(w)]})


def test_a_note_column_blank_in_some_rows_is_not_a_series_id(lstm: Fixture) -> None:
    """A spreadsheet's notes beside the value (`promo`, `"holiday, closed early"`, mostly blank): one series,
    the notes left out and said so; without the blanks the same column would be the series id."""
    v = values()
    notes = ["", "", "promo", "", '"holiday, closed early"', "", ""]
    text = "date,value,note\n" + "".join(
        f"2020-01-{i + 1:02d},{x},{notes[i % 7]}\n" for i, x in enumerate(v[:28]))
    err, _, cols = predict(lstm, text)
    assert "value=value, time=date (passed through, iso), series=none, ignored=note" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v[:28])]})
    err, _, _ = predict(lstm, text.replace(",\n", ",plain\n"))
    assert "series=note" in err


@pytest.mark.parametrize("cell", ['"1,234.5"', "12.5%", '"$1,234.50"', '"0,5"', '"1.234,5"', '"1\u00a0234,5"',
                                  '"1 234,5"'])
def test_formatted_numbers_are_an_error_that_says_so(lstm: Fixture, cell: str) -> None:
    text = "date,value\n2020-01-01,1.5\n" + "".join(f"2020-01-{i + 2:02d},{cell}\n" for i in range(20))
    shown = cell.strip('"')
    for args in ([], ["--value-col", "value"]):
        r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", *args], text)
        assert r.returncode == 2
        err = one_error(r.stderr)
        grouped = cell == '"1,234.5"'               # a thousands separator: the option that reads it
        assert f"column 2 ('value') holds {shown!r} (line 3)" in err, err
        assert ("--thousands ',' reads it (1234.5)" if grouped else "plain numbers") in err, err



@pytest.mark.parametrize("sep", [",", "\t"])
def test_comment_lines_above_the_header_are_an_error_that_says_so(lstm: Fixture, sep: str) -> None:
    """A data logger's preamble: `# Logger v1.2`, `# site: roof`, then the header."""
    text = "# Logger v1.2\n# site: roof\n" + f"Timestamp{sep}Temp\n" + "".join(
        f"2021-01-01 00:{i:02d}:00{sep}{x}\n" for i, x in enumerate(values()))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2
    err = one_error(r.stderr)
    want = "separated by tabs" if sep == "\t" else "line 1 has 1 field(s), the lines below 2"
    assert want in err and "above the header" in err, err
    assert sep == "\t" or "tail -n +3 FILE if line 3 is the header" in err, err


def test_google_trends_title_lines_name_the_header_line(lstm: Fixture) -> None:
    """Google Trends' multiTimeline.csv: a title, a blank line, then the header on line 3. The error says
    which line to start from; a bad line among the title lines counts as a line too."""
    body = "".join(f"2024-01-{i % 28 + 1:02d},{x}\n" for i, x in enumerate(values()))
    for title, k in (("Category: All categories\n\n", 3), ("Category: All\n\"x\n\n", 4)):
        text = title + "Week,python: (Worldwide)\n" + body
        r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
        assert r.returncode == 2
        err = one_error(r.stderr)
        assert f"tail -n +{k} FILE if line {k} is the header" in err, err


def test_pandas_multiindex_with_unnamed_levels(lstm: Fixture) -> None:
    """df.to_csv() of a frame indexed by (series, date) with no level names: `,,value` `a,2020-01-01,1.5`."""
    a, b = values(seed=1), values(seed=2, level=10)
    dates = [str(np.datetime64("2020-01-01") + i) for i in range(N)]
    text = ",,value\n" + "".join(f"{sid},{d},{x}\n" for sid, v in (("a", a), ("b", b))
                                 for d, x in zip(dates, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "value=value, time=column 2 (passed through, iso), series=column 1 (header: line 1)" in err
    check(lstm, cols, {"a": [(i + 2, x) for i, x in enumerate(a)],
                       "b": [(N + i + 2, x) for i, x in enumerate(b)]})


def test_pandas_index_beside_a_date_column_keeps_the_gap_check(lstm: Fixture) -> None:
    """df.to_csv() with its RangeIndex and a `ds` column (the long format of forecasting libraries)."""
    a, b = values(seed=1), values(seed=2, level=10)
    days = [i if i < 30 else i + 3 for i in range(N)]                     # 3 days missing before row 30
    dates = [str(np.datetime64("2020-01-01") + d) for d in days]
    rows = [(sid, d, x) for sid, v in (("A", a), ("B", b)) for d, x in zip(dates, v, strict=True)]
    text = ",unique_id,ds,y\n" + "".join(f"{i},{sid},{d},{x}\n" for i, (sid, d, x) in enumerate(rows))
    err, _, cols = predict(lstm, text)
    assert "value=y, time=column 1,ds (passed through, iso; gaps read in ds), series=unique_id" in err
    assert "2 gap(s)" in err
    check(lstm, cols, {"A": [(i + 2, x) for i, x in enumerate(a)],
                       "B": [(N + i + 2, x) for i, x in enumerate(b)]})


def test_pandas_series_with_its_index(lstm: Fixture) -> None:
    """Series.to_csv() (index kept, unnamed Series): `,0` over `0,5.1`: a header, not a first value 0."""
    v = values()
    err, _, cols = predict(lstm, ",0\n" + "".join(f"{i},{x}\n" for i, x in enumerate(v)))
    assert "value=0, time=column 1 (passed through, number), series=none (header: line 1)" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_an_unnamed_value_column_after_a_named_date_is_the_value(lstm: Fixture) -> None:
    """`date,` over `2020-01-01,5.1` (a sheet whose value header was deleted): pandas' unnamed index comes
    first, so an unnamed column after a named one is an ordinary column, here the value."""
    v = values()
    dates = [str(np.datetime64("2020-01-01") + i) for i in range(N)]
    err, _, cols = predict(lstm, "date,\n" + "".join(f"{d},{x}\n" for d, x in zip(dates, v, strict=True)))
    assert "value=column 2, time=date (passed through, iso), series=none (header: line 1)" in err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_numeric_store_ids_not_named_as_ids_are_an_error_not_one_mixed_series(lstm: Fixture) -> None:
    """`store,date,value` with stores 1 and 2 interleaved: the dates repeat, so `store` must be the series."""
    a, b = values(seed=1), values(seed=2, level=10)
    dates = [str(np.datetime64("2020-01-01") + i) for i in range(N)]
    text = "store,date,value\n" + "".join(f"1,{d},{x}\n2,{d},{y}\n"
                                         for d, x, y in zip(dates, a, b, strict=True))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2
    assert "date repeats" in one_error(r.stderr) and "--series-col store" in one_error(r.stderr)
    err, _, cols = predict(lstm, text, "--series-col", "store")
    assert "series=store" in err
    check(lstm, cols, {"1": [(2 * i + 2, x) for i, x in enumerate(a)],
                       "2": [(2 * i + 3, x) for i, x in enumerate(b)]})
    err, _, cols = predict(lstm, text, "--keep", "store")             # the user's word: one series
    assert "kept=store" in err and "time does not increase" in err


def test_a_time_number_beyond_float_is_not_in_the_format_not_an_infinite_gap(lstm: Fixture) -> None:
    v = values()
    stamps = [str(1_600_000_000 + 60 * i) if i != 30 else "1e400" for i in range(N)]
    text = "epoch,value\n" + "".join(f"{t},{x}\n" for t, x in zip(stamps, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "1 time field(s) not in the column's format" in err and "inf steps" not in err, err
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_pipe_separated_files_are_an_error_that_says_so(lstm: Fixture) -> None:
    text = "date|value\n" + "".join(f"2020-01-{i + 1:02d}|{x}\n" for i, x in enumerate(values()[:20]))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and "separated by '|', not commas" in one_error(r.stderr), r.stderr.decode()


def test_the_steps_back_note_tells_a_clock_set_back_from_rows_out_of_order(lstm: Fixture) -> None:
    """predict keeps input order and says what the steps back look like, by the rule train's reader uses to
    keep or sort a file: a local clock set back an hour once (daylight saving time ending) is in order; a
    log whose rows step back by minutes, often, is not (it was called a clock set back too)."""
    t0 = np.datetime64("2024-11-03T00:00")
    quarter = [t0 + np.timedelta64(15 * i, "m") for i in range(N)]
    dst = [t if t < np.datetime64("2024-11-03T02:00") else t - np.timedelta64(1, "h") for t in quarter]
    jitter = list(quarter)
    for i in range(0, N - 1, 5):
        jitter[i], jitter[i + 1] = jitter[i + 1], jitter[i]
    v = values()
    clock = "each back by an hour at most: a clock set back, as when daylight saving time ends? then input " \
            "order is right"
    for stamps, advice in ((dst, clock), (jitter, "sort the file by time first")):
        rows = (f"{str(t).replace('T', ' ')},{x}\n" for t, x in zip(stamps, v, strict=True))
        text = "time,value\n" + "".join(rows)
        err, _, _ = predict(lstm, text)
        note = next(line for line in err.splitlines() if "does not increase" in line)
        assert note.endswith(f"({advice})"), note


def test_a_loggers_counter_beside_a_named_time_is_named_as_numbers_too(lstm: Fixture) -> None:
    """A HOBO-style logger file, its title line removed: `#` counts the rows. With --time-col naming the
    time, the counter is one more column of numbers: the error says so, in one column's words, and the
    options that settle it do."""
    v = values()
    text = '"#","Date Time, GMT-05:00","Temp, F"\n' + "".join(
        f"{i + 1},03/01/24 {i % 12 + 1:02d}:00:00 PM,{x}\n" for i, x in enumerate(v))
    time = ["--time-col", "Date Time, GMT-05:00"]
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", *time], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "column 1 ('#') holds numbers too: pass it through with --keep" in err, err
    err, _, cols = predict(lstm, text, *time, "--keep", "#")
    assert "kept=#" in err and cols["#"][0] == str(lstm.window)
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_series_shorter_than_a_window_are_counted_not_dropped_silently(lstm: Fixture) -> None:
    """A long-format file where one store opened late: its rows give no window, so no forecast. The run
    says how many series got none, and names the shortest."""
    long, late = values(N), values(5, seed=1)
    text = "store,value\n" + "".join(f"north,{x}\n" for x in long) + "".join(f"late,{x}\n" for x in late)
    err, _, cols = predict(lstm, text)
    assert (f"seqinfer: 1 of 2 series had fewer than {lstm.window} values, a window: no forecast for them "
            f"(the shortest: late, 5)") in err.splitlines(), err
    check(lstm, cols, {"north": [(i + 2, x) for i, x in enumerate(long)]})
    err, _, _ = predict(lstm, "store,value\n" + "".join(f"north,{x}\n" for x in long))
    assert "no forecast for them" not in err


def toa5(v: list[str], gap_at: int) -> str:
    """A Campbell Scientific logger's TOA5 file, every 10 minutes, one hour missing at row gap_at."""
    t = [np.datetime64("2024-03-01T00:00") + np.timedelta64(10 * (i + 6 * (i >= gap_at)), "m")
         for i in range(len(v))]
    return ('"TOA5","CR1000","CR1000","1234","CR1000.Std.32","CPU:met.CR1","5678","Table1"\n'
            '"TIMESTAMP","RECORD","AirTemp_Avg"\n"TS","RN","Deg C"\n"","","Avg"\n' +
            "".join(f'"{str(s).replace("T", " ")}:00",{i},{x}\n'
                    for i, (s, x) in enumerate(zip(t, v, strict=True))))


def test_a_loggers_toa5_file_says_which_lines_to_drop_then_reads_its_timestamps(lstm: Fixture) -> None:
    """Line 1 (the logger) has more fields than the rows: an error naming the lines to drop. Once dropped,
    RECORD (a row counter) is passed through beside TIMESTAMP, and the gaps are read in TIMESTAMP."""
    v = values()
    text = toa5(v, 25)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "TOA5 file" in err and "sed '1d;3,4d' FILE" in err, err
    lines = text.splitlines(keepends=True)
    err, rows, cols = predict(lstm, lines[1] + "".join(lines[4:]))
    assert "time=TIMESTAMP,RECORD (passed through, iso; gaps read in TIMESTAMP)" in err, err
    assert "1 gap(s)" in err and "7.0 steps, ends at line 27" in err, err
    assert rows[0][:2] == ["TIMESTAMP", "RECORD"]
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


@pytest.mark.parametrize("sep", [",", ";"])
def test_a_spreadsheets_sep_line_is_an_error_that_says_so(lstm: Fixture, sep: str) -> None:
    text = f"sep={sep}\ndate{sep}value\n" + "".join(
        f"2020-01-{i + 1:02d}{sep}{x}\n" for i, x in enumerate(values()))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2
    assert one_error(r.stderr) == (f"seqinfer: error: <stdin>: line 1 is 'sep={sep}', a spreadsheet's hint "
                                   f"naming the separator, not the header: remove it (tail -n +2 FILE)")


def test_a_wide_file_one_series_per_column_says_how_to_make_it_long(lstm: Fixture) -> None:
    """A spreadsheet with a column per store: which number is the value is the user's to say, and the error
    says how to make one series per column readable; the long file it gives reads as three series."""
    v = {s: values(seed=k) for k, s in enumerate("ABC")}
    days = [f"2024-01-{i % 28 + 1:02d}" for i in range(N)]
    text = "date,A,B,C\n" + "".join(f"{d},{v['A'][i]},{v['B'][i]},{v['C'][i]}\n" for i, d in enumerate(days))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "one series per column? make the file long first" in err, err
    assert "df.melt(id_vars=[the other columns], var_name='series')" in err
    long = "date,series,value\n" + "".join(f"{d},{s},{v[s][i]}\n" for s in "ABC" for i, d in enumerate(days))
    err, _, cols = predict(lstm, long)
    assert "series=series" in err
    check(lstm, cols, {s: [(2 + k * N + i, x) for i, x in enumerate(v[s])] for k, s in enumerate("ABC")})


def test_two_id_columns_ask_which_and_name_the_pair_option(lstm: Fixture) -> None:
    """A retail export keyed by item and store (M5's shape): each column alone could be the id, or the
    series is the pair. The error names --series-col with both; a column joined already reads as 4 series."""
    keys = [(i, s) for i in ("FOODS_1", "FOODS_2") for s in ("CA_1", "TX_1")]
    v = {k: values(seed=n) for n, k in enumerate(keys)}
    rows = [(k, d) for d in range(N) for k in keys]                         # day by day, interleaved
    text = "item_id,store_id,date,sales\n" + "".join(
        f"{i},{s},2024-01-{d % 28 + 1:02d},{v[(i, s)][d]}\n" for (i, s), d in rows)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and "columns 1 ('item_id'), 2 ('store_id') could each be the series id" in err
    assert "a series named by both (an item in a store)? name them all: --series-col item_id,store_id" in err
    joined = "series,date,sales\n" + "".join(
        f"{i}/{s},2024-01-{d % 28 + 1:02d},{v[(i, s)][d]}\n" for (i, s), d in rows)
    err, _, cols = predict(lstm, joined)
    assert "series=series" in err
    check(lstm, cols, {f"{i}/{s}": [(2 + d * 4 + keys.index((i, s)), v[(i, s)][d]) for d in range(N)]
                       for i, s in keys})


@pytest.mark.parametrize("rows", [N, 300_000])          # the second goes through the fast block parser
def test_a_units_row_under_the_header_is_named_as_one(lstm: Fixture, rows: int) -> None:
    """A logger's `time,temp` then `s,degC`: an error at line 2 that names a units row and how to drop it;
    a text value further down is the plain error."""
    v = (values() * (rows // N + 1))[:rows]
    text = "time,temp\ns,degC\n" + "".join(f"{60 * i},{x}\n" for i, x in enumerate(v))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2
    said = one_error(r.stderr)
    assert said == ("seqinfer: error: <stdin>:2:2: 'degC' is not a number (column 2 ('temp')): a row of "
                    "units under the header, as loggers write? remove it (sed 2d FILE)")
    lines = text.splitlines(keepends=True)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], lines[0] + "".join(lines[2:12]) + "0,oops\n")
    assert r.returncode == 2 and one_error(r.stderr).endswith("'oops' is not a number (column 2 ('temp'))")
    paren = "value\n(10.01)\n" + "\n".join(v[:30]) + "\n"
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], paren)
    assert r.returncode == 2 and one_error(r.stderr).endswith(       # a number at line 2: no units row
        "'(10.01)' is not a number (column 1 ('value')): a negative number in parentheses, as accounting "
        "formats write it? export plain numbers (-10.01)")


def test_rfc_2822_times_are_read_in_their_zone(lstm: Fixture) -> None:
    """Hourly stamps across the start of summer time in Berlin (+0100 to +0200): 01:00 is followed by
    03:00 local, one hour later. Read without the zone it would be a gap of 2 steps."""
    v = values()
    t0 = np.datetime64("2024-03-30T20:00")                 # UTC; summer time from 2024-03-31T01:00Z
    stamps = []
    for i in range(N):
        t = t0 + np.timedelta64(i, "h")
        off = 2 if t >= np.datetime64("2024-03-31T01:00") else 1
        local = str(t + np.timedelta64(off, "h"))
        day = int(local[8:10])
        stamps.append(f"{'Sat' if day == 30 else 'Sun' if day == 31 else 'Mon'}, {day:02d} "
                      f"{['Mar', 'Apr'][int(local[5:7]) - 3]} {local[:4]} {local[11:16]}:00 +0{off}00")
    text = "sent,value\n" + "".join(f'"{c}",{x}\n' for c, x in zip(stamps, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "time=sent (passed through, month name)" in err and "gap" not in err, err
    assert any("01:00:00 +0100" in c for c in stamps) and any("03:00:00 +0200" in c for c in stamps)
    check(lstm, cols, {"": [(i + 2, x) for i, x in enumerate(v)]})


def test_a_series_named_by_store_and_item_is_one_series_per_pair(lstm: Fixture) -> None:
    """M5's and Kaggle's sales files: an item in a store is a series, named by two columns. Each pair gets
    its own windows; the output keeps both columns. Without the option, the two id columns are an error
    that names it."""
    pairs = [(s, i) for s in ("CA_1", "TX_2") for i in ("FOODS_1_001", "HOBBIES_1_002")]
    v = {p: values(seed=k, level=10 * k) for k, p in enumerate(pairs)}
    dates = [str(np.datetime64("2016-01-01") + i) for i in range(N)]
    lines, meant = ["store_id,item_id,date,sales"], {f"{s}/{i}": [] for s, i in pairs}
    for d in range(N):                                   # a database export ordered by date
        for s, i in pairs:
            lines.append(f"{s},{i},{dates[d]},{v[s, i][d]}")
            meant[f"{s}/{i}"].append((len(lines), v[s, i][d]))
    text = "\n".join(lines) + "\n"
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and "--series-col store_id,item_id" in one_error(r.stderr)
    err, rows, cols = predict(lstm, text, "--series-col", "store_id,item_id")
    assert "value=sales, time=date (passed through, iso), series=store_id+item_id" in err
    assert rows[0] == ["store_id", "item_id", "date", "row", "yhat_1", "yhat_2"]
    assert len(cols["row"]) == 4 * (N - 15)
    assert sorted({(s, i) for s, i in zip(cols["store_id"], cols["item_id"], strict=True)}) == pairs
    check(lstm, cols, meant)

    # Kaggle's store-item demand file: numeric ids, one pair after another.
    kaggle, meant = ["date,store,item,sales"], {}
    for k, (s, i) in enumerate(((1, 1), (1, 2), (2, 1))):
        meant[k] = []
        for d in range(N):
            kaggle.append(f"{dates[d]},{s},{i},{v[pairs[k]][d]}")
            meant[k].append((len(kaggle), v[pairs[k]][d]))
    err, rows, cols = predict(lstm, "\n".join(kaggle) + "\n", "--value-col", "sales", "--series-col",
                              "store,item")
    assert "series=store+item" in err and "time does not increase" not in err
    assert rows[0] == ["store", "item", "date", "row", "yhat_1", "yhat_2"]
    check(lstm, cols, meant)


@pytest.mark.parametrize("quoted", [False, True])
def test_ids_in_several_columns_holding_the_join_stay_apart(lstm: Fixture, quoted: bool) -> None:
    """--series-col store,item joins the fields with `/`: store `a/b` + item `c` and store `a` + item `b/c`
    were one series `a/b/c` (one window, one state), without a word. A part's own `/` (or `\\`) is escaped
    now, on the bulk path and on the careful one (quoted fields)."""
    pairs = [("a/b", "c"), ("a", "b/c"), ("a\\", "/c"), ("a", "\\/c")]
    v = {p: values(N, seed=k) for k, p in enumerate(pairs)}
    q = '"' if quoted else ""
    lines, meant = ["store,item,value"], {}
    for d in range(N):
        for p in pairs:
            lines.append(f"{q}{p[0]}{q},{q}{p[1]}{q},{v[p][d]}")
            meant.setdefault(p, []).append((len(lines), v[p][d]))
    err, rows, cols = predict(lstm, "\n".join(lines) + "\n", "--series-col", "store,item")
    assert "series=store+item" in err
    check(lstm, cols, meant)


def test_time_back_at_the_series_start_with_id_columns_unread_is_an_error_naming_them(lstm: Fixture) -> None:
    """Kaggle's store-item file sorted by store and item, with only --value-col sales: the pairs would be
    read one after another as one series. At the first row whose time goes back to the series' start: the
    forecasts before it, then an error naming the line and --series-col with the ignored columns. Kept
    columns are the user's word (one series, in input order), and a named pair reads as pairs."""
    m = 60                                             # rows per pair: the first lines are one pair's
    dates = [str(np.datetime64("2016-01-01") + i) for i in range(m)]
    pairs = ((1, 1), (1, 2), (2, 1))
    v = {p: values(m, seed=k) for k, p in enumerate(pairs)}
    text = "date,store,item,sales\n" + "".join(f"{dates[d]},{s},{i},{v[s, i][d]}\n"
                                               for s, i in pairs for d in range(m))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2 and "columns 2 ('store'), 3 ('item') hold one integer each in the first " \
        "lines: series ids? --value-col sales --series-col store,item" in one_error(r.stderr)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--value-col", "sales"], text)
    err = one_error(r.stderr)
    assert r.returncode == 2 and f"<stdin>:{m + 2}: time goes back to the first time of the series" in err
    assert "the ignored column 2 ('store'), column 3 ('item') may name them: --series-col store,item" in err
    _, _, got = parse_csv(r.stdout)
    assert got.shape[0] == m - 15                      # the first pair's forecasts went out
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--value-col", "sales", "--series-col",
                 "store"], text)
    assert r.returncode == 2 and "the ignored column 3 ('item') may name them: --series-col store,item" \
        in one_error(r.stderr)
    err, _, cols = predict(lstm, text, "--value-col", "sales", "--keep", "store,item")
    assert len(cols["row"]) == 3 * m - 15 and "time does not increase" in err


def test_a_missing_value_code_past_the_first_lines_is_counted_and_named(lstm: Fixture) -> None:
    """A logger's -9999 first written at line 302 (an outage mid-file), after the lines the columns are
    decided from: read as a value, but a note names how many, the first line and --na-value. A price of
    9999 among prices around it is no such code."""
    v = [f"{12 + 3 * np.sin(i / 24 * 2 * np.pi):.2f}" for i in range(600)]
    for i in (300, 301, 450):
        v[i] = "-9999"
    err, _, cols = predict(lstm, "AirTC\n" + "\n".join(v) + "\n")
    assert "3 value(s) such as -9999 far outside the values around them (the first at line 302): a " \
           "missing-value code? --na-value -9999 reads it as missing" in err
    assert len(cols["row"]) == 600 - 15
    prices = [f"{9990 + i % 20}" for i in range(300)]
    err, _, _ = predict(lstm, "price\n" + "\n".join(prices) + "\n")
    assert "missing-value code" not in err


@pytest.mark.parametrize("rows", [300, 300_000])         # the second goes through the fast block parser
def test_a_loggers_date_and_time_columns_are_read_together_for_gaps(lstm: Fixture, rows: int) -> None:
    """`Date,Time,Value` (a logger; UCI's household power file with ';' and d/m/y): the two columns are one
    time, read for gaps. A two-hour outage (12 ten-minute rows missing) is one gap of 13 steps at its line."""
    t = np.datetime64("2024-03-01T00:00") + np.timedelta64(10, "m") * np.r_[0:100, 112:rows + 12]
    v = (values() * (rows // N + 1))[:rows]
    text = "Date,Time,Value\n" + "".join(f"{str(s)[:10]},{str(s)[11:16]}:00,{x}\n"
                                         for s, x in zip(t, v, strict=True))
    err, _, cols = predict(lstm, text)
    assert "time=Date,Time (passed through, iso; gaps read in Date+Time)" in err
    assert "time: 1 gap(s) longer than 1.5x the series' usual step; the longest, 13.0 steps, ends at line " \
           "102" in err
    assert len(cols["row"]) == rows - 15 and cols["Time"][:2] == ["02:30:00", "02:40:00"]
    named, _, _ = predict(lstm, text, "--time-col", "Date")           # named: the time of day still joins
    assert "gaps read in Date+Time" in named and "ends at line 102" in named and "not increase" not in named
    uci = "Date;Time;Global_active_power\n" + "".join(
        f"{s.astype(object):%d/%m/%Y};{str(s)[11:16]}:00;{x}\n"
        for s, x in zip(t[:300], v[:300], strict=True))
    err, _, _ = predict(lstm, uci, "--sep", ";", "--date-order", "dmy")
    assert "(passed through, d/m/y; gaps read in Date+Time)" in err and "ends at line 102" in err
