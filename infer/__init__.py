"""seqinfer.infer: run exported seqinfer models with onnxruntime. Never imports torch.

    from seqinfer.infer import Forecaster
    y = Forecaster("artifacts/lstm").predict(windows)
"""
from __future__ import annotations

from typing import Any

__all__ = ["Forecast", "Forecaster", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `seqinfer predict` starts fast and `seqinfer train --help` does not import onnxruntime.
    if name in ("Forecaster", "Forecast"):
        from . import api

        return getattr(api, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("seqinfer")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
