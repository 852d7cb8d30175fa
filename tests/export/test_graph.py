"""The ONNX graph: valid, shapes inferred, batch/seq symbolic, no example size baked in, not unrolled."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from seqinfer.export.graph_checks import check_graph, count_nodes
from seqinfer.export.onnx_export import build_onnx
from seqinfer.infer.contract import BATCH_AXIS, SEQ_AXIS
from seqinfer.trainer.model import Forecaster, ModelConfig

from .conftest import KINDS


def _model(kind: str) -> Forecaster:
    torch.manual_seed(0)
    return Forecaster(ModelConfig(kind=kind, hidden=8, horizon=2)).eval()


@pytest.mark.parametrize("kind", KINDS)
def test_exported_file_passes_every_graph_check(exported: dict, kind: str) -> None:
    proto = onnx.load(str(exported[kind].onnx_path))
    onnx.checker.check_model(proto, full_check=True)
    checks = exported[kind].report.checks
    names = {c.name for c in checks}
    assert {"onnx.checker", "shape inference", "names", "symbolic dims", "metadata", "no example sizes",
            "seq-independent"} <= names
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    x = proto.graph.input[0].type.tensor_type.shape.dim
    assert [x[0].dim_param, x[1].dim_param, x[2].dim_value] == [BATCH_AXIS, SEQ_AXIS, 1]
    y = onnx.shape_inference.infer_shapes(proto, strict_mode=True).graph.output[0].type.tensor_type.shape.dim
    assert [y[0].dim_param, y[1].dim_value] == [BATCH_AXIS, 2]


@pytest.mark.parametrize("form", ["hybrid", "scan", "ops", "torch"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_example_size_and_node_count_independent_of_seq(kind: str, form: str) -> None:
    m = _model(kind)
    a, b = build_onnx(m, form=form, example=(3, 5)), build_onnx(m, form=form, example=(3, 23))
    assert count_nodes(a) == count_nodes(b)
    checks = {c.name: c for c in check_graph(a, features=1, horizon=2, example=(3, 5))}
    assert all(c.passed for c in checks.values()), checks


def test_a_baked_in_example_size_is_caught() -> None:
    """The check is not vacuous: a Reshape to a constant batch of 3 is flagged."""
    proto = build_onnx(_model("rnn"), form="scan")
    proto.graph.initializer.append(numpy_helper.from_array(np.array([3, -1], np.int64), "baked_shape"))
    proto.graph.node.append(helper.make_node("Reshape", ["y_norm", "baked_shape"], ["unused"]))
    checks = {c.name: c for c in check_graph(proto, features=1, horizon=2, example=(3, 5))}
    assert not checks["no example sizes"].passed and "baked_shape" in checks["no example sizes"].detail


def test_a_fixed_batch_dim_is_caught() -> None:
    proto = build_onnx(_model("gru"), form="hybrid")
    proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 7
    checks = {c.name: c for c in check_graph(proto, features=1, horizon=2)}
    assert not checks["symbolic dims"].passed
