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
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import numpy as np

from . import csvout
from .arrowio import ParquetCsv, header_rule, is_parquet, to_parquet
from .clocks import Starts
from .columns import SAMPLE_LINES, Columns, is_number, resolve, understood
from .config import DEFAULT_BATCH_SIZE, STEP_BATCH_SIZE, STEP_SWITCH_INTERVAL_S, VERIFY_STEPS, PredictConfig
from .contract import ModelMeta
from .errors import ConfigError, DataError, SeqinferError
from .parse import Rows, after_header, parse_block, sample
from .reader import Block, Dialect, LineReader, open_input, writable
from .session import Model, check_rollout, default_workers, load_model
from .state import Piece, SeriesState, series_name
from .stepstate import Plan, StepStore

if TYPE_CHECKING:
    from .verify import StepCheck, TorchCheck

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
    held_back: int = 0           # a stateful model's forecasts inside a series' warm-up
    overlapped: int = 0          # rows left out by --overlap skip
    notes: list[str] = field(default_factory=list)


@dataclass
class Batch:
    x: np.ndarray                # [B, window, features] (a stateful model: [B, 1, features], one row each)
    lines: np.ndarray            # int64 [B]
    text: list[list[bytes]]
    codes: np.ndarray | None = None            # a stateful model: each row's series code
    fresh: list[int] = field(default_factory=list)   # ... and the series codes to reset before running
    plan: Plan | None = None     # ... and its rows grouped by series (made on the parsing thread)


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

    Why not a ThreadPoolExecutor with a deque of futures: there the main thread writes each batch once it
    sees its future done, and the main thread spends a trickle blocked in reader.wait(); a forecast would go
    out at the next input line or timeout, not when it is ready (the trickle's p99 bound, bench section 4).
    Here the thread that computed a batch writes it as soon as every earlier batch is out (done-callbacks
    could write from the pool's threads too, but in input order they need this class's turn-taking all the
    same).
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
            _send_end(self.queue, t)
        for t in self.threads:
            t.join()
        if self.error is not None:             # read after the joins: the threads set it
            raise self.error


class StepRunner:
    """A stateful model's two-stage pipeline: one thread runs the batches through onnxruntime strictly in
    order (each continues the state the last one left), another formats and writes them, so the next batch's
    recurrent steps (which release the GIL) overlap this one's formatting. Same interface as Workers."""

    def __init__(self, run: Callable[[Batch | bytes], Any], fmt: Callable[[Any], Done],
                 write: Callable[[Done], None]) -> None:
        self.run, self.fmt, self.write = run, fmt, write
        self.error: BaseException | None = None
        self.inbox: queue.Queue[Batch | bytes | None] = queue.Queue(QUEUE_DEPTH)
        self.outbox: queue.Queue[Any] = queue.Queue(QUEUE_DEPTH)
        self.next_in = self.next_out = 0
        self.unwritten = 0      # batches run whose forecasts did not all go out: the state is ahead of them
        self.switch = sys.getswitchinterval()      # restored by close()
        sys.setswitchinterval(STEP_SWITCH_INTERVAL_S)
        self.threads = [threading.Thread(target=self._model, name="seqinfer-step", daemon=True),
                        threading.Thread(target=self._writer, name="seqinfer-write", daemon=True)]
        for t in self.threads:
            t.start()

    def _model(self) -> None:
        while (item := self.inbox.get()) is not None:
            out: Any = _NOT_RUN                    # after an error: passed on, so the writer counts it
            if self.error is None:
                try:
                    out = self.run(item)
                except BaseException as e:  # noqa: BLE001 - re-raised on the main thread, in order
                    out = Done(b"", error=e)
            self.outbox.put(out)
        self.outbox.put(None)

    def _writer(self) -> None:
        while (out := self.outbox.get()) is not None:
            if out is not _NOT_RUN:
                if self.error is None:
                    try:
                        self.write(out if isinstance(out, Done) else self.fmt(out))
                    except BaseException as e:  # noqa: BLE001 - as above
                        self.error = e
                if self.error is not None:         # run (its state carried on), not written in full
                    self.unwritten += 1
            self.next_out += 1

    def idle(self) -> bool:
        return self.next_out == self.next_in

    def put(self, item: Batch | bytes) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.inbox.put(item, timeout=0.05)
                break
            except queue.Full:
                continue
        self.next_in += 1

    def close(self) -> None:
        """Wait until everything queued is written; raise the first error if there was one."""
        try:
            _send_end(self.inbox, self.threads[0])
            for t in self.threads:
                t.join()
        finally:
            sys.setswitchinterval(self.switch)
        if self.error is not None:             # read after the joins: the threads set it
            raise self.error


_NOT_RUN = object()            # StepRunner: a batch queued after an error, not run


def _send_end(q: queue.Queue[Any], thread: threading.Thread) -> None:
    """Queue the end marker for `thread` unless it has already stopped (a full queue is retried, so a
    thread that died meanwhile cannot leave us waiting)."""
    while thread.is_alive():
        try:
            q.put(None, timeout=0.05)
            return
        except queue.Full:
            continue


class Engine:
    """Feeds parsed rows through the series state into batches; the worker runs and writes them."""

    def __init__(self, model: Model, cfg: PredictConfig, sink: csvout.Sink, source: str,
                 report: Report) -> None:
        self.model, self.cfg, self.sink, self.source, self.report = model, cfg, sink, source, report
        meta = model.meta
        self.window = cfg.window or meta.window
        self.horizon = cfg.horizon or meta.horizon
        self.store: StepStore | None = None       # a stateful model's per-series state
        self.fresh: list[int] = []                # new series' codes not yet handed to a batch
        self.warmup = 0
        if meta.stateful:
            self._stateful_checks(cfg, meta)
            self.store, self.window = StepStore(model), 1      # a stateful model reads one row at a time
            self.warmup = meta.warmup if cfg.warmup is None else cfg.warmup
        else:
            check_rollout(meta, self.horizon)
            if cfg.state is not None or cfg.warmup is not None:
                opt = "state" if cfg.state is not None else "warmup"
                raise ConfigError(f"--{opt}: {model.path} is a windowed model: it carries no state (its "
                                  f"window is rebuilt from the input); train with --stateful for one")
        step_rows = VERIFY_STEPS if cfg.verify else STEP_BATCH_SIZE
        self.batch_size = cfg.batch_size or (step_rows if self.store is not None else DEFAULT_BATCH_SIZE)
        self.fmt = csvout.value_format(cfg.precision, meta.io_dtype)
        self.check: TorchCheck | None = None
        self.step_check: StepCheck | None = None
        if cfg.verify:
            from .verify import StepCheck, TorchCheck  # imports torch
            if self.store is not None:
                self.check = self.step_check = StepCheck(model.path, meta.horizon)
            else:
                self.check = TorchCheck(model.path, self.horizon, meta.horizon)
        self.mismatch = False                     # --verify failed: the state is not written
        self.unsaved: str | None = None           # why else it is not (Engine.close)
        self.cols: Columns | None = None
        self.starts: Starts | None = None         # each series' first time, when columns are left unread
        self.parquet = False                      # the input is a Parquet file read as CSV (arrowio.py)
        self.dialect: Dialect | None = None       # --sep, --decimal, --na-value: how the lines were read
        self.head: list[Block] = []   # blocks read before the columns are decided (columns.SAMPLE_LINES)
        self.state = SeriesState(self.window, meta.features, cfg.fill, cfg.max_series, dtype=model.dtype.type)
        self.pending: list[Piece] = []
        self.npending = 0
        self.since = 0.0              # when the oldest pending row was read
        self.summary = Summary(provider=model.provider)
        if self.store is not None and cfg.state is not None:
            writable(Path(cfg.state), "--state")      # said now, not after the run
            if Path(cfg.state).exists():
                self._load_state(cfg.state)
        # A stateful model's batches depend on each other (each continues the state the last one left): they
        # run in order on one thread (StepRunner), formatting on another, parsing on this one.
        workers = 1 if cfg.verify else default_workers(model.provider) if cfg.workers is None else cfg.workers
        self.worker: Workers | StepRunner = StepRunner(self._step_run, self._step_format, self._write) \
            if self.store is not None else Workers(self._compute, self._write, workers)

    def _stateful_checks(self, cfg: PredictConfig, meta: ModelMeta) -> None:
        if cfg.horizon is not None and cfg.horizon != meta.horizon:
            raise ConfigError(f"horizon: a stateful model forecasts its own {meta.horizon} step(s) from "
                              f"every row; {cfg.horizon} is not available")
        if cfg.window is not None:
            raise ConfigError("window: a stateful model has no window: it carries its state from row to row")
        if cfg.layout == "windows":
            raise ConfigError("layout: windows needs a windowed model; a stateful one reads one row per step")

    def _load_state(self, path: str) -> None:
        """--state PATH at start: every series' state as the last run left it."""
        assert self.store is not None
        keys, last, states, clocks = self.store.load(path)
        self.store.put(self.state.restore(keys, last, clocks), states)
        why = "" if clocks is not None else \
            " (no times in it, from an older seqinfer: an overlap with its run is not found)"
        self.report(f"state: {len(keys)} series from {path}{why}")

    def save_state(self) -> None:
        """--state PATH: the state of every series, written atomically (after the forecasts are out)."""
        if self.store is None or self.cfg.state is None:
            return
        if self.mismatch:
            self.report(f"state: not written to {self.cfg.state}: --verify stopped the run inside a batch "
                        f"whose state was already carried on; the file is left as the last run wrote it")
            return
        lost = getattr(self.worker, "unwritten", 0)
        if lost and self.unsaved is None:
            self.unsaved = (f"the forecasts of {lost} batch(es) already run did not go out (the output "
                            f"closed first)")
        if self.unsaved is not None:
            left = "the file is left as the last run wrote it, so running this input again from it" \
                if Path(self.cfg.state).exists() else "running this input again from the start"
            self.report(f"state: not written to {self.cfg.state}: {self.unsaved}; {left} loses nothing")
            return
        self.store.save(self.cfg.state, dict(self.state.ids), self.state.last, self.state.clocks)
        self.report(f"state: {len(self.state.ids)} series written to {self.cfg.state}")

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
        back = self.starts.back_at(rows.series, rows.times, rows.lines) \
            if self.starts is not None and rows.times is not None and len(rows) else None
        if back is not None:                      # the rows before it go out; the state holds just them
            rows = rows.take(np.flatnonzero(rows.lines < back))
        again = None
        if len(self.state.resumed) and rows.times is not None and len(rows) and self.cfg.overlap != "keep":
            rows, again = self._overlap(rows)
        self.summary.rows += len(rows)
        if len(rows):
            self._add(rows, read_at)
        if back is not None:
            raise self._restart_error(back)
        if again is not None:
            raise again
        for e in errors:
            self.skip(e)

    def _overlap(self, rows: Rows) -> tuple[Rows, DataError | None]:
        """A stateful model resumed from --state: rows at or before their series' last time in the file
        (SeriesState.overlap) are left out (--overlap skip), or the rows before the first go out and it is
        an error (stop)."""
        assert rows.times is not None and self.cols is not None
        old = self.state.overlap(rows.series, rows.times)
        if not old.any():
            return rows, None
        if self.cfg.overlap == "skip":
            self.summary.overlapped += int(old.sum())
            return rows.take(np.flatnonzero(~old)), None
        i = int(np.argmax(old))
        name = series_name(None if rows.series is None else rows.series[i])
        who = f"series {name}: its" if name else "its"
        col = None if self.cols.gap_col is None else self.cols.name(self.cols.gap_col)
        return rows.take(np.arange(i)), DataError(
            f"{who} time is at or before the last time --state {self.cfg.state} holds for it: this input "
            f"overlaps the run that wrote the state, and running such rows again would carry the state on "
            f"twice; --overlap skip leaves them out (--overlap keep runs them)",
            source=self.source, line=int(rows.lines[i]), column=col)

    def _restart_error(self, line: int) -> DataError:
        """A time back at its series' start, with columns left unread that could name the series."""
        assert self.cols is not None
        who = "its series" if self.cols.key else "the series"
        names = ", ".join(self.cols.name(j) for j in self.cols.unread)
        opt = self.cols.option((*self.cols.key, *self.cols.unread))
        return DataError(f"time goes back to the first time of {who}: several series one after another, "
                         f"read as one? the ignored {names} may name them: --series-col {opt} (or --keep "
                         f"them to read on as now, rows in input order)", source=self.source, line=line)

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
        if stalled and not any(lines[1:]) and not any(is_number(f) for f in lines[0]):
            return
        meta = self.model.meta
        spec, where = header_rule(self.cfg.columns(), self.parquet)
        self.cols = resolve(lines, spec, features=meta.features, window=self.window, names=meta.value_names,
                            layout=self.cfg.layout, source=self.source)
        for line in understood(self.cols, where, self.dialect):
            self.report(line)
        if self.cols.unread and self.cols.gap_col is not None and self.cols.layout == "series":
            self.starts = Starts()
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
            codes, fresh = None, []
            if self.store is not None:         # stateful: the rows' series, and the new ones to reset
                codes, fresh = self.state.row_codes[mask], self.fresh + self.state.fresh
            if mask.all():
                piece = Piece(src, idx, rows.lines, rows.text, codes, fresh)
            else:
                keep = np.flatnonzero(mask).tolist()
                text = [[col[i] for i in keep] for col in rows.text]
                piece = Piece(src, idx, rows.lines[mask], text, codes, fresh)
        if not len(piece):
            self.fresh = piece.fresh           # no row left to carry them: the next piece does
            return
        self.fresh = []
        if not self.npending:
            self.since = read_at
        self.pending.append(piece)
        self.npending += len(piece)
        while self.npending >= self.batch_size:
            self._submit(self.batch_size)

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
            codes = None if parts[0][3] is None else np.concatenate([p[3] for p in parts])
            batch = Batch(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                          [sum((p[2][j] for p in parts), []) for j in range(len(parts[0][2]))], codes,
                          [c for p in parts for c in p[4]])
        if batch.codes is not None:
            batch.plan = Plan.of(batch.codes, batch.x[:, 0, :])
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
        """Run and write everything read so far, then stop the worker (re-raising its error); then write the
        state file (--state), so that it holds exactly the rows whose forecasts went out: not when some did
        not (the output closed, a second Ctrl-C while they were written)."""
        try:
            try:
                self.flush()
            finally:
                self.worker.close()
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):      # a second Ctrl-C (interrupts.held): the threads run on
                self.unsaved = "a second Ctrl-C stopped the run while its forecasts were being written"
            try:
                self.save_state()
            except SeqinferError as bad:          # the error that stopped the run is the one to raise
                self.report(f"state: {bad}")
            raise
        self.save_state()

    def finish(self) -> Summary:
        self.close()
        s = self.summary
        if self.cols is None:
            raise DataError("empty input: no lines to read", source=self.source)
        if not s.forecasts:
            need = f"{self.warmup} rows of warm-up" if self.store is not None else f"{self.window} values"
            s.notes.append("no forecasts: no data rows after the header" if not s.rows else
                           f"no forecasts: a series needs {need} before its first forecast "
                           f"(the longest had {self.state.longest()})")
        elif self.store is None:
            few, of, name, n = self.state.short(self.window)
            if few:
                s.notes.append(f"{few} of {of} series had fewer than {self.window} values, a window: no "
                               f"forecast for them (the shortest: {name or 'the unnamed one'}, {n})")
        s.notes += self.state.tally.notes()
        if s.held_back:
            s.notes.append(f"warm-up: {s.held_back} forecast(s) held back, the first {self.warmup} row(s) of "
                           f"each series (--warmup 0 shows them)")
        if s.overlapped:
            s.notes.append(f"--overlap skip: {s.overlapped} row(s) at or before their series' last time in "
                           f"{self.cfg.state} left out")
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

    def _step_run(self, item: Batch | bytes) -> Any:
        """A stateful model's batch through the model: every series' rows as one sequence, the state
        carried (the step thread, in order)."""
        if isinstance(item, bytes):
            return Done(item)
        assert self.store is not None and item.plan is not None
        self.store.reset(item.fresh)
        p = item.plan
        before = self.store.state_of(p) if self.step_check is not None and p.n else None
        y, seen = self.store.run_plan(p)                            # (B, horizon), rows seen before
        bad = None
        if self.step_check is not None and before is not None:
            bad = self.step_check.check_step(p.x, before, y, p.row_of, p.pos)
        return item, y, seen, bad

    def _step_format(self, out: tuple[Batch, np.ndarray, np.ndarray, int | None]) -> Done:
        """Its CSV lines (the writer thread); rows in a series' warm-up were run (they build its state) but
        their forecasts are held back. Under --verify, the rows before the first mismatch, then its error."""
        item, y, seen, bad = out
        error = None
        text, lines = item.text, item.lines
        if bad is not None:
            assert self.step_check is not None
            error = self.step_check.step_error(bad, y, int(lines[bad]))
            self.mismatch = True
            text, lines, y, seen = [col[:bad] for col in text], lines[:bad], y[:bad], seen[:bad]
        show = seen >= self.warmup
        if show.all():
            return Done(csvout.format_rows(text, lines, y, self.fmt), len(y), error)
        self.summary.held_back += int((~show).sum())
        keep = np.flatnonzero(show).tolist()
        text = [[col[i] for i in keep] for col in text]
        return Done(csvout.format_rows(text, lines[show], y[show], self.fmt), len(keep), error)

    def _write(self, done: Done) -> None:
        self.sink.write(done.data)
        self.summary.forecasts += done.forecasts
        if done.error is not None:
            raise done.error


