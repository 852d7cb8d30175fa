"""seqinfer.infer: run exported seqinfer models with onnxruntime. Never imports torch.

    from seqinfer.infer import Forecaster
    y = Forecaster("artifacts/lstm").predict(windows)

    from seqinfer.infer import ColumnSpec, read_table          # CSV by the rules of train and predict
    table = read_table("co2.csv", ColumnSpec(value_col=("co2",)), fill="previous", report=print)
"""
from __future__ import annotations

from typing import Any

__all__ = ["ColumnSpec", "Forecast", "Forecaster", "read_table", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `seqinfer predict` starts fast and `seqinfer train --help` does not import onnxruntime.
    if name in ("Forecaster", "Forecast"):
        from . import api

        return getattr(api, name)
    if name == "read_table":          # the CSV reader of train and predict, for a whole file
        from .table import read_table

        return read_table
    if name == "ColumnSpec":
        from .config import ColumnSpec

        return ColumnSpec
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("seqinfer")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
