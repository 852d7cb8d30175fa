"""Sections 2-4, 6: `seqinfer predict` end to end vs its floors and the tutorial loop; RSS, latency, start-up.

Every child runs under os.wait4, so peak RSS is that one process's own (ru_maxrss), not the harness's.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np


def seqinfer_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("seqinfer")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "seqinfer.infer.cli"]


def run_measured(cmd: list[str], stdin: Path | None, stdout: Any = subprocess.DEVNULL,
                 timeout: float = 600.0) -> dict[str, Any]:
    """Run to completion; wall seconds, exit status, the child's own peak RSS (MB) and the tail of stderr."""
    tmp = Path(tempfile.mkdtemp(prefix="seqinfer-bench-"))
    stats, err_path = tmp / "stats.json", tmp / "stderr"
    wrap = [sys.executable, "-m", "bench.rss_wrap", str(stats)]
    with open(stdin or os.devnull, "rb") as fin, open(err_path, "wb") as ferr:
        proc = subprocess.Popen(wrap + cmd, stdin=fin, stdout=stdout, stderr=ferr,
                                cwd=Path(__file__).resolve().parents[1])
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
    killed = {"wall_s": timeout, "rc": -9, "peak_rss_mb": None}
    r = json.loads(stats.read_text()) if stats.is_file() else killed
    shutil.rmtree(tmp, ignore_errors=True)
    if r["rc"] == -9:
        tail.append(f"killed after {timeout:.0f} s")
    return {**r, "stderr_tail": tail}


def predict(model_dir: Path, data: Path, rows: int, extra: list[str] | None = None,
            timeout: float = 600.0) -> dict[str, Any]:
    r = run_measured(seqinfer_cmd() + ["predict", str(model_dir)] + (extra or []), data, timeout=timeout)
    if r["rc"] != 0:
        return {"skipped": f"predict exited {r['rc']}: {' | '.join(r['stderr_tail'])}", **r}
    r["rows_per_s"] = rows / r["wall_s"]
    return r


def cat_floor(data: Path, rows: int) -> dict[str, Any]:
    cat = shutil.which("cat") or "cat"
    r = run_measured([cat, str(data)], None)
    r["rows_per_s"] = rows / r["wall_s"]
    return r


def parse_floor(data: Path, rows: int, window: int = 80) -> dict[str, Any]:
    """Parse alone with infer/'s own reader (LineReader + parse_block); numpy bulk parse when it is absent."""
    try:
        return _parse_infer(data, rows, window)
    except ImportError as e:
        why = f"numpy bulk parse (fallback: {e})"
    r = _parse_numpy(data, rows)
    r["reader"] = why
    return r


def _parse_infer(data: Path, rows: int, window: int) -> dict[str, Any]:
    from seqinfer.infer.columns import resolve
    from seqinfer.infer.config import ColumnSpec
    from seqinfer.infer.parse import after_header, parse_block, sample
    from seqinfer.infer.reader import LineReader

    t0 = time.perf_counter()
    total, cols = 0, None
    with open(data, "rb") as f:
        reader = LineReader(f, str(data))
        while (block := reader.read()) is not None:
            if not block.nlines:
                continue
            blocks = [block]
            if cols is None:          # the columns from the first lines, as predict decides them
                cols = resolve(sample(blocks, str(data)), ColumnSpec(), features=1, window=window,
                               layout="auto", source=str(data))
                blocks = after_header(blocks, cols)
            parsed, errors = parse_block(blocks[0], cols, str(data), stop=True)
            if errors:
                raise errors[0]
            total += len(parsed)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "rows_per_s": rows / wall, "rows_parsed": total,
            "reader": f"infer's LineReader + parse_block ({cols.layout if cols else '?'} layout)"}


def _parse_numpy(data: Path, rows: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    total = 0
    with open(data, "rb") as f:
        f.readline()
        rest = b""
        for chunk in iter(lambda: f.read(1 << 24), b""):
            buf = rest + chunk
            cut = buf.rfind(b"\n") + 1
            rest = buf[cut:]
            total += np.array(buf[:cut].replace(b",", b" ").split(), dtype=np.float32).size
        if rest.strip():
            total += np.array(rest.replace(b",", b" ").split(), dtype=np.float32).size
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "rows_per_s": rows / wall, "values": total}


def torch_loop(model: Any, data: Path, window: int, prefix_rows: int, windows_file: bool,
               max_s: float = 15.0) -> dict[str, Any]:
    """The tutorials' style: read a row, build the window, call the eager model on one window, print.

    Timed on a prefix (`prefix_rows`, or fewer when `max_s` runs out) and the rate extrapolated."""
    import torch

    buf: deque[float] = deque(maxlen=window)
    n = 0
    out = open(os.devnull, "w")  # noqa: SIM115
    with torch.no_grad():
        model(torch.zeros(1, window, 1))  # first-call set-up is start-up, not the loop's steady rate
    t0 = time.perf_counter()
    with open(data) as f, torch.no_grad():
        next(f)
        for line in f:
            if n >= prefix_rows or (n % 256 == 0 and time.perf_counter() - t0 > max_s):
                break
            n += 1
            if windows_file:
                x = torch.tensor([float(v) for v in line.split(",")]).view(1, window, 1)
            else:
                buf.append(float(line))
                if len(buf) < window:
                    continue
                x = torch.tensor(list(buf)).view(1, window, 1)
            y = model(x)
            print(n, float(y[0, 0]), sep=",", file=out)
    wall = time.perf_counter() - t0
    out.close()
    return {"prefix_rows": n, "wall_s": wall, "rows_per_s": n / wall, "extrapolated": True}


