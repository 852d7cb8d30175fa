"""Bad input: one line on stderr naming the line and the problem, exit 2, every earlier forecast written.

Each case streams 20 good values (forecasts for lines 16..20 with window 16), then the bad line, then more
good lines that must NOT be forecast.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from infer_support import SEQINFER, Fixture, default_sigint, one_error, parse_csv, run_cli, sine

GOOD = [f"{v:.6f}" for v in sine(20)]
READING = "seqinfer: reading value=column 1, time=none, series=none (header: none)\n"
LATER = [f"{v:.6f}" for v in sine(5, phase=2)]


def stream_with(bad: str, head: list[str] | None = None) -> str:
    return "\n".join((head or []) + GOOD + [bad] + LATER) + "\n"


def assert_stopped(r: subprocess.CompletedProcess, line: int, *words: str, first: int = 16) -> None:
    assert r.returncode == 2, r.stderr.decode()
    err = one_error(r.stderr)
    assert f"<stdin>:{line}" in err, err
    for w in words:
        assert w in err, err
    _, keys, _ = parse_csv(r.stdout)
    assert [int(k[-1]) for k in keys] == list(range(first, line)), "the forecasts before the bad line"


CASES = {
    "non-numeric": ("abc", ["'abc' is not a number"]),
    "nan": ("nan", ["missing value ('nan')", "--fill previous"]),
    "pandas <NA>": ("<NA>", ["missing value ('<NA>')", "--fill previous"]),
    "sheet error": ("#DIV/0!", ["'#DIV/0!' is not a number (column 1): a spreadsheet's error value"]),
    "accounting negative": ("(12.50)", ["'(12.50)' is not a number (column 1): a negative number in "
                                        "parentheses, as accounting formats write it? export plain numbers "
                                        "(-12.50)"]),
    "inf": ("-inf", ["'-inf' is not a finite float32 number"]),
    "beyond float32": ("1e39", ["'1e39' is not a finite float32 number"]),
    "too many fields": ("1.0,2.0", ["2 field(s), expected 1"]),
    "empty line": ("", ["empty line among the rows (blank lines may only end the file)"]),
    "comment line": ("# exported, v1", ["2 field(s), expected 1 like line 1 ('# exported': a comment"]),
    "blank line": ("   ", ["empty line"]),
    "not utf-8": ("1.0\udcff", ["not valid UTF-8"]),
    "bad quoting": ('"1.0', ["bad CSV quoting"]),
    "quoted non-number": ('"x"', ["'x' is not a number"]),
    # Python's float() reads these; the bulk parsers (and the Node example) do not: one rule, not a number
    "full-width digits": ("５０", ["'５０' is not a number"]),
    "Arabic-Indic digits": ("٥٠", ["'٥٠' is not a number"]),
    "underscore": ("5_0.5", ["'5_0.5' is not a number"]),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_line_stops_after_earlier_forecasts(lstm: Fixture, case: str) -> None:
    bad, words = CASES[case]
    data = stream_with(bad).encode("utf-8", "surrogateescape")
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], data)
    assert_stopped(r, 21, *words)


def test_header_in_the_middle(lstm: Fixture) -> None:
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], stream_with("value", head=["value"]))
    assert_stopped(r, 22, "header line again", first=17)


def test_wrong_field_count_with_series(lstm: Fixture) -> None:
    rows = [f"s,{v}" for v in GOOD] + ["s"] + [f"s,{v}" for v in LATER]
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "\n".join(rows) + "\n")
    assert_stopped(r, 21, "1 field(s), expected 2")


@pytest.mark.parametrize("bad", ["1,2,3", ",".join(["1"] * 17), ",".join(["1"] * 15 + ["x"])])
def test_bad_row_in_windows_layout(lstm: Fixture, bad: str) -> None:
    rows = [",".join(["0.5"] * 16)] * 5 + [bad] + [",".join(["0.5"] * 16)] * 3
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "\n".join(rows) + "\n")
    assert_stopped(r, 6, first=1)


def test_a_line_of_megabytes(lstm: Fixture) -> None:
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], stream_with("1" * 3_000_000))
    assert_stopped(r, 21, "longer than")


def test_crlf_bom_and_quotes_are_accepted(lstm: Fixture) -> None:
    plain = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "value\n" + "\n".join(GOOD) + "\n")
    odd = "\ufeffvalue\r\n" + "".join(f'"{v}"\r\n' for v in GOOD)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], odd)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == plain.stdout and r.stdout.count(b"\n") == 6


def test_empty_stream(lstm: Fixture) -> None:
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], b"")
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode() == "seqinfer: error: <stdin>: empty input: no lines to read\n"


def test_too_short_is_not_an_error_but_says_why(lstm: Fixture) -> None:
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "1\n2\n3\n")
    assert r.returncode == 0 and r.stdout == b"row,yhat_1,yhat_2\n"
    assert "needs 16 values" in r.stderr.decode()


def test_skip_reports_each_line_and_a_count(lstm: Fixture) -> None:
    rows = GOOD[:18] + ["abc", "", "nan", "1" * 2_000_000] + GOOD[18:]
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--on-error", "skip"], "\n".join(rows) + "\n")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    for line in (19, 20, 21, 22):
        assert f"skipped <stdin>:{line}" in err
    assert "skipped 4 bad line(s)" in err
    _, keys, _ = parse_csv(r.stdout)
    assert [int(k[0]) for k in keys] == [16, 17, 18, 23, 24]


@pytest.mark.parametrize("what", ["missing", "corrupt", "not seqinfer", "bad metadata", "not exported"])
def test_bad_model_files(tmp_path: Path, lstm: Fixture, what: str) -> None:
    path = tmp_path / "model.onnx"
    if what == "not exported":                      # a folder train wrote, before export: say to export it
        (tmp_path / "checkpoint.pt").write_bytes(b"")
    if what == "corrupt":
        path.write_bytes(lstm.onnx.read_bytes()[:500])
    elif what == "not seqinfer":
        node = onnx.helper.make_node("Identity", ["x"], ["y"])
        vi = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [None]) for n in "xy"]
        onnx.save(onnx.helper.make_model(onnx.helper.make_graph([node], "g", vi[:1], vi[1:]),
                                         opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8),
                  path)
    elif what == "bad metadata":
        proto = onnx.load(lstm.onnx)
        for p in proto.metadata_props:
            if p.key == "seqinfer.window":
                p.value = "sixteen"
        onnx.save(proto, path)
    r = run_cli(["predict", str(path if what not in ("missing", "not exported") else tmp_path), "--provider",
                 "cpu"], "1\n")
    err = r.stderr.decode()
    assert r.returncode == 2 and err.count("\n") == 1 and r.stdout == b"", err
    want = {"missing": "no such model file", "corrupt": "not a loadable ONNX model",
            "not seqinfer": "not a seqinfer model", "bad metadata": "not valid JSON",
            "not exported": f"a trained checkpoint, not exported yet: seqinfer export {tmp_path}"}[what]
    assert want in err


def test_closed_stdout_ends_quietly(lstm: Fixture, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("\n".join(f"{v:.6f}" for v in sine(200_000)) + "\n")
    script = '"$@" < "$IN" 2> "$ERR" | head -n 3; echo "${PIPESTATUS[0]}" > "$RC"'
    env = {**os.environ, "IN": str(data), "ERR": str(tmp_path / "err"), "RC": str(tmp_path / "rc")}
    cmd = [*SEQINFER, "predict", str(lstm.dir), "--provider", "cpu"]
    r = subprocess.run(["bash", "-c", script, "bash", *cmd], capture_output=True, timeout=60, env=env)
    assert r.stdout.decode().splitlines()[0] == "row,yhat_1,yhat_2"
    assert (tmp_path / "err").read_text() == READING     # what was read, and no complaint
    assert (tmp_path / "rc").read_text().strip() == "0"


def start_predict_on_good_lines(lstm: Fixture) -> subprocess.Popen[bytes]:
    """A predict process that has been sent every GOOD line and is still waiting for more input."""
    p = subprocess.Popen([*SEQINFER, "predict", str(lstm.dir), "--provider", "cpu"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint)
    assert p.stdin
    p.stdin.write(("\n".join(GOOD) + "\n").encode())
    p.stdin.flush()
    return p


def test_ctrl_c_flushes_and_exits_130(lstm: Fixture) -> None:
    p = start_predict_on_good_lines(lstm)
    assert p.stdin and p.stdout and p.stderr
    first = [p.stdout.readline() for _ in range(6)]        # header + lines 16..20: all written already
    assert first[-1].startswith(b"20,")
    time.sleep(0.2)
    os.kill(p.pid, signal.SIGINT)
    assert p.wait(timeout=30) == 130
    err = p.stderr.read().decode()
    assert err == READING + "seqinfer: interrupted\n"
    assert p.stdout.read() == b""
    p.stdin.close()


def test_output_of_bad_line_is_flushed_before_the_error_even_in_a_trickle(lstm: Fixture) -> None:
    """The forecast of line 20 reaches the reader before the process even sees the bad line."""
    p = start_predict_on_good_lines(lstm)
    assert p.stdin and p.stdout and p.stderr
    assert [p.stdout.readline() for _ in range(6)][-1].startswith(b"20,")
    p.stdin.write(b"oops\n")
    p.stdin.close()
    assert p.wait(timeout=30) == 2
    assert b"<stdin>:21:1: 'oops' is not a number" in p.stderr.read()


def test_tiny_and_exponent_values_are_data_not_a_header(lstm: Fixture) -> None:
    """1e-5 on the first line is a value, not a header; exponents are read at their value and forecast."""
    values = ["1e-5", "-2.5E-3", "4e-1", "1E+0", *GOOD[4:]]
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "\n".join(values) + "\n")
    assert r.returncode == 0, r.stderr.decode()
    _, keys, y = parse_csv(r.stdout)
    assert [int(k[-1]) for k in keys] == list(range(16, 21))
    x = np.array([float(v) for v in values], np.float32)
    np.testing.assert_allclose(y, lstm.eager(np.stack([x[i - 16:i] for i in range(16, 21)])),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("end", ["\n\n", "\r\n\r\n  \r\n", "\n\n\n\n", "\n,,\n,,\n", "\n,\r\n"])
def test_blank_lines_at_the_end_are_no_error(lstm: Fixture, end: str) -> None:
    """Editors and spreadsheets leave blank lines at the end of a file (Excel: rows of commas, `,,`); a blank
    line between rows stays an error (test_bad_line_stops_after_earlier_forecasts)."""
    plain = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "\n".join(GOOD) + "\n")
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "\n".join(GOOD) + end)
    assert r.returncode == 0 and r.stdout == plain.stdout, r.stderr.decode()
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "\n\n")
    assert r.returncode == 2 and "empty input: no lines to read" in one_error(r.stderr)


def test_utf16_and_latin1_files_say_what_to_do(lstm: Fixture) -> None:
    """Excel's "Unicode Text" is UTF-16; an old Windows export is cp1252 (Température)."""
    text = "Date\tValue\r\n" + "".join(f"2020-01-{i + 1:02d}\t{v}\r\n" for i, v in enumerate(GOOD))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text.encode("utf-16"))
    assert r.returncode == 2
    assert one_error(r.stderr) == "seqinfer: error: <stdin>:1: UTF-16 text (it starts with a UTF-16 BOM), " \
                                  "not UTF-8: save it as CSV UTF-8, or iconv -f UTF-16 -t UTF-8"
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "Température\n".encode("cp1252"))
    assert r.returncode == 2 and "not valid UTF-8 (byte 5): --encoding cp1252 reads" in one_error(r.stderr)


