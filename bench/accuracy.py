"""Sections 7, 8 and 11: forecast quality on real-shaped series against naive and ETS, the sine's spread
over seeds, and stateful models against windowed ones on the same series.

    python -m bench.run --only quality,seeds

Quality: for every series of bench/series.py (and the built-in sine, clean and noisy), `seqinfer train
--stateful both` as a user runs it (the file, its value column, a window that fits, default everything else),
then each kind's test MSE over the naive forecast's, beside ETS's, from metrics.json, and each stateful
model's test MSE over its windowed twin's, with the Diebold-Mariano test's verdict from comparison.json.
Seeds: `seqinfer train --model all --seed S` on the default sine for S = 1..4 (seed 0 is the training
section's run), each kind's test MSE per seed, median and spread.
"""
from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from seqinfer.trainer.config import KINDS
from seqinfer.trainer.config import STATEFUL_SUFFIX as STATEFUL
from seqinfer.trainer.significance import COMPARISON_JSON

from .e2e import run_measured, seqinfer_cmd
from .reference import TUTORIAL
from .series import sines, write_all

SEEDS = (0, 1, 2, 3, 4)


def _train(args: list[str], out: str, timeout_s: float, quick: bool = False) -> dict[str, Any]:
    """`seqinfer train` every kind (quick: the rnn alone, a smoke run) into `out`; their metrics, by model
    name (rnn, rnn-stateful, ...)."""
    cmd = seqinfer_cmd() + ["train", "--model", "rnn" if quick else "all", "--out", out, *args]
    r = run_measured(cmd, None, timeout=timeout_s)
    res: dict[str, Any] = {"wall_s": r["wall_s"], "rc": r["rc"]}
    if r["rc"] != 0:
        res["skipped"] = f"train exited {r['rc']}: {' | '.join(r['stderr_tail'])}"
        return res
    for name in [k + s for k in KINDS for s in ("", STATEFUL)]:
        p = Path(out) / name / "metrics.json"
        if p.is_file():
            res[name] = json.loads(p.read_text())
    p = Path(out) / COMPARISON_JSON
    res["tests"] = json.loads(p.read_text())["tests"] if p.is_file() else []
    return res


def quality_section(data_dir: Path, quick: bool = False, timeout_s: float = 900.0) -> dict[str, Any]:
    """Each kind's test MSE / naive, and ETS's, on every quality series, windowed and stateful (quick: one
    series, 1 epoch)."""
    specs = write_all(data_dir / "series") + sines()
    if quick:
        specs = [s for s in specs if s.name == "linear_trend"]
    rows = []
    for s in specs:
        args = s.args(data_dir / "series") + ["--stateful", "both"] + (["--epochs", "1"] if quick else [])
        with tempfile.TemporaryDirectory(prefix="seqinfer-bench-quality-") as td:
            r = _train(args, td, timeout_s, quick)
        row: dict[str, Any] = {"series": s.name, "what": s.what, "window": s.window, "wall_s": r["wall_s"],
                               "command": "seqinfer train " + " ".join(args)}
        if "skipped" in r:
            row["skipped"] = r["skipped"]
        else:
            b = next(r[k] for k in KINDS if k in r)["baselines"]
            naive = b["naive"]["test"]["mse"]
            row["naive_mse"] = naive
            row["season"] = b["season"]
            row["beatable"] = s.beatable
            row["ets_over_naive"] = b["ets"]["test"]["mse"] / naive if "ets" in b else None
            for k in KINDS:
                w, st = r.get(k), r.get(k + STATEFUL)
                if w:
                    row[f"{k}_over_naive"] = w["metrics"]["test"]["mse"] / naive
                if w and st:
                    row[f"{k}_stateful_over_naive"] = st["metrics"]["test"]["mse"] / naive
                    row[f"{k}_stateful_over_windowed"] = (st["metrics"]["test"]["mse"]
                                                          / w["metrics"]["test"]["mse"])
                    dm = next((t for t in r["tests"] if (t["model"], t["against"]) == (k + STATEFUL, k)),
                              None)
                    if dm is not None:               # is the difference beyond the test set's noise?
                        row[f"{k}_stateful_verdict"], row[f"{k}_stateful_p"] = dm["verdict"], dm["p"]
        rows.append(row)
    return {"rows": rows}


def seeds_section(first: dict[str, Any] | None, quick: bool = False,
                  timeout_s: float = 900.0) -> dict[str, Any]:
    """The default sine's test MSE per kind for seeds 0-4; seed 0 from the training section's own run."""
    per: dict[str, list[float | None]] = {k: [] for k in KINDS}
    seeds = SEEDS[:1] if quick else SEEDS
    for seed in seeds:
        if seed == 0 and first is not None:
            mse = {row["kind"]: row.get("test_mse") for row in first.get("rows", [])}
        else:
            with tempfile.TemporaryDirectory(prefix="seqinfer-bench-seed-") as td:
                r = _train(["--seed", str(seed)] + (["--epochs", "1", "--length", "300", "--window", "20"]
                                                     if quick else []), td, timeout_s, quick)
            mse = {k: r[k]["metrics"]["test"]["mse"] if k in r else None for k in KINDS}
        for k in KINDS:
            per[k].append(mse.get(k))
    rows = []
    for k in KINDS:
        vals = [v for v in per[k] if v is not None]
        rows.append({"kind": k, "mse": per[k], "median": statistics.median(vals) if vals else None,
                     "min": min(vals, default=None), "max": max(vals, default=None),
                     "ref_test_mse": TUTORIAL["per_kind"][k]["test_mse"]})
    return {"seeds": list(seeds), "rows": rows}
