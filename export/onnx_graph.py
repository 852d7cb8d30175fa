"""Forecaster weights -> ONNX graph: Scan form (the cell op by op), ops form (ONNX RNN/LSTM/GRU), or hybrid.

Why (numbers from `python -m bench.model_probe`; export/onnx_export.py has the per-batch choice): ORT's CPU
kernel for the ONNX RNN op ran at 0.3-0.7x PyTorch eager from batch 256 up. A Scan whose body is Gemm ->
activation runs on ORT's vectorised (MLAS) kernels instead and was 4-20x eager there. The body has one Gemm
per gate on [h, x_t], each fused by onnxruntime with its activation: against one Gemm for all gates followed
by Split copies and bias Adds, that was 20-45% faster per step for the LSTM (hidden 32, batch 40-1024, one
thread): level with oneDNN's fused LSTM cell (PyTorch eager, one thread) at batch 128-256, 1.4x at 1024.
The input projection is done
inside the body, per step: hoisting it over all steps at once was measured slower from batch 256 up (a
[batch, seq, gates*hidden] tensor that leaves the cache).

Properties the verify step checks: batch and seq are symbolic (`batch`, `seq`); the loop is the Scan, so the
node count does not depend on seq; no size is baked in (the zero initial state is built from Shape(x) at run
time). Raw in, raw out: the normalization is folded, in float64, into layer 0's input weights and bias and
into the head, an exact rewrite of the affine maps. Explicit Sub/Div nodes on x [batch, seq, 1] cost
onnxruntime 215 µs at batch 128 (its broadcast loop goes element by element when the last axis is 1), about
a tenth of the whole LSTM call; folded, normalization costs nothing. The metadata still carries the mean and
std for applications that want them.

Needs only numpy and onnx: `build_graph` takes the state_dict as numpy arrays.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seqinfer.infer.contract import BATCH_AXIS, INPUT_NAME, OPSET, OUTPUT_NAME, SCALINGS, SEQ_AXIS

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
IR_VERSION = 8   # the IR that opset 17 shipped with: loadable by every onnxruntime since 1.13


def _init(name: str, arr: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(arr), name)


def _i64(*vals: int) -> np.ndarray:
    return np.array(vals, dtype=np.int64)


def _vi(name: str, dims: list[int | str]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _step(kind: str, layer: int, hidden: int, inputs: int, w_ih: np.ndarray, w_hh: np.ndarray,
          b_ih: np.ndarray, b_hh: np.ndarray, emit_sequence: bool, act: str) -> onnx.GraphProto:
    """Scan body, one time step: (h[, c], x_t [batch, inputs]) -> (h'[, c'][, h' again as scan output]).

    One Gemm per gate on [h, x_t] (weights [W_hh | W_ih] stacked, both biases folded in), each followed by
    its activation, which onnxruntime fuses into the Gemm: no Split copies, no separate bias Adds.
    """
    H, p, mk = hidden, f"l{layer}_", helper.make_node
    states = ["h"] + (["c"] if kind == "lstm" else [])
    gate = lambda a, k: a[k * H:(k + 1) * H]  # noqa: E731 - PyTorch's k-th gate block of rows
    inits: list[TensorProto] = []
    nodes = [mk("Concat", ["h", "x_t"], ["hx"], axis=1, name=p + "concat_h_x")]           # (B, H + inputs)

    def gemm(name: str, k: int, activation: str, with_input: bool = True, with_hidden: bool = True) -> None:
        """nodes computing `name` = activation([h, x_t] · W_kᵀ + b_k) for gate block k, shape (B, H)."""
        w = np.concatenate(([gate(w_hh, k)] if with_hidden else []) + ([gate(w_ih, k)] if with_input else []),
                           axis=1)
        b = (gate(b_ih, k) if with_input else 0) + (gate(b_hh, k) if with_hidden else 0)
        src = "hx" if with_input and with_hidden else ("x_t" if with_input else "h")
        inits.extend([_init(p + f"W_{name}_T", w.T), _init(p + f"b_{name}", np.asarray(b, np.float32))])
        pre = f"{name}_pre" if activation else name
        nodes.append(mk("Gemm", [src, p + f"W_{name}_T", p + f"b_{name}"], [pre], name=p + f"gemm_{name}"))
        if activation:
            nodes.append(mk(activation, [pre], [name], name=p + f"act_{name}"))

    if kind == "rnn":
        gemm("h_next", 0, act)                                             # h' = act(W [h, x] + b)
    elif kind == "lstm":                                                   # PyTorch blocks: i, f, g, o
        for name, k, a in (("i", 0, "Sigmoid"), ("f", 1, "Sigmoid"), ("g", 2, "Tanh"), ("o", 3, "Sigmoid")):
            gemm(name, k, a)
        nodes += [mk("Mul", ["f", "c"], ["fc"], name=p + "forget"),
                  mk("Mul", ["i", "g"], ["ig"], name=p + "input"),
                  mk("Add", ["fc", "ig"], ["c_next"], name=p + "cell"),                # c' = f*c + i*g
                  mk("Tanh", ["c_next"], ["tc"], name=p + "tanh_c"),
                  mk("Mul", ["o", "tc"], ["h_next"], name=p + "output")]               # h' = o*tanh(c')
    else:                                                                  # PyTorch blocks: r, z, n
        gemm("r", 0, "Sigmoid")
        gemm("z", 1, "Sigmoid")
        gemm("x_n", 2, "", with_hidden=False)                              # W_in x + b_in
        gemm("h_n", 2, "", with_input=False)                               # W_hn h + b_hn, kept apart for r
        nodes += [mk("Mul", ["r", "h_n"], ["rh"], name=p + "reset"),                   # r * (W_hn h + b_hn)
                  mk("Add", ["x_n", "rh"], ["n_pre"], name=p + "n_pre"),
                  mk("Tanh", ["n_pre"], ["n"], name=p + "tanh_n"),
                  mk("Sub", ["h", "n"], ["h_minus_n"], name=p + "h_minus_n"),
                  mk("Mul", ["z", "h_minus_n"], ["zd"], name=p + "update"),
                  mk("Add", ["n", "zd"], ["h_next"], name=p + "blend")]                # n + z*(h-n)
    outputs = ["h_next"] + (["c_next"] if kind == "lstm" else [])
    if emit_sequence:
        nodes.append(mk("Identity", ["h_next"], ["h_seq"], name=p + "emit"))
        outputs.append("h_seq")
    return helper.make_graph(
        nodes, f"{kind}_layer{layer}_step",
        [_vi(s, [BATCH_AXIS, H]) for s in states] + [_vi("x_t", [BATCH_AXIS, inputs])],
        [_vi(s, [BATCH_AXIS, H]) for s in outputs], initializer=inits)


def _layer_weights(kind: str, state: Mapping[str, np.ndarray], layer: int, hidden: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch layout: W_ih [G*H, in], W_hh [G*H, H], b_ih, b_hh [G*H] (zeros when the layer has no bias).

    Layer 0 takes raw values: the input normalization (x - mean) / std is folded into its W_ih and b_ih.
    """
    gh = GATES[kind] * hidden
    zeros = np.zeros(gh, np.float32)
    w_ih, b_ih = state[f"rnn.weight_ih_l{layer}"], state.get(f"rnn.bias_ih_l{layer}", zeros)
    if layer == 0:
        w64, mean, std = (np.asarray(state[k], np.float64) for k in (f"rnn.weight_ih_l{layer}", "norm_mean",
                                                                      "norm_std"))
        w_ih = (w64 / std).astype(np.float32)                            # W (x - m) / s = (W / s) x - W m / s
        b_ih = (np.asarray(b_ih, np.float64) - w64 @ (mean / std)).astype(np.float32)
    return w_ih, state[f"rnn.weight_hh_l{layer}"], b_ih, state.get(f"rnn.bias_hh_l{layer}", zeros)


def _scan_layers(kind: str, state: Mapping[str, np.ndarray], features: int, hidden: int, layers: int,
                 act: str, out: str, core_in: str = INPUT_NAME) -> list[onnx.NodeProto]:
    """core_in (B, T, F), float32 -> `out` (B, H): one Scan per layer, cell written op by op in the body."""
    H, mk = hidden, helper.make_node
    nodes: list[onnx.NodeProto] = []
    seq_in, inputs = core_in, features
    for layer in range(layers):
        p, last = f"l{layer}_", layer == layers - 1
        w_ih, w_hh, b_ih, b_hh = _layer_weights(kind, state, layer, H)
        body = _step(kind, layer, H, inputs, w_ih, w_hh, b_ih, b_hh, not last, act)
        states_in = ["state0"] * (2 if kind == "lstm" else 1)
        states_out = [out if last else p + "h_last"] + ([p + "c_last"] if kind == "lstm" else [])
        seq_out = [] if last else [p + "h_seq"]                                         # (B, T, H)
        axes: dict[str, Any] = {"num_scan_inputs": 1, "scan_input_axes": [1]}
        if not last:
            axes["scan_output_axes"] = [1]
        nodes.append(mk("Scan", [*states_in, seq_in], states_out + seq_out, name=p + "scan", body=body,
                        **axes))
        seq_in, inputs = p + "h_seq", H
    return nodes


def _onnx_gate_order(kind: str, a: np.ndarray, hidden: int) -> np.ndarray:
    """PyTorch gate blocks -> ONNX's: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h; RNN unchanged."""
    blocks = [a[k * hidden:(k + 1) * hidden] for k in range(GATES[kind])]
    order = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}[kind]
    return np.concatenate([blocks[k] for k in order])


