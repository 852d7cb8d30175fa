"""The `seqinfer` command: a thin translator from arguments to library calls. Try `seqinfer --help`.

Each command parses, calls one library function, prints, and maps SeqinferError to one stderr line and
exit status 2. torch is imported lazily inside the commands that need it, never for predict/info.
"""

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import typer

from .config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_LATENCY_MS,
    DEFAULT_MAX_SERIES,
    FILLS,
    STEP_BATCH_SIZE,
    PredictConfig,
)
from .errors import EXIT_INTERRUPTED, ConfigError, SeqinferError

app = typer.Typer(
    name="seqinfer",
    help="Train, export, verify and serve recurrent forecasters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def err(msg: str) -> None:
    """Diagnostics go to stderr; stdout carries data only."""
    print(msg, file=sys.stderr, flush=True)


def _needs_train_extras(command: str, e: ModuleNotFoundError) -> None:
    """An inference-only install (`pip install seqinfer`) lacks torch, onnx, matplotlib and statsmodels:
    say so in one line (exit 2) when a command's lazy import misses one of them. Other misses are bugs."""
    top = (e.name or "").partition(".")[0]
    if top in ("torch", "onnx", "matplotlib", "statsmodels"):
        from .errors import ConfigError

        raise ConfigError(f"seqinfer {command} needs the training extras: pip install 'seqinfer[train]' "
                          f"({top} is not installed)") from None


# --- the CSV column options: one meaning in every command (infer/columns.py has the rules) -------------
_VALUE_COL_HELP = ("Value column(s): header name or 1-based number; comma-separated for several values per "
                   "step [default: a header `value`, else the one numeric column that is not a time].")
_SERIES_COL_HELP = ("Series id column: name or number; several, comma-separated, when together they name a "
                    "series (store,item) [default: the one text column, if any].")
_TIME_COL_HELP = ("Time column, passed through and checked for gaps [default: a column named like a time, or "
                  "holding dates].")
_HEADER_HELP = ("auto: line 1 is a header when a field of it is not a number while the lines below hold "
                "numbers there; yes / no force it (a first line `0` from pandas needs yes).")
ValueCol = Annotated[str | None, typer.Option(help=_VALUE_COL_HELP)]
SeriesCol = Annotated[str | None, typer.Option(help=_SERIES_COL_HELP)]
TimeCol = Annotated[str | None, typer.Option(help=_TIME_COL_HELP)]
# One option, one meaning: columns that are neither value, series nor time, named so the rules accept them.
Keep = Annotated[list[str] | None, typer.Option(
    help="Accept this column (name or number; repeat or comma-separate): predict copies it to the output; "
         "train, evaluate and score read past it.")]
Header = Annotated[Literal["auto", "yes", "no"], typer.Option(help=_HEADER_HELP)]
DateOrder = Annotated[Literal["auto", "dmy", "mdy"], typer.Option(
    help="Day and month in dates such as 03/04/2024: dmy, mdy, or auto (told from a field above 12 in the "
         "first lines; when none is, the dates are passed through and not read for gaps).")]
Sep = Annotated[Literal[",", ";", "tab", "|"], typer.Option(
    help="Between fields: , (default) ; tab |. A spreadsheet saved with a European locale writes ;")]
Decimal = Annotated[Literal[".", ","], typer.Option(
    help="The decimal mark in numbers: . (default) or , (with --sep ';', tab or |).")]
Thousands = Annotated[Literal["", ".", ","], typer.Option(
    help="What groups thousands in numbers: none (default), . (1.287 or 1.287,5 with --decimal ',') or , "
         "(\"1,287.5\"). Only digits grouped by threes lose it.")]
NaValue = Annotated[list[str] | None, typer.Option(
    "--na-value", help="Also a missing value: this code, as the file writes it (repeat for more; e.g. "
                       "-9999, or -999,9 with --decimal ','). Empty, NA, NaN, null, N/A and the like "
                       "always are.")]
Encoding = Annotated[str, typer.Option(
    help="The file's text encoding: utf-8 (default), or one that writes ASCII as ASCII: cp1252 (a Windows "
         "spreadsheet's CSV), latin-1, iso-8859-15 ...")]
_FILL_HELP = ("Missing values (empty, NA, NaN, null): stop (an error naming the line), previous (repeat the "
              "series' last value), drop (leave the row out){}.{}")
_COUNTED = " Counted on stderr."
# A whole file read at once (train, evaluate) can interpolate; a stream (predict, score) cannot look ahead.
TableFill = Annotated[Literal["stop", "previous", "drop", "interpolate"], typer.Option(
    help=_FILL_HELP.format(", interpolate (linear, between the neighbours)", _COUNTED))]
# (no Literal: predict and score say why interpolate is the whole file's, config.check_stream_fill)
_STREAM_FILLS = f"<{'|'.join(FILLS)}>"
StreamFill = Annotated[str, typer.Option(help=_FILL_HELP.format("", _COUNTED), metavar=_STREAM_FILLS)]
# score's workers fill their own series and report no counts (the forecasts are predict's all the same)
ScoreFill = Annotated[str, typer.Option(help=_FILL_HELP.format("", " Not counted (each worker fills its "
                                                                   "own series)."), metavar=_STREAM_FILLS)]


# The config fields that are not their option's name with dashes (train's DataConfig / TrainConfig).
_FIELD_OPTIONS = {"path": "data", "na_values": "na-value"}


@contextlib.contextmanager
def _options_named() -> Iterator[None]:
    """A config's ConfigError ("data.window: must be >= 1") as the option the user gave ("--window: ...")."""
    try:
        yield
    except ConfigError as e:
        config, _, name = (e.field or "").partition(".")
        if config not in ("data", "train") or not name:
            raise
        raise ConfigError(e.what, field=f"--{_FIELD_OPTIONS.get(name, name.replace('_', '-'))}") from None


# --- train (owner: trainer) ------------------------------------------------------------------------------
@app.command()
def train(
    model: Annotated[str, typer.Option(help="rnn | lstm | gru | all, or a comma list")] = "all",
    out: Annotated[Path, typer.Option(help="Artifacts folder; each kind writes OUT/<kind>/.")] = Path(
        "artifacts"),
    data: Annotated[Path | None, typer.Option(help="CSV file; default: the built-in sine.")] = None,
    value_col: ValueCol = None,
    series_col: SeriesCol = None,
    time_col: TimeCol = None,
    keep: Keep = None,
    header: Header = "auto",
    date_order: DateOrder = "auto",
    sep: Sep = ",",
    decimal: Decimal = ".",
    thousands: Thousands = "",
    na_value: NaValue = None,
    encoding: Encoding = "utf-8",
    fill: TableFill = "stop",
    column: Annotated[str | None, typer.Option(
        help="Deprecated: --value-col (which counts from 1). A 0-based index or a name.")] = None,
    length: Annotated[int, typer.Option(help="Sine: number of points.")] = 2000,
    period: Annotated[float, typer.Option(help="Sine: period in t units.")] = 20.0,
    step: Annotated[float | None, typer.Option(help="Sine: t step [default: spread over 0..1000].")] = None,
    noise: Annotated[float, typer.Option(help="Sine: Gaussian noise sigma.")] = 0.0,
    noise_seed: Annotated[int, typer.Option(help="Sine: noise seed.")] = 0,
    window: Annotated[int, typer.Option(help="Past values per input window.")] = 80,
    horizon: Annotated[int, typer.Option(help="Future values predicted per window.")] = 1,
    season: Annotated[int | None, typer.Option(
        help="Season length in steps for the seasonal-naive and ETS baselines [default: detected].")] = None,
    val_frac: Annotated[float, typer.Option(help="Validation share, before the test part.")] = 0.1,
    test_frac: Annotated[float, typer.Option(help="Test share, the last part of each series.")] = 0.2,
    epochs: Annotated[int | None, typer.Option(help="Most epochs [default: tuned per kind].")] = None,
    batch_size: Annotated[int | None, typer.Option(help="[default: tuned per kind]")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate [default: tuned per kind].")] = None,
    hidden: Annotated[int | None, typer.Option(help="Hidden units [default: tuned per kind].")] = None,
    stateful: Annotated[Literal["no", "yes", "both"], typer.Option(
        help="Step models that carry their state (one recurrent step per new value in predict), in "
             "OUT/<kind>-stateful/: yes, or both beside the windowed ones.")] = "no",
    stretch: Annotated[int | None, typer.Option(
        help="Stateful: steps per training stretch [default: 8 windows; rnn 4].")] = None,
    tbptt: Annotated[int | None, typer.Option(
        help="Stateful: steps per backward pass [default: a quarter window; rnn half].")] = None,
    warmup: Annotated[int | None, typer.Option(
        help="Stateful: steps without loss at a stretch's start, and before predict's first forecast "
             "[default: 2 windows; rnn 3].")] = None,
    start: Annotated[Literal["warm", "scratch", "best"] | None, typer.Option(
        help="Stateful: the first weights. warm: a windowed model of the same kind, trained first, "
             "fine-tuned (at a tenth of --lr; GRU: at --lr) and kept unless fine-tuning beats it on "
             "validation; scratch: random; best: both, the scratch one kept only if it beats the warm one "
             "on validation beyond noise [default: rnn warm; lstm, gru best].")] = None,
    scaling: Annotated[str | None, typer.Option(
        help="Input transform inside the model: global (fitted mean/std), diff (one-step changes, forecast "
             "from the last value), window (per-window level and scale).")] = None,
    layers: Annotated[int, typer.Option(help="Recurrent layers.")] = 1,
    dropout: Annotated[float, typer.Option(help="Dropout between recurrent layers.")] = 0.0,
    patience: Annotated[int | None, typer.Option(
        help="Early stopping: epochs without a better val loss [default: 20; stateful: off].")] = None,
    epoch_windows: Annotated[int | None, typer.Option(
        help="Training windows drawn per epoch, afresh each epoch, so a big file trains in minutes; a "
             "stateful model draws whole stretches up to this many forecast steps [default: 16384; 0: all]."
    )] = None,
    seed: Annotated[int, typer.Option(help="Seed for init and shuffling.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N")] = "auto",
    threads: Annotated[int, typer.Option(help="Torch threads per training process.")] = 1,
    jobs: Annotated[int | None, typer.Option(help="Kinds trained at once [CPU: 1/core].")] = None,
) -> None:
    """Fit forecasters on the built-in sine (default) or a CSV; print the comparison table."""
    try:
        from seqinfer.trainer.config import DataConfig, TrainConfig, parse_kinds
        from seqinfer.trainer.run import train_all
    except ModuleNotFoundError as e:
        _needs_train_extras("train", e)
        raise

    if column is not None:
        if value_col is not None:
            raise SeqinferError("--column is the deprecated name of --value-col: give only --value-col")
        value_col = str(int(column) + 1) if column.strip().isdigit() else column
        err(f"seqinfer: --column is deprecated and goes in the next release: use --value-col {value_col} "
            f"(column numbers count from 1 in every command)")
    with _options_named():       # data.window: ... is --window: ... here
        dcfg = DataConfig(path=None if data is None else str(data), value_col=_names(value_col),
                          series_col=series_col, time_col=time_col, keep=_names(*(keep or [])),
                          header=header, date_order=date_order, sep=sep, decimal=decimal,
                          na_values=tuple(na_value or ()), encoding=encoding, thousands=thousands, fill=fill,
                          length=length,
                          period=period, step=step, noise=noise, noise_seed=noise_seed, season=season,
                          window=window, horizon=horizon, val_frac=val_frac, test_frac=test_frac)
        tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed,
                           epoch_windows=epoch_windows, device=device, threads=threads, jobs=jobs,
                           hidden=hidden, scaling=scaling, stateful=stateful, stretch=stretch, tbptt=tbptt,
                           warmup=warmup, start=start, layers=layers, dropout=dropout)
    report = train_all(parse_kinds(model), dcfg, tcfg, out)
    print(report.table, end="", flush=True)
    err(f"seqinfer train: done, wrote {out}/<kind>/ and {out}/comparison.{{md,json}} in "
        f"{report.seconds:.1f}s")


# --- export / verify (owner: export) ---------------------------------------------------------------------
_ATOL_HELP = ("Tolerance in the series' own scale S, the training std of the target (default 1e-4). "
              "Pass: |y - ref| <= atol*S + rtol*|ref|.")
_RTOL_HELP = "Relative tolerance [default: 4.8e-07 (4 float32 ulp) for a float32 model, 0 for float64]."
_PROVIDER_HELP = ("onnxruntime provider to compare, repeatable: cpu, cuda, tensorrt or a full name "
                  "(default: cpu and cuda; one that does not load is reported as skipped). TorchScript runs "
                  "on CUDA only where cuda is among them.")


@app.command()
def export(
    model_dir: Annotated[Path, typer.Argument(help="artifacts/<kind> folder holding checkpoint.pt")],
    form: Annotated[Literal["hybrid", "scan", "ops", "torch"], typer.Option(
        help="ONNX graph form (default hybrid: ONNX RNN/LSTM/GRU ops for small batches, a Scan for "
             "large ones; see seqinfer/export/onnx_export.py).")] = "hybrid",
    atol: Annotated[float | None, typer.Option(help=_ATOL_HELP)] = None,
    rtol: Annotated[float | None, typer.Option(help=_RTOL_HELP)] = None,
    provider: Annotated[list[str] | None, typer.Option(help=_PROVIDER_HELP)] = None,
) -> None:
    """Write model.ts and model.onnx beside the checkpoint, verified against PyTorch."""
    try:
        from seqinfer.export import ExportConfig, ParityFailed, VerifyConfig, export_model
    except ModuleNotFoundError as e:
        _needs_train_extras("export", e)
        raise

    vcfg = VerifyConfig.from_options(atol=atol, rtol=rtol, providers=provider)
    try:
        result = export_model(model_dir, ExportConfig(onnx_form=form, verify=vcfg))
    except ParityFailed as e:
        err(e.report.table())
        raise
    err(result.report.table())
    err(f"wrote {result.ts_path}, {result.onnx_path} and {result.report.path} "
        f"(export {result.seconds['export_s']:.2f} s, verify {result.seconds['verify_s']:.2f} s)")
    err(result.report.verdict())


@app.command()
def verify(
    model_dir: Annotated[Path, typer.Argument(help="artifacts/<kind> folder, or a .onnx file")],
    checkpoint: Annotated[Path | None, typer.Option(
        help="checkpoint.pt (or its folder) the model came from; default: the one beside it.")] = None,
    atol: Annotated[float | None, typer.Option(help=_ATOL_HELP)] = None,
    rtol: Annotated[float | None, typer.Option(help=_RTOL_HELP)] = None,
    provider: Annotated[list[str] | None, typer.Option(help=_PROVIDER_HELP)] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the report here (default: parity.json beside the model).")] = None,
) -> None:
    """Compare exported models with the PyTorch reference over a grid of shapes; the report on stdout."""
    try:
        from seqinfer.export import VerifyConfig
        from seqinfer.export import verify as verify_model
    except ModuleNotFoundError as e:
        _needs_train_extras("verify", e)
        raise

    report = verify_model(model_dir, VerifyConfig.from_options(atol=atol, rtol=rtol, providers=provider),
                          checkpoint=checkpoint, report_path=json_out)
    print(report.table(), flush=True)         # the report is verify's output (export's goes to stderr)
    report.raise_if_failed()
    print(report.verdict(), flush=True)


# --- predict / info (owner: infer) -----------------------------------------------------------------------
@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="model.onnx, or an artifacts/<kind> folder")],
    input: Annotated[Path | None, typer.Option("--input", "-i", help="Read this CSV, not stdin (-: stdin).")
                     ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout (-: stdout).")
                      ] = None,
    layout: Annotated[Literal["auto", "series", "windows"], typer.Option(
        help="series: one observation per row; windows: one whole window per row; auto: windows when a "
             "row's numeric columns make exactly one window, else series.")] = "auto",
    value_col: ValueCol = None,
    series_col: SeriesCol = None,
    time_col: TimeCol = None,
    keep: Keep = None,
    header: Header = "auto",
    date_order: DateOrder = "auto",
    sep: Sep = ",",
    decimal: Decimal = ".",
    thousands: Thousands = "",
    na_value: NaValue = None,
    encoding: Encoding = "utf-8",
    fill: StreamFill = "stop",
    max_series: Annotated[int, typer.Option(
        help="Most series held at once; past it the least recently seen is evicted (counted on stderr).")
    ] = DEFAULT_MAX_SERIES,
    window: Annotated[int | None, typer.Option(help="Window length [default: the model's]")] = None,
    horizon: Annotated[int | None, typer.Option(
        help="Values to forecast per row; past the model's own horizon they roll out autoregressively "
             "[default: the model's]")] = None,
    batch_size: Annotated[int | None, typer.Option(
        help=f"Most rows per onnxruntime call [default: {DEFAULT_BATCH_SIZE}; a stateful model "
             f"{STEP_BATCH_SIZE}].")] = None,
    max_latency: Annotated[float, typer.Option(
        help="Milliseconds a row may wait for its batch to fill once input stalls.",
    )] = DEFAULT_MAX_LATENCY_MS,
    precision: Annotated[int | None, typer.Option(
        help="Digits after the decimal point [default: full float32 precision, %.9g]")] = None,
    on_error: Annotated[Literal["stop", "skip"], typer.Option(
        help="stop: exit 2 at the first bad line (after writing every earlier forecast); "
             "skip: report bad lines on stderr and go on.")] = "stop",
    provider: Annotated[Literal["auto", "cuda", "cpu"], typer.Option(
        help="auto: the CPU, which ran seqinfer's models faster than onnxruntime's CUDA provider (README, On "
             "a GPU); cuda: the GPU, an error where CUDA cannot run.")] = "auto",
    threads: Annotated[int | None, typer.Option(
        help="onnxruntime intra-op threads (0: onnxruntime decides) [default: 1; a stateful model on "
             "CPU: one per core, at most 4]")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Threads running batches side by side while the next rows are parsed (0: none) "
             "[default: one per core, at most 4; 1 on CUDA]")] = None,
    verify: Annotated[bool, typer.Option(
        help="Also run model.ts beside the ONNX model on the same batches (imports torch; a stateful "
             "model's from the same state, 256 rows a call); fail on a mismatch.")] = False,
    state: Annotated[Path | None, typer.Option(
        help="Stateful models: read every series' state from this file at start (if it exists) and write "
             "it back at the end, also after an error or Ctrl-C (not after a --verify mismatch).")] = None,
    warmup: Annotated[int | None, typer.Option(
        help="Stateful models: rows a series needs before its forecasts show [default: the model's].")
    ] = None,
    overlap: Annotated[Literal["stop", "skip", "keep"], typer.Option(
        help="Stateful models with --state: rows at or before their series' last time in the state file (an "
             "input overlapping the last run's) are an error (stop), left out (skip), or run again (keep).")
    ] = "stop",
) -> None:
    """Stream forecasts for a CSV on stdin (or --input) to stdout (or --output).

    Example: seq 1 200 | seqinfer predict artifacts/lstm
    """
    from .stream import predict as run_predict

    cfg = PredictConfig(
        layout=layout, value_col=_names(value_col), series_col=series_col, time_col=time_col,
        keep=_names(*(keep or [])), header=header, date_order=date_order, sep=sep, decimal=decimal,
        na_values=tuple(na_value or ()), encoding=encoding, thousands=thousands, fill=fill,
        max_series=max_series,
        window=window, horizon=horizon, batch_size=batch_size, max_latency_ms=max_latency,
        precision=precision, on_error=on_error, provider=provider, threads=threads, workers=workers,
        verify=verify, state=None if state is None else str(state), warmup=warmup, overlap=overlap)
    inp = input if input is not None and str(input) != "-" else sys.stdin.buffer       # `-`: stdin, stdout
    out = output if output is not None and str(output) != "-" else sys.stdout.buffer
    try:
        summary = run_predict(model, cfg, inp, out, report=lambda m: err(f"seqinfer: {m}"))
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly; fd 1 -> /dev/null so nothing complains at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        if state is not None:   # the state file was left as it was (said on stderr): not a finished run
            raise typer.Exit(1) from None
        return
    for note in summary.notes:
        err(f"seqinfer: {note}")
    global _quick_exit
    _quick_exit = True


