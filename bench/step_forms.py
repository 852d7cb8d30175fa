"""Which kernel should a stateful model's step graph run: ONNX's RNN/LSTM/GRU op, or the cell op by op in a
Scan? Times both forms of an untrained step graph (export/step_graph.py) at the calls predict makes: 65,536
rows at a time, B series x 65,536 / B steps, on the onnxruntime threads predict gives a stateful model.
export/onnx_export.py STEP_OPS_MAX_BATCH takes its thresholds from this table.

    python -m bench.step_forms                         # rnn 32, lstm 32, gru 64 (the defaults)
    python -m bench.step_forms --kinds gru --hidden 32 --batches 16 32 64
"""
from __future__ import annotations

import argparse
from functools import partial

import numpy as np

from .model_probe import _time

ROWS = 65_536
BATCHES = (1, 4, 8, 16, 32, 64, 128, 1024, 10_000, 65_536)
DEFAULT_HIDDEN = {"rnn": 32, "lstm": 32, "gru": 64}


def sessions(kind: str, hidden: int) -> dict[str, object]:
    """onnxruntime sessions of one untrained step graph, in the "ops" and the "scan" form."""
    import onnxruntime as ort
    import torch

    from seqinfer.export.step_graph import build_step_graph
    from seqinfer.infer.session import default_workers, session_options
    from seqinfer.trainer.model import ModelConfig
    from seqinfer.trainer.stateful import StatefulForecaster

    torch.manual_seed(0)
    net = StatefulForecaster(ModelConfig(kind=kind, hidden=hidden, stateful=True)).eval()
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    out = {}
    for form in ("ops", "scan"):
        graph = build_step_graph(kind, state, features=1, hidden=hidden, layers=1, horizon=1, form=form)
        out[form] = ort.InferenceSession(graph.SerializeToString(), session_options(default_workers("cpu")),
                                         providers=["CPUExecutionProvider"])
    return out


def feed(sess: object, batch: int, steps: int, hidden: int) -> dict[str, np.ndarray]:
    from seqinfer.infer.contract import SEQ_LENS_NAME, STATE_PREV

    rng = np.random.default_rng(0)
    f = {"x": rng.normal(size=(batch, steps, 1)).astype(np.float32),
         SEQ_LENS_NAME: np.full(batch, steps, np.int32)}
    for i in sess.get_inputs():  # type: ignore[attr-defined]
        if i.name == STATE_PREV:
            f[i.name] = np.zeros((batch, 1), np.float32)
        elif i.name not in f:
            f[i.name] = np.zeros((batch, 1, hidden), np.float32)
    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", nargs="+", default=["rnn", "lstm", "gru"])
    ap.add_argument("--hidden", type=int, help="hidden size [default: each kind's stateful default]")
    ap.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    ap.add_argument("--budget", type=float, default=0.5, help="seconds per cell")
    args = ap.parse_args()
    print("| kind | hidden | batch x steps | ops ms | Scan ms | ops / Scan |\n|---|---:|---|---:|---:|---:|")
    for kind in args.kinds:
        hidden = args.hidden or DEFAULT_HIDDEN[kind]
        s = sessions(kind, hidden)
        for b in args.batches:
            steps = max(1, ROWS // b)
            ms = {form: 1e3 * _time(partial(sess.run, None, feed(sess, b, steps, hidden)),  # type: ignore
                                    args.budget) for form, sess in s.items()}
            print(f"| {kind} | {hidden} | {b:,} x {steps:,} | {ms['ops']:.1f} | {ms['scan']:.1f} | "
                  f"{ms['ops'] / ms['scan']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
