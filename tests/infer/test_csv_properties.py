"""Property-based: random well-formed multi-series CSVs read right, random malformed lines always caught.

Files vary in what real exports vary in: header or not, column order, a time column or not, quoting (ids with
commas and quotes), CRLF, number spellings. The engine behind `seqinfer predict` runs in-process (the
subprocess path is covered row by row in test_csv_shapes.py); the reference is plain: each series' values in
file order, every complete window through eager PyTorch.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from infer_support import Fixture

from seqinfer.infer.columns import RUNS_MIN_ROWS
from seqinfer.infer.config import PredictConfig
from seqinfer.infer.errors import DataError
from seqinfer.infer.session import Model, load_model
from seqinfer.infer.stream import run_stream

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
IDS = st.sampled_from(["a", "b", "store_17", "x,y", 'say "hi"', "Zürich", "s 1"])


@pytest.fixture(scope="module")
def model(lstm: Fixture) -> Model:
    return load_model(lstm.onnx, "cpu")


def cell(text: str, quote_all: bool) -> str:
    if quote_all or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def number(v: float, style: int) -> str:
    return ("%.6g", "%.4e", "%.5f", "%.6G")[style] % v


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, dict[str, list[tuple[int, float]]], str | None]:
    """(file text, {series id: [(line, value)]}, --series-col where predict must be told) with what the file
    means written beside it."""
    ids = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
    multi = len(ids) > 1 or draw(st.booleans())
    with_time, header = draw(st.booleans()), draw(st.booleans())
    order = draw(st.permutations(["id", "time", "value"][(0 if multi else 1):] if with_time else
                                 (["id", "value"] if multi else ["value"])))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    quote_all = draw(st.booleans())
    style = draw(st.integers(0, 3))
    n = draw(st.integers(10, 45))
    owner = draw(st.lists(st.sampled_from(ids), min_size=n, max_size=n))
    vals = draw(st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=n, max_size=n))
    lines = [",".join(cell(c, quote_all) for c in order)] if header else []
    meant: dict[str, list[tuple[int, float]]] = {}
    for i, (sid, v) in enumerate(zip(owner, vals, strict=True)):
        text = number(v, style)
        fields = {"id": sid, "time": str(np.datetime64("2020-01-01T00:00") + np.timedelta64(i, "m")),
                  "value": text}
        lines.append(",".join(cell(fields[c], quote_all) for c in order))
        meant.setdefault(sid if multi else "", []).append((len(lines), float(text)))
    # Ids in runs beside a time rising row by row (each row a new minute here): a status column, or series
    # logged at their own times? predict asks (columns.RUNS_MIN_ROWS); the file's meaning says series.
    changes = sum(a != b for a, b in zip(owner, owner[1:], strict=False))
    if with_time and len(set(owner)) > 1 and len(owner) > RUNS_MIN_ROWS and 2 * changes < len(owner) - 1:
        return nl.join(lines) + nl, meant, str(order.index("id") + 1)
    return nl.join(lines) + nl, meant, None


def run(model: Model, text: str, series_col: str | None = None
        ) -> tuple[list[list[str]], BaseException | None]:
    out = io.BytesIO()
    error = None
    try:
        run_stream(model, PredictConfig(provider="cpu", workers=0, series_col=series_col),
                   io.BytesIO(text.encode()), out, report=lambda m: None)
    except DataError as e:
        error = e
    return list(csv.reader(io.StringIO(out.getvalue().decode()))), error


def reference(fx: Fixture, meant: dict[str, list[tuple[int, float]]], before: int | None = None
              ) -> dict[int, tuple[str, np.ndarray]]:
    want = {}
    for sid, rows in meant.items():
        rows = [r for r in rows if before is None or r[0] < before]
        if len(rows) < fx.window:
            continue
        v = np.array([x for _, x in rows], np.float32)
        y = fx.eager(np.lib.stride_tricks.sliding_window_view(v, fx.window))
        for (line, _), yy in zip(rows[fx.window - 1:], y, strict=True):
            want[line] = (sid, yy)
    return want


def compare(got: list[list[str]], want: dict[int, tuple[str, np.ndarray]]) -> None:
    head, body = got[0], got[1:]
    r = head.index("row")
    assert [int(row[r]) for row in body] == sorted(want)
    for row in body:
        sid, y = want[int(row[r])]
        if "series" in head:
            assert row[head.index("series")] == sid
        np.testing.assert_allclose([float(v) for v in row[r + 1:]], y, atol=1e-4, rtol=1e-5)


@SETTINGS
@given(csv_files())
def test_well_formed_files_give_the_reference_forecasts(model: Model, lstm: Fixture,
                                                        case: tuple[str, dict, str | None]) -> None:
    text, meant, series_col = case
    got, error = run(model, text, series_col)
    assert error is None, error
    compare(got, reference(lstm, meant))


BAD = st.sampled_from(["abc", "1e39", "-inf", "nan", "", '"unclosed', "1,2,3,4,5,6"])


@SETTINGS
@given(csv_files(), BAD, st.data())
def test_a_malformed_line_stops_at_its_line_after_every_earlier_forecast(
        model: Model, lstm: Fixture, case: tuple[str, dict, str | None], bad: str,
        data: st.DataObject) -> None:
    text, meant, series_col = case
    lines = text.splitlines(keepends=True)
    nl = "\r\n" if lines[0].endswith("\r\n") else "\n"
    # An empty value in a one-column file makes its line blank, and blank lines at the very end are no rows
    # (reader.py): there the last line is not a bad one to draw.
    single = len(list(csv.reader([lines[-1]]))[0]) == 1
    last = len(lines) - (bad == "" and single)
    assume(last >= 2)
    at = data.draw(st.integers(2, last), label="bad line number")    # 1-based; line 1 may be a header
    first = list(csv.reader([lines[at - 1]]))[0]
    width = len(first)
    if bad in ("abc", "1e39", "-inf", "nan", ""):            # a bad value where the value goes
        row = lines[at - 1].rstrip("\r\n")
        fields = list(csv.reader([row]))[0]
        vi = next(i for i, f in enumerate(fields) if _is_value(f))
        fields[vi] = bad
        broken = ",".join(cell(f, False) if i != vi else f for i, f in enumerate(fields))
    else:
        broken = bad if bad.count(",") + 1 != width else bad + ",1"
    lines[at - 1] = broken + nl
    got, error = run(model, "".join(lines), series_col)
    assert isinstance(error, DataError) and error.line == at, error
    compare(got, reference(lstm, meant, before=at))


def _is_value(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False                                          # an id or a time
    return True
