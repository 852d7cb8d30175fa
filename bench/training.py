"""Section 5: training wall time and test MSE per kind from the last `make train`, beside the tutorial."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .reference import TUTORIAL

KINDS = ("rnn", "lstm", "gru")


def _find(d: dict[str, Any], *names: str) -> float | None:
    """First number whose key is one of `names`, else contains one (nested dicts searched)."""
    flat: dict[str, Any] = {}

    def walk(x: dict[str, Any], pre: str = "") -> None:
        for k, v in x.items():
            if isinstance(v, dict):
                walk(v, f"{pre}{k}.")
            elif isinstance(v, int | float) and not isinstance(v, bool):
                flat[f"{pre}{k}"] = float(v)

    walk(d)
    for n in names:
        for k, v in flat.items():
            if k.split(".")[-1] == n:
                return v
    for n in names:
        for k, v in flat.items():
            if n in k.split(".")[-1]:
                return v
    return None


def training_section(artifacts: Path) -> dict[str, Any]:
    """Does not train: it reads artifacts/<kind>/metrics.json written by `make train` (run that first)."""
    rows = []
    for kind in KINDS:
        ref = TUTORIAL["per_kind"][kind]
        p = artifacts / kind / "metrics.json"
        row: dict[str, Any] = {"kind": kind, "ref_train_s": ref["train_s"], "ref_test_mse": ref["test_mse"]}
        if p.is_file():
            m = json.loads(p.read_text())
            row["train_s"] = _find(m, "train_s", "wall_s", "train_seconds", "seconds", "time")
            row["test_mse"] = _find(m, "test_mse", "mse")
            row["epochs"] = _find(m, "epochs")
            row["source"] = str(p)
        else:
            row["skipped"] = f"no {p}: run `make train` first"
        rows.append(row)
    have = [r["train_s"] for r in rows if r.get("train_s") is not None]
    total = sum(have) if len(have) == len(KINDS) else None
    return {"rows": rows, "total_train_s": total, "ref_total_train_s": TUTORIAL["total_train_s"],
            "ref_peak_rss_mb": TUTORIAL["peak_rss_mb"], "reference": TUTORIAL}
