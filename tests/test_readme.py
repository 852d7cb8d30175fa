"""The README's commands stay true: every make target exists and every seqinfer option it shows is real."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEQINFER = [sys.executable, "-m", "seqinfer.infer.cli"]


def readme_commands() -> list[list[str]]:
    """Shell lines from the README's ```sh blocks, split into pipeline stages, comments dropped."""
    text = (ROOT / "README.md").read_text()
    cmds = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip().removeprefix("$ ")
            for stage in re.split(r"\s*(?:\|\||&&|\||;)\s*", line):
                if stage:
                    cmds.append(shlex.split(stage))
    return cmds


def test_readme_shows_the_two_setup_commands() -> None:
    cmds = readme_commands()
    assert ["make", "train", "export"] in cmds
    assert ["make", "test"] in cmds


@pytest.mark.parametrize("cmd", [c for c in readme_commands() if c[0] == "make"], ids=" ".join)
def test_make_targets_exist(cmd: list[str]) -> None:
    for target in (a for a in cmd[1:] if "=" not in a and not a.startswith("-")):
        r = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f"make {target}: {r.stderr}"


@pytest.mark.parametrize("cmd", [c for c in readme_commands() if c[0] == "seqinfer"], ids=" ".join)
def test_seqinfer_commands_and_options_exist(cmd: list[str]) -> None:
    sub = cmd[1]
    r = subprocess.run([*SEQINFER, sub, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"seqinfer {sub} --help failed: {r.stderr}"
    for opt in (a.split("=", 1)[0] for a in cmd[2:] if a.startswith("--")):
        assert opt in r.stdout, f"README uses `seqinfer {sub} {opt}`, which --help does not list"
