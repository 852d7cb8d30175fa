"""Generated inputs under bench/data/ (git-ignored), reused when already present with the right row count."""
from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).parent / "data"
SERIES_HEADER = "value"


def series(n: int, seed: int = 0) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return np.sin(0.02 * t) + 0.01 * rng.standard_normal(n)


def series_file(n: int, data_dir: Path = DATA_DIR) -> Path:
    """One value per row with a `value` header: the single-series stream."""
    path = data_dir / f"series_{n}.csv"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(SERIES_HEADER + "\n")
            step = 1_000_000
            for i in range(0, n, step):
                v = series(min(step, n - i), seed=i) if i else series(min(step, n))
                f.write("\n".join(map("{:.6f}".format, v)) + "\n")
        tmp.rename(path)
    return path


def windows_file(n: int, window: int, data_dir: Path = DATA_DIR) -> Path:
    """n rows, each one whole window of `window` values (header v1..vW): the windows file."""
    path = data_dir / f"windows_{n}x{window}.csv"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        s = list(map("{:.5f}".format, series(n + window - 1)))
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(",".join(f"v{i}" for i in range(1, window + 1)) + "\n")
            for i in range(0, n, 10_000):
                f.write("\n".join(",".join(s[j:j + window]) for j in range(i, min(i + 10_000, n))) + "\n")
        tmp.rename(path)
    return path


def count_rows(path: Path) -> int:
    """Data rows (the header excluded)."""
    with open(path, "rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 24), b"")) - 1


def timed_file(n: int, series_count: int, data_dir: Path = DATA_DIR) -> Path:
    """interleaved_file's rows as a database writes them (`timestamp,sensor_id,reading`): every series
    reads once an hour, an ISO time in UTC (`2024-01-01T00:00:00Z`) before its id."""
    path = data_dir / f"timed_{n}x{series_count}.csv"
    if not path.is_file():
        src = interleaved_file(n, series_count, data_dir)
        start = np.datetime64("2024-01-01T00", "h")
        tmp = path.with_suffix(".tmp")
        with open(src) as f, open(tmp, "w") as out:
            out.write("timestamp,sensor_id,reading\n")
            f.readline()
            for j, line in enumerate(f):
                out.write(f"{start + j // series_count}:00:00Z,{line}")
        tmp.rename(path)
    return path


def interleaved_file(n: int, series_count: int, data_dir: Path = DATA_DIR) -> Path:
    """n rows of `series_count` series taking turns (`series,value`): the many-series stream."""
    path = data_dir / f"interleaved_{n}x{series_count}.csv"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        v = list(map("{:.6f}".format, series(n)))
        ids = [f"s{i}" for i in range(series_count)]
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write("series,value\n")
            for i in range(0, n, 100_000):
                rows = (f"{ids[j % series_count]},{v[j]}" for j in range(i, min(i + 100_000, n)))
                f.write("\n".join(rows) + "\n")
        tmp.rename(path)
    return path
