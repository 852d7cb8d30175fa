"""The `seqinfer` command: a thin translator from arguments to library calls. Try `seqinfer --help`.

Each command parses, calls one library function, prints, and maps SeqinferError to one stderr line and
exit status 2. torch is imported lazily inside the commands that need it, never for predict/info.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import EXIT_INTERRUPTED, SeqinferError

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


# --- train (owner: trainer) ------------------------------------------------------------------------------
@app.command()
def train(
    model: Annotated[str, typer.Option(help="rnn | lstm | gru | all")] = "all",
    out: Annotated[Path, typer.Option(help="Artifacts folder; each kind writes OUT/<kind>/.")] = Path("artifacts"),
) -> None:
    """Fit forecasters on the built-in sine (default) or a CSV."""
    raise SeqinferError("train: not implemented yet")


# --- export / verify (owner: export) ---------------------------------------------------------------------
@app.command()
def export(
    model_dir: Annotated[Path, typer.Argument(help="artifacts/<kind> folder holding checkpoint.pt")],
) -> None:
    """Write model.ts and model.onnx beside the checkpoint, verified against PyTorch."""
    raise SeqinferError("export: not implemented yet")


@app.command()
def verify(
    model_dir: Annotated[Path, typer.Argument(help="artifacts/<kind> folder, or a .onnx file")],
) -> None:
    """Compare exported models with the PyTorch reference over a grid of shapes."""
    raise SeqinferError("verify: not implemented yet")


# --- predict / info (owner: infer) -----------------------------------------------------------------------
@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="model.onnx, or an artifacts/<kind> folder")],
) -> None:
    """Stream forecasts for a CSV on stdin (or --input) to stdout (or --output)."""
    raise SeqinferError("predict: not implemented yet")


@app.command()
def info(
    model: Annotated[Path, typer.Argument(help="model.onnx, or an artifacts/<kind> folder")],
) -> None:
    """Show a model's inputs, outputs, symbolic dims, metadata and the providers that run here."""
    raise SeqinferError("info: not implemented yet")


# --- bench (owner: bench) --------------------------------------------------------------------------------
@app.command()
def bench(
    model: Annotated[Path, typer.Argument(help="artifacts/<kind> folder")],
    quick: Annotated[bool, typer.Option(help="Tiny sizes: a smoke run, not a measurement.")] = False,
) -> None:
    """Measure one model's throughput and latency across runtimes (the full suite: `make bench`)."""
    root = Path(__file__).resolve().parents[1]  # bench/ lives in the source checkout, not the package
    if not (root / "bench" / "run.py").is_file():
        raise SeqinferError("bench: needs a source checkout (bench/ beside infer/); see `make bench`")
    sys.path.insert(0, str(root))
    from bench.report import model_tables
    from bench.run import bench_one

    res = bench_one(model, quick=quick)
    print("\n".join(model_tables({res["kind"]: res})))


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
    except Exception as e:  # click usage errors carry their own exit code and message
        show = getattr(e, "show", None)
        if show is not None and hasattr(e, "exit_code"):
            show()
            sys.exit(e.exit_code)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