def model_batched(onnx_path: Path, window: int, n_windows: int, batch: int = 4096,
                  sample_windows: int = 200_000) -> dict[str, Any]:
    """The model alone on the same windows, at a large batch, the fastest way seqinfer knows to run it (the
    Python API: one onnxruntime thread per core, each on its own slice); the pipeline's goal."""
    from seqinfer.infer.api import Forecaster

    from .data import series

    m = min(n_windows, sample_windows)
    w = np.lib.stride_tricks.sliding_window_view(series(m + window - 1).astype(np.float32), window)
    with Forecaster(onnx_path, provider="cpu") as f:
        f.predict(w[:batch])
        t0 = time.perf_counter()
        for i in range(0, m, batch):
            f.predict(w[i:i + batch])
        wall = time.perf_counter() - t0
    rate = m / wall
    return {"sample_windows": m, "batch": batch, "windows_per_s": rate, "time_for_all_s": n_windows / rate,
            "runtime": "seqinfer API, CPU"}


def max_latency_default() -> float | None:
    """The --max-latency default as `seqinfer predict --help` states it (seconds)."""
    r = subprocess.run(seqinfer_cmd() + ["predict", "--help"], capture_output=True, text=True, timeout=60)
    m = re.search(r"--max-latency\s*(?:<\w+>)?\s*(.*?)default:\s*([0-9.eE+-]+)", r.stdout, re.S)
    if not m:
        return None
    return float(m.group(2)) / (1000.0 if "millisecond" in m.group(1).lower() else 1.0)


def trickle(model_dir: Path, window: int, rate: float = 200.0, seconds: float = 10.0) -> dict[str, Any]:
    """Write rows at `rate` rows/s into predict's stdin; latency = forecast line read - its row written.

    The clock is steady-state: rows count only once the first forecast line has come back, so process
    start-up (measured on its own in `startup`) is not charged to the first rows' latency.
    """
    proc = subprocess.Popen(seqinfer_cmd() + ["predict", str(model_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    assert proc.stdin is not None and proc.stdout is not None
    written: dict[int, float] = {}       # input line number (header = 1) -> time written, once ready
    got: list[tuple[str, float]] = []
    ready = threading.Event()            # the first forecast line has been read
    measured_rows = int(rate * seconds)
    warm_s = 0.0

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            got.append((raw.decode(errors="replace").strip(), time.perf_counter()))
            if len(got) > 1:
                ready.set()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        proc.stdin.write(b"value\n")
        t_start = time.perf_counter()
        values = series(measured_rows + window + int(rate * 60))   # up to 60 s of warm-up
        i = 0
        while len(written) < measured_rows and i < len(values):
            due = t_start + i / rate
            while (d := due - time.perf_counter()) > 0:
                time.sleep(min(d, 0.002))
            if ready.is_set():
                written[i + 2] = time.perf_counter()
            else:
                warm_s = time.perf_counter() - t_start
            proc.stdin.write(f"{values[i]:.6f}\n".encode())
            i += 1
        time.sleep(0.5)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    rc = proc.wait(timeout=60)
    th.join(timeout=5)
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()[-2:] if proc.stderr else []
    if rc != 0 or not got:
        return {"skipped": f"predict exited {rc}: {' | '.join(err)}"}
    lat = _match(got, written)
    if not lat:
        return {"skipped": "no forecast matched a row written after the first forecast (no `row` column?)"}
    a = np.array(lat) * 1e3
    return {"rate_rows_per_s": rate, "seconds": seconds, "forecasts": len(a), "warmup_s": warm_s,
            "p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "max_ms": float(a.max())}


def _match(got: list[tuple[str, float]], written: dict[int, float]) -> list[float]:
    from seqinfer.infer.contract import ROW_COLUMN

    header = got[0][0].split(",")
    if ROW_COLUMN not in header:
        return []
    k = header.index(ROW_COLUMN)
    out = []
    for line, t in got[1:]:
        try:
            row = int(line.split(",")[k])
        except (ValueError, IndexError):
            continue
        if row in written:
            out.append(t - written[row])
    return out


def startup(model_dir: Path, data: Path, reps: int = 3) -> dict[str, Any]:
    """Process start to the first forecast line on stdout (small file on stdin: no waiting on input)."""
    times = []
    for _ in range(reps):
        with open(data, "rb") as fin:
            t0 = time.perf_counter()
            proc = subprocess.Popen(seqinfer_cmd() + ["predict", str(model_dir)], stdin=fin,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert proc.stdout is not None
            first = None
            for raw in proc.stdout:
                line = raw.decode(errors="replace")
                if line[:1].isdigit() or line[:1] == "-":
                    first = time.perf_counter() - t0
                    break
            proc.stdout.close()
            proc.kill()
            proc.wait()
        if first is None:
            err = proc.stderr.read().decode(errors="replace").strip().splitlines()[-2:] if proc.stderr else []
            return {"skipped": f"no forecast line: {' | '.join(err)}"}
        times.append(first)
    return {"first_forecast_s": float(np.median(times)), "runs_s": times}


def series(n: int) -> np.ndarray:
    from .data import series as s

    return s(n)
