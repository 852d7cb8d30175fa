"""Checkpoint model -> model.onnx with normalization inside, dynamic batch/seq axes and seqinfer metadata."""
from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch

from seqinfer.infer.contract import INPUT_AXES, INPUT_NAME, OPSET, OUTPUT_AXES, OUTPUT_NAME, ModelMeta
from seqinfer.trainer.model import Forecaster

# Why the TorchScript-based exporter (dynamo=False) for all three kinds: measured here with torch 2.13, it
# keeps batch and seq symbolic for RNN, LSTM and GRU (one ONNX RNN/LSTM/GRU op per layer, node count
# independent of seq) and exports in well under a second; the dynamo exporter unrolled nn.RNN with seq fixed
# at the example's length and took 7-27 s per model. Parity over the verify grid is what proves the choice.
EXPORTER = "torch.onnx.export(dynamo=False)"


def export_onnx(model: Forecaster, meta: ModelMeta, path: str | Path) -> None:
    """Write `model` (raw in, raw out) to `path` as one self-contained ONNX file with `meta` attached."""
    model = model.eval().cpu()
    cfg = model.config
    # Example shape deliberately unlike anything in the verify grid, so no example size can hide in the graph.
    example = torch.zeros(3, 5, cfg.features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and RNN batch warnings, see above
        torch.onnx.export(
            model, (example,), str(path), dynamo=False, opset_version=OPSET,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: INPUT_AXES, OUTPUT_NAME: OUTPUT_AXES},
            do_constant_folding=True,
        )
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for k, v in sorted(meta.to_props().items()):
        proto.metadata_props.add(key=k, value=v)
    proto.producer_name = "seqinfer"
    proto.producer_version = meta.seqinfer_version
    onnx.save(proto, str(path))
