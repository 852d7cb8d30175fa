"""Section 12: what only a CUDA machine shows; skipped, with the reason, where torch sees no GPU (as in CI).

    python -m bench.run --only gpu,model --out bench/results/gpu        # on a CUDA machine

- training: `seqinfer train --model all` (make train's command) with --device cuda, then --device cpu, in
  this run: wall time and test MSE per kind; and a short stateful run of all three kinds on CUDA.
- parity: `seqinfer export` of the CUDA-trained models, whose verify compares TorchScript on CUDA and
  onnxruntime's CUDA provider with PyTorch on the CPU over the whole grid (windowed and step models).
- predict: `seqinfer predict --provider cuda`, then `--provider cpu`, on the same files: rows/s, and the
  largest difference between the two outputs in units of the series' scale.
- TF32: onnxruntime's CUDA provider and torch on CUDA with TF32 on, against off (CUDA_TF32, what seqinfer
  runs), each against the CPU: the error TF32 adds, and the speed it buys, at one large batch.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import data as D
from .e2e import run_measured, seqinfer_cmd
from .training import KINDS, read_metrics

STATEFUL_EPOCHS = 10        # the stateful CUDA run checks the path; its accuracy is section 11's concern
TF32_BATCH = 4096


def gpu_section(data_dir: Path, rows: int, timeout: float, train_extra: list[str] | None = None
                ) -> dict[str, Any]:
    import onnxruntime as ort
    import torch

    from seqinfer.infer.contract import CUDA_TF32

    if not torch.cuda.is_available():
        return {"skipped": f"no CUDA GPU (torch {torch.__version__})"}
    out: dict[str, Any] = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                           "torch_cuda": torch.version.cuda, "onnxruntime": ort.__version__,
                           "tf32_setting": CUDA_TF32, "rows": rows}
    extra = train_extra or []
    with tempfile.TemporaryDirectory(prefix="seqinfer-bench-gpu-") as tmp:
        td = Path(tmp)
        out["training"] = {dev: _train(td / dev, ["--model", "all", "--device", dev, *extra], timeout)
                           for dev in ("cuda", "cpu")}
        stateful = ["--model", "all", "--stateful", "yes", "--device", "cuda",
                    "--epochs", str(STATEFUL_EPOCHS)]
        out["stateful_training"] = _train(td / "st", [*stateful, *extra], timeout)
        models = {k: td / "cuda" / k for k in KINDS} | {f"{k}-stateful": td / "st" / f"{k}-stateful"
                                                        for k in KINDS}
        out["parity"] = {k: _export(d, timeout) for k, d in models.items() if (d / "checkpoint.pt").is_file()}
        files = {"one series": D.series_file(rows, data_dir),
                 "10,000 series": D.interleaved_file(rows, 10_000, data_dir)}
        out["predict"] = {}
        runs = (("lstm", []), *((f"{k}-stateful", ["--warmup", "0"]) for k in KINDS))     # as section 9
        for k, extra_args in runs:
            if out["parity"].get(k, {}).get("passed"):
                out["predict"][k] = {name: _predict_both(models[k], f, rows, td, timeout, extra_args)
                                     for name, f in files.items()}
        if (models["lstm"] / "model.onnx").is_file():
            out["tf32"] = tf32_effect(models["lstm"])
    return out


def _train(folder: Path, args: list[str], timeout: float) -> dict[str, Any]:
    r = run_measured(seqinfer_cmd() + ["train", *args, "--out", str(folder)], None, timeout=timeout)
    res: dict[str, Any] = {"command": "seqinfer train " + " ".join(args), "wall_s": r["wall_s"],
                           "rc": r["rc"]}
    if r["rc"] != 0:
        res["skipped"] = f"train exited {r['rc']}: {' | '.join(r['stderr_tail'])}"
    for p in sorted(folder.glob("*/metrics.json")):
        m = json.loads(p.read_text())
        res.setdefault("kinds", {})[p.parent.name] = {**read_metrics(p), "device": m.get("device")}
    return res


def _export(model_dir: Path, timeout: float) -> dict[str, Any]:
    """`seqinfer export`, then its parity.json summed up per runtime and provider: rows, worst share of the
    tolerance, all passed."""
    r = run_measured(seqinfer_cmd() + ["export", str(model_dir)], None, timeout=timeout)
    res: dict[str, Any] = {"rc": r["rc"], "wall_s": r["wall_s"]}
    report = model_dir / "parity.json"
    if not report.is_file():
        return {**res, "passed": False, "skipped": " | ".join(r["stderr_tail"])}
    rep = json.loads(report.read_text())
    groups: dict[str, dict[str, Any]] = {}
    for row in rep["rows"]:
        g = groups.setdefault(f"{row['runtime']} {row['provider']}",
                              {"rows": 0, "passed": 0, "max_rel": 0.0, "tol_used": 0.0})
        g["rows"] += 1
        g["passed"] += bool(row["passed"])
        g["max_rel"] = max(g["max_rel"], row["max_rel"])
        g["tol_used"] = max(g["tol_used"], row["tol_used"])
    return {**res, "passed": bool(rep["passed"]) and r["rc"] == 0, "by_runtime": groups,
            "skipped": rep.get("skipped", [])}


def _predict_both(model_dir: Path, data: Path, rows: int, td: Path, timeout: float,
                  extra_args: list[str]) -> dict[str, Any]:
    """The same file through --provider cuda and --provider cpu; rows/s each, and how far apart the
    forecasts are (max |cuda - cpu| / the input's std)."""
    res: dict[str, Any] = {}
    outs = {}
    for prov in ("cuda", "cpu"):
        outs[prov] = td / f"{model_dir.name}-{data.stem}-{prov}.csv"
        with open(outs[prov], "wb") as f:
            cmd = seqinfer_cmd() + ["predict", str(model_dir), "--provider", prov, *extra_args]
            r = run_measured(cmd, data, stdout=f, timeout=timeout)
        res[prov] = {"rc": r["rc"], "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"],
                     "stderr_tail": r["stderr_tail"]}
        if r["rc"] == 0:
            res[prov]["rows_per_s"] = rows / r["wall_s"]
    if all(res[p]["rc"] == 0 for p in outs):
        a, b = (_forecasts(outs[p]) for p in ("cuda", "cpu"))
        scale = float(np.std(_forecasts(outs["cpu"], "yhat_1")))
        res["forecasts"] = int(a.size)
        res["same_shape"] = a.shape == b.shape
        res["max_diff_over_scale"] = float(np.max(np.abs(a - b)) / scale) if a.shape == b.shape and a.size \
            else None
    for p in outs.values():
        p.unlink(missing_ok=True)
    return res