def _op_layers(kind: str, state: Mapping[str, np.ndarray], hidden: int, layers: int, act: str, out: str,
               core_in: str = INPUT_NAME) -> tuple[list[onnx.NodeProto], list[TensorProto]]:
    """core_in (B, T, F) -> `out` (B, H) with the ONNX RNN/LSTM/GRU op, one per layer, zero initial state.

    No initial_h input: the op's default is zeros of the run-time batch, so no batch size can be baked in.
    """
    H, mk = hidden, helper.make_node
    op = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind]
    attrs: dict[str, Any] = {"hidden_size": H}
    if kind == "gru":
        attrs["linear_before_reset"] = 1        # PyTorch's GRU: r * (W_hn h + b_hn)
    if kind == "rnn":
        attrs["activations"] = [act]
    nodes = [mk("Transpose", [core_in], ["ops_x_tbf"], perm=[1, 0, 2], name="ops_time_major")]    # (T, B, F)
    inits = [_init("ops_axis0", _i64(0))] + ([_init("ops_axis1", _i64(1))] if layers > 1 else [])
    seq_in = "ops_x_tbf"
    for layer in range(layers):
        p, last = f"ops_l{layer}_", layer == layers - 1
        w_ih, w_hh, b_ih, b_hh = _layer_weights(kind, state, layer, H)
        g = lambda a: _onnx_gate_order(kind, a, H)  # noqa: E731
        inits += [_init(p + "W", g(w_ih)[None]), _init(p + "R", g(w_hh)[None]),
                  _init(p + "B", np.concatenate([g(b_ih), g(b_hh)])[None])]
        outputs = ["" if last else p + "Y", p + "Y_h"]                     # Y (T, 1, B, H), Y_h (1, B, H)
        nodes.append(mk(op, [seq_in, p + "W", p + "R", p + "B"], outputs, name=p + op.lower(), **attrs))
        if last:
            nodes.append(mk("Squeeze", [p + "Y_h", "ops_axis0"], [out], name=p + "last_state"))
        else:
            nodes.append(mk("Squeeze", [p + "Y", "ops_axis1"], [p + "seq"], name=p + "sequence"))
            seq_in = p + "seq"
    return nodes, inits


