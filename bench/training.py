"""Section 5: `make train`'s own command, timed in this run, beside the tutorial's recorded figures.

    python -m bench.run --only training

Runs `seqinfer train --model all` (the command `make train` runs, default data and settings) into a temporary
folder under the harness's wall clock and peak-RSS wrapper, then reads each kind's test MSE and training
seconds from its metrics.json. Training here, not reading artifacts/, keeps the figure from this run and
machine, like every other figure in the report.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .e2e import run_measured, seqinfer_cmd
from .reference import TUTORIAL

KINDS = ("rnn", "lstm", "gru")


def read_metrics(path: Path) -> dict[str, Any]:
    """The figures the report needs from one trainer metrics.json (keys written by trainer/run.py)."""
    m = json.loads(path.read_text())
    return {"test_mse": m["metrics"]["test"]["mse"], "train_s": m["train_seconds"],
            "cpu_s": m.get("train_cpu_seconds"), "epochs": m.get("epochs")}


def training_section(timeout_s: float = 900.0, extra: list[str] | None = None) -> dict[str, Any]:
    """Train all kinds as `make train` does; wall time and peak RSS of the whole command, MSE per kind."""
    out: dict[str, Any] = {"command": "seqinfer train --model all", "reference": TUTORIAL,
                           "ref_total_train_s": TUTORIAL["total_train_s"],
                           "ref_peak_rss_mb": TUTORIAL["peak_rss_mb"]}
    with tempfile.TemporaryDirectory(prefix="seqinfer-bench-train-") as td:
        r = run_measured(seqinfer_cmd() + ["train", "--model", "all", "--out", td] + (extra or []), None,
                         timeout=timeout_s)
        out.update(wall_s=r["wall_s"], peak_rss_mb=r["peak_rss_mb"], rc=r["rc"])
        if r["rc"] != 0:
            out["skipped"] = f"train exited {r['rc']}: {' | '.join(r['stderr_tail'])}"
        rows = []
        for kind in KINDS:
            ref = TUTORIAL["per_kind"][kind]
            row: dict[str, Any] = {"kind": kind, "ref_train_s": ref["train_s"],
                                   "ref_test_mse": ref["test_mse"]}
            p = Path(td) / kind / "metrics.json"
            if p.is_file():
                row.update(read_metrics(p))
            else:
                row["skipped"] = f"no metrics.json for {kind}"
            rows.append(row)
    out["rows"] = rows
    return out
