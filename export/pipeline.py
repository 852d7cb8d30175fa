"""checkpoint.pt -> model.ts + model.onnx, verified before they get their real names.

    from seqinfer.export import ExportConfig, export_model
    result = export_model("artifacts/lstm")            # what `seqinfer export artifacts/lstm` runs

Both files are written under temporary names (.model.onnx.partial, .model.ts.partial), checked and verified
against the eager model, and only then renamed over model.onnx / model.ts (os.replace, atomic on one file
system). On a failed verification the candidates are kept as model.onnx.failed / model.ts.failed for a
look, any model.onnx / model.ts from an earlier export is removed (it no longer provably matches this
checkpoint), parity.json records the table, and ParityFailed is raised. Re-exporting the same checkpoint gives
byte-identical model.onnx and model.ts: no timestamps inside; timings go to parity.json only.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from seqinfer.infer import __version__ as SEQINFER_VERSION
from seqinfer.infer.contract import (
    CHECKPOINT_FILE,
    ONNX_FILE,
    PARITY_FILE,
    TORCHSCRIPT_FILE,
    ModelMeta,
    state_spec,
)
from seqinfer.trainer.checkpoint import load_checkpoint
from seqinfer.trainer.model import Forecaster

from .config import ExportConfig, VerifyConfig
from .graph_checks import (
    STRUCTURAL,
    Check,
    count_nodes,
    loops_not_unrolled,
    no_example_sizes,
    only_model_sizes,
)
from .onnx_export import (
    OPS_MAX_BATCH,
    STEP_OPS_MAX_BATCH,
    attach_meta,
    build_onnx,
    complete_meta,
    write_bytes,
)
from .parity import ParityFailed, ParityReport, verify_files

TS_META_FILE = "seqinfer.json"   # TorchScript extra file holding the same metadata as the ONNX props
_PRIMES = (3, 5, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


@dataclass
class ExportResult:
    onnx_path: Path
    ts_path: Path
    report: ParityReport
    meta: ModelMeta
    seconds: dict[str, float]


def checkpoint_meta(model: Forecaster, ckpt: dict[str, Any], form: str) -> ModelMeta:
    """Every ModelMeta field from the checkpoint alone (parity is filled in after verification)."""
    cfg, data = model.config, ckpt.get("data", {})
    meta = ModelMeta(seqinfer_version=SEQINFER_VERSION, kind=cfg.kind, window=int(data["window"]),
                     horizon=cfg.horizon, features=cfg.features,
                     norm_mean=tuple(float(v) for v in model.norm_mean.tolist()),
                     norm_std=tuple(float(v) for v in model.norm_std.tolist()),
                     scaling=cfg.scaling, io_dtype=str(data.get("io_dtype", "float32")),
                     stateful=cfg.stateful, warmup=int(data.get("warmup", 0)) if cfg.stateful else 0,
                     state=state_spec(cfg.kind, cfg.scaling, cfg.layers, cfg.hidden, cfg.features,
                                      str(data.get("io_dtype", "float32"))) if cfg.stateful else {},
                     fingerprint=str(data.get("fingerprint", "")),
                     value_names=tuple(str(v) for v in data.get("value_names", ())))
    return complete_meta(meta, form)


Example = tuple[int, int]   # (batch, seq) of a traced input


def pick_examples(model: Forecaster, window: int, vcfg: VerifyConfig) -> tuple[Example, Example]:
    """Two (batch, seq) trace inputs whose sizes occur nowhere else: not in the verify grid, not a model
    dimension. Two seq lengths, so the node count can be compared across them."""
    cfg = model.config
    taken = {1, 2, cfg.features, cfg.hidden, cfg.horizon, cfg.layers, window, *vcfg.batches,
             *vcfg.grid_seqs(window)}
    b, s1, s2 = [p for p in _PRIMES if p not in taken][:3]
    return (b, s1), (b, s2)


def script_model(model: Forecaster) -> torch.jit.ScriptModule:
    """Scripted, not traced: scripting compiles forward() itself, so no example shape is recorded and batch
    and seq stay dynamic by construction (a trace of nn.RNN is shape-specialised and warns). Forecaster's
    forward has no Python-only constructs, and the result loads in C++ with torch::jit::load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch.jit deprecation notices
        return torch.jit.script(model.eval().cpu())


