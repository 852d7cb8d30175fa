"""seqinfer.infer: run exported seqinfer models with onnxruntime. Never imports torch.

    from seqinfer.infer import Forecaster
    y = Forecaster("artifacts/lstm").predict(windows)
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("seqinfer")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["Forecaster", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `seqinfer train --help` and the contract do not pay for importing onnxruntime.
    if name in ("Forecaster", "Forecast"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