FORMS = ("scan", "ops", "hybrid")
CORE_IN = "core_x"                           # the transformed input the recurrent core reads, float32
DTYPES = {"float32": (TensorProto.FLOAT, np.float32), "float64": (TensorProto.DOUBLE, np.float64)}


def _transform(scaling: str, io_type: str, floor: np.ndarray
               ) -> tuple[list[onnx.NodeProto], list[TensorProto], str, str | None, str | None]:
    """Nodes from raw x to the core's float32 input, as trainer/model.py `transform` computes it, in the
    input's own precision: -> (nodes, initializers, core input name, level (B, 1) or None, scale or None).

    Only -1, 0 and 1 appear as integer constants (Gather index -1 takes the last step), so no size of any
    input can be baked in.
    """
    mk, np_type = helper.make_node, DTYPES[io_type][1]
    nodes: list[onnx.NodeProto] = []
    inits = [_init("t_zero", _i64(0)), _init("t_one", _i64(1)), _init("t_minus1", _i64(-1)),
             numpy_helper.from_array(np.array(-1, np.int64), "t_last")]  # 0-d: Gather drops the seq axis

    def to_core(name: str) -> str:
        if io_type == "float32":
            return name
        nodes.append(mk("Cast", [name], [CORE_IN], to=TensorProto.FLOAT, name="core_float32"))
        return CORE_IN

    if scaling == "global":          # the normalization is folded into layer 0's weights and the head
        return nodes, [], to_core(INPUT_NAME), None, None
    nodes += [mk("Gather", [INPUT_NAME, "t_last"], ["x_last"], axis=1, name="last_step"),         # (B, F)
              mk("Slice", ["x_last", "t_zero", "t_one", "t_one"], ["level"], name="target_level")]  # (B, 1)
    if scaling == "diff":            # d_t = x_t - x_{t-1}, d_1 = 0
        nodes += [mk("Slice", [INPUT_NAME, "t_zero", "t_one", "t_one"], ["x_first"], name="first_step"),
                  mk("Slice", [INPUT_NAME, "t_zero", "t_minus1", "t_one"], ["x_head"], name="all_but_last"),
                  mk("Concat", ["x_first", "x_head"], ["x_prev"], axis=1, name="previous_steps"),
                  mk("Sub", [INPUT_NAME, "x_prev"], ["u"], name="one_step_changes")]               # (B, T, F)
        return nodes, inits, to_core("u"), "level", None
    assert scaling == "window", scaling
    inits.append(_init("scale_floor", np.asarray(floor, np_type).reshape(1, 1, -1)))
    nodes += [mk("Unsqueeze", ["x_last", "t_one"], ["x_last3"], name="last_step_keepdims"),       # (B, 1, F)
              mk("ReduceMean", [INPUT_NAME], ["w_mean"], axes=[1], keepdims=1, name="window_mean"),
              mk("Sub", [INPUT_NAME, "w_mean"], ["w_dev"], name="window_deviation"),
              mk("Mul", ["w_dev", "w_dev"], ["w_sq"], name="window_square"),
              mk("ReduceMean", ["w_sq"], ["w_var"], axes=[1], keepdims=1, name="window_variance"),
              mk("Sqrt", ["w_var"], ["w_std"], name="window_std"),
              mk("Max", ["w_std", "scale_floor"], ["w_scale"], name="window_scale"),             # (B, 1, F)
              mk("Sub", [INPUT_NAME, "x_last3"], ["w_rel"], name="relative_to_last"),
              mk("Div", ["w_rel", "w_scale"], ["u"], name="scaled"),                            # (B, T, F)
              mk("Squeeze", ["w_scale", "t_one"], ["w_scale2"], name="scale_per_feature"),       # (B, F)
              mk("Slice", ["w_scale2", "t_zero", "t_one", "t_one"], ["scale"], name="target_scale")]  # (B, 1)
    return nodes, inits, to_core("u"), "level", "scale"


