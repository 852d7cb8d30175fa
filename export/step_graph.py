"""A stateful Forecaster's weights -> the step graph: x and the state in, a forecast per step and the new
state out (infer/contract.py: STATE_*, state_spec, SEQ_LENS_NAME).

    inputs : x [batch, seq, features], h [batch, layers, hidden] (and c for an LSTM), prev [batch, features]
             ("diff" scaling), seq_lens int32 [batch] (valid steps per row; a row's state comes from its
             last valid step, so series of different lengths share one call, padded)
    outputs: y [batch, seq, horizon], h_next, c_next, prev_next: the state after each row's last valid step

The core is ONNX's own RNN/LSTM/GRU op per layer (its sequence_lens does the per-row stopping), measured in
issue 12 at 2.2-3.9 million steps per second on one thread; for the RNN and GRU, above a batch of a few
dozen series, an If hands the batch to a Scan running the cell op by op instead (form "hybrid"), which
onnxruntime runs 1.7-2.5x faster there (export/onnx_export.py, STEP_OPS_MAX_BATCH). The transform matches
trainer/stateful.py: "diff" reads x_t - x_{t-1}, with prev giving x_0 (NaN: a new series, first change 0)
and forecasts added to x_t; "global" standardizes. As in the windowed graph, the standardization is folded
into layer 0's input weights and the head, and float64 models keep x, prev and y in float64 around a
float32 core.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seqinfer.infer.contract import (
    BATCH_AXIS,
    INPUT_NAME,
    NEXT_SUFFIX,
    OPSET,
    OUTPUT_NAME,
    SEQ_AXIS,
    SEQ_LENS_NAME,
    STATE_C,
    STATE_H,
    STATE_PREV,
)

from .onnx_graph import (
    DTYPES,
    FORMS,
    IR_VERSION,
    _i64,
    _init,
    _layer_weights,
    _onnx_gate_order,
    _out_stats,
    _step,
    _vi,
)

OPS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def build_step_graph(kind: str, state: Mapping[str, np.ndarray], *, features: int, hidden: int, layers: int,
                     horizon: int, scaling: str = "diff", io_dtype: str = "float32",
                     nonlinearity: str = "tanh", form: str = "ops", ops_max_batch: int = 0
                     ) -> onnx.ModelProto:
    """`state`: the StatefulForecaster's state_dict as numpy arrays (rnn.*, head.*, norm_*, out_*).
    form: "ops" (ONNX's RNN/LSTM/GRU ops), "scan" (the cell op by op in a Scan), or "hybrid": the ops for
    batch <= ops_max_batch, else the Scan."""
    assert scaling in ("global", "diff") and io_dtype in DTYPES and form in FORMS, (scaling, io_dtype, form)
    H, mk = hidden, helper.make_node
    onnx_type = DTYPES[io_dtype][0]
    diff = scaling == "diff"
    inits: list[TensorProto] = [_init("zero", _i64(0)), _init("one", _i64(1)), _init("minus1", _i64(-1)),
                                numpy_helper.from_array(np.array(0, np.int64), "first_index")]
    nodes: list[onnx.NodeProto] = []
    # 1. The transform, in the input's precision: u = x - (the value before), level = x (feature 0).
    u = INPUT_NAME
    if diff:
        nodes += [
            mk("Gather", [INPUT_NAME, "first_index"], ["x_first"], axis=1, name="first_step"),  # (B, F)
            mk("IsNaN", [STATE_PREV], ["new_series"], name="new_series"),
            mk("Where", ["new_series", "x_first", STATE_PREV], ["prev_known"], name="prev_or_first"),
            mk("Unsqueeze", ["prev_known", "one"], ["prev3"], name="prev_step"),  # (B, 1, F)
            mk("Slice", [INPUT_NAME, "zero", "minus1", "one"], ["x_head"], name="all_but_last"),
            mk("Concat", ["prev3", "x_head"], ["x_before"], axis=1, name="values_before"),  # (B, T, F)
            mk("Sub", [INPUT_NAME, "x_before"], ["u"], name="one_step_changes"),
            mk("Slice", [INPUT_NAME, "zero", "one", "minus1"], ["level"], name="target_level"),  # (B, T, 1)
            # prev_next: x at each row's last valid step: GatherElements at seq_lens - 1 along seq.
            mk("Cast", [SEQ_LENS_NAME], ["lens64"], to=TensorProto.INT64, name="lens_int64"),
            mk("Sub", ["lens64", "one"], ["last_index"], name="last_index"),
            mk("Reshape", ["last_index", _shape(inits, "last_shape", (-1, 1, 1))], ["last3"], name="last_3d"),
            mk("Expand", ["last3", _shape(inits, "feat_shape", (1, 1, features))], ["last_f"],
               name="per_feature"),
            mk("GatherElements", [INPUT_NAME, "last_f"], ["prev_next3"], axis=1, name="last_valid_value"),
            mk("Squeeze", ["prev_next3", "one"], [STATE_PREV + NEXT_SUFFIX], name="prev_next")]
        u = "u"
    core = u
    if io_dtype == "float64":
        nodes.append(mk("Cast", [u], ["core_x"], to=TensorProto.FLOAT, name="core_float32"))
        core = "core_x"
    # 2. The recurrent layers, time-major, each starting from its slice of the carried state: ONNX's ops, or
    # a Scan (the cell op by op), or an If between the two on the run-time batch (STEP_OPS_MAX_BATCH).
    nodes.append(mk("Transpose", [core], ["x_tbf"], perm=[1, 0, 2], name="time_major"))  # (T, B, F)
    states = [STATE_H] + ([STATE_C] if kind == "lstm" else [])
    for name in states:                                                                    # (L, B, H) each
        nodes += _swap_first_axes(name, f"{name}_lbh", layers, "one")
    core_out = ["hidden_seq"] + [n + "_lbh_next" for n in states]            # (T, B, H), (L, B, H) each
    act = {"tanh": "Tanh", "relu": "Relu"}[nonlinearity]
    if form == "ops":
        nodes += _op_core(kind, state, H, layers, act, inits, core_out)
    elif form == "scan":
        nodes += _scan_core(kind, state, features, H, layers, act, inits, core_out)
    else:
        ops_inits: list[TensorProto] = []
        scan_inits: list[TensorProto] = []
        dims = [[SEQ_AXIS, BATCH_AXIS, H]] + [[layers, BATCH_AXIS, H]] * len(states)

        def branch(name: str, build: Any, branch_inits: list[TensorProto]) -> onnx.GraphProto:
            outs = [f"{name}_{n}" for n in core_out]
            return helper.make_graph(build(outs), f"{name}_branch", [],
                                     [_vi(o, d) for o, d in zip(outs, dims, strict=True)], branch_inits)

        then_g = branch("ops", lambda o: _op_core(kind, state, H, layers, act, ops_inits, o), ops_inits)
        else_g = branch("scan", lambda o: _scan_core(kind, state, features, H, layers, act, scan_inits, o),
                        scan_inits)
        inits.append(_init("ops_max_batch", _i64(ops_max_batch)))
        nodes += [mk("Shape", [INPUT_NAME], ["batch_dim"], start=0, end=1, name="batch_dim"),
                  mk("LessOrEqual", ["batch_dim", "ops_max_batch"], ["use_ops"], name="small_batch"),
                  mk("If", ["use_ops"], core_out, name="pick_kernel", then_branch=then_g, else_branch=else_g)]
    for name in states:                                                                    # (B, L, H) each
        nodes += _swap_first_axes(name + "_lbh_next", name + NEXT_SUFFIX, layers, "zero")
    seq_in = "hidden_seq"
    # 3. The head on every step, the target's standardization folded in; then back to the raw scale.
    m_out, s_out = _out_stats(state, horizon)
    head_w = (np.asarray(state["head.weight"], np.float64) * s_out[:, None]).astype(np.float32)   # (Hz, H)
    head_b = (np.asarray(state["head.bias"], np.float64) * s_out + m_out).astype(np.float32)
    # Time-major through the head, one Gemm over every (step, row), and only its output turned batch-first:
    # horizon values a step to move, not `hidden`. Measured per node (onnxruntime's enable_profiling, LSTM
    # hidden 32, batch 10,000 x 7 steps, one thread): Transpose + MatMul + Add of the hidden states cost
    # 6.1 ms of a 52 ms call; Gemm + Transpose of the forecasts 1.8 ms.
    inits += [_init("head_Wt", np.ascontiguousarray(head_w.T)), _init("head_b", head_b)]
    nodes += [mk("Shape", [seq_in], ["tbh_shape"], name="steps_rows_hidden"),
              mk("Slice", ["tbh_shape", "zero", "minus1", "zero"], ["tb_shape"], name="steps_rows"),
              mk("Concat", ["tb_shape", _shape(inits, "horizon_dim", (horizon,))], ["tbz_shape"], axis=0,
                 name="steps_rows_horizon"),
              mk("Reshape", [seq_in, _shape(inits, "flat_hidden", (-1, H))], ["h_flat"], name="every_step"),
              mk("Gemm", ["h_flat", "head_Wt", "head_b"], ["g_flat"], name="head"),          # (T*B, Hz)
              mk("Reshape", ["g_flat", "tbz_shape"], ["g_tbz"], name="steps_back"),           # (T, B, Hz)
              mk("Transpose", ["g_tbz"], ["g"], perm=[1, 0, 2], name="batch_first")]          # (B, T, Hz)
    g = "g"
    if io_dtype == "float64":
        nodes.append(mk("Cast", [g], ["g64"], to=onnx_type, name="output_float64"))
        g = "g64"
    if diff:
        nodes.append(mk("Add", [g, "level"], [OUTPUT_NAME], name="plus_level"))
    else:
        nodes.append(mk("Identity", [g], [OUTPUT_NAME], name="forecast"))
    # 4. The signature.
    f32 = TensorProto.FLOAT

    def vi(name: str, t: int, dims: list[int | str]) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, t, dims)

    state_vi = [(STATE_H, f32, [BATCH_AXIS, layers, H])]
    if kind == "lstm":
        state_vi.append((STATE_C, f32, [BATCH_AXIS, layers, H]))
    if diff:
        state_vi.append((STATE_PREV, onnx_type, [BATCH_AXIS, features]))
    inputs = [vi(INPUT_NAME, onnx_type, [BATCH_AXIS, SEQ_AXIS, features])] + [vi(*s) for s in state_vi] + [
        vi(SEQ_LENS_NAME, TensorProto.INT32, [BATCH_AXIS])]
    outputs = [vi(OUTPUT_NAME, onnx_type, [BATCH_AXIS, SEQ_AXIS, horizon])] + [
        vi(n + NEXT_SUFFIX, t, d) for n, t, d in state_vi]
    graph = helper.make_graph(nodes, f"seqinfer_{kind}_step", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


# One layer's state [B, 1, H] is [1, B, H] with the unit axis moved: Squeeze + Unsqueeze, which onnxruntime
# runs as views of the same buffer, where a Transpose copies it; and the op takes and gives the whole state,
# with no Slice or Concat. Measured (LSTM hidden 32, 10,000 series x 7 steps, 2 threads): those nodes took
# 1.6 ms of an 18 ms call (enable_profiling); the call ran 4-5% faster without them, with the same
# forecasts bit for bit. The RNN and GRU there run their Scan branch, which slices its layer: unchanged.
def _swap_first_axes(src: str, dst: str, layers: int, src_layers_at: str) -> list[onnx.NodeProto]:
    """A state (B, L, H) -> (L, B, H) or back; `src_layers_at`: "one" or "zero", the layers' axis in src."""
    mk = helper.make_node
    if layers > 1:
        return [mk("Transpose", [src], [dst], perm=[1, 0, 2], name=dst + "_swap")]
    dst_layers_at = "zero" if src_layers_at == "one" else "one"
    return [mk("Squeeze", [src, src_layers_at], [dst + "_bh"], name=dst + "_bh"),
            mk("Unsqueeze", [dst + "_bh", dst_layers_at], [dst], name=dst + "_swap")]


def _shape(inits: list[TensorProto], name: str, dims: tuple[int, ...]) -> str:
    inits.append(_init(name, _i64(*dims)))
    return name


def _op_core(kind: str, state: Mapping[str, np.ndarray], H: int, layers: int, act: str,
             inits: list[TensorProto], out: list[str]) -> list[onnx.NodeProto]:
    """x_tbf (T, B, F) and the carried h_lbh (, c_lbh) -> out: the last layer's hidden state at every step
    (T, B, H; zeros past a row's seq_lens, as the op writes them) and each state at its row's last valid
    step (L, B, H), with ONNX's RNN/LSTM/GRU op per layer (its sequence_lens does the per-row stopping)."""
    mk = helper.make_node
    attrs: dict[str, Any] = {"hidden_size": H}
    if kind == "gru":
        attrs["linear_before_reset"] = 1
    if kind == "rnn":
        attrs["activations"] = [act]
    nodes: list[onnx.NodeProto] = []
    seq_in, h_outs, c_outs = "x_tbf", [], []
    for layer in range(layers):
        p = f"l{layer}_"
        w_ih, w_hh, b_ih, b_hh = _layer_weights(kind, state, layer, H)
        gates = lambda a: _onnx_gate_order(kind, a, H)  # noqa: E731
        one = layers == 1                 # the op takes and gives the whole state: no Slice, no Concat
        inits += [_init(p + "W", gates(w_ih)[None]), _init(p + "R", gates(w_hh)[None]),
                  _init(p + "B", np.concatenate([gates(b_ih), gates(b_hh)])[None])]
        if not one:
            inits += [_init(p + "at", _i64(layer)), _init(p + "to", _i64(layer + 1))]
            nodes.append(mk("Slice", ["h_lbh", p + "at", p + "to", "zero"], [p + "h0"], name=p + "h0"))
        ins = [seq_in, p + "W", p + "R", p + "B", SEQ_LENS_NAME, "h_lbh" if one else p + "h0"]
        outs = [p + "Y", out[1] if one else p + "Y_h"]
        if kind == "lstm":
            if not one:
                nodes.append(mk("Slice", ["c_lbh", p + "at", p + "to", "zero"], [p + "c0"], name=p + "c0"))
            ins.append("c_lbh" if one else p + "c0")
            outs.append(out[2] if one else p + "Y_c")
            c_outs.append(outs[-1])
        nodes.append(mk(OPS[kind], ins, outs, name=p + OPS[kind].lower(), **attrs))       # Y (T, 1, B, H)
        last = layer == layers - 1
        nodes.append(mk("Squeeze", [p + "Y", "one"], [out[0] if last else p + "seq"], name=p + "sequence"))
        h_outs.append(outs[1])
        seq_in = p + "seq"
    if layers > 1:
        for name, parts in zip(out[1:], (h_outs, c_outs), strict=False):
            nodes.append(mk("Concat", parts, [name], axis=0, name=name + "_all_layers"))
    return nodes


def _scan_core(kind: str, state: Mapping[str, np.ndarray], features: int, H: int, layers: int, act: str,
               inits: list[TensorProto], out: list[str]) -> list[onnx.NodeProto]:
    """_op_core's function with a Scan per layer over the time axis, its body the windowed graph's cell
    (onnx_graph._step: a Gemm per gate, fused with its activation) plus the stopping: a row past its
    seq_lens keeps its state (Where) and emits zeros, as the op does."""
    mk = helper.make_node
    names = ["h"] + (["c"] if kind == "lstm" else [])
    nodes = [mk("Shape", ["x_tbf"], ["scan_steps"], start=0, end=1, name="scan_steps"),
             mk("Squeeze", ["scan_steps"], ["scan_t"], name="scan_t"),
             mk("Range", ["zero_0d", "scan_t", "one_0d"], ["step_index"], name="step_index"),         # (T,)
             mk("Unsqueeze", ["step_index", "one"], ["step_t1"], name="step_column"),              # (T, 1)
             mk("Cast", [SEQ_LENS_NAME], ["scan_lens"], to=TensorProto.INT64, name="scan_lens"),
             mk("Less", ["step_t1", "scan_lens"], ["valid_tb"], name="valid_steps"),                  # (T, B)
             mk("Unsqueeze", ["valid_tb", "minus1"], ["valid_tb1"], name="valid_steps_3d")]     # (T, B, 1)
    inits += [numpy_helper.from_array(np.array(0, np.int64), "zero_0d"),
              numpy_helper.from_array(np.array(1, np.int64), "one_0d")]
    seq_in, inputs = "x_tbf", features
    finals: dict[str, list[str]] = {n: [] for n in names}
    for layer in range(layers):
        p, last = f"scan_l{layer}_", layer == layers - 1
        w_ih, w_hh, b_ih, b_hh = _layer_weights(kind, state, layer, H)
        body = _step(kind, layer, H, inputs, w_ih, w_hh, b_ih, b_hh, False, act)
        renamed = {f"{n}_next": f"{n}_new" for n in names}     # the outer graph's outputs are h_next, c_next
        for node in body.node:
            node.output[:] = [renamed.get(o, o) for o in node.output]
            node.input[:] = [renamed.get(i, i) for i in node.input]
        for n in names:                               # past a row's length: the state stays, zeros go out
            for o in body.output:
                if o.name == f"{n}_next":
                    o.name = f"{n}_kept"
            body.node.append(mk("Where", ["valid_t", f"{n}_new", n], [f"{n}_kept"], name=f"keep_{n}"))
        body.initializer.append(_init("zero_f", np.zeros(1, np.float32)))
        body.node.append(mk("Where", ["valid_t", "h_new", "zero_f"], ["h_seq"], name="emit"))
        body.output.append(_vi("h_seq", [BATCH_AXIS, H]))
        body.input.append(helper.make_tensor_value_info("valid_t", TensorProto.BOOL, [BATCH_AXIS, 1]))
        init_states = []
        for n, outer in zip(names, ("h_lbh", "c_lbh"), strict=False):
            inits += [_init(p + "at", _i64(layer)), _init(p + "to", _i64(layer + 1))] if n == "h" else []
            nodes += [mk("Slice", [outer, p + "at", p + "to", "zero"], [p + n + "0_1"], name=p + n + "0_1"),
                      mk("Squeeze", [p + n + "0_1", "zero"], [p + n + "0"], name=p + n + "0")]   # (B, H)
            init_states.append(p + n + "0")
        seq_out = out[0] if last else p + "seq"
        lasts = [p + n + "_last" for n in names]
        nodes.append(mk("Scan", [*init_states, seq_in, "valid_tb1"], [*lasts, seq_out], name=p + "scan",
                        body=body, num_scan_inputs=2))                              # time-major: axis 0
        for n in names:
            nodes.append(mk("Unsqueeze", [p + n + "_last", "zero"], [p + n + "_l1"], name=p + n + "_l1"))
            finals[n].append(p + n + "_l1")
        seq_in, inputs = seq_out, H
    for name, n in zip(out[1:], names, strict=False):
        nodes.append(mk("Concat", finals[n], [name], axis=0, name=name + "_all_layers"))
    return nodes