# A finished predict ends with os._exit: its forecasts, state file and notes are out, and nothing of it is
# left to clean up, yet Python's teardown of numpy, onnxruntime and the module graph took 50-80 ms a run
# (a tenth of a 1M-row stateful predict). Other commands, and errors, exit the usual way.
_quick_exit = False


def _names(*specs: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for spec in specs if spec for n in spec.split(",") if n.strip())


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="model.onnx, or an artifacts/<kind> folder")],
    input: Annotated[Path, typer.Option("--input", "-i", help="The CSV to backtest on.")],
    value_col: ValueCol = None,
    series_col: SeriesCol = None,
    time_col: TimeCol = None,
    keep: Keep = None,
    header: Header = "auto",
    date_order: DateOrder = "auto",
    sep: Sep = ",",
    decimal: Decimal = ".",
    thousands: Thousands = "",
    na_value: NaValue = None,
    encoding: Encoding = "utf-8",
    fill: TableFill = "stop",
    season: Annotated[int | None, typer.Option(
        help="Season length in steps for the seasonal naive forecast [default: detected].")] = None,
    plot: Annotated[Path, typer.Option(help="Where to draw the forecasts (a folder: its forecast.png; '': no "
                                            "plot).")] = Path("forecast.png"),
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")
                        ] = None,
    provider: Annotated[Literal["auto", "cuda", "cpu"], typer.Option(help="onnxruntime provider.")] = "auto",
) -> None:
    """Backtest a model on new data: MSE, MAE, MASE per horizon step against naive and seasonal naive.

    Example: seqinfer evaluate artifacts/lstm --input next_month.csv --value-col load
    """
    from .backtest import evaluate as run_backtest
    from .backtest import plot as draw
    from .config import ColumnSpec
    from .contract import strict_json
    from .reader import writable

    spec = ColumnSpec(value_col=_names(value_col), series_col=series_col, time_col=time_col,
                      keep=_names(*(keep or [])), header=header, date_order=date_order, sep=sep,
                      decimal=decimal, na_values=tuple(na_value or ()), encoding=encoding,
                      thousands=thousands)
    wanted = str(plot) not in ("", ".")           # typer reads --plot '' as Path("."): no plot wanted
    plot = plot / "forecast.png" if wanted and plot.is_dir() else plot
    if wanted:
        writable(plot, "--plot")                  # said before the backtest, not after it
    bt = run_backtest(model, input, spec, fill=fill, season=season, provider=provider,
                      report=lambda m: err(f"seqinfer: {m}"))
    season_said = f"season {bt.season} ({bt.season_how})" if bt.season else \
        "no season found"
    err(f"seqinfer: evaluate: {bt.origins} forecasts of {bt.horizon} step(s), window {bt.window}, "
        f"{season_said}; MASE scale (the file's one-step naive MAE) {bt.mase_scale:.4g}")
    print(bt.table(), end="")
    if json_out is not None:
        json_out.write_text(strict_json(bt.to_json()) + "\n")     # a test from one origin: null
    if not wanted:
        return
    if draw(bt, plot):
        err(f"seqinfer: wrote {plot}")
    else:
        err("seqinfer: no plot: matplotlib is not installed (pip install 'seqinfer[train]')")