def _forecasts(path: Path, only: str | None = None) -> np.ndarray:
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(path)
    cols = [c for c in t.column_names if c.startswith("yhat_") and (only is None or c == only)]
    return np.column_stack([t[c].to_numpy() for c in cols]).astype(np.float64)


def tf32_effect(model_dir: Path) -> dict[str, Any]:
    """At batch TF32_BATCH of the model's window: onnxruntime CUDA and torch CUDA, TF32 on and off, against
    PyTorch on the CPU (max |d| / the series' scale), and the median ms per call."""
    import onnxruntime as ort
    import torch

    from seqinfer.export.config import VerifyConfig
    from seqinfer.export.parity import load_test_windows, tolerance
    from seqinfer.infer.contract import INPUT_NAME, ORT_CUDA_OPTIONS
    from seqinfer.trainer.checkpoint import load_checkpoint

    model, ckpt = load_checkpoint(model_dir / "checkpoint.pt")
    scale = tolerance(model, ckpt, VerifyConfig()).scale
    windows, _ = load_test_windows(ckpt)
    if windows is None:
        return {"skipped": "no test windows in the checkpoint"}
    x = np.ascontiguousarray(np.resize(windows, (TF32_BATCH, *windows.shape[1:])), np.float32)
    with torch.inference_mode():
        ref = model.eval()(torch.from_numpy(x)).numpy().astype(np.float64)
    res: dict[str, Any] = {"batch": TF32_BATCH, "window": int(x.shape[1]), "seqinfer_uses": ORT_CUDA_OPTIONS}
    from seqinfer.infer.api import Forecaster

    with torch.inference_mode():
        cpu_ms = _median_ms(lambda: model(torch.from_numpy(x)))
    with Forecaster(model_dir, provider="cpu") as fc:     # seqinfer's CPU path: one worker per core, up to 4
        y = fc.predict(x)
        ort_cpu = {"max_diff_over_scale": float(np.max(np.abs(y - ref)) / scale),
                   "ms": _median_ms(lambda: fc.predict(x))}
        res["cpu"] = {"torch eager": {"max_diff_over_scale": 0.0, "ms": cpu_ms},
                      "onnxruntime (seqinfer API)": ort_cpu}
    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    for tf32 in (False, True):
        sess = ort.InferenceSession(str(model_dir / "model.onnx"),
                                    providers=[("CUDAExecutionProvider", {"use_tf32": str(int(tf32))})])
        if sess.get_providers()[0] != "CUDAExecutionProvider":
            res["onnxruntime"] = {"skipped": "onnxruntime's CUDA provider did not load"}
            break
        y = sess.run(None, {INPUT_NAME: x})[0]
        res.setdefault("onnxruntime", {})[f"tf32 {'on' if tf32 else 'off'}"] = {
            "max_diff_over_scale": float(np.max(np.abs(y - ref)) / scale),
            "ms": _median_ms(lambda s=sess: s.run(None, {INPUT_NAME: x}))}
    from seqinfer.trainer.fit import cuda_precision

    gpu = model.to("cuda")
    xg = torch.from_numpy(x).cuda()
    for tf32 in (False, True):
        cuda_precision(tf32)

        def call() -> np.ndarray:
            with torch.inference_mode():
                y = gpu(xg)
            torch.cuda.synchronize()
            return y.cpu().numpy()
        res.setdefault("torch", {})[f"tf32 {'on' if tf32 else 'off'}"] = {
            "max_diff_over_scale": float(np.max(np.abs(call() - ref)) / scale), "ms": _median_ms(call)}
    cuda_precision()
    return res


