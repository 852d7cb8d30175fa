"""Parquet in and out of `seqinfer predict`, through the CSV path, so that one set of rules reads every file.

    stream = ParquetCsv("data.parquet")         # a file object: the rows as CSV text, header first
    to_parquet("forecasts.csv", "forecasts.parquet", horizon=1, dtype="float32")

A Parquet file is read in record batches (pyarrow) and written out as CSV text as the reader asks for it:
the same column options, roles, missing values (a null is an empty field), errors and line numbers as a CSV
(line N is the file's row N: the header is line 0). Measured on 1M rows of `value` (bench section 2), the
conversion costs less than the parse it feeds. Forecasts go to Parquet by writing predict's CSV to a
temporary file and converting it at the end: passed-through columns stay text, `row` int64, the forecasts
the model's float type; the file appears under its name only when complete (rename).
"""
from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

from .config import ColumnSpec
from .errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
BATCH_ROWS = 65_536


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


class ParquetCsv(io.RawIOBase):
    """A Parquet file's rows as CSV bytes (RFC 4180, quoted only where needed), batch by batch."""

    def __init__(self, path: str | Path, batch_rows: int = BATCH_ROWS) -> None:
        import pyarrow.parquet as pq

        try:
            self.file = pq.ParquetFile(str(path))
        except (OSError, ValueError) as e:       # pyarrow.ArrowInvalid is a ValueError
            why = str(e).splitlines()[0]
            raise DataError(f"not a readable Parquet file ({why})", source=str(path)) from None
        self.batches = self.file.iter_batches(batch_size=batch_rows)
        self.buffer = b""
        self.header = True

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:

        while not self.buffer or (size > 0 and len(self.buffer) < size):
            batch = next(self.batches, None)
            if batch is None:
                break
            self.buffer += _csv(batch, self.header)
            self.header = False
        if self.header:                          # no batch at all: the header alone
            self.header = False
            self.buffer = (",".join(self.file.schema_arrow.names) + "\n").encode()
        n = len(self.buffer) if size < 0 else size
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


def _csv(batch: object, header: bool) -> bytes:
    """A record batch as CSV text. pyarrow's "needed" quoting quotes every string; seqinfer's bulk parser
    takes unquoted fields only, and the careful path is ~10x slower (measured: 12.8 s of a 400,000-row
    scoring run). So: no quotes, unless a field holds a comma, quote or line end (pyarrow refuses then)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    for style in ("none", "needed"):
        out = io.BytesIO()
        try:
            pcsv.write_csv(batch, out, pcsv.WriteOptions(include_header=header, quoting_style=style))
        except pa.ArrowInvalid:
            continue
        return out.getvalue()
    raise AssertionError("pyarrow wrote no CSV in 'needed' quoting")


def header_rule(spec: ColumnSpec, parquet: bool) -> tuple[ColumnSpec, str]:
    """A Parquet file's schema is its header: (the spec to decide the columns with, where the names are)."""
    return (replace(spec, header="yes"), "the Parquet schema") if parquet else (spec, "line 1")


def to_parquet(csv_path: str | Path, out: str | Path, horizon: int, dtype: str) -> None:
    """predict's output CSV -> Parquet at `out` (temporary name, then rename): text, int64 row, floats."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from .contract import ROW_COLUMN, forecast_columns
    from .parse import split_fields

    with open(csv_path, "rb") as f:
        names = split_fields(f.readline().rstrip(b"\n"), str(csv_path), 1)
    floats = pa.float64() if dtype == "float64" else pa.float32()
    types = {n: pa.string() for n in names} | {ROW_COLUMN: pa.int64()} | {
        n: floats for n in forecast_columns(horizon)}
    table = pcsv.read_csv(str(csv_path), convert_options=pcsv.ConvertOptions(
        column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False))
    tmp = Path(out).with_name(f".{Path(out).name}.tmp")
    pq.write_table(table, str(tmp))
    os.replace(tmp, out)