def test_lines_ending_in_cr_only_say_so(lstm: Fixture) -> None:
    """Classic Mac line ends (CR alone): one line full of CRs, which Python's csv module calls a quoting
    problem and asks about 'universal-newline mode'."""
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], "value\r" + "\r".join(GOOD) + "\r")
    assert r.returncode == 2
    assert one_error(r.stderr) == "seqinfer: error: <stdin>:1: lines end in a carriage return (CR) alone, " \
                                  "not LF or CRLF: convert them (tr '\\r' '\\n' < FILE)"
    big = "value\r" + "\r".join(GOOD * 20_000) + "\r"                   # past the longest line allowed
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], big)
    assert r.returncode == 2 and "carriage return (CR) alone" in one_error(r.stderr), r.stderr.decode()


def test_json_lines_say_they_are_json(lstm: Fixture) -> None:
    """A JSON-lines export fed by mistake: split at its commas it looked like two text columns, and the
    error asked which was the series id."""
    text = "".join(f'{{"ts": {i}, "value": {v}}}\n' for i, v in enumerate(GOOD))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
    assert r.returncode == 2
    said = one_error(r.stderr)
    assert said.startswith("seqinfer: error: <stdin>: this is JSON, not CSV (line 1 starts with '{')"), said


def test_a_gzip_file_is_read_and_binary_files_say_what_they_are(lstm: Fixture, tmp_path: Path) -> None:
    """--input data.csv.gz gives the forecasts of data.csv (as pandas reads a .gz); gzip on stdin, an Excel
    workbook (a zip; .xls: OLE2) and a Parquet file without its suffix are named at line 1, where they
    were 'not valid UTF-8 ... iconv -f cp1252'; a .gz cut short stops after the forecasts before it."""
    import gzip

    text = ("value\n" + "\n".join(GOOD * 50) + "\n").encode()
    plain, packed = tmp_path / "data.csv", tmp_path / "data.csv.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    want = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(plain)])
    got = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(packed)])
    assert got.returncode == 0 and got.stdout == want.stdout and len(want.stdout.splitlines()) == 1 + 985
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed.read_bytes()[:len(packed.read_bytes()) // 2])
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu", "--input", str(cut)])
    assert r.returncode == 2 and r.stdout and want.stdout.startswith(r.stdout)
    assert one_error(r.stderr) == f"seqinfer: error: {cut}: the gzip file is damaged or cut short " \
                                  f"(Compressed file ended before the end-of-stream marker was reached)"
    for start, said in ((gzip.compress(text), "gzip-compressed data, not CSV text: give the file itself"),
                        (b"PK\x03\x04" + bytes(60), "a zip archive (an Excel workbook, .xlsx, is one)"),
                        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(60), "an old Excel workbook (.xls)"),
                        (b"PAR1" + bytes(60), "a Parquet file, not CSV: name it with a .parquet suffix")):
        r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], start)
        assert r.returncode == 2 and one_error(r.stderr).startswith(f"seqinfer: error: <stdin>:1: {said}")


