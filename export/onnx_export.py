"""Forecaster -> model.onnx with normalization inside, dynamic batch/seq axes and seqinfer metadata.

Graph forms (ExportConfig.onnx_form; the default is "hybrid" for every kind):
- "scan":   export/onnx_graph.py writes the cell op by op inside one ONNX Scan per layer.
- "ops":    the same file layout with ONNX's own RNN/LSTM/GRU ops (what the exporters produce).
- "hybrid": both, behind an If on the run-time batch size: the ops for batch <= OPS_MAX_BATCH[kind], the
            Scan above. Built from the weights, no tracing, so no example shape can leak into the graph.
- "torch":  torch.onnx.export(dynamo=False) of the Forecaster (ONNX RNN/LSTM/GRU ops). Kept as a second
            opinion: the tests run the graph checks and the parity grid on it too.

Why hybrid (`python -m bench.model_probe`: 2-core CPU, onnxruntime 1.31, ORT_ENABLE_ALL, seq 80):
onnxruntime's RNN/LSTM/GRU kernels are the fastest thing there is at small batches (batch 1: 3-10x eager on
one thread), but the plain-RNN kernel fell to 0.3-0.7x eager from batch 256 up and the LSTM/GRU kernels
lose ground there too. The Scan form (export/onnx_graph.py: one fused Gemm+activation per gate) runs on
ORT's vectorised kernels and wins at large batches (RNN 3-4x eager on one thread, LSTM 1.5x at 1024) but
pays about 1 µs per node per step, which dominates at small batches (LSTM batch 1: 0.5x eager). The If
costs one comparison. Known limit: from batch 32 to 128 the LSTM on one ORT thread runs at 0.8-1.0x PyTorch
eager's on one thread, whose oneDNN kernel does a whole cell in one call. Splitting such a batch across
single-thread workers reached only 0.7-0.95x eager on two threads; running it as one call of the LSTM op on
two spinning intra-op threads (what the Python API does up to batch 96) reached 1.1-1.2x.

Why not torch.onnx.export(dynamo=True), the maintained path: measured here with torch 2.13 it took 7-27 s per
small model and unrolled nn.RNN into per-step nodes with seq fixed at the example's length.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import replace
from pathlib import Path

import onnx
import torch

from seqinfer.infer.config import WIDE_MAX
from seqinfer.infer.contract import INPUT_AXES, INPUT_NAME, OPSET, OUTPUT_AXES, OUTPUT_NAME, ModelMeta
from seqinfer.infer.errors import ConfigError
from seqinfer.trainer.model import Forecaster

from .config import ONNX_FORMS
from .onnx_graph import build_graph

DEFAULT_FORM = "hybrid"
# Largest batch the hybrid form sends to the ONNX RNN/LSTM/GRU op (`python -m bench.model_probe --runtimes
# ort-scan ort-ops`, seq 80). RNN hidden 32: ops ahead only below batch 8. GRU hidden 64: ops ahead to batch
# 16 on one thread, Scan from 32. LSTM hidden 32: on one thread the two are level from 32 to 64 and the Scan
# ahead from 128; on two intra-op threads, which is how the Python API runs batches up to WIDE_MAX (96,
# infer/config.py), the LSTM op is 1.1-1.8x eager at 32-80 and the Scan 0.6-0.8x, so the LSTM op gets up to
# WIDE_MAX. The verify grid's batches {1, 2, 7, 64, 1000} reach both branches for every kind.
OPS_MAX_BATCH = {"rnn": 4, "lstm": WIDE_MAX, "gru": 24}
# A stateful model's step graph (export/step_graph.py): the largest batch it sends to the ONNX op, above which
# a Scan runs the cell; None: the op at every batch. predict calls it with 65,536 rows at a time, B series x
# 65,536 / B steps. `python -m bench.step_forms` (2-core CPU, 2 onnxruntime threads; ops / Scan ms): RNN
# hidden 32 ops ahead to batch 8 (37.6 / 58.5), the Scan from 16 (37.5 / 33.4) and 2.5x at 10,000 series
# (40.3 / 16.3); GRU hidden 64 ops ahead to 16 (116.6 / 126.5), level at 32, the Scan 1.7x at 10,000 (84.9 /
# 49.0); the LSTM op ahead at every batch (10,000: 19.5 / 31.4). The verify grid's 1, 2, 7 and 64 reach both.
STEP_OPS_MAX_BATCH: dict[str, int | None] = {"rnn": 12, "lstm": None, "gru": 24}
# The torch form traces one example input. Its sizes must not occur anywhere in the verify grid or in the
# model's own dimensions, so that a size baked into the graph is caught (graph check) rather than hidden.
EXAMPLE_BATCH, EXAMPLE_SEQ = 3, 5


def exporter_name(form: str, kind: str, stateful: bool = False) -> str:
    if stateful:
        top = STEP_OPS_MAX_BATCH[kind]
        how = f"ONNX {kind.upper()} ops" + ("" if top is None else f" for batch <= {top}, else Scan")
        return f"seqinfer.export.step_graph (step graph: {how}, with seq_lens), onnx {onnx.__version__}"
    if form == "torch":
        return f"torch.onnx.export(dynamo=False), torch {torch.__version__}"
    extra = f", ops for batch <= {OPS_MAX_BATCH[kind]}" if form == "hybrid" else ""
    return f"seqinfer.export.onnx_graph ({form} form{extra}), onnx {onnx.__version__}"


def resolve_form(form: str | None) -> str:
    form = form or DEFAULT_FORM
    if form not in ONNX_FORMS:
        raise ConfigError(f"onnx_form: {form!r} is not one of {', '.join(ONNX_FORMS)}")
    return form


def build_onnx(model: Forecaster, *, form: str, example: tuple[int, int] = (EXAMPLE_BATCH, EXAMPLE_SEQ),
               io_dtype: str = "float32") -> onnx.ModelProto:
    """The bare graph (no metadata). `example` (batch, seq) only matters to the traced torch form.
    `io_dtype`: the input and output type (float64 where float32 cannot hold the data; trainer/data.py)."""
    model = model.eval().cpu()
    cfg = model.config
    if cfg.stateful:                     # one form: the step graph (export/step_graph.py)
        from .step_graph import build_step_graph

        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        top = STEP_OPS_MAX_BATCH[cfg.kind]
        return build_step_graph(cfg.kind, state, features=cfg.features, hidden=cfg.hidden, layers=cfg.layers,
                                horizon=cfg.horizon, scaling=cfg.scaling, io_dtype=io_dtype,
                                nonlinearity=getattr(model.rnn, "nonlinearity", "tanh"),
                                form="ops" if top is None else "hybrid", ops_max_batch=top or 0)
    if form != "torch":
        state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        return build_graph(cfg.kind, state, features=cfg.features, hidden=cfg.hidden, layers=cfg.layers,
                           horizon=cfg.horizon, form=form, ops_max_batch=OPS_MAX_BATCH[cfg.kind],
                           nonlinearity=getattr(model.rnn, "nonlinearity", "tanh"), scaling=cfg.scaling,
                           io_dtype=io_dtype)
    buf = io.BytesIO()
    dtype = torch.float64 if io_dtype == "float64" else torch.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and RNN batch warnings, see above
        torch.onnx.export(
            model, (torch.zeros(example[0], example[1], cfg.features, dtype=dtype),), buf,  # type: ignore[arg-type]
            dynamo=False,
            opset_version=OPSET, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: INPUT_AXES, OUTPUT_NAME: OUTPUT_AXES}, do_constant_folding=True,
        )
    return onnx.load_from_string(buf.getvalue())


def attach_meta(proto: onnx.ModelProto, meta: ModelMeta) -> onnx.ModelProto:
    """Replace metadata_props with `meta` (sorted, so the bytes are reproducible) and stamp the producer."""
    del proto.metadata_props[:]
    for k, v in sorted(meta.to_props().items()):
        proto.metadata_props.add(key=k, value=v)
    proto.producer_name = "seqinfer"
    proto.producer_version = meta.seqinfer_version
    return proto


def complete_meta(meta: ModelMeta, form: str) -> ModelMeta:
    """Fill the version/exporter fields a caller left empty."""
    return replace(meta, torch_version=meta.torch_version or torch.__version__,
                   onnx_version=meta.onnx_version or onnx.__version__,
                   exporter=meta.exporter or exporter_name(form, meta.kind, meta.stateful), opset=OPSET)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write and fsync, so a rename that follows never publishes a half-written file."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def export_onnx(model: Forecaster, meta: ModelMeta, path: str | Path, *, form: str | None = None) -> None:
    """Write `model` (raw in, raw out) to `path` as one self-contained ONNX file with `meta` attached.

    No verification here: `seqinfer.export.export_model` is the verified, atomic path.
    """
    form = resolve_form(form)
    proto = attach_meta(build_onnx(model, form=form, io_dtype=meta.io_dtype), complete_meta(meta, form))
    write_bytes(path, proto.SerializeToString())
