"""The ONNX graph: valid, shapes inferred, batch/seq symbolic, no size baked in, not unrolled."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from seqinfer.export import pipeline
from seqinfer.export.graph_checks import Check, check_graph, count_nodes, iter_graphs
from seqinfer.export.onnx_export import build_onnx
from seqinfer.export.onnx_graph import FORMS as WEIGHT_BUILT  # built from the weights, no example input
from seqinfer.export.pipeline import export_checks
from seqinfer.infer.contract import BATCH_AXIS, SEQ_AXIS
from seqinfer.trainer.model import Forecaster, ModelConfig

from .conftest import KINDS

EXAMPLES = ((3, 5), (3, 23))


def _model(kind: str) -> Forecaster:
    torch.manual_seed(0)
    return Forecaster(ModelConfig(kind=kind, hidden=8, horizon=2)).eval()


def _checks(model: Forecaster, form: str) -> dict[str, Check]:
    return {c.name: c for c in export_checks(model, form, EXAMPLES)}


def _bake(monkeypatch: pytest.MonkeyPatch, change: Callable[[onnx.ModelProto], None]) -> None:
    """export_checks builds its graphs with `change` applied: a stand-in for a bug in the graph builder."""
    def build(*args: Any, **kwargs: Any) -> onnx.ModelProto:
        proto = build_onnx(*args, **kwargs)
        change(proto)
        return proto
    monkeypatch.setattr(pipeline, "build_onnx", build)


@pytest.mark.parametrize("kind", KINDS)
def test_exported_file_passes_every_graph_check(exported: dict, kind: str) -> None:
    proto = onnx.load(str(exported[kind].onnx_path))
    onnx.checker.check_model(proto, full_check=True)
    checks = exported[kind].report.checks
    names = {c.name for c in checks}
    assert {"onnx.checker", "shape inference", "names", "symbolic dims", "metadata", "no baked-in sizes",
            "seq-independent"} <= names
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    by_name = {c.name: c for c in checks}
    assert by_name["no baked-in sizes"].detail.startswith("built from weights, no example input")  # hybrid
    x = proto.graph.input[0].type.tensor_type.shape.dim
    assert [x[0].dim_param, x[1].dim_param, x[2].dim_value] == [BATCH_AXIS, SEQ_AXIS, 1]
    y = onnx.shape_inference.infer_shapes(proto, strict_mode=True).graph.output[0].type.tensor_type.shape.dim
    assert [y[0].dim_param, y[1].dim_value] == [BATCH_AXIS, 2]


@pytest.mark.parametrize("kind", KINDS)
def test_traced_form_has_no_example_size_and_one_node_count_for_every_seq(kind: str) -> None:
    m = _model(kind)
    a, b = (build_onnx(m, form="torch", example=e) for e in EXAMPLES)
    assert count_nodes(a) == count_nodes(b)
    checks = _checks(m, "torch")
    assert all(c.passed for c in checks.values()), checks
    assert checks["no baked-in sizes"].detail.startswith("traced at batch 3 seq 5, batch 3 seq 23")


@pytest.mark.parametrize("form", WEIGHT_BUILT)
@pytest.mark.parametrize("kind", KINDS)
def test_weight_built_forms_hold_only_model_sizes_and_one_loop_per_layer(kind: str, form: str) -> None:
    m = _model(kind)
    # what the checks' detail claims: the example input changes nothing in these forms
    a, b = (build_onnx(m, form=form, example=e) for e in EXAMPLES)
    assert a.SerializeToString() == b.SerializeToString()
    checks = _checks(m, form)
    assert all(c.passed for c in checks.values()), checks
    assert all(c.detail.startswith("built from weights") for c in checks.values()), checks


@pytest.mark.parametrize("size", [64, 8])
def test_a_size_baked_into_a_weight_built_graph_is_caught(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """A zero state shape with a fixed batch: 64 is no model size; 8 equals the model's hidden, which the
    build at the probe model's sizes catches."""
    _bake(monkeypatch, lambda p: p.graph.initializer.append(
        numpy_helper.from_array(np.array([size, 8], np.int64), "baked_state_shape")))
    m = _model("lstm")
    assert m.config.hidden == 8
    for form in WEIGHT_BUILT:
        check = _checks(m, form)["no baked-in sizes"]
        assert not check.passed and f"baked_state_shape=[{size}, 8]" in check.detail, (form, check)
        assert ("built at hidden 8," in check.detail) == (size == 64), check.detail


def test_an_unrolled_recurrence_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def unroll(proto: onnx.ModelProto) -> None:    # the loop nodes gone, as if the steps were written out
        for g in iter_graphs(proto.graph):
            for n in g.node:
                if n.op_type in ("Scan", "LSTM"):
                    n.op_type = "Identity"
    _bake(monkeypatch, unroll)
    for form in WEIGHT_BUILT:
        check = _checks(_model("lstm"), form)["seq-independent"]
        assert not check.passed and "loop nodes none" in check.detail, (form, check)


def test_a_baked_in_example_size_is_caught() -> None:
    """The traced form's check is not vacuous: a Reshape to a constant batch of 3 is flagged."""
    proto = build_onnx(_model("rnn"), form="scan")
    proto.graph.initializer.append(numpy_helper.from_array(np.array([3, -1], np.int64), "baked_shape"))
    proto.graph.node.append(helper.make_node("Reshape", ["y_norm", "baked_shape"], ["unused"]))
    checks = {c.name: c for c in check_graph(proto, features=1, horizon=2, example=(3, 5))}
    assert not checks["no baked-in sizes"].passed and "baked_shape" in checks["no baked-in sizes"].detail


def test_a_fixed_batch_dim_is_caught() -> None:
    proto = build_onnx(_model("gru"), form="hybrid")
    proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 7
    checks = {c.name: c for c in check_graph(proto, features=1, horizon=2)}
    assert not checks["symbolic dims"].passed
