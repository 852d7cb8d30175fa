"""A hand-edited model.onnx: its metadata is checked on load, against itself and against the graph.

Each case edits one exported model's metadata_props and runs `seqinfer predict` on it through real pipes:
exit 2, one line on stderr naming the file and the metadata key, no traceback, nothing on stdout.
"""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from infer_support import Fixture, run_cli

from seqinfer.infer.contract import META_PREFIX, ModelMeta
from seqinfer.infer.errors import ModelError

# edits of the lstm fixture (window 16, horizon 2, 1 feature) -> the error after "FILE: metadata seqinfer."
CASES = {
    "window 0": ({"window": "0"}, "window is 0 (must be an integer >= 1)"),
    "horizon -1": ({"horizon": "-1"}, "horizon is -1 (must be an integer >= 1)"),
    "features 0": ({"features": "0"}, "features is 0 (must be an integer >= 1)"),
    "window a string": ({"window": '"abc"'}, 'window is "abc" (must be an integer >= 1)'),
    "window a list": ({"window": "[16]"}, "window is [16] (must be an integer >= 1)"),
    "window 16.5": ({"window": "16.5"}, "window is 16.5 (must be an integer >= 1)"),
    "norm_mean a number": ({"norm_mean": "0.5"}, "norm_mean is 0.5 (must be a list"),
    "norm_mean too long": ({"norm_mean": "[0.5, 0.5]"}, "norm_mean has 2 value(s), but seqinfer.features is"),
    "norm_std empty": ({"norm_std": "[]"}, "norm_std has 0 value(s), but seqinfer.features is 1"),
    "norm_std 0": ({"norm_std": "[0.0]"}, "norm_std[0] is 0.0 (must be a finite number > 0)"),
    "norm_mean NaN": ({"norm_mean": "[NaN]"}, "norm_mean[0] is NaN (must be a finite number)"),
    "norm_mean a string": ({"norm_mean": '["x"]'}, 'norm_mean[0] is "x" (must be a finite number)'),
    "features vs graph": ({"features": "2", "norm_mean": "[0.5, 0.5]", "norm_std": "[2.0, 2.0]"},
                          "features is 2, but the graph's input 'x' takes 1 per step"),
    "horizon vs graph": ({"horizon": "3"}, "horizon is 3, but the graph's output 'y' gives 2"),
}


def edited(model: Path, to: Path, changes: dict[str, str]) -> Path:
    """A copy of `model` with the seqinfer.<key> metadata values replaced as they are stored (JSON text)."""
    proto = onnx.load(str(model))
    props = {p.key: p for p in proto.metadata_props}
    for key, value in changes.items():
        props[META_PREFIX + key].value = value
    onnx.save(proto, str(to))
    return to


@pytest.mark.parametrize("case", CASES)
def test_bad_metadata_is_one_error_line_naming_file_and_key(lstm: Fixture, tmp_path: Path, case: str) -> None:
    changes, want = CASES[case]
    path = edited(lstm.onnx, tmp_path / "model.onnx", changes)
    r = run_cli(["predict", str(path), "--provider", "cpu"], "1\n" * 20)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err.count("\n") == 1, err                                   # one line, so no traceback
    assert err.startswith(f"seqinfer: error: {path}: metadata {META_PREFIX}{want}"), err
    assert r.stdout == b""


def test_the_python_api_raises_the_same_model_error(lstm: Fixture, tmp_path: Path) -> None:
    from seqinfer.infer import Forecaster

    path = edited(lstm.onnx, tmp_path / "model.onnx", {"horizon": "3"})
    with pytest.raises(ModelError, match="metadata seqinfer.horizon is 3, but the graph's output 'y' gives"):
        Forecaster(path, provider="cpu")


def test_metadata_written_in_code_is_checked_too() -> None:
    """ModelMeta validates on construction: export cannot write a file that load would refuse."""
    good = {"seqinfer_version": "1", "kind": "gru", "window": 8, "horizon": 1, "features": 1,
            "norm_mean": (0.0,), "norm_std": (1.0,)}
    assert ModelMeta(**good).window == 8  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=r"^metadata seqinfer.norm_std\[0\] is -1.0 "):
        ModelMeta(**{**good, "norm_std": (-1.0,)})  # type: ignore[arg-type]
