"""Helpers for tests/infer: tiny exported models with their eager PyTorch twins, and the CLI through pipes.

The tests may import torch (it builds the models and the reference); infer/ itself never does.
"""
from __future__ import annotations

import csv
import io
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqinfer.export.onnx_export import export_onnx
from seqinfer.infer.contract import ModelMeta
from seqinfer.trainer.model import Forecaster, ModelConfig

WINDOW, HORIZON, MEAN, STD = 16, 2, 0.5, 2.0
TIMEOUT_S = 60
_BIN = Path(sys.executable).parent / "seqinfer"
SEQINFER = [str(_BIN)] if _BIN.is_file() else [sys.executable, "-m", "seqinfer.infer.cli"]


@dataclass
class Fixture:
    net: Forecaster           # the eager reference
    dir: Path                 # artifacts-like folder: model.onnx, model.ts
    onnx: Path
    window: int
    features: int = 1

    def eager(self, windows: np.ndarray, horizon: int | None = None) -> np.ndarray:
        """The reference: eager PyTorch on raw windows [B, W(, F)], rolled out like seqinfer does."""
        x = torch.from_numpy(np.array(windows, np.float32).reshape(len(windows), -1, self.features))
        h_model = self.net.config.horizon
        horizon = horizon or h_model
        with torch.no_grad():
            steps = [self.net(x)]
            while sum(s.shape[1] for s in steps) < horizon:
                x = torch.cat([x, steps[-1][:, :, None]], dim=1)[:, -x.shape[1]:]
                steps.append(self.net(x))
        return torch.cat(steps, dim=1)[:, :horizon].numpy()


def make_model(root: Path, kind: str = "lstm", window: int = WINDOW, horizon: int = HORIZON,
               features: int = 1, hidden: int = 8, torchscript: bool = True) -> Fixture:
    torch.manual_seed(0)
    net = Forecaster(ModelConfig(kind=kind, hidden=hidden, horizon=horizon, features=features)).eval()
    net.set_normalization(torch.full((features,), MEAN), torch.full((features,), STD))
    meta = ModelMeta(seqinfer_version="test", kind=kind, window=window, horizon=horizon, features=features,
                     norm_mean=(MEAN,) * features, norm_std=(STD,) * features)
    root.mkdir(parents=True, exist_ok=True)
    export_onnx(net, meta, root / "model.onnx")
    if torchscript:  # stands in for `seqinfer export`'s model.ts
        torch.jit.script(net).save(str(root / "model.ts"))
    return Fixture(net, root, root / "model.onnx", window, features)


def run_cli(args: list[str], stdin: str | bytes = b"",
            timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """`seqinfer ARGS` in a subprocess with stdin/stdout/stderr through real pipes, as a user runs it."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([*SEQINFER, *args], input=data, capture_output=True, timeout=timeout, env=env)


def default_sigint() -> None:
    """preexec_fn for a child that a test sends Ctrl-C: SIGINT as a terminal delivers it. A test run from a
    background job inherits SIGINT ignored (POSIX: `cmd &` in a script), and so would the child."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_error(stderr: bytes | str) -> str:
    """The one error line of a failed run: the last line on stderr, every other line a `seqinfer:` note
    (what was read, the provider, counts), no traceback, no library warning."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.splitlines()
    assert text.endswith("\n") and lines and lines[-1].startswith("seqinfer: error: "), text
    assert all(ln.startswith("seqinfer: ") and "error" not in ln.split(":")[1] for ln in lines[:-1]), text
    return lines[-1]


def parse_csv(stdout: bytes | str) -> tuple[list[str], list[list[str]], np.ndarray]:
    """Output CSV -> (header, passed-through+row fields per line, forecasts [n, H])."""
    text = stdout.decode() if isinstance(stdout, bytes) else stdout
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    h = sum(1 for c in header if c.startswith("yhat_"))
    keys = [r[:-h] for r in body]
    return header, keys, np.array([[float(v) for v in r[-h:]] for r in body], dtype=np.float64).reshape(-1, h)


def sine(n: int, phase: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (MEAN + STD * np.sin(np.arange(n) / 3 + phase) + 0.1 * rng.standard_normal(n)).astype(np.float32)


def values_csv(values: np.ndarray, header: str | None = None) -> str:
    lines = ([header] if header else []) + [f"{v:.6f}" for v in values]
    return "\n".join(lines) + "\n"


def parsed_values(values: np.ndarray) -> np.ndarray:
    """What the CLI reads back from values_csv: the 6-decimal text, as float32."""
    return np.array([float(f"{v:.6f}") for v in values], dtype=np.float32)


READ_TIMEOUT_S = 10.0   # generous: this checks the latency bound's behaviour, not a speed
# A trickled row's forecast measured 1-2 ms here. The bounds leave room for a loaded 2-core machine and
# still fail a latency regression; with --max-latency 2000 only the flush on a stalled input can meet them.
TRICKLE_MAX_WAIT_S, TRICKLE_MEDIAN_WAIT_S = 1.0, 0.1


def readline(p: subprocess.Popen, timeout: float = READ_TIMEOUT_S) -> bytes:
    """The next line of a running process' stdout, or an AssertionError after `timeout` seconds."""
    assert p.stdout is not None
    fd = p.stdout.fileno()
    buf = b""
    end = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            raise AssertionError(f"no forecast within {timeout} s (got {buf!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError(f"stdout closed early; stderr: {p.stderr.read() if p.stderr else ''}")
        buf += chunk
    return buf


def trickle(p: subprocess.Popen, rows: list[str]) -> tuple[list[bytes], list[float]]:
    """Write each row alone to a running predict and read one output line before the next row: (the lines,
    the seconds each took). Then close its stdin and wait for a clean exit."""
    assert p.stdin is not None
    lines, waits = [], []
    for row in rows:
        t = time.monotonic()
        p.stdin.write(f"{row}\n".encode())
        lines.append(readline(p))
        waits.append(time.monotonic() - t)
        time.sleep(0.01)
    p.stdin.close()
    assert p.wait(timeout=TIMEOUT_S) == 0
    return lines, waits


def within_trickle_bounds(waits: list[float], what: str) -> None:
    summary = f"{what}: median {np.median(waits) * 1e3:.1f} ms, max {max(waits) * 1e3:.1f} ms a row"
    print(summary)
    assert max(waits) < TRICKLE_MAX_WAIT_S, summary
    assert np.median(waits) < TRICKLE_MEDIAN_WAIT_S, summary
