"""Forecaster weights -> ONNX graph: Scan form (the cell op by op), ops form (ONNX RNN/LSTM/GRU), or hybrid.

Why (numbers from `python -m bench.model_probe`; export/onnx_export.py has the per-batch choice): ORT's CPU
kernel for the ONNX RNN op ran at 0.3-0.7x PyTorch eager from batch 256 up. A Scan whose body is MatMul ->
Add -> Tanh runs on ORT's vectorised (MLAS) kernels instead and was 4-20x eager there. The input projection
x_t · W_ihᵀ is done inside the body, per step: hoisting it over all steps at once was measured slower from
batch 256 up (a [batch, seq, gates*hidden] tensor that leaves the cache).

Properties the verify step checks: batch and seq are symbolic (`batch`, `seq`); the loop is the Scan, so the
node count does not depend on seq; no size is baked in (the zero initial state is built from Shape(x) at run
time); normalization is explicit Sub/Div on the raw input and Mul/Add on the output, so raw in, raw out.

Needs only numpy and onnx: `build_graph` takes the state_dict as numpy arrays.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from seqinfer.infer.contract import BATCH_AXIS, INPUT_NAME, OPSET, OUTPUT_NAME, SEQ_AXIS

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
IR_VERSION = 8   # the IR that opset 17 shipped with: loadable by every onnxruntime since 1.13


def _init(name: str, arr: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(arr), name)


def _i64(*vals: int) -> np.ndarray:
    return np.array(vals, dtype=np.int64)


def _vi(name: str, dims: list[int | str]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _lstm_reorder(a: np.ndarray, hidden: int) -> np.ndarray:
    """PyTorch gate order i,f,g,o -> i,f,o,g so one Sigmoid covers the first 3H columns."""
    i, f, g, o = (a[k * hidden:(k + 1) * hidden] for k in range(4))
    return np.concatenate([i, f, o, g])


def _step(kind: str, layer: int, hidden: int, inputs: int, w_ih_t: np.ndarray, w_hh_t: np.ndarray,
          bias: np.ndarray, b_hn: np.ndarray | None, emit_sequence: bool, act: str) -> onnx.GraphProto:
    """Scan body, one time step: (h[, c], x_t [batch, inputs]) -> (h'[, c'][, h' again as scan output])."""
    H, p, mk = hidden, f"l{layer}_", helper.make_node
    inits = [_init(p + "W_ih_T", w_ih_t), _init(p + "W_hh_T", w_hh_t), _init(p + "bias", bias)]
    states = ["h"] + (["c"] if kind == "lstm" else [])
    nodes = [mk("MatMul", ["x_t", p + "W_ih_T"], ["xw"], name=p + "input_matmul"),         # (B, G*H)
             mk("Add", ["xw", p + "bias"], ["xp"], name=p + "input_bias"),
             mk("MatMul", ["h", p + "W_hh_T"], ["hr"], name=p + "hidden_matmul")]          # (B, G*H)
    if kind == "rnn":
        nodes += [mk("Add", ["xp", "hr"], ["pre"], name=p + "pre"),
                  mk(act, ["pre"], ["h_next"], name=p + "act")]
    elif kind == "lstm":                                                   # columns: i, f, o | g
        inits += [_init(p + "split_sig_tanh", _i64(3 * H, H)), _init(p + "split_ifo", _i64(H, H, H))]
        nodes += [mk("Add", ["xp", "hr"], ["gates"], name=p + "gates"),
                  mk("Split", ["gates", p + "split_sig_tanh"], ["s_pre", "g_pre"], axis=1, name=p + "split"),
                  mk("Sigmoid", ["s_pre"], ["s"], name=p + "sigmoid"),
                  mk("Tanh", ["g_pre"], ["g"], name=p + "tanh_g"),
                  mk("Split", ["s", p + "split_ifo"], ["i", "f", "o"], axis=1, name=p + "split_ifo"),
                  mk("Mul", ["f", "c"], ["fc"], name=p + "forget"),
                  mk("Mul", ["i", "g"], ["ig"], name=p + "input"),
                  mk("Add", ["fc", "ig"], ["c_next"], name=p + "cell"),                # c' = f*c + i*g
                  mk("Tanh", ["c_next"], ["tc"], name=p + "tanh_c"),
                  mk("Mul", ["o", "tc"], ["h_next"], name=p + "output")]               # h' = o*tanh(c')
    else:                                                                  # gru columns: r, z | n
        assert b_hn is not None
        inits += [_init(p + "b_hn", np.concatenate([np.zeros(2 * H, np.float32), b_hn])),
                  _init(p + "split_rz_n", _i64(2 * H, H)), _init(p + "split_r_z", _i64(H, H))]
        nodes += [mk("Add", ["hr", p + "b_hn"], ["hb"], name=p + "hidden_bias"),
                  mk("Split", ["xp", p + "split_rz_n"], ["x_rz", "x_n"], axis=1, name=p + "split_x"),
                  mk("Split", ["hb", p + "split_rz_n"], ["h_rz", "h_n"], axis=1, name=p + "split_h"),
                  mk("Add", ["x_rz", "h_rz"], ["rz_pre"], name=p + "rz_pre"),
                  mk("Sigmoid", ["rz_pre"], ["rz"], name=p + "sigmoid"),
                  mk("Split", ["rz", p + "split_r_z"], ["r", "z"], axis=1, name=p + "split_rz"),
                  mk("Mul", ["r", "h_n"], ["rh"], name=p + "reset"),                   # r * (W_hn h + b_hn)
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
    """PyTorch layout: W_ih [G*H, in], W_hh [G*H, H], b_ih, b_hh [G*H] (zeros when the layer has no bias)."""
    gh = GATES[kind] * hidden
    zeros = np.zeros(gh, np.float32)
    return (state[f"rnn.weight_ih_l{layer}"], state[f"rnn.weight_hh_l{layer}"],
            state.get(f"rnn.bias_ih_l{layer}", zeros), state.get(f"rnn.bias_hh_l{layer}", zeros))


def _scan_layers(kind: str, state: Mapping[str, np.ndarray], features: int, hidden: int, layers: int,
                 act: str, out: str) -> list[onnx.NodeProto]:
    """x_norm (B, T, F) -> `out` (B, H): one Scan per layer, cell written op by op in the body."""
    H, mk = hidden, helper.make_node
    nodes: list[onnx.NodeProto] = []
    seq_in, inputs = "x_norm", features
    for layer in range(layers):
        p, last = f"l{layer}_", layer == layers - 1
        w_ih, w_hh, b_ih, b_hh = _layer_weights(kind, state, layer, H)
        b_hn = None
        if kind == "lstm":
            w_ih, w_hh, bias = _lstm_reorder(w_ih, H), _lstm_reorder(w_hh, H), _lstm_reorder(b_ih + b_hh, H)
        elif kind == "gru":   # b_hn must stay inside r * (W_hn h + b_hn); b_hh's r, z parts fold into bias
            bias = b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H, np.float32)])
            b_hn = b_hh[2 * H:]
        else:
            bias = b_ih + b_hh
        body = _step(kind, layer, H, inputs, w_ih.T, w_hh.T, bias, b_hn, not last, act)
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