def save_torchscript(scripted: torch.jit.ScriptModule, path: Path, meta: ModelMeta) -> None:
    extra = {TS_META_FILE: json.dumps(meta.to_props(), sort_keys=True)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(scripted, str(path), _extra_files=extra)
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def probe_model(model: Forecaster) -> Forecaster:
    """The same kind and layers at hidden, horizon and features sizes unrelated to the model's own and to
    OPS_MAX_BATCH, for export_checks. Its weights are random: only its graph's integer constants matter."""
    cfg = model.config
    taken = {*STRUCTURAL, 2, cfg.features, cfg.hidden, cfg.horizon, OPS_MAX_BATCH[cfg.kind],
             STEP_OPS_MAX_BATCH[cfg.kind]}
    hidden, horizon, features = [p for p in _PRIMES if p not in taken][:3]
    with torch.random.fork_rng(devices=[]):        # leave the caller's random stream as it was
        return type(model)(replace(cfg, hidden=hidden, horizon=horizon, features=features)).eval()


def model_sizes(model: Forecaster, form: str) -> dict[str, int]:
    """The integers a weight-built graph of `model` may hold besides -1, 0 and 1."""
    cfg = model.config
    sizes = {"hidden": cfg.hidden, "horizon": cfg.horizon, "features": cfg.features}
    if cfg.stateful:                     # the step graph slices the carried state layer by layer
        top = STEP_OPS_MAX_BATCH[cfg.kind]
        return sizes | {"layers": cfg.layers} | ({} if top is None else {"ops_max_batch": top})
    return sizes | ({"ops_max_batch": OPS_MAX_BATCH[cfg.kind]} if form == "hybrid" else {})


def export_checks(model: Forecaster, form: str, examples: tuple[Example, Example],
                  io_dtype: str = "float32") -> list[Check]:
    """Graph properties only the exporter can test, as "no baked-in sizes" and "seq-independent".

    Traced (torch): neither example size is a constant, and the node count is the same at both examples'
    seqs. Built from weights (the other forms): the examples are not used, so comparing them would prove
    nothing; instead every integer constant must be -1, 0, 1 or a model size, in the model's graph and in a
    probe_model's (so a baked-in size cannot pass for a model size), and each recurrence must be a loop node.
    """
    cfg = model.config
    if form == "torch" and not cfg.stateful:
        a, b = (build_onnx(model, form=form, example=e, io_dtype=io_dtype) for e in examples)
        na, nb = count_nodes(a), count_nodes(b)
        return [no_example_sizes([(a, examples[0]), (b, examples[1])]),
                Check("seq-independent", na == nb,
                      f"traced: {na} nodes at seq {examples[0][1]}, {nb} at seq {examples[1][1]}")]
    builds = [(build_onnx(m, form=form, io_dtype=io_dtype), model_sizes(m, form))
              for m in (model, probe_model(model))]
    hybrid = STEP_OPS_MAX_BATCH[cfg.kind] is not None if cfg.stateful else form == "hybrid"
    branches = 2 if hybrid else 1                  # the hybrid's If: ops and Scan branches
    return [only_model_sizes(builds), loops_not_unrolled(builds[0][0], cfg.layers * branches)]


def export_model(model_dir: str | Path, config: ExportConfig | None = None) -> ExportResult:
    """MODEL_DIR/checkpoint.pt -> verified model.ts + model.onnx + parity.json beside it, or ParityFailed."""
    config = config or ExportConfig()
    d = Path(model_dir)
    model, ckpt = load_checkpoint(d / CHECKPOINT_FILE if d.is_dir() else d)
    d = d if d.is_dir() else d.parent
    form, window = config.onnx_form, int(ckpt["data"]["window"])
    final = {"onnx": d / ONNX_FILE, "ts": d / TORCHSCRIPT_FILE}
    tmp = {k: p.with_name(f".{p.name}.partial") for k, p in final.items()}
    failed = {k: p.with_name(p.name + ".failed") for k, p in final.items()}
    t0 = time.perf_counter()
    try:
        meta = checkpoint_meta(model, ckpt, form)
        examples = pick_examples(model, window, config.verify)
        proto = build_onnx(model, form=form, example=examples[0], io_dtype=meta.io_dtype)
        write_bytes(tmp["onnx"], attach_meta(proto, meta).SerializeToString())
        scripted = script_model(model)
        save_torchscript(scripted, tmp["ts"], meta)
        t1 = time.perf_counter()
        report = verify_files(model, ckpt, tmp["onnx"], tmp["ts"], config.verify, label=str(final["onnx"]),
                              checkpoint_label=str(d / CHECKPOINT_FILE))
        report.checks += export_checks(model, form, examples, meta.io_dtype)
        t2 = time.perf_counter()
        seconds = {"export_s": round(t1 - t0, 3), "verify_s": round(t2 - t1, 3)}
        sidecar = {"export": {"form": form, "exporter": meta.exporter, **seconds,
                              "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
        if not report.passed:
            for k in final:
                final[k].unlink(missing_ok=True)          # an earlier export no longer matches: not "good"
                os.replace(tmp[k], failed[k])
            report.write(d / PARITY_FILE, sidecar)
            raise ParityFailed(report)
        meta = replace(meta, parity=report.summary())
        write_bytes(tmp["onnx"], attach_meta(proto, meta).SerializeToString())
        save_torchscript(scripted, tmp["ts"], meta)       # same module, metadata now with the parity figures
        for k in final:
            os.replace(tmp[k], final[k])
            failed[k].unlink(missing_ok=True)
        report.write(d / PARITY_FILE, sidecar)
        return ExportResult(final["onnx"], final["ts"], report, meta, seconds)
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)