def build_graph(kind: str, state: Mapping[str, np.ndarray], *, features: int, hidden: int, layers: int,
                horizon: int, form: str = "hybrid", ops_max_batch: int = 0, nonlinearity: str = "tanh",
                scaling: str = "global", io_dtype: str = "float32") -> onnx.ModelProto:
    """`state`: the Forecaster state_dict as numpy arrays (rnn.*, head.*, norm_*, out_*).

    form "scan": Scan per layer; "ops": ONNX RNN/LSTM/GRU ops; "hybrid": If(batch <= ops_max_batch) runs the
    ops, else the Scan. Both branches compute the same function; the If picks the faster kernel per call.
    `scaling` adds the input transform's nodes before the core and the level and scale after the head;
    `io_dtype` "float64" makes x and y float64, with the transform and the adding back in float64 and the
    recurrent core in float32.
    """
    assert form in FORMS and scaling in SCALINGS and io_dtype in DTYPES, (form, scaling, io_dtype)
    H, mk = hidden, helper.make_node
    act = {"tanh": "Tanh", "relu": "Relu"}[nonlinearity]
    # Normalization lives in the weights: layer 0's input weights (see _layer_weights) and the head below.
    floor = state.get("norm_floor", np.zeros(features))
    nodes, inits, core_in, level, scale = _transform(scaling, io_dtype, floor)
    if form != "ops":     # the Scan's zero initial state, sized from Shape(x) at run time: (B, H)
        inits.append(_init("hidden_dim", _i64(H)))
        nodes += [mk("Shape", [INPUT_NAME], ["batch_dim"], start=0, end=1, name="batch_dim"),
                  mk("Concat", ["batch_dim", "hidden_dim"], ["state_shape"], axis=0, name="state_shape"),
                  mk("ConstantOfShape", ["state_shape"], ["state0"], name="zero_state",
                     value=numpy_helper.from_array(np.zeros(1, np.float32)))]
    if form == "scan":
        nodes += _scan_layers(kind, state, features, H, layers, act, "h_last", core_in)
    elif form == "ops":
        op_nodes, op_inits = _op_layers(kind, state, H, layers, act, "h_last", core_in)
        nodes, inits = nodes + op_nodes, inits + op_inits
    else:
        op_nodes, op_inits = _op_layers(kind, state, H, layers, act, "ops_h_last", core_in)
        branch_out = [_vi("ops_h_last", [BATCH_AXIS, H])]
        then_g = helper.make_graph(op_nodes, "ops_branch", [], branch_out, initializer=op_inits)
        scan = _scan_layers(kind, state, features, H, layers, act, "scan_h_last", core_in)
        else_g = helper.make_graph(scan, "scan_branch", [], [_vi("scan_h_last", [BATCH_AXIS, H])])
        inits.append(_init("ops_max_batch", _i64(ops_max_batch)))
        nodes += [mk("LessOrEqual", ["batch_dim", "ops_max_batch"], ["use_ops"], name="small_batch"),
                  mk("If", ["use_ops"], ["h_last"], name="pick_kernel",
                     then_branch=then_g, else_branch=else_g)]
    # The target's standardization folded into the head: (W h + b) * s + m = (s W) h + (s b + m), per step.
    m_out, s_out = _out_stats(state, horizon)
    head_w = (np.asarray(state["head.weight"], np.float64) * s_out[:, None]).astype(np.float32)
    head_b = (np.asarray(state["head.bias"], np.float64) * s_out + m_out).astype(np.float32)
    inits += [_init("head_W", head_w), _init("head_b", head_b)]
    onnx_type = DTYPES[io_dtype][0]
    g = OUTPUT_NAME if level is None and io_dtype == "float32" else "g"
    nodes.append(mk("Gemm", ["h_last", "head_W", "head_b"], [g], transB=1, name="head"))     # (B, horizon)
    if io_dtype == "float64":
        out = OUTPUT_NAME if level is None else "g64"
        nodes.append(mk("Cast", [g], [out], to=onnx_type, name="output_float64"))
        g = out
    if level is not None:             # y = level + scale * g, in the input's precision
        if scale is not None:
            nodes.append(mk("Mul", [g, scale], ["g_scaled"], name="times_window_scale"))
            g = "g_scaled"
        nodes.append(mk("Add", [g, level], [OUTPUT_NAME], name="plus_level"))
    graph = helper.make_graph(
        nodes, f"seqinfer_{kind}",
        [helper.make_tensor_value_info(INPUT_NAME, onnx_type, [BATCH_AXIS, SEQ_AXIS, features])],
        [helper.make_tensor_value_info(OUTPUT_NAME, onnx_type, [BATCH_AXIS, horizon])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def _out_stats(state: Mapping[str, np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The target's mean and std per horizon step (a checkpoint from before out_* took feature 0's)."""
    if "out_mean" in state:
        return (np.asarray(state["out_mean"], np.float64).reshape(-1),
                np.asarray(state["out_std"], np.float64).reshape(-1))
    m0, s0 = float(state["norm_mean"].reshape(-1)[0]), float(state["norm_std"].reshape(-1)[0])
    return np.full(horizon, m0), np.full(horizon, s0)