@app.command()
def score(
    model: Annotated[Path, typer.Argument(help="model.onnx, or an artifacts/<kind> folder")],
    input: Annotated[str, typer.Option("--input", "-i", help="Files: a glob ('data/*.parquet') or a "
                                       "comma list; Parquet or CSV. One series: in time order.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A new folder for the Parquet partitions.")],
    value_col: ValueCol = None,
    series_col: SeriesCol = None,
    time_col: TimeCol = None,
    keep: Keep = None,
    header: Header = "auto",
    date_order: DateOrder = "auto",
    sep: Sep = ",",
    decimal: Decimal = ".",
    thousands: Thousands = "",
    na_value: NaValue = None,
    encoding: Encoding = "utf-8",
    fill: ScoreFill = "stop",
    scheduler: Annotated[str | None, typer.Option(
        help="A running Dask scheduler (tcp://host:8786); default: a local cluster.")] = None,
    workers: Annotated[int, typer.Option(help="Local cluster: worker processes.")] = 2,
    threads: Annotated[int, typer.Option(help="onnxruntime threads per worker process.")] = 1,
    warmup: Annotated[int | None, typer.Option(
        help="Stateful models: rows held back per series [default: the model's].")] = None,
) -> None:
    """Score partitioned Parquet/CSV data on a Dask cluster; one row per forecast, as Parquet partitions.

    Example: seqinfer score artifacts/lstm --input 'data/*.parquet' --output forecasts/ --workers 4
    """
    from .config import ColumnSpec
    from .score import ScoreConfig, run_score

    spec = ColumnSpec(value_col=_names(value_col), series_col=series_col, time_col=time_col,
                      keep=_names(*(keep or [])), header=header, date_order=date_order, sep=sep,
                      decimal=decimal, na_values=tuple(na_value or ()), encoding=encoding,
                      thousands=thousands)
    n = run_score(model, input, output, spec, ScoreConfig(fill=fill, threads=threads, warmup=warmup),
                  scheduler=scheduler, workers=workers, report=lambda m: err(f"seqinfer: {m}"))
    err(f"seqinfer: score: {n:,} forecasts written to {output}/")


