"""Unit tests of infer/'s parts: provider choice (fake sessions), reader, parser, series state, CSV writer."""
from __future__ import annotations

import contextlib
import io
import os
import re

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from infer_support import Fixture

from seqinfer.infer import compiled, csvout, parse
from seqinfer.infer.columns import resolve
from seqinfer.infer.config import ColumnSpec
from seqinfer.infer.contract import format_forecast
from seqinfer.infer.csvout import quote
from seqinfer.infer.errors import ConfigError, DataError, ProviderError
from seqinfer.infer.parse import parse_block
from seqinfer.infer.reader import Block, LineReader
from seqinfer.infer.session import CPU, CUDA, create_session, load_model
from seqinfer.infer.state import SeriesState


# --- provider selection ----------------------------------------------------------------------------------
class FakeSession:
    def __init__(self, providers: list[str]) -> None:
        self.providers = providers

    def get_providers(self) -> list[str]:
        return self.providers


def factory(cuda_loads: bool, log: str = ""):  # noqa: ANN201
    calls: list[list[str]] = []

    def create(providers: list[str]) -> FakeSession:
        calls.append(providers)
        if CUDA in providers and not cuda_loads:
            os.write(2, log.encode())          # what onnxruntime prints on fd 2 when CUDA fails to load
            return FakeSession([CPU])          # ... and then it quietly runs on the CPU
        return FakeSession([p for p in providers if p in (CPU, CUDA)])
    return create, calls


def test_cpu_is_cpu() -> None:
    create, calls = factory(cuda_loads=True)
    _, used = create_session("cpu", create, [CUDA, CPU])
    assert (used, calls) == ("cpu", [[CPU]])


def test_auto_is_the_cpu_even_where_cuda_loads() -> None:
    """AUTO_PROVIDER: onnxruntime's CUDA provider ran seqinfer's models slower than its CPU provider."""
    create, calls = factory(cuda_loads=True)
    preloaded: list[int] = []
    session, used = create_session("auto", create, [CUDA, CPU], preload=lambda: preloaded.append(1))
    assert (used, session.get_providers(), calls, preloaded) == ("cpu", [CPU], [[CPU]], [])


def test_cuda_runs_cuda_when_it_really_loads() -> None:
    create, _ = factory(cuda_loads=True)
    preloaded = []
    session, used = create_session("cuda", create, [CUDA, CPU], preload=lambda: preloaded.append(1))
    assert used == "cuda" and session.get_providers()[0] == CUDA and preloaded == [1]


def test_cuda_that_quietly_falls_back_is_an_error_that_says_why(capfd: pytest.CaptureFixture[str]) -> None:
    """onnxruntime-gpu without the CUDA libraries lists CUDA, prints its failure and runs on the CPU: the
    error gives that failure, without the terminal's colour codes, and nothing leaks onto stdout (forecasts)
    or stderr."""
    log = "\x1b[1;31m2026-01-01 [E:onnxruntime:Default, x.cc:1] Failed to load libcublasLt.so.12\x1b[m\n"
    create, _ = factory(cuda_loads=False, log=log)
    with pytest.raises(ProviderError, match="--provider cuda: CUDA cannot run here: ") as e:
        create_session("cuda", create, [CUDA, CPU], preload=lambda: print("preload noise"))
    assert "libcublasLt" in str(e.value) and "\x1b" not in str(e.value)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_explicit_cuda_that_cannot_load_is_an_error() -> None:
    create, _ = factory(cuda_loads=False, log="Failed to create CUDAExecutionProvider. Require cuDNN 9\n")
    with pytest.raises(ProviderError, match="--provider cuda: CUDA cannot run here: .*CUDAExecutionProvider"):
        create_session("cuda", create, [CUDA, CPU])


def test_cuda_missing_from_the_build() -> None:
    create, calls = factory(cuda_loads=True)
    with pytest.raises(ProviderError, match="has no CUDAExecutionProvider"):
        create_session("cuda", create, [CPU])
    assert calls == []


def test_unknown_provider() -> None:
    with pytest.raises(ConfigError, match="provider: 'tpu'"):
        create_session("tpu", factory(True)[0], [CPU])