def _op_layers(kind: str, state: Mapping[str, np.ndarray], hidden: int, layers: int, act: str, out: str
               ) -> tuple[list[onnx.NodeProto], list[TensorProto]]:
    """x_norm (B, T, F) -> `out` (B, H) with the ONNX RNN/LSTM/GRU op, one per layer, zero initial state.

    No initial_h input: the op's default is zeros of the run-time batch, so no batch size can be baked in.
    """
    H, mk = hidden, helper.make_node
    op = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind]
    attrs: dict[str, Any] = {"hidden_size": H}
    if kind == "gru":
        attrs["linear_before_reset"] = 1        # PyTorch's GRU: r * (W_hn h + b_hn)
    if kind == "rnn":
        attrs["activations"] = [act]
    nodes = [mk("Transpose", ["x_norm"], ["ops_x_tbf"], perm=[1, 0, 2], name="ops_time_major")]  # (T, B, F)
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


def build_graph(kind: str, state: Mapping[str, np.ndarray], *, features: int, hidden: int, layers: int,
                horizon: int, form: str = "hybrid", ops_max_batch: int = 0, nonlinearity: str = "tanh"
                ) -> onnx.ModelProto:
    """`state`: the Forecaster state_dict as float32 numpy arrays (rnn.*, head.*, norm_mean, norm_std).

    form "scan": Scan per layer; "ops": ONNX RNN/LSTM/GRU ops; "hybrid": If(batch <= ops_max_batch) runs the
    ops, else the Scan. Both branches compute the same function; the If picks the faster kernel per call.
    """
    assert form in FORMS, form
    H, mk = hidden, helper.make_node
    act = {"tanh": "Tanh", "relu": "Relu"}[nonlinearity]
    mean, std = state["norm_mean"], state["norm_std"]
    # One feature: scalars, which ORT broadcasts on its fast path ([B,T,1] against [1] goes per element).
    norm = (mean.reshape(()), std.reshape(())) if features == 1 else (mean, std)
    inits = [_init("norm_mean", norm[0]), _init("norm_std", norm[1]),
             _init("target_mean", mean[0].reshape(())), _init("target_std", std[0].reshape(()))]
    nodes = [mk("Sub", [INPUT_NAME, "norm_mean"], ["x_centred"], name="normalize_sub"),   # (B, T, F)
             mk("Div", ["x_centred", "norm_std"], ["x_norm"], name="normalize_div")]
    if form != "ops":     # the Scan's zero initial state, sized from Shape(x) at run time: (B, H)
        inits.append(_init("hidden_dim", _i64(H)))
        nodes += [mk("Shape", [INPUT_NAME], ["batch_dim"], start=0, end=1, name="batch_dim"),
                  mk("Concat", ["batch_dim", "hidden_dim"], ["state_shape"], axis=0, name="state_shape"),
                  mk("ConstantOfShape", ["state_shape"], ["state0"], name="zero_state",
                     value=numpy_helper.from_array(np.zeros(1, np.float32)))]
    if form == "scan":
        nodes += _scan_layers(kind, state, features, H, layers, act, "h_last")
    elif form == "ops":
        op_nodes, op_inits = _op_layers(kind, state, H, layers, act, "h_last")
        nodes, inits = nodes + op_nodes, inits + op_inits
    else:
        op_nodes, op_inits = _op_layers(kind, state, H, layers, act, "ops_h_last")
        branch_out = [_vi("ops_h_last", [BATCH_AXIS, H])]
        then_g = helper.make_graph(op_nodes, "ops_branch", [], branch_out, initializer=op_inits)
        else_g = helper.make_graph(_scan_layers(kind, state, features, H, layers, act, "scan_h_last"),
                                   "scan_branch", [], [_vi("scan_h_last", [BATCH_AXIS, H])])
        inits.append(_init("ops_max_batch", _i64(ops_max_batch)))
        nodes += [mk("LessOrEqual", ["batch_dim", "ops_max_batch"], ["use_ops"], name="small_batch"),
                  mk("If", ["use_ops"], ["h_last"], name="pick_kernel",
                     then_branch=then_g, else_branch=else_g)]
    inits += [_init("head_W", state["head.weight"]), _init("head_b", state["head.bias"])]
    nodes += [mk("Gemm", ["h_last", "head_W", "head_b"], ["y_norm"], transB=1, name="head"),  # (B, horizon)
              mk("Mul", ["y_norm", "target_std"], ["y_scaled"], name="denormalize_mul"),
              mk("Add", ["y_scaled", "target_mean"], [OUTPUT_NAME], name="denormalize_add")]
    graph = helper.make_graph(
        nodes, f"seqinfer_{kind}",
        [_vi(INPUT_NAME, [BATCH_AXIS, SEQ_AXIS, features])], [_vi(OUTPUT_NAME, [BATCH_AXIS, horizon])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model