def test_a_last_line_cut_short_says_so_after_the_forecasts(lstm: Fixture) -> None:
    """A logger's file read while it was written: half a line at the end, no newline. The error says it
    may be cut short; the same bad line with its newline, or further up, is the plain error."""
    head = "time,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(GOOD))
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], head + "20,")
    assert r.returncode == 2
    assert one_error(r.stderr) == ("seqinfer: error: <stdin>:22:2: missing value (empty field) in column 2 "
                                   "('value'); --fill previous or --fill drop goes on past it (the last "
                                   "line, with no newline: cut short while the file was being written? "
                                   "sed '$d' FILE drops it)")
    _, keys, _ = parse_csv(r.stdout)
    assert len(keys) == 20 - 15
    for text in (head + "20,\n", head + "20,\n21,0.5"):
        r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], text)
        assert r.returncode == 2 and one_error(r.stderr).endswith("goes on past it"), r.stderr.decode()
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], head + "20,0.5")
    assert r.returncode == 0, r.stderr.decode()


def test_a_line_not_utf8_below_the_sample_stops_predict_and_train(lstm: Fixture, tmp_path: Path) -> None:
    """A cp1252 export whose only non-ASCII bytes come late (a store `Köln` opening at line 202): the fast
    split reads bytes as they are, so the line must still be refused at its number, not its bytes passed into
    a series id and the output (it was: exit 0, `K\\xf6ln` written out)."""
    rows = [f"2024-01-{d // 24 + 1:02d}T{d % 24:02d}:00,Bonn,{v:.6f}" for d, v in enumerate(sine(200))]
    late = [f"2024-01-09T{h:02d}:00,K\xf6ln,{v:.6f}" for h, v in enumerate(sine(10, phase=1))]
    data = ("time,store,value\n" + "\n".join(rows + late) + "\n").encode("latin-1")
    (tmp_path / "sales.csv").write_bytes(data)
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], data)
    assert r.returncode == 2 and "<stdin>:202: not valid UTF-8 (byte 19): --encoding cp1252" \
        in one_error(r.stderr)
    _, keys, _ = parse_csv(r.stdout)
    assert [int(k[-1]) for k in keys] == list(range(17, 202)), "the forecasts before the bad line"
    early = ("time,store,value\n" + "\n".join(r.replace("Bonn", "K\xf6ln") for r in rows) + "\n")
    r = run_cli(["predict", str(lstm.dir), "--provider", "cpu"], early.encode("latin-1"))   # every line:
    said = r.stderr.decode()                                   # the columns are still told from them
    assert r.returncode == 2 and "time=time (passed through, iso), series=store" in said, said
    assert "<stdin>:2: not valid UTF-8" in one_error(r.stderr)
    r = run_cli(["train", "--data", str(tmp_path / "sales.csv"), "--out", str(tmp_path / "out"),
                 "--model", "rnn", "--epochs", "1", "--window", "16"])
    last = r.stderr.decode().splitlines()[-1]
    assert r.returncode == 2 and f"error: {tmp_path / 'sales.csv'}:202: not valid UTF-8" in last, last


def test_a_mistyped_option_or_value_is_one_line(lstm: Fixture) -> None:
    """Click's usage errors were three lines (Usage, Try, Error); and predict refused --fill interpolate,
    which train takes, as an unknown choice rather than saying why a stream cannot interpolate."""
    cases = {("--fil", "x"): "No such option: --fil (Possible options: --fill) (see seqinfer predict --help)",
             ("--fill", "interpolate"): "--fill interpolate needs the values after a gap, which a stream has "
                                        "not read yet: predict and score take stop, previous or drop (train "
                                        "and evaluate read the whole file, and interpolate)",
             ("--fill", "zero"): "--fill: 'zero' is not one of stop, previous, drop"}
    for args, said in cases.items():
        r = run_cli(["predict", str(lstm.dir), *args], "\n".join(GOOD) + "\n")
        assert r.returncode == 2 and r.stderr.decode() == f"seqinfer: error: {said}\n"