def _rate(v: float | None, run: dict[str, Any]) -> str:
    return f"{v:,.0f}" if v else f"exit {run['rc']}: {' | '.join(run['stderr_tail'])}"


def _median_ms(fn: Any, reps: int = 20) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def gpu_lines(res: dict[str, Any]) -> list[str]:
    """The report's section 12."""
    g = res.get("gpu")
    if g is None:
        return []
    L = ["## 12. GPU (CUDA) checks", ""]
    if "skipped" in g:
        return L + [f"Skipped: {g['skipped']}. The last run on a GPU: [gpu/latest.md](gpu/latest.md).", ""]
    L += [f"{g['gpu']}; torch {g['torch']} (CUDA {g['torch_cuda']}), onnxruntime {g['onnxruntime']}; "
          f"CUDA runs with TF32 {'on' if g['tf32_setting'] else 'off'} in training, verify, predict and this "
          "bench.",
          "",
          "**Training** (`seqinfer train`, this run; test MSE per kind):", "",
          "| command | wall s | " + " | ".join(KINDS) + " |", "|---|---:|" + "---:|" * len(KINDS)]
    for t in (*g["training"].values(), g["stateful_training"]):
        kinds = t.get("kinds", {})
        mse = [f"{kinds[k]['test_mse']:.3g}" if k in kinds else "-" for k in KINDS]
        if t["command"].count("--stateful"):
            mse = [f"{k}-stateful {kinds[k + '-stateful']['test_mse']:.3g}" if k + "-stateful" in kinds
                   else t.get("skipped", "-") for k in KINDS]
        L.append(f"| `{t['command']}` | {t['wall_s']:.1f} | " + " | ".join(mse) + " |")
    L += ["", "**Parity** (`seqinfer export` of the CUDA-trained models; worst row per runtime, as a share "
              "of the tolerance):", "", "| model | runtime | rows passed | max \\|d\\|/S | tol used |",
          "|---|---|---:|---:|---:|"]
    for k, p in g["parity"].items():
        for rt, s in p.get("by_runtime", {}).items():
            L.append(f"| {k} | {rt} | {s['passed']}/{s['rows']} | {s['max_rel']:.2e} | {s['tol_used']:.1%} |")
        L += [f"| {k} | skipped: {s} | | | |" for s in p.get("skipped", [])]
    L += ["", f"**Predict** (`seqinfer predict --provider cuda|cpu`, {g['rows']:,} rows):", "",
          "| model | file | cuda rows/s | cpu rows/s | cuda/cpu | max \\|cuda-cpu\\|/S |",
          "|---|---|---:|---:|---:|---:|"]
    for k, files in g["predict"].items():
        for name, r in files.items():
            c, p = r["cuda"].get("rows_per_s"), r["cpu"].get("rows_per_s")
            d = r.get("max_diff_over_scale")
            L.append(f"| {k} | {name} | {_rate(c, r['cuda'])} | {_rate(p, r['cpu'])} | "
                     + (f"{c / p:.2f}x" if c and p else "-") + " | " + (f"{d:.2e}" if d is not None else "-")
                     + " |")
    t = g.get("tf32", {})
    if "batch" in t:
        L += ["", f"**TF32** (LSTM, batch {t['batch']} x window {t['window']}, against PyTorch on the CPU):",
              "",
              "| runtime | TF32 (CUDA) or what runs (cpu) | max \\|d\\|/S | ms per call |",
              "|---|---|---:|---:|"]
        for rt in ("onnxruntime", "torch", "cpu"):
            for mode, v in t.get(rt, {}).items():
                L.append(f"| {rt} | {mode} | {v['max_diff_over_scale']:.2e} | {v['ms']:.2f} |"
                         if isinstance(v, dict) else f"| {rt} | {v} | | |")
    return L + [""]
