"""The export and verify settings: one frozen dataclass each, validated on construction. Torch-free."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from seqinfer.infer.errors import ConfigError

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
PROVIDER_ALIASES = {"cpu": CPU, "cuda": CUDA, "tensorrt": "TensorrtExecutionProvider"}
INPUT_KINDS = ("random", "test", "shifted")
# Default rtol per model input type: float32 I/O rounds a forecast near |ref| to a few ulp (2^-23 each);
# float64 I/O does the level arithmetic in float64, so only the scale-relative atol is left.
RTOL = {"float32": 4 * 2.0**-23, "float64": 0.0}
ONNX_FORMS = ("hybrid", "scan", "ops", "torch")   # see export/onnx_export.py


@dataclass(frozen=True)
class VerifyConfig:
    """What to compare and how strictly.

    Pass rule per element: |y - ref| <= atol * S + rtol * |ref|, where S is the series' scale (the training
    split's std of the target, from the checkpoint): the tolerance follows the data's own units, not the raw
    value's size (rtol 1e-4 of a forecast near 10,000 would let 1.0 pass). Defaults: atol 1e-4 (of S);
    rtol by the model's input type, 4 float32 ulp (4.8e-07) for float32, 0 for float64.
    """

    atol: float = 1e-4
    rtol: float | None = None
    batches: tuple[int, ...] = (1, 2, 7, 64, 1000)
    seqs: tuple[int, ...] | None = None          # None: (1, window // 2, window, 2 * window)
    # random walks at the data's level, the checkpoint's test windows, and test windows moved 10,000 series
    # scales away from anything seen in training
    inputs: tuple[str, ...] = INPUT_KINDS
    # onnxruntime providers to try; each one that really loads is compared, and TorchScript runs on CUDA
    # too where CUDA is among them. TensorRT is opt-in: it builds an engine per input shape (minutes over
    # the grid).
    providers: tuple[str, ...] = (CPU, CUDA)
    torchscript: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if v is None and name == "rtol":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"verify.{name}: must be a finite number >= 0, got {v!r}")
        if self.atol == 0 and not self.rtol:
            raise ConfigError("verify.atol/rtol: both 0 would demand bit-identical results")
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

    def rtol_for(self, io_dtype: str) -> float:
        return RTOL[io_dtype] if self.rtol is None else self.rtol

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