class Interrupts:
    """Ctrl-C between the steps of a run, never inside one. A block's rows enter the series state (their
    times, counts, last values) and their batch together, and the rows read are run and written before the
    state file goes out: a Ctrl-C inside those waits for their end (a Ctrl-C while reading or waiting for
    input stops at once). The state file then holds exactly the rows whose forecasts went out: a Ctrl-C
    landing between the two had it record a time for a row that never ran. A second Ctrl-C stops at once,
    and the state file is not written (Engine.close). Only where the process's own Ctrl-C handler is in
    place (the main thread, not an app's handler): elsewhere KeyboardInterrupt comes as Python raises it."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False
        self.hits = 0
        self.previous: Any = None

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._hit)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _hit(self, signum: int, frame: Any) -> None:
        self.hits += 1
        if self.depth and self.hits == 1:
            self.pending = True                   # raised when the step ends (held)
            return
        raise KeyboardInterrupt

    @contextmanager
    def held(self) -> Iterator[None]:
        """A step that a Ctrl-C must not cut in two."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if not self.depth and self.pending:
            self.pending = False
            raise KeyboardInterrupt


def run_stream(model: Model, cfg: PredictConfig, inp: BinaryIO | int, out: BinaryIO | int,
               report: Report, source: str = "<stdin>", first_line: int = 1) -> Summary:
    """Stream forecasts for the CSV on `inp` to `out` with an open model; see the module docstring.
    `first_line`: the number of the input's first line (0 for Parquet, whose header is not a row)."""
    with Interrupts() as ctrl:
        return _run_stream(model, cfg, inp, out, report, source, first_line, ctrl)


