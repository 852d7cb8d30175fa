"""Training progress on stderr: one live bar per model on a terminal, plain log lines otherwise."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Epoch:
    """One finished epoch, as a training loop (or a worker process) reports it."""

    kind: str
    epoch: int          # 1-based
    epochs: int         # planned most
    train_loss: float   # normalized-scale MSE
    val_loss: float
    elapsed: float      # seconds since this model started


def _eta(e: Epoch) -> str:
    left = e.elapsed / e.epoch * (e.epochs - e.epoch)
    return f"{left:4.0f}s"


class Progress:
    """Call `update(Epoch)` each epoch and `finish(kind, line)` once per model."""

    def __init__(self, kinds: list[str] | tuple[str, ...], stream: TextIO | None = None,
                 tty: bool | None = None, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.width = width
        self.kinds = list(kinds)
        self.lines = {k: f"{k:<5} waiting" for k in self.kinds}
        self.drawn = 0                 # lines the live block occupies on screen
        self.last_draw = 0.0
        self.last_log: dict[str, int] = {}

    def update(self, e: Epoch) -> None:
        frac = e.epoch / max(e.epochs, 1)
        if self.tty:
            filled = int(frac * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            self.lines[e.kind] = (f"{e.kind:<5} [{bar}] {e.epoch:>4}/{e.epochs:<4} train {e.train_loss:.2e}  "
                                  f"val {e.val_loss:.2e}  ETA {_eta(e)}")
            now = time.monotonic()
            if now - self.last_draw > 0.1 or e.epoch == e.epochs:
                self._draw()
                self.last_draw = now
            return
        # Plain lines: about ten per model, so a CI log stays readable.
        step = max(1, e.epochs // 10)
        if e.epoch == 1 or e.epoch % step == 0:
            self.last_log[e.kind] = e.epoch
            self._write(f"{e.kind}: epoch {e.epoch}/{e.epochs} train {e.train_loss:.3e} val {e.val_loss:.3e} "
                        f"({e.elapsed:.1f}s, ETA {_eta(e).strip()})\n")

    def finish(self, kind: str, line: str) -> None:
        if self.tty:
            self.lines[kind] = f"{kind:<5} {line}"
            self._draw()
        else:
            self._write(f"{kind}: {line}\n")

    def log(self, line: str) -> None:
        """A message above the live block (or a plain line)."""
        if self.tty and self.drawn:
            self._write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0
        self._write(line + "\n")
        if self.tty and any(not v.endswith("waiting") for v in self.lines.values()):
            self._draw()

    def _draw(self) -> None:
        up = f"\x1b[{self.drawn}F" if self.drawn else ""
        body = "".join(f"\x1b[2K{self.lines[k]}\n" for k in self.kinds)
        self._write(up + body)
        self.drawn = len(self.kinds)

    def _write(self, s: str) -> None:
        self.stream.write(s)
        self.stream.flush()
