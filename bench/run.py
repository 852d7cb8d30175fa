"""Run every benchmark of issue 5 in one go and write bench/results/latest.{json,md,png}.

    python -m bench.run --out bench/results          # what `make bench` runs (a few minutes)
    python -m bench.run --out /tmp/b --quick         # seconds: tiny sizes, for the smoke test

Models come from artifacts/<kind> (`make train export`); a kind without a checkpoint is measured as an
untrained stand-in of the issue's shape (LSTM/GRU/RNN, hidden 32, window 80), since speed does not depend on
the weights. The training section runs `make train`'s command itself, into a temporary folder, in this run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import data as D
from . import e2e
from .accuracy import quality_section, seeds_section
from .gpu import gpu_section
from .machine import flop_per_window, machine_info, matmul_gflops
from .models import BATCHES, Loaded, bench_model, load_model
from .report import chart, markdown, targets, update_readme
from .scoring import scoring_section
from .stateful import STATEFUL_RUNS, stateful_section
from .stateful import bench_model as stateful_bench
from .training import KINDS, training_section


@dataclass(frozen=True)
class Sizes:
    series_rows: int = 1_000_000
    windows_rows: int = 1_000_000
    big_rows: int = 10_000_000
    loop_prefix: int = 20_000
    trickle_s: float = 10.0
    startup_reps: int = 3
    batches: tuple[int, ...] = BATCHES
    budget_s: float = 0.4
    predict_timeout_s: float = 300.0
    stateful_runs: int = STATEFUL_RUNS     # section 9: each end-to-end figure the median of this many runs


QUICK = Sizes(series_rows=2_000, windows_rows=300, big_rows=4_000, loop_prefix=100, trickle_s=1.0,
              startup_reps=1, batches=(1, 16), budget_s=0.01, predict_timeout_s=60.0, stateful_runs=1)


QUICK_TRAIN = ["--epochs", "2", "--length", "300", "--window", "20"]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def model_arg(m: Loaded, artifacts: Path) -> Path:
    """For `seqinfer predict`: the artifacts folder when it has model.onnx, else the exported stand-in."""
    d = artifacts / m.kind
    return d if (d / "model.onnx").is_file() else m.onnx_path


def e2e_section(m: Loaded, artifacts: Path, sz: Sizes, data_dir: Path) -> dict[str, Any]:
    target = model_arg(m, artifacts)
    out: dict[str, Any] = {"model": str(target)}
    out["max_latency_s"] = e2e.max_latency_default()
    for name, rows in (("series", sz.series_rows), ("windows", sz.windows_rows)):
        path = D.series_file(rows, data_dir) if name == "series" else D.windows_file(rows, m.window, data_dir)
        log(f"e2e {name}: {rows:,} rows from {path}")
        sec: dict[str, Any] = {"rows": rows, "file": str(path), "bytes": path.stat().st_size}
        sec["cat"] = e2e.cat_floor(path, rows)
        sec["parse"] = e2e.parse_floor(path, rows, m.window)
        sec["predict"] = e2e.predict(target, path, rows, timeout=sz.predict_timeout_s)
        sec["torch_loop"] = e2e.torch_loop(m.model, path, m.window, sz.loop_prefix, name == "windows")
        n_windows = rows - m.window + 1 if name == "series" else rows
        sec["model_batched"] = e2e.model_batched(m.onnx_path, m.window, n_windows)
        out[name] = sec
    p1 = out["series"]["predict"]
    if "rows_per_s" in p1:
        est = sz.big_rows / p1["rows_per_s"]
        if est > sz.predict_timeout_s:
            out["rss"] = {"rss_1m_mb": p1["peak_rss_mb"], "rows_big": sz.big_rows,
                          "skipped": f"{sz.big_rows:,} rows would take ~{est:.0f} s at the measured rate"}
        else:
            log(f"rss: {sz.big_rows:,} rows")
            big = e2e.predict(target, D.series_file(sz.big_rows, data_dir), sz.big_rows,
                              timeout=sz.predict_timeout_s)
            out["rss"] = {"rss_1m_mb": p1["peak_rss_mb"], "rss_10m_mb": big.get("peak_rss_mb"),
                          "rows_small": sz.series_rows, "rows_big": sz.big_rows, "big": big}
    else:
        out["rss"] = {"skipped": p1.get("skipped", "predict failed")}
    log("trickle")
    out["trickle"] = e2e.trickle(target, m.window, seconds=sz.trickle_s)
    log("startup")
    small = D.series_file(m.window + 20, data_dir)
    out["startup"] = e2e.startup(target, small, reps=sz.startup_reps)
    return out


def compile_bytecode() -> None:
    """Write our modules' bytecode first, as pip does when it installs a wheel, so that a process start
    measures what users get, not Python compiling the sources changed since the last write (this machine
    sets PYTHONDONTWRITEBYTECODE: nothing else writes it; 50 ms a start after an edit)."""
    import compileall

    root = Path(__file__).resolve().parents[1]
    for d in ("trainer", "export", "infer", "bench"):
        compileall.compile_dir(root / d, quiet=2)


def run(out_dir: Path, artifacts: Path, sz: Sizes, kinds: tuple[str, ...], data_dir: Path = D.DATA_DIR,
        sections: tuple[str, ...] = ("training", "model", "e2e", "stateful", "scoring", "quality", "seeds",
                                     "gpu")
        ) -> dict[str, Any]:
    t0 = time.perf_counter()
    compile_bytecode()
    res: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "commit": commit(), "load_avg": {"start": os.getloadavg()[0]},
                           "mode": "quick" if sz == QUICK else "full", "machine": machine_info(),
                           "sizes": sz.__dict__, "artifacts": str(artifacts)}
    if "training" in sections:
        log("training: seqinfer train --model all" + (" (quick: tiny)" if sz == QUICK else ""))
        res["training"] = training_section(extra=QUICK_TRAIN if sz == QUICK else None)
    with tempfile.TemporaryDirectory() as td:
        loaded = {k: load_model(k, artifacts, Path(td)) for k in kinds}
        if "model" in sections:
            res["ceiling"] = ceiling(loaded)
            res["model"] = {}
            for k, m in loaded.items():
                log(f"model {k}: {m.source}")
                res["model"][k] = bench_model(m, sz.batches, sz.budget_s, with_window=sz != QUICK)
        m = loaded.get("lstm") or next(iter(loaded.values()))
        if "e2e" in sections:
            res["e2e"] = e2e_section(m, artifacts, sz, data_dir)
        if "scoring" in sections:
            log(f"scoring: seqinfer score on 1 and 2 workers, {2 * sz.series_rows:,} rows")
            res["scoring"] = scoring_section(model_arg(m, artifacts), data_dir, 2 * sz.series_rows,
                                             sz.predict_timeout_s)
        if "stateful" in sections:
            log(f"stateful: predict on {sz.series_rows:,} rows, one series and {10_000:,} series")
            res["stateful"] = stateful_section(model_arg(m, artifacts), data_dir, sz.series_rows,
                                               sz.predict_timeout_s, sz.big_rows, sz.stateful_runs)
    if "quality" in sections:
        log("quality: seqinfer train on each series of bench/series.py")
        res["quality"] = quality_section(data_dir, quick=sz == QUICK)
    if "seeds" in sections:
        log("seeds: seqinfer train --model all --seed 1..4")
        res["seeds"] = seeds_section(res.get("training"), quick=sz == QUICK)
    if "gpu" in sections:
        log("gpu: training, parity and predict on CUDA against the CPU (skipped without a GPU)")
        res["gpu"] = gpu_section(data_dir, sz.series_rows, sz.predict_timeout_s,
                                 QUICK_TRAIN if sz == QUICK else None)
    res["elapsed_s"] = time.perf_counter() - t0
    res["load_avg"]["end"] = os.getloadavg()[0]
    res["targets"] = targets(res)
    write(res, out_dir)
    return res


def ceiling(loaded: dict[str, Loaded]) -> dict[str, Any]:
    """The machine's matmul rate and what it allows each model: windows/s if every FLOP ran at that rate."""
    mm = matmul_gflops()
    kinds = {}
    for k, m in loaded.items():
        c = m.model.config
        flop = flop_per_window(k, c.hidden, c.features, m.window, c.layers, c.horizon)
        kinds[k] = {"flop_per_window": flop, "windows_per_s": mm["gflops"] * 1e9 / flop}
    return {"matmul": mm, "kinds": kinds}