def _run_stream(model: Model, cfg: PredictConfig, inp: BinaryIO | int, out: BinaryIO | int,
                report: Report, source: str, first_line: int, ctrl: Interrupts) -> Summary:
    engine = Engine(model, cfg, csvout.Sink(out), source, report)
    engine.parquet = first_line == 0             # a Parquet file: its schema holds the names
    engine.dialect = Dialect.for_input(cfg.columns(), engine.parquet, source)
    reader = LineReader(inp, source, on_long_line=engine.skip if cfg.on_error == "skip" else None,
                        dialect=engine.dialect,
                        first_line=first_line)
    try:
        while True:
            due = engine.due()
            if due is not None and due <= 0:
                if engine.worker.idle() or not reader.wait(0):
                    with ctrl.held():
                        engine.flush()            # the oldest row has waited long enough
                    continue
                # Overdue, but the model is busy and more input is here: read it, it fills the batch. A part
                # batch sent now would wait behind the queued ones all the same, then cost a call of its own:
                # 14 of 29 calls over 1M rows of 10,000 series were such 2,600-row remnants of a read.
                due = 0.0
            # Rows pending while a worker is still busy: look again soon, so that they go out as soon as
            # the workers are idle (a worker can be a moment behind its last write), not only at the due time.
            busy = due is not None and not engine.worker.idle()
            if not reader.wait(min(due, BUSY_POLL_S) if busy and due is not None else due):
                if due is not None and engine.worker.idle():
                    with ctrl.held():
                        engine.flush()            # input stalled and the model is free
                continue
            block = reader.read()
            try:
                with ctrl.held():
                    if block is None:
                        engine.start(time.monotonic())    # a short input: decide on all of it
                        break
                    engine.feed(block, time.monotonic())
            except DataError as e:
                raise reader.explain(e) from None
            with ctrl.held():
                if engine.cols is None and not reader.wait(0):
                    engine.start(time.monotonic(), stalled=True)     # input stalled: decide on what is here
                if engine.npending and engine.worker.idle() and not reader.wait(0):
                    engine.flush()                # input stalled and the model is free: no reason to wait
    except BaseException:
        with ctrl.held():
            try:                                  # lines read before the columns were decided count too
                engine.start(time.monotonic())
            except SeqinferError:
                pass                              # the error that stopped the run is the one to report
            engine.close()                        # the rows before the problem are written first
        raise
    with ctrl.held():
        return engine.finish()