@app.command()
def info(
    model: Annotated[Path, typer.Argument(help="model.onnx, or an artifacts/<kind> folder")],
) -> None:
    """Show a model's inputs, outputs, symbolic dims, metadata and the providers that run here."""
    from .api import describe

    print("\n".join(describe(model)))


# --- bench (owner: bench) --------------------------------------------------------------------------------
@app.command()
def bench(
    model: Annotated[Path, typer.Argument(help="artifacts/<kind> folder")],
    quick: Annotated[bool, typer.Option(help="Tiny sizes: a smoke run, not a measurement.")] = False,
) -> None:
    """Measure one model's throughput and latency across runtimes; a stateful model's predict end to end and
    by stage, on one series and 10,000 (the full suite: `make bench`)."""
    root = Path(__file__).resolve().parents[1]  # bench/ lives in the source checkout, not the package
    if not (root / "bench" / "run.py").is_file():
        raise SeqinferError("bench: needs a source checkout (bench/ beside infer/); see `make bench`")
    sys.path.insert(0, str(root))
    try:
        from bench.report import model_tables
        from bench.run import bench_one
        from bench.stateful import table
    except ModuleNotFoundError as e:
        _needs_train_extras("bench", e)
        raise

    res = bench_one(model, quick=quick)
    print("\n".join(table(res["stateful"]) if "stateful" in res else model_tables({res["kind"]: res})))