def commit() -> str:
    """The commit measured, with "+changes" when the work tree differs from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!bench/results", ":!README.md"], cwd=root, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


def bench_one(model_dir: Path, quick: bool = False) -> dict[str, Any]:
    """`seqinfer bench artifacts/<kind>`: section 1 for one trained model; needs its checkpoint.pt."""
    from seqinfer.infer.contract import CHECKPOINT_FILE, ONNX_FILE
    from seqinfer.infer.errors import ModelError
    from seqinfer.trainer.checkpoint import load_checkpoint

    if not (model_dir / CHECKPOINT_FILE).is_file():
        raise ModelError(f"{model_dir}: no {CHECKPOINT_FILE}; run `make train export` first")
    sz = QUICK if quick else Sizes()
    if load_checkpoint(model_dir)[1]["model_config"].get("stateful"):     # rows through predict, not windows
        if not (model_dir / ONNX_FILE).is_file():
            raise ModelError(f"{model_dir}: a stateful model is measured through predict: seqinfer export "
                             f"{model_dir} first")
        return {"stateful": stateful_bench(model_dir.resolve(), D.DATA_DIR, sz.series_rows,
                                           sz.predict_timeout_s, sz.stateful_runs)}
    with tempfile.TemporaryDirectory() as td:
        m = load_model(model_dir.name, model_dir.parent, Path(td))
        return bench_model(m, sz.batches, sz.budget_s, with_window=not quick)


def write(res: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "latest.json.tmp"
    tmp.write_text(json.dumps(res, indent=1, default=str) + "\n")
    tmp.rename(out_dir / "latest.json")
    (out_dir / "latest.md").write_text(markdown(res))
    png = out_dir / "latest.png"
    if res.get("model") or res.get("e2e"):       # the chart's sections; a run without them has no chart
        chart(res, png)
    else:
        png.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    ap.add_argument("--data", type=Path, default=D.DATA_DIR, help="where generated inputs are kept")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--only", default="training,model,e2e,stateful,scoring,quality,seeds,gpu",
                    help="comma list of sections")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--readme", type=Path, help="also rewrite this README's bench block (make bench does)")
    a = ap.parse_args(argv)
    res = run(a.out, a.artifacts, QUICK if a.quick else Sizes(), tuple(a.kinds.split(",")), a.data,
              tuple(a.only.split(",")))
    print((a.out / "latest.md").read_text())
    if a.readme is not None and not a.quick and not update_readme(a.readme, res):
        log(f"{a.readme}: no bench block markers; not updated")
    miss = [t for t in res["targets"] if t["status"] == "MISS"]
    na = [t for t in res["targets"] if t["status"] == "n/a"]
    log(f"{len(res['targets']) - len(miss) - len(na)} PASS, {len(miss)} MISS, {len(na)} n/a; "
        f"{a.out}/latest.{{json,md,png}} in {res['elapsed_s']:.0f} s")
    print("PASSED" if not miss and not na else "FAILED", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
