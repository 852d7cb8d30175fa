"""Section 10: `seqinfer score` on 1 and 2 local worker processes against one `seqinfer predict`, same rows.

    python -m bench.run --only scoring

2M rows of 1,000 interleaved series in 8 Parquet files (bench/data.py), the windowed model section 2
measures. Each figure is the whole command's wall time (a local cluster's start included: a few seconds,
paid once per job), so rows/s here is what a user sees; the 2-over-1 worker ratio is how the work spreads.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import data as D
from .e2e import run_measured, seqinfer_cmd

SERIES = 1_000
FILES = 8


def parquet_files(rows: int, data_dir: Path) -> tuple[list[Path], Path]:
    """`rows` rows of SERIES interleaved series as FILES Parquet files, and the same rows as one CSV."""
    import pandas as pd

    folder = data_dir / f"scoring_{rows}x{SERIES}"
    csv = folder / "all.csv"
    files = [folder / f"part{i}.parquet" for i in range(FILES)]
    if not csv.is_file() or not all(f.is_file() for f in files):
        folder.mkdir(parents=True, exist_ok=True)
        df = pd.DataFrame({"series": np.char.add("s", (np.arange(rows) % SERIES).astype(str)),
                           "value": np.round(D.series(rows), 6)})
        for i, part in enumerate(np.array_split(np.arange(rows), FILES)):
            df.iloc[part].to_parquet(files[i], index=False)
        df.to_csv(csv, index=False)
    return files, csv


def scoring_section(model: Path, data_dir: Path, rows: int, timeout: float) -> dict[str, Any]:
    files, csv = parquet_files(rows, data_dir)
    res: dict[str, Any] = {"rows": rows, "series": SERIES, "files": FILES, "model": str(model)}
    r = run_measured(seqinfer_cmd() + ["predict", str(model), "--input", str(csv), "--output", "/dev/null",
                                       "--provider", "cpu"], None, timeout=timeout)
    res["predict"] = {"wall_s": r["wall_s"], "rows_per_s": rows / r["wall_s"], "rc": r["rc"]}
    for workers in (1, 2):
        out = Path(tempfile.mkdtemp(prefix="seqinfer-bench-score-")) / "out"
        try:
            r = run_measured(seqinfer_cmd() + ["score", str(model), "--input", ",".join(map(str, files)),
                                               "--output", str(out), "--workers", str(workers)], None,
                             timeout=timeout)
        finally:
            shutil.rmtree(out.parent, ignore_errors=True)
        res[f"score_{workers}"] = {"wall_s": r["wall_s"], "rows_per_s": rows / r["wall_s"], "rc": r["rc"],
                                   "peak_rss_mb": r["peak_rss_mb"]}
        if r["rc"] != 0:
            res[f"score_{workers}"]["skipped"] = " | ".join(r["stderr_tail"])
    s1, s2 = res["score_1"]["rows_per_s"], res["score_2"]["rows_per_s"]
    res["scaling_2_over_1"] = s2 / s1
    return res