def main() -> None:
    try:
        rc = app(prog_name="seqinfer", standalone_mode=False)
    except SeqinferError as e:
        err(f"seqinfer: error: {e}")
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err("seqinfer: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head`): end quietly, and keep Python from complaining at exit.
        try:
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115
        except OSError:
            pass
        sys.exit(0)
    except typer.Abort:
        err("seqinfer: aborted")
        sys.exit(1)
    except Exception as e:  # click's errors carry their own exit code and message
        if any(c.__name__ == "UsageError" for c in type(e).__mro__):   # (typer vendors click: by name)
            ctx = getattr(e, "ctx", None)            # a mistyped option or value: one line, as every error
            where = ctx.command_path if ctx is not None else "seqinfer"
            err(f"seqinfer: error: {e.format_message()} (see {where} --help)")  # type: ignore[attr-defined]
            sys.exit(e.exit_code)  # type: ignore[attr-defined]
        show = getattr(e, "show", None)
        if show is not None and hasattr(e, "exit_code"):
            show()
            sys.exit(e.exit_code)
        raise
    if rc == EXIT_INTERRUPTED:  # typer turns Ctrl-C into exit code 130 without a word
        err("seqinfer: interrupted")
    code = rc if isinstance(rc, int) else 0
    if _quick_exit and code == 0:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:
            pass
        os._exit(0)
    sys.exit(code)


if __name__ == "__main__":
    main()
