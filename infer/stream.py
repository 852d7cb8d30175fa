"""The streaming engine behind `seqinfer predict`: lines -> windows -> micro-batches -> onnxruntime -> CSV.

    from seqinfer.infer.stream import PredictConfig, predict
    predict("artifacts/lstm", PredictConfig(), sys.stdin.buffer, sys.stdout.buffer, report=print)

The main thread reads, parses and cuts batches; worker threads run onnxruntime (which releases the GIL)
and write in input order, so parsing overlaps the model and every core runs it. A batch goes out when it
is full, when the input stalls while the workers are idle, or when its oldest row has waited
max_latency_ms. On any error the rows before it are run and written first; then the error propagates.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np

from . import csvout
from .columns import SAMPLE_LINES, Columns, is_number, resolve
from .config import PredictConfig
from .errors import ConfigError, DataError, SeqinferError
from .parse import Rows, after_header, parse_block, sample
from .reader import Block, LineReader
from .session import Model, check_rollout, default_workers, load_model
from .state import Piece, SeriesState

QUEUE_DEPTH = 4                # batches in flight: enough to keep the worker busy, little memory
BUSY_POLL_S = 0.001            # how often a stalled input with pending rows checks for an idle worker

Report = Callable[[str], None]


@dataclass
class Summary:
    provider: str = ""
    lines: int = 0               # input lines read
    rows: int = 0                # data rows parsed
    forecasts: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Batch:
    x: np.ndarray                # float32 [B, window, features]
    lines: np.ndarray            # int64 [B]
    text: list[list[bytes]]


@dataclass
class Done:
    """A computed batch, waiting for its turn to be written."""

    data: bytes
    forecasts: int = 0
    error: BaseException | None = None   # raised once `data` (the rows before the problem) is written


class Workers:
    """Runs batches on n threads (inline when n == 0) and writes their output strictly in input order.

    onnxruntime releases the GIL and one session may be run from several threads at once, so n threads
    use n cores. The first failure, in input order, is re-raised on the main thread; nothing after it is
    written.
    """

    def __init__(self, compute: Callable[[Batch | bytes], Done], write: Callable[[Done], None],
                 n: int) -> None:
        self.compute, self.write = compute, write
        self.error: BaseException | None = None
        self.queue: queue.Queue[tuple[int, Batch | bytes] | None] = queue.Queue(QUEUE_DEPTH * max(n, 1))
        self.turn = threading.Condition()
        self.next_in = self.next_out = 0     # sequence numbers: next to queue, next to write
        self.threads = [threading.Thread(target=self._loop, name=f"seqinfer-model-{i}", daemon=True)
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def _loop(self) -> None:
        while (job := self.queue.get()) is not None:
            seq, item = job
            try:
                done = self.compute(item) if self.error is None else Done(b"")
            except BaseException as e:  # noqa: BLE001 - re-raised on the main thread, in order
                done = Done(b"", error=e)
            with self.turn:
                while self.next_out != seq:
                    self.turn.wait()
                if self.error is None:
                    try:
                        self.write(done)
                    except BaseException as e:  # noqa: BLE001 - as above
                        self.error = e
                self.next_out += 1
                self.turn.notify_all()

    def idle(self) -> bool:
        return self.next_out == self.next_in

    def put(self, item: Batch | bytes) -> None:
        if not self.threads:
            self.write(self.compute(item))
            return
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put((self.next_in, item), timeout=0.05)
                break
            except queue.Full:
                continue
        self.next_in += 1

    def close(self) -> None:
        """Wait until everything queued is written; raise the first error if there was one."""
        for t in self.threads:
            while t.is_alive():
                try:
                    self.queue.put(None, timeout=0.05)
                    break
                except queue.Full:
                    continue
        for t in self.threads:
            t.join()
        if self.error is not None:
            raise self.error


class Engine:
    """Feeds parsed rows through the series state into batches; the worker runs and writes them."""

    def __init__(self, model: Model, cfg: PredictConfig, sink: csvout.Sink, source: str,
                 report: Report) -> None:
        self.model, self.cfg, self.sink, self.source, self.report = model, cfg, sink, source, report
        meta = model.meta
        self.window = cfg.window or meta.window
        self.horizon = cfg.horizon or meta.horizon
        check_rollout(meta, self.horizon)
        self.fmt = csvout.value_format(cfg.precision, meta.io_dtype)
        self.check = None
        if cfg.verify:
            from .verify import TorchCheck  # imports torch
            self.check = TorchCheck(model.path, self.horizon, meta.horizon)
        self.cols: Columns | None = None
        self.head: list[Block] = []   # blocks read before the columns are decided (columns.SAMPLE_LINES)
        self.state = SeriesState(self.window, meta.features, cfg.fill, cfg.max_series, dtype=model.dtype.type)
        self.pending: list[Piece] = []
        self.npending = 0
        self.since = 0.0              # when the oldest pending row was read
        self.summary = Summary(provider=model.provider)
        workers = 1 if cfg.verify else default_workers(model.provider) if cfg.workers is None else cfg.workers
        self.worker = Workers(self._compute, self._write, workers)

    # --- main thread ----------------------------------------------------------------------------------
    def feed(self, block: Block, read_at: float) -> None:
        self.summary.lines += block.nlines
        if block.nlines == 0:
            return
        if self.cols is None:
            self.head.append(block)
            if sum(b.nlines for b in self.head) >= SAMPLE_LINES:
                self.start(read_at)
            return
        rows, errors = parse_block(block, self.cols, self.source, stop=self.cfg.on_error == "stop",
                                   missing_ok=self.cfg.fill != "stop")
        self.summary.rows += len(rows)
        if len(rows):
            self._add(rows, read_at)
        for e in errors:
            self.skip(e)

    def skip(self, e: DataError) -> None:
        """A bad line: raise it (stop), or report it and go on (skip)."""
        if self.cfg.on_error == "stop":
            raise e
        self.summary.skipped += 1
        self.report(f"skipped {e}")

    def start(self, read_at: float, stalled: bool = False) -> None:
        """Decide the columns from the lines read so far (columns.py); the output header goes out at once.

        Called with SAMPLE_LINES lines at hand, at the end of the input, or when the input stalls
        (`stalled`): then only once there is a data line to judge by (a lone first line without a number
        may be a header, and the lines below decide).
        """
        if self.cols is not None or not self.head:
            return
        lines = sample(self.head, self.source)
        if stalled and len(lines) == 1 and not any(is_number(f) for f in lines[0]):
            return
        meta = self.model.meta
        self.cols = resolve(lines, self.cfg.columns(), features=meta.features, window=self.window,
                            layout=self.cfg.layout, source=self.source)
        self.report(f"reading {self.cols.describe()}")
        self.worker.put(csvout.header(self.cols.names, self.horizon))
        head, self.head = self.head, []
        body = after_header(head, self.cols)
        self.summary.lines -= sum(b.nlines for b in body)       # feed() counts them again
        for block in body:
            self.feed(block, read_at)

    def _add(self, rows: Rows, read_at: float) -> None:
        assert self.cols is not None
        if self.cols.layout == "windows":
            n = len(rows)
            src = rows.values.astype(self.model.dtype).reshape(n, self.window, self.model.meta.features)
            piece = Piece(src, np.arange(n), rows.lines, rows.text)
        else:
            src, idx, mask = self.state.ready(rows.values, rows.series, rows.lines, rows.times)
            if mask.all():
                piece = Piece(src, idx, rows.lines, rows.text)
            else:
                keep = np.flatnonzero(mask).tolist()
                piece = Piece(src, idx, rows.lines[mask], [[col[i] for i in keep] for col in rows.text])
        if not len(piece):
            return
        if not self.npending:
            self.since = read_at
        self.pending.append(piece)
        self.npending += len(piece)
        while self.npending >= self.cfg.batch_size:
            self._submit(self.cfg.batch_size)

    def _submit(self, k: int) -> None:
        parts = []
        while k:
            head = self.pending[0]
            n = min(k, len(head))
            parts.append(head.take(n))
            if not len(head):
                self.pending.pop(0)
            self.npending -= n
            k -= n
        if len(parts) == 1:
            batch = Batch(*parts[0])
        else:
            batch = Batch(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                          [sum((p[2][j] for p in parts), []) for j in range(len(parts[0][2]))])
        self.worker.put(batch)

    def flush(self) -> None:
        if self.npending:
            self._submit(self.npending)

    def due(self) -> float | None:
        """Seconds until the pending rows must go out; None when nothing is pending."""
        if not self.npending:
            return None
        return self.since + self.cfg.max_latency_ms / 1e3 - time.monotonic()

    def close(self) -> None:
        """Run and write everything read so far, then stop the worker (re-raising its error)."""
        try:
            self.flush()
        finally:
            self.worker.close()

    def finish(self) -> Summary:
        self.close()
        s = self.summary
        if self.cols is None:
            raise DataError("empty input: no lines to read", source=self.source)
        if not s.forecasts:
            s.notes.append("no forecasts: no data rows after the header" if not s.rows else
                           f"no forecasts: a series needs {self.window} values before its first forecast "
                           f"(the longest had {self.state.longest()})")
        s.notes += self.state.tally.notes()
        if s.skipped:
            s.notes.append(f"skipped {s.skipped} bad line(s)")
        if self.check is not None:
            s.notes.append(self.check.summary())
        return s

    # --- worker threads -------------------------------------------------------------------------------
    def _compute(self, item: Batch | bytes) -> Done:
        if isinstance(item, bytes):
            return Done(item)
        y = self.model.predict(item.x, self.horizon)                  # (B, horizon)
        if self.check is not None:
            bad = self.check.check(item.x, y, item.lines)
            if bad is not None:
                data = csvout.format_rows([t[:bad] for t in item.text], item.lines[:bad], y[:bad], self.fmt)
                return Done(data, bad, self.check.error(bad, y, item.x, int(item.lines[bad])))
        return Done(csvout.format_rows(item.text, item.lines, y, self.fmt), len(y))

    def _write(self, done: Done) -> None:
        self.sink.write(done.data)
        self.summary.forecasts += done.forecasts
        if done.error is not None:
            raise done.error


def run_stream(model: Model, cfg: PredictConfig, inp: BinaryIO | int, out: BinaryIO | int,
               report: Report, source: str = "<stdin>") -> Summary:
    """Stream forecasts for the CSV on `inp` to `out` with an open model; see the module docstring."""
    engine = Engine(model, cfg, csvout.Sink(out), source, report)
    reader = LineReader(inp, source, on_long_line=engine.skip if cfg.on_error == "skip" else None)
    try:
        while True:
            due = engine.due()
            if due is not None and due <= 0:
                engine.flush()                    # the oldest row has waited long enough
                continue
            # Rows pending while a worker is still busy: look again soon, so that they go out as soon as
            # the workers are idle (a worker can be a moment behind its last write), not only at the due time.
            busy = due is not None and not engine.worker.idle()
            if not reader.wait(min(due, BUSY_POLL_S) if busy and due is not None else due):
                if due is not None and engine.worker.idle():
                    engine.flush()                # input stalled and the model is free
                continue
            block = reader.read()
            if block is None:
                engine.start(time.monotonic())            # a short input: decide on all of it
                break
            engine.feed(block, time.monotonic())
            if engine.cols is None and not reader.wait(0):
                engine.start(time.monotonic(), stalled=True)     # input stalled: decide on what is here
            if engine.npending and engine.worker.idle() and not reader.wait(0):
                engine.flush()                    # input stalled and the model is free: no reason to wait
    except BaseException:
        try:                                      # lines read before the columns were decided count too
            engine.start(time.monotonic())
        except SeqinferError:
            pass                                  # the error that stopped the run is the one to report
        engine.close()                            # the rows before the problem are written first
        raise
    return engine.finish()


def predict(model: str | Path, cfg: PredictConfig, inp: BinaryIO | int | str | Path,
            out: BinaryIO | int | str | Path, report: Report) -> Summary:
    """Open MODEL and stream forecasts; `inp`/`out` are file objects, descriptors or paths."""
    m = load_model(model, cfg.provider, cfg.threads)
    if cfg.provider == "auto":
        report(f"provider: {'CUDA' if m.provider == 'cuda' else 'CPU'}"
               + (f" (CUDA not used: {m.provider_note})" if m.provider_note else ""))
    source = "<stdin>"
    opened: list[IO[bytes]] = []
    try:
        if isinstance(inp, str | Path):
            source = str(inp)
            try:
                inp = open(inp, "rb")  # noqa: SIM115 - closed in finally
            except OSError as e:
                raise ConfigError(f"--input {source}: {e.strerror}") from None
            opened.append(inp)
        if isinstance(out, str | Path):
            try:
                out = open(out, "wb")  # noqa: SIM115 - closed in finally
            except OSError as e:
                raise ConfigError(f"--output {out}: {e.strerror}") from None
            opened.append(out)
        return run_stream(m, cfg, inp, out, report, source)
    finally:
        for f in opened:
            f.close()