def predict(model: str | Path, cfg: PredictConfig, inp: BinaryIO | int | str | Path,
            out: BinaryIO | int | str | Path, report: Report) -> Summary:
    """Open MODEL and stream forecasts; `inp`/`out` are file objects, descriptors or paths."""
    m = load_model(model, cfg.provider, cfg.threads)
    if m.meta.stateful and cfg.threads is None and m.provider == "cpu" and (n := default_workers("cpu")) > 1:
        # A stateful model's calls run one after another on one thread (each continues the state the last
        # left), so the cores go to onnxruntime's own threads. Measured, 1M rows of 10,000 series on the
        # 2-core machine: 1 thread 1.45 s, 2 threads 1.35 s; one series the same either way. The second
        # session costs ~10 ms once.
        m = load_model(model, "cpu", n)
    if cfg.provider == "auto":
        report("provider: CPU (auto; onnxruntime's CUDA provider ran these models slower, so it runs only "
               "when asked: --provider cuda)")
    source = "<stdin>"
    opened: list[IO[bytes]] = []
    first_line, parquet_out, csv_out = 1, None, None
    try:
        if isinstance(inp, str | Path):
            source = str(inp)
            if is_parquet(inp):                  # read as the CSV it would be: one set of rules
                if not Path(inp).is_file():
                    raise ConfigError(f"--input {source}: No such file or directory")
                inp, first_line = ParquetCsv(inp), 0  # type: ignore[assignment]
            else:
                try:
                    inp = open_input(inp)
                except OSError as e:
                    raise ConfigError(f"--input {source}: {e.strerror}") from None
            opened.append(inp)  # type: ignore[arg-type]
        if isinstance(out, str | Path):
            shown = out
            if is_parquet(out):                  # CSV to a temporary file, converted at the end
                parquet_out = Path(out)
                csv_out = parquet_out.with_name(f".{parquet_out.name}.csv.tmp")
                out = csv_out
            try:
                out = open(out, "wb")  # noqa: SIM115 - closed in finally
            except OSError as e:
                raise ConfigError(f"--output {shown}: {e.strerror}") from None
            opened.append(out)
        return run_stream(m, cfg, inp, out, report, source, first_line)  # type: ignore[arg-type]
    finally:
        for f in opened:
            f.close()
        if parquet_out is not None and csv_out is not None:
            try:                                 # what went out before an error is kept, as with CSV
                if csv_out.exists() and csv_out.stat().st_size:
                    to_parquet(csv_out, parquet_out, cfg.horizon or m.meta.horizon, m.meta.io_dtype)
            finally:
                csv_out.unlink(missing_ok=True)
