"""seqinfer.export: checkpoint -> TorchScript and ONNX, verified against PyTorch.

    from seqinfer.export import ExportConfig, VerifyConfig, export_model, verify
    export_model("artifacts/lstm")                 # model.ts + model.onnx + parity.json, or ParityFailed
    verify("artifacts/lstm").raise_if_failed()     # re-check; also verify("x.onnx", checkpoint="ckpt.pt")
"""
from __future__ import annotations

from typing import Any

from .config import ExportConfig, VerifyConfig

__all__ = ["ExportConfig", "VerifyConfig", "export_model", "verify", "ParityFailed", "ParityReport"]


def __getattr__(name: str) -> Any:
    # Lazy: the configs are torch-free, so the CLI can read their defaults without importing torch.
    if name == "export_model":
        from .pipeline import export_model

        return export_model
    if name in ("verify", "ParityFailed", "ParityReport"):
        from . import parity

        return getattr(parity, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
