"""The export and verify settings: one frozen dataclass each, validated on construction. Torch-free."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from seqinfer.infer.errors import ConfigError

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
PROVIDER_ALIASES = {"cpu": CPU, "cuda": CUDA, "tensorrt": "TensorrtExecutionProvider"}
INPUT_KINDS = ("random", "test")
ONNX_FORMS = ("hybrid", "scan", "ops", "torch")   # see export/onnx_export.py


@dataclass(frozen=True)
class VerifyConfig:
    """What to compare and how strictly. Tolerance defaults: atol 1e-5, rtol 1e-4 (float32, forecast scale).

    Pass rule per element, as numpy.allclose: |y - ref| <= atol + rtol * |ref|.
    """

    atol: float = 1e-5
    rtol: float = 1e-4
    batches: tuple[int, ...] = (1, 2, 7, 64, 1000)
    seqs: tuple[int, ...] | None = None          # None: (1, window // 2, window, 2 * window)
    inputs: tuple[str, ...] = INPUT_KINDS         # random raw-scale windows, the checkpoint's test windows
    # onnxruntime providers to try; each one that really loads is compared. TensorRT is opt-in: it builds
    # an engine per input shape (minutes over the grid).
    providers: tuple[str, ...] = (CPU, CUDA)
    torchscript: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"verify.{name}: must be a finite number >= 0, got {v!r}")
        if self.atol == 0 and self.rtol == 0:
            raise ConfigError("verify.atol/rtol: both 0 would demand bit-identical float32 results")
        for name in ("batches", "seqs"):
            v = getattr(self, name)
            if v is not None and (not v or any(int(b) < 1 for b in v)):
                raise ConfigError(f"verify.{name}: needs one or more sizes >= 1, got {v!r}")
        if not self.inputs or set(self.inputs) - set(INPUT_KINDS):
            raise ConfigError(f"verify.inputs: choose from {', '.join(INPUT_KINDS)}, got {self.inputs!r}")
        if not self.providers:
            raise ConfigError("verify.providers: name at least one onnxruntime provider")
        names = tuple(PROVIDER_ALIASES.get(p.lower(), p) for p in self.providers)
        object.__setattr__(self, "providers", names)

    @classmethod
    def from_options(cls, *, atol: float | None = None, rtol: float | None = None,
                     providers: list[str] | None = None) -> VerifyConfig:
        """The CLI's options: None keeps the default."""
        given = {"atol": atol, "rtol": rtol, "providers": tuple(providers) if providers else None}
        return cls(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]

    def grid_seqs(self, window: int) -> tuple[int, ...]:
        return self.seqs or tuple(dict.fromkeys((1, max(1, window // 2), window, 2 * window)))


@dataclass(frozen=True)
class ExportConfig:
    """How `export_model` writes model.onnx / model.ts, and the verification that gates them."""

    onnx_form: str = "hybrid"
    verify: VerifyConfig = field(default_factory=VerifyConfig)

    def __post_init__(self) -> None:
        if self.onnx_form not in ONNX_FORMS:
            raise ConfigError(f"export.onnx_form: {self.onnx_form!r} is not one of {', '.join(ONNX_FORMS)}")
