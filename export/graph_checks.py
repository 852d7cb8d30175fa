"""Structural checks on an ONNX graph: valid, shapes inferable, batch/seq symbolic, no size baked in.

The dynamic-axes contract comes from infer/contract.py (INPUT_AXES, OUTPUT_AXES), the same definitions the
exporter used, so export and validation cannot drift apart.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from seqinfer.infer.contract import (
    INPUT_AXES,
    INPUT_NAME,
    NEXT_SUFFIX,
    OUTPUT_AXES,
    OUTPUT_NAME,
    SEQ_LENS_NAME,
    STEP_OUTPUT_AXES,
)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def iter_graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """The graph and every subgraph (Scan / If / Loop bodies), depth first."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from iter_graphs(attr.g)
            for g in attr.graphs:
                yield from iter_graphs(g)


def count_nodes(proto: onnx.ModelProto) -> int:
    return sum(len(g.node) for g in iter_graphs(proto.graph))


def int_constants(proto: onnx.ModelProto) -> Iterator[tuple[str, np.ndarray]]:
    """Every integer initializer or Constant value in the model, subgraphs included."""
    for g in iter_graphs(proto.graph):
        tensors = [(t.name, t) for t in g.initializer]
        tensors += [(n.name or n.output[0], a.t) for n in g.node if n.op_type == "Constant"
                    for a in n.attribute if a.name == "value"]
        for name, t in tensors:
            arr = numpy_helper.to_array(t)
            if np.issubdtype(arr.dtype, np.integer):
                yield name, arr


def _dims(vi: onnx.ValueInfoProto) -> list[str | int]:
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def check_graph(proto: onnx.ModelProto, *, features: int, horizon: int,
                example: tuple[int, int] | None = None, state: Sequence[str] = ()) -> list[Check]:
    """onnx.checker (full), shape inference, named symbolic dims; with `example` (the traced input's batch,
    seq), also that neither size occurs as an integer constant anywhere in the graph (no_example_sizes).
    `state`: a step graph's state tensors (infer/contract.py state_spec), in and out beside x and y, with y
    [batch, seq, horizon]."""
    want_y = [OUTPUT_AXES[0], horizon] if not state else [STEP_OUTPUT_AXES[0], STEP_OUTPUT_AXES[1], horizon]
    checks = []
    try:
        onnx.checker.check_model(proto, full_check=True)
        checks.append(Check("onnx.checker", True, "check_model(full_check=True) passed"))
    except onnx.checker.ValidationError as e:
        checks.append(Check("onnx.checker", False, str(e).strip().splitlines()[0]))
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
        out = {o.name: _dims(o) for o in inferred.graph.output}
        ok = out.get(OUTPUT_NAME) == want_y
        checks.append(Check("shape inference", ok, f"{OUTPUT_NAME}: {out.get(OUTPUT_NAME)}"))
    except Exception as e:  # onnx raises InferenceError, or ValidationError for a broken graph
        checks.append(Check("shape inference", False, f"{type(e).__name__}: {str(e).splitlines()[0]}"))
    weights = {t.name for t in proto.graph.initializer}
    ins = {i.name: _dims(i) for i in proto.graph.input if i.name not in weights}
    outs = {o.name: _dims(o) for o in proto.graph.output}
    want_in = [INPUT_AXES[0], INPUT_AXES[1], features]
    want_out = want_y
    names_ok = list(ins) == [INPUT_NAME, *state, *([SEQ_LENS_NAME] if state else [])] and \
        list(outs) == [OUTPUT_NAME, *(s + NEXT_SUFFIX for s in state)]
    checks.append(Check("names", names_ok, f"inputs {list(ins)}, outputs {list(outs)}"))
    dims_ok = ins.get(INPUT_NAME) == want_in and outs.get(OUTPUT_NAME) == want_out
    checks.append(Check("symbolic dims", dims_ok, f"{INPUT_NAME} {ins.get(INPUT_NAME)} (want {want_in}), "
                                                  f"{OUTPUT_NAME} {outs.get(OUTPUT_NAME)} (want {want_out})"))
    if example is not None:
        checks.append(no_example_sizes([(proto, example)]))
    return checks


def no_example_sizes(traced: Sequence[tuple[onnx.ModelProto, tuple[int, int]]]) -> Check:
    """Traced graphs: neither size of the (batch, seq) input each was traced with is an integer constant."""
    hits = [f"{name}={arr.tolist()}" for proto, example in traced for name, arr in int_constants(proto)
            if arr.size <= 8 and set(arr.ravel().tolist()) & set(example)]
    shapes = ", ".join(f"batch {b} seq {s}" for _, (b, s) in traced)
    return Check("no baked-in sizes", not hits,
                 f"traced at {shapes}: no integer constant equals either size" if not hits
                 else f"example size baked in: {', '.join(hits[:4])}")


# Integers a graph may hold whatever the input: axis indices, unit dims, Reshape's "infer this dim".
STRUCTURAL = (-1, 0, 1)


def only_model_sizes(builds: Sequence[tuple[onnx.ModelProto, Mapping[str, int]]]) -> Check:
    """Graphs built from weights, with no example input to leak: every integer constant is STRUCTURAL or one
    of the model's sizes (name -> value). Give builds at two unrelated sets of sizes: a size baked into the
    builder then equals a model size in at most one of them and is caught in the other."""
    def at(sizes: Mapping[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sizes.items())
    stray = [f"{name}={arr.tolist()} (built at {at(sizes)})" for proto, sizes in builds
             for name, arr in int_constants(proto)
             if set(arr.ravel().tolist()) - {*STRUCTURAL, *sizes.values()}]
    return Check("no baked-in sizes", not stray,
                 "built from weights, no example input: every integer constant is -1, 0, 1 or a model size, "
                 f"built at {'; and at '.join(at(sizes) for _, sizes in builds)}" if not stray
                 else f"integer constant not -1, 0, 1 or a model size: {'; '.join(stray[:4])}")


LOOP_OPS = ("Scan", "Loop", "RNN", "LSTM", "GRU")


def loops_not_unrolled(proto: onnx.ModelProto, want: int) -> Check:
    """A graph built from weights never sees a seq length: its recurrences must be `want` loop nodes, which
    run over the symbolic seq axis, rather than steps written out one by one."""
    loops = Counter(n.op_type for g in iter_graphs(proto.graph) for n in g.node if n.op_type in LOOP_OPS)
    found = ", ".join(f"{n} {op}" for op, n in sorted(loops.items())) or "none"
    return Check("seq-independent", sum(loops.values()) == want,
                 f"built from weights, no seq given: loop nodes {found} (want {want}), "
                 f"{count_nodes(proto)} nodes for every seq")