def test_real_session_on_this_machine(lstm: Fixture) -> None:
    m = load_model(lstm.dir, "auto")
    assert m.provider == "cpu" and m.session.get_providers()[0] == CPU


@pytest.mark.skipif(CUDA not in ort.get_available_providers(), reason="onnxruntime without CUDA support")
def test_predict_and_verify_ask_cuda_for_the_same_float32(lstm: Fixture, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """One TF32 setting (ORT_CUDA_OPTIONS: off) for onnxruntime's CUDA provider in predict and in verify, so
    that what verify passed on CUDA is what predict runs (the provider turns TF32 on unless told)."""
    from seqinfer.export.parity import ort_session
    from seqinfer.infer.contract import ORT_CUDA_OPTIONS

    asked: list[list] = []
    real = ort.InferenceSession

    def spy(path: str, options: ort.SessionOptions | None = None, providers: list | None = None) -> object:
        asked.append(list(providers or []))
        return real(path, options, providers=[CPU])                 # the session itself runs on the CPU

    monkeypatch.setattr(ort, "InferenceSession", spy)
    with contextlib.suppress(ProviderError):                       # the spy's session runs on the CPU
        load_model(lstm.dir, "cuda")
    ort_session(lstm.dir / "model.onnx", CUDA)
    cuda = [p for ps in asked for p in ps if isinstance(p, tuple) and p[0] == CUDA]
    assert len(cuda) == 2 and all(opts == ORT_CUDA_OPTIONS == {"use_tf32": "0"} for _, opts in cuda), asked


@pytest.mark.skipif(CUDA not in ort.get_available_providers(), reason="onnxruntime without CUDA support")
def test_real_cuda(lstm: Fixture) -> None:
    try:
        m = load_model(lstm.dir, "cuda")
    except ProviderError as e:
        pytest.skip(f"no usable GPU on this machine (the error path is what runs here): {e}")
    assert m.session.get_providers()[0] == CUDA


# --- reader ---------------------------------------------------------------------------------------------
class Trickle(io.RawIOBase):
    """A file object handing out its data in the given pieces (a pipe whose writes land separately)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""


def blocks(pieces: list[bytes], **kw: object) -> list[Block]:
    r = LineReader(Trickle(pieces), "t", **kw)  # type: ignore[arg-type]
    out = []
    while (b := r.read()) is not None:
        if b.nlines:
            out.append(b)
    return out


def test_reader_joins_pieces_numbers_lines_and_strips_a_split_bom() -> None:
    got = blocks([b"\xef", b"\xbb\xbf1\n2", b"\n3\n", b"4"])
    assert [(b.data, b.first_line, b.nlines) for b in got] == [
        (b"1\n", 1, 1), (b"2\n3\n", 2, 2), (b"4\n", 4, 1)]


def test_reader_long_line_stop_and_skip() -> None:
    with pytest.raises(DataError, match="t:2: line is longer than 8 bytes"):
        blocks([b"1\n", b"123456789", b"0\n3\n"], max_line=8)
    skipped: list[DataError] = []
    got = blocks([b"1\n1234", b"56789", b"0\n3\n"], max_line=8, on_long_line=skipped.append)
    assert [(b.data, b.first_line) for b in got] == [(b"1\n", 1), (b"3\n", 3)]
    assert [e.line for e in skipped] == [2]


def test_reader_on_a_pipe_waits_with_a_timeout() -> None:
    rfd, wfd = os.pipe()
    try:
        r = LineReader(rfd, "pipe")
        assert r.wait(0.01) is False
        os.write(wfd, b"1\n")
        assert r.wait(1.0) is True and r.read() == Block(b"1\n", 1, 1)
    finally:
        os.close(rfd)
        os.close(wfd)


# --- parser ---------------------------------------------------------------------------------------------
def cols(first: str, layout: str = "auto", **kw: object):  # noqa: ANN201
    return resolve([first.split(",")], ColumnSpec(**kw), features=1, window=3,  # type: ignore[arg-type]
                   layout=layout)


def test_columns_from_line_one() -> None:
    assert cols("1.5").values == (0,) and cols("1.5").header is None
    c = cols("a,1.5")
    assert (c.series, c.values, c.header, c.names) == (0, (1,), None, ("series",))
    c = cols("ts,series,value", keep=("ts",))
    assert (c.series, c.values, c.keep, c.names) == (1, (2,), (0,), ("series", "ts"))
    c = cols("1,2,3")
    assert (c.layout, c.values) == ("windows", (0, 1, 2))
    with pytest.raises(ConfigError, match="4 numeric column.s. per row, but a window is 3"):
        cols("1,2,3,4", layout="windows")
    with pytest.raises(ConfigError, match="--keep 'zz': no such column"):
        cols("ts,value", keep=("zz",))


def test_bulk_and_careful_parse_agree() -> None:
    c = cols("series,value")
    data = b"a,1.5\nb,-2e-3\r\na,  7\n"
    fast, errors = parse_block(Block(data, 2, 3), c, "t", stop=True)
    slow, _ = parse_block(Block(data.replace(b"a,", b'"a",'), 2, 3), c, "t", stop=True)
    assert errors == [] and fast.series == slow.series == [b"a", b"b", b"a"]
    assert fast.values.tolist() == slow.values.tolist() == [[1.5], [-0.002], [7.0]]
    assert fast.lines.tolist() == [2, 3, 4]


NUMBERS = ["1.5", "-2e-3", "+.5", "5.", "1E+05", "00012", "-0", " 7", "7 ", "\t1", "0.30000000000000004",
           "3.4028235e38", "1e-400", "9007199254740993", "12345678901234567890123", "1.00000000000000000001",
           "2.2250738585072011e-308", "0.000000000000000000000000000000001"]
ODD = ["1_000", "\u0661", "", "NA", "nan", "inf", "-Infinity", "1e39", "3.4028235677973366e38", "x", "0x10",
       "1d5", "\\N"]
LAYOUTS = {"series,value": 2, "value": 1, "time,series,value": 3, "1,2,3": 3}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.sampled_from(sorted(LAYOUTS)), n=st.integers(1, 40), data=st.data(),
       stop=st.booleans(), missing_ok=st.booleans())
def test_arrow_and_python_parse_agree(monkeypatch: pytest.MonkeyPatch, layout: str, n: int,
                                      data: st.DataObject, stop: bool, missing_ok: bool) -> None:
    """Blocks go through C (infer/_csvread.c) where it is built, else big ones through pyarrow's reader,
    small ones through Python's: the same rows, values and errors for every spelling, with the odd wrong
    field count or blank line."""
    c, k = cols(layout), LAYOUTS[layout]
    nums = data.draw(st.lists(st.sampled_from(NUMBERS), min_size=n * k, max_size=n * k))
    if data.draw(st.booleans()):                                # one odd spelling somewhere
        nums[data.draw(st.integers(0, n * k - 1))] = data.draw(st.sampled_from(ODD))
    rows = []
    for i in range(n):
        f = nums[i * k:(i + 1) * k]
        if layout == "series,value":
            f[0] = data.draw(st.sampled_from(["a", "b", " a", "NA", ""]))
        if layout == "time,series,value":
            f[:2] = [f"2024-01-{1 + i % 28:02d}", "s"]
        rows.append(",".join(f))
    bad = data.draw(st.sampled_from([None, None, "extra", "short", "blank"]))
    if bad is not None:
        at = data.draw(st.integers(0, n - 1))
        rows[at] = {"extra": rows[at] + ",1", "short": rows[at].rpartition(",")[0], "blank": ""}[bad]
    block = Block(("\n".join(rows) + "\n").encode(), 2, n)
    got = []
    for fast, smallest in ((compiled.FAST, 0), (None, 0), (None, 1 << 40)):  # C, pyarrow, Python
        monkeypatch.setattr(parse, "FAST", fast)
        monkeypatch.setattr(parse, "ARROW_MIN_BYTES", smallest)
        r, errors = parse_block(block, c, "t", stop=stop, missing_ok=missing_ok)
        got.append((r.lines.tolist(), r.values.tobytes(), r.series, r.text,
                    None if r.times is None else r.times.tobytes(), [str(e) for e in errors]))
    assert got[0] == got[1] == got[2]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.sampled_from(["time,series,value", "series,value", "value"]), n=st.integers(1, 30),
       data=st.data())
def test_quoted_fields_read_alike_in_c_and_the_careful_parse(monkeypatch: pytest.MonkeyPatch, layout: str,
                                                            n: int, data: st.DataObject) -> None:
    """Fields in quotes (R's write.csv, MySQL's ENCLOSED BY) read by C give the careful parse's rows: the
    text inside the quotes, re-quoted on output where it needs it; what C declines goes the careful way."""
    if compiled.FAST is None:
        pytest.skip(f"the C reader is not built here: {compiled.DESCRIPTION}")
    c = cols(layout)
    cells = {"time": st.sampled_from(["2024-01-01", "2024-01-02 10:00", "Jan 3, 2024", ""]),
             "series": st.sampled_from(["a", "s_17", "x,y", 'say ""hi""', "s 1", "", "NA", "1.5"]),
             "value": st.sampled_from([*NUMBERS[:6], "1e5", "NA", ""])}
    rows = []
    for _ in range(n):
        fields = []
        for name in layout.split(","):
            f = data.draw(cells[name])
            quoted = data.draw(st.booleans()) or "," in f or '"' in f
            fields.append(f'"{f}"' if quoted else f)
        rows.append(",".join(fields))
    if data.draw(st.booleans()):
        rows[data.draw(st.integers(0, n - 1))] += data.draw(st.sampled_from([',"extra"', '"', ',"1\n2"']))
    text = "\n".join(rows) + "\n"
    block = Block(text.encode(), 2, text.count("\n"))
    got = []
    for fast in (compiled.FAST, None):           # (hypothesis keeps the patch between examples)
        monkeypatch.setattr(parse, "FAST", fast)
        r, errors = parse_block(block, c, "t", stop=False, missing_ok=True)
        got.append((r.lines.tolist(), r.values.tobytes(), r.series, r.text,
                    None if r.times is None else r.times.tobytes(), [str(e) for e in errors]))
    assert got[0] == got[1]


PLAIN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.from_regex(PLAIN, fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map("{:.9g}".format),
    st.builds("{}{}e{}".format, st.integers(-10**25, 10**25), st.sampled_from(["", ".", ".5", ".000123"]),
              st.integers(-340, 340)),
    st.text("0123456789.eE+-_ xabnfi", max_size=12)))
def test_c_reader_reads_a_number_as_float_does_or_declines(text: str) -> None:
    """The C reader takes plain numbers (PLAIN) and reads each to the bits Python's float() gives, whatever
    its digits or exponent; anything else it declines (parse.py's other readers decide)."""
    if parse.FAST is None:
        pytest.skip(f"the C reader is not built here: {compiled.DESCRIPTION}")
    values = np.empty((2, 1))
    got = parse.FAST.split(f"{text}\n7\n".encode(), 2, 1, (0,), (), -1, parse.FAST.interner(), values)
    plain = PLAIN.fullmatch(text) is not None
    assert (got is not None) == (plain and len(text) <= 64), text
    if got is not None:
        assert values[0, 0].tobytes() == np.float64(float(text)).tobytes(), text
        assert values[1, 0] == 7.0


def test_c_reader_declines_what_is_not_plain() -> None:
    """Field counts, line ends and the values buffer are checked before anything is read."""
    if parse.FAST is None:
        pytest.skip(f"the C reader is not built here: {compiled.DESCRIPTION}")
    split, ids = parse.FAST.split, parse.FAST.interner()
    v = np.empty((2, 1))
    assert split(b"a,1\nb,2\n", 2, 2, (1,), (0,), 0, ids, v) == [[b"a", b"b"]]
    for data in (b"a,1\nb,2", b"a,1\nb,2\nc,3\n", b"a,1\nb\n", b"a,1\nb,2,3\n", b"a,1\n,\n", b"a,1\nb,\n"):
        assert split(data, 2, 2, (1,), (0,), 0, ids, v) is None, data
    with pytest.raises(ValueError, match="n . len.value_cols. float64"):
        split(b"a,1\nb,2\n", 2, 2, (1,), (0,), 0, ids, np.empty(3))
    with pytest.raises(ValueError, match="beyond k"):
        split(b"a,1\nb,2\n", 2, 2, (2,), (0,), 0, ids, v)


def test_c_reader_shares_one_bytes_object_per_series_id() -> None:
    """Each distinct id is one object across blocks (the code lookup then hashes nothing); other text
    fields are objects of their own."""
    if parse.FAST is None:
        pytest.skip(f"the C reader is not built here: {compiled.DESCRIPTION}")
    c = cols("time,series,value")
    a, _ = parse_block(Block(b"t1,s_x,1\nt2,s_y,2\nt3,s_x,3\n", 2, 3), c, "t", stop=True)
    b, _ = parse_block(Block(b"t4,s_y,4\nt4,s_x,5\n", 5, 2), c, "t", stop=True)
    assert a.series == [b"s_x", b"s_y", b"s_x"] and b.series == [b"s_y", b"s_x"]   # (one-byte ids are
    # always one object in CPython: these are longer)
    assert a.series[0] is a.series[2] is b.series[1] and a.series[1] is b.series[0]
    t = c.passed.index(0)                                   # the time column, passed through
    assert a.text[t] == [b"t1", b"t2", b"t3"] and b.text[t] == [b"t4", b"t4"]
    assert b.text[t][0] is not b.text[t][1]


def test_careful_parse_stops_or_skips() -> None:
    c = cols("value")
    block = Block(b"1\nx\n2\ninf\n3\n", 2, 5)
    rows, errors = parse_block(block, c, "t", stop=True)
    assert rows.lines.tolist() == [2]
    assert [str(e) for e in errors] == ["t:3:1: 'x' is not a number (column 1 ('value'))"]
    rows, errors = parse_block(block, c, "t", stop=False)
    assert rows.lines.tolist() == [2, 4, 6] and [e.line for e in errors] == [3, 5]
    assert "not a finite float32 number" in str(errors[1])


# --- series state and CSV writer ---------------------------------------------------------------------------
def test_series_state_windows_across_blocks_and_series() -> None:
    s = SeriesState(window=3, features=1)
    v = np.arange(10, dtype=np.float64)[:, None]
    src, idx, mask = s.ready(v[:2], [b"a", b"b"])
    assert not mask.any()
    src, idx, mask = s.ready(v[2:8], [b"a", b"b", b"a", b"b", b"a", b"b"])
    assert mask.tolist() == [False, False, True, True, True, True]
    assert src[idx][:, :, 0].tolist() == [[0, 2, 4], [1, 3, 5], [2, 4, 6], [3, 5, 7]]
    assert [len(t) for t in s.tails] == [2, 2]


@pytest.mark.parametrize("lookup", ["C", "Python"])
def test_series_codes_and_recency_alike_in_c_and_python(lookup: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block's series codes come from one C call (compiled.lookup: FAST.lookup) or a comprehension: the
    same codes, new series numbered in order of first appearance, the same least recently seen evicted."""
    if lookup == "C" and compiled.FAST is None:
        pytest.skip(f"the C helpers are not built here: {compiled.DESCRIPTION}")
    if lookup == "Python":
        monkeypatch.setattr(compiled, "FAST", None)
    rng = np.random.default_rng(5)
    s = SeriesState(window=1, features=1)
    seen: list[bytes] = []
    every: list[bytes] = []
    for n in (50, 7, 300, 1, 120):
        keys = [b"k%d" % i for i in rng.integers(0, 45, n)]
        every += keys
        s.ready(rng.normal(size=(n, 1)), keys)
        for k in keys:                                      # what a row-by-row pass would give
            if k in seen:
                seen.remove(k)
            seen.append(k)
        assert [s.keys[c] for c in s.row_codes] == keys
        assert s.by_recency() == seen                       # least recently seen first
    first = list(dict.fromkeys(every))                      # codes in order of first appearance
    assert [s.ids[k] for k in first] == list(range(len(first)))


def test_eviction_after_fast_blocks_takes_the_least_recently_seen() -> None:
    """Blocks with room for every series keep recency in numpy stamps; the block that must evict reads
    them: here b (seen last at row 2), not a (inserted first, seen again at row 4)."""
    s = SeriesState(window=1, features=1, max_series=3)
    v = np.zeros((5, 1))
    s.ready(v, [b"a", b"b", b"c", b"c", b"a"])
    s.ready(v[:2], [b"d", b"c"])
    assert s.by_recency() == [b"a", b"d", b"c"] and s.tally.evicted == 1
    assert [s.keys[c] for c in s.row_codes] == [b"d", b"c"]


def test_writer_matches_the_reference_format(writer: str) -> None:
    y = np.array([[0.1, 1e-5], [-12.5, 123456789.0], [np.nan, np.inf]], np.float32)
    lines = np.array([3, 10, 11])
    text = [[b"a", quote(b'x,"y"'), b"c"]]
    got = csvout.format_rows(text, lines, y, csvout.value_format(None)).decode()
    want = "".join(format_forecast([s], int(r), list(row)) for s, r, row in
                   zip(["a", 'x,"y"', "c"], lines, y, strict=True))
    assert got == want
    assert got.splitlines()[1] == '"x,""y""",10,-12.5,123456792'
    fixed = csvout.format_rows([], lines[:1], y[:1], csvout.value_format(2)).decode()
    assert fixed == format_forecast([], 3, list(y[0]), precision=2) == "3,0.10,0.00\n"


def test_output_rows_formatted_in_chunks_keep_order_and_count() -> None:
    """Past FORMAT_CHUNK rows a `%`-formatted batch (here --precision 3) runs in pieces (each lets other
    threads take the GIL)."""
    n = 2 * csvout.FORMAT_CHUNK + 7
    y = np.arange(2 * n, dtype=np.float32).reshape(n, 2) / 8
    text = [[b"s%d" % (i % 3) for i in range(n)]]
    got = csvout.format_rows(text, np.arange(n) + 2, y, csvout.value_format(3)).decode()
    assert got == "".join(format_forecast([f"s{i % 3}"], i + 2, list(y[i]), precision=3) for i in range(n))


def _hard_floats(n: int, rng: np.random.Generator) -> np.ndarray:
    """float32 values that test a %.9g writer: every bit pattern (subnormals, NaN payloads, inf), each side of
    every power of ten from 1e-6 to 1e10, integers, halves, and ordinary values at several scales."""
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    tens = np.float32(10.0) ** rng.integers(-6, 11, n).astype(np.float32)
    near = np.nextafter(tens, np.where(rng.random(n) < 0.5, np.float32(0), np.float32(np.inf)))
    picks = [bits, tens, near, -near, rng.integers(-10**6, 10**6, n).astype(np.float32),
             rng.integers(-2000, 2000, n).astype(np.float32) / 2,
             (rng.normal(size=n) * 10.0 ** rng.integers(-5, 10, n)).astype(np.float32),
             np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-4, 9.9999997e-05, 999999999.0, 99999999.5,
                       0.1, 123456789.0, 1.5e-45] * (n // 12 + 1), np.float32)[:n]]
    return rng.permutation(np.concatenate(picks))[:n]


@pytest.fixture(params=["C", "numpy"])
def writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test of the default format runs on both writers: the C one (infer/_csvfast.c) where it was
    built, and the numpy one it falls back to (forced here by hiding the C one)."""
    if request.param == "C" and csvout._FAST is None:
        pytest.skip(f"the C writer is not built here: {compiled.DESCRIPTION}")
    if request.param == "numpy":
        monkeypatch.setattr(csvout, "_FAST", None)
    return str(request.param)


def test_the_c_writer_is_built_where_a_compiler_is() -> None:
    """The C writer's build is optional (no compiler: numpy writes): with a compiler at hand, a failed
    build would otherwise go unnoticed, every C test skipped."""
    import shutil
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler ({cc}) on this machine: predict writes with numpy")
    assert csvout._FAST is not None, compiled.DESCRIPTION
    assert compiled.DESCRIPTION == "C (seqinfer.infer._csvfast)"


def test_c_writer_refuses_mismatched_arguments() -> None:
    if csvout._FAST is None:
        pytest.skip(f"the C writer is not built here: {compiled.DESCRIPTION}")
    y, lines = np.zeros((3, 2), np.float32), np.arange(3, dtype=np.int64)
    with pytest.raises(ValueError, match="n int64"):
        csvout._FAST.rows([], lines, y, 4, 2)
    with pytest.raises(ValueError, match="list of n bytes"):
        csvout._FAST.rows([[b"a"]], lines, y, 3, 2)
    with pytest.raises(TypeError, match="bytes"):
        csvout._FAST.rows([[b"a", "b", b"c"]], lines, y, 3, 2)
    assert csvout._FAST.rows([[b"a", b"", b"c"]], lines, y, 3, 2) == b"a,0,0,0\n,1,0,0\nc,2,0,0\n"


@pytest.mark.parametrize("horizon", [1, 3])
def test_writers_equal_printf_byte_for_byte(horizon: int, writer: str) -> None:
    """The default format is built in C, or in numpy for batches of VECTOR_MIN_ROWS rows or more: every
    line must be what the reference writes (printf %.9g), for hard values, several text columns (empty,
    quoted, non-ASCII, one ending in a NUL byte) and line numbers of every length."""
    rng = np.random.default_rng(7)
    n = 20_000
    y = _hard_floats(n * horizon, rng).reshape(n, horizon)
    ids = [f"s{i % 97}" for i in range(n)]
    kept = ["" if i % 5 == 0 else 'a "q", b' if i % 5 == 1 else f"é{i}" for i in range(n)]
    lines = np.sort(rng.choice(10**9 - 1, n, replace=False)) + 1
    lines[:10] = np.arange(1, 11)
    text = [[s.encode() for s in ids], [quote(s.encode()) for s in kept]]
    got = csvout.format_rows(text, lines, y, csvout.value_format(None)).decode()
    want = "".join(format_forecast([a, b], int(r), list(row)) for a, b, r, row in
                   zip(ids, kept, lines, y, strict=True))
    assert got == want
    from_zero = np.arange(300)                                 # a row 0 (never from predict): `%` writes "0"
    assert csvout.format_rows([], from_zero, y[:300], csvout.value_format(None)).decode() == "".join(
        format_forecast([], int(r), list(row)) for r, row in zip(from_zero, y, strict=False))
    nul = ["x\x00" if i == 3 else "x" for i in range(n)]        # NUL: numpy's bytes arrays would drop it
    for raw in (nul, [s if i != 5 else "a\nb" for i, s in enumerate(nul)]):     # a newline: `%` writes it
        out = csvout.format_rows([[quote(s.encode()) for s in raw]], lines, y, csvout.value_format(None))
        assert out.decode() == "".join(format_forecast([s], int(r), list(row))
                                       for s, r, row in zip(raw, lines, y, strict=True))


def test_numpy_writer_survives_a_log10_one_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decimal exponent comes from log10, which a libm may round to the wrong side of an integer next to
    a power of ten: the writer checks the scaled value and corrects it. Forced one off either way here."""
    monkeypatch.setattr(csvout, "_FAST", None)
    rng = np.random.default_rng(3)
    y = _hard_floats(5000, rng)[:, None]
    exact = np.log10
    monkeypatch.setattr(csvout.np, "log10", lambda a: exact(a) + rng.choice([-0.9999, 0.9999], len(a)))
    got = csvout.format_rows([], np.arange(1, 5001), y, csvout.value_format(None)).decode()
    assert got == "".join(format_forecast([], i + 1, [v]) for i, v in enumerate(y[:, 0]))



def test_python_api_reads_a_file_like_predict(tmp_path) -> None:  # noqa: ANN001
    from seqinfer.infer import ColumnSpec, read_table

    f = tmp_path / "co2.csv"
    f.write_text("date,co2\n19580329,315.71\n19580405,NA\n19580412,317.5\n")
    said: list[str] = []
    t = read_table(f, ColumnSpec(value_col=("co2",)), fill="previous", report=said.append)
    assert said == ["reading value=co2, time=date (passed through, yyyymmdd), series=none (header: line 1)"]
    assert t.values[0][:, 0].tolist() == [315.71, 315.71, 317.5] and t.lines[0].tolist() == [2, 3, 4]
    assert t.notes == ["--fill previous: 1 missing value(s) repeated from the series' last value"]
    with pytest.raises(DataError, match=r"co2.csv:3:2: missing value \('NA'\)"):
        read_table(f, ColumnSpec())


def test_a_block_of_blank_lines_of_wide_rows_parses_without_a_library_warning() -> None:
    """A trickle's last block can hold only blank lines: numpy's loadtxt warned on it ("input contained no
    data"), which a user would see on stderr. The bulk parse now leaves such a block to the careful one."""
    import warnings

    cols = resolve([["1", "2", "3"], ["4", "5", "6"]], ColumnSpec(), features=1, window=3, layout="windows")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows, errors = parse_block(Block(b"\n\n", 3, 2), cols, "t", stop=True)
    assert len(rows) == 0 and [e.line for e in errors] == [3]           # an empty line, named


def test_the_missing_code_checks_read_extreme_values_without_a_warning() -> None:
    """A block of float32 values near -3.4e38 beside a -9999 (numpy's percentile overflowed in float32), and
    a `-inf` in the first lines beside one (it met an infinity): RuntimeWarnings in the middle of a run, found
    by the hypothesis test. Read in float64, finite values only."""
    import warnings

    from seqinfer.infer.columns import resolve
    from seqinfer.infer.config import ColumnSpec
    from seqinfer.infer.state import SeriesState

    state = SeriesState(1, 1)
    v = np.array([[-3.4e38]] * 5 + [[1e38], [-9999.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state.ready(v, None, np.arange(2, 9))
        # the first lines' note: a `-inf` among them (its line is an error later) beside a -9999
        lines = [["value"]] + [[str(x)] for x in (1.0, 2.0, -9999, "-inf", 1.5, 2.5, 1.2)]
        cols = resolve(lines, ColumnSpec())
    assert state.tally.codes == 0 and "holds -9999 (line 4), far outside" in cols.notes[0]
    far = SeriesState(1, 1)
    far.ready(np.array([[1.0], [1.5], [2.0], [1.2], [-9999.0]], np.float32), None, np.arange(2, 7))
    assert far.tally.codes == 1 and far.tally.code_first == (-9999.0, 6)


def test_dots_keep_their_line_numbers_across_blocks() -> None:
    """--decimal ',': a value with a '.' (Block.dots) is refused at its own line in any block, past blank
    lines held back between blocks (`;;`: missing values there); a date's dots and a text field's are not
    values."""
    from seqinfer.infer.columns import resolve
    from seqinfer.infer.config import ColumnSpec
    from seqinfer.infer.parse import after_header, parse_block, sample
    from seqinfer.infer.reader import Dialect, LineReader

    rows = [f"{d % 28 + 1:02d}.01.2024;Nr. {d % 3};{d},5" for d in range(40)]
    rows[21] = "22.01.2024;Nr. 1;1.234"          # line 25, in the block that starts with the held-back `;;`
    text = ("Datum;Filiale;Umsatz\n" + "\n".join(rows[:20]) + "\n;;\n;;\n" + "\n".join(rows[20:]) + "\n")
    spec = ColumnSpec(sep=";", decimal=",", series_col="Filiale")
    reader = LineReader(io.BytesIO(text.encode()), "de.csv", chunk_bytes=67, dialect=Dialect.of(spec))
    blocks = [b for b in iter(reader.read, None) if b.nlines]
    assert len(blocks) > 5
    cols = resolve(sample(blocks, "de.csv"), spec, features=1, window=1)
    found = [(b.first_line, int(ln), int(col)) for b in blocks if b.dots is not None for ln, col in b.dots]
    assert (22, 25, 2) in found and [(ln, col) for _, ln, col in found if col == 2] == [(25, 2)], found
    errors = [e for b in after_header(blocks, cols) for e in parse_block(b, cols, "de.csv", stop=False)[1]]
    assert [(e.line, e.column) for e in errors] == [(22, 3), (23, 3), (25, 3)], errors   # (;; lines: missing)
    assert "'1.234' has a '.'" in str(errors[-1])
