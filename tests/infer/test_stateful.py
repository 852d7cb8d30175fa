"""Stateful models through `seqinfer predict` and the Python API: one recurrent step per row, a state per
series, a state that survives a restart. The reference is eager PyTorch over each whole series in one call.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from infer_support import (
    SEQINFER,
    default_sigint,
    one_error,
    parse_csv,
    readline,
    run_cli,
    trickle,
    within_trickle_bounds,
)

from seqinfer.export import ExportConfig, VerifyConfig, export_model
from seqinfer.infer import Forecaster
from seqinfer.infer.errors import ConfigError, DataError, ModelError
from seqinfer.trainer.checkpoint import save_checkpoint
from seqinfer.trainer.model import Forecaster as TorchForecaster
from seqinfer.trainer.model import ModelConfig
from seqinfer.trainer.stateful import StatefulForecaster, forecast_series

WARMUP, HORIZON = 5, 2
GRID = VerifyConfig(batches=(1, 7), providers=("cpu",), inputs=("random",))


def make_stateful(root: Path, kind: str, seed: int = 0) -> tuple[StatefulForecaster, Path]:
    torch.manual_seed(seed)
    net = StatefulForecaster(ModelConfig(kind=kind, hidden=8, horizon=HORIZON, scaling="diff", stateful=True))
    net.set_normalization(torch.zeros(1), torch.full((1,), 0.3), torch.zeros(HORIZON),
                          torch.full((HORIZON,), 0.3))
    root.mkdir(parents=True, exist_ok=True)
    save_checkpoint(root / "checkpoint.pt", net.eval(), data={"window": 10, "fingerprint": f"test-{seed}",
                                                               "warmup": WARMUP, "norm_mean": [0.0],
                                                               "norm_std": [1.0]})
    result = export_model(root, ExportConfig(verify=GRID))
    assert result.report.passed and result.meta.stateful and result.meta.warmup == WARMUP
    return net, root


@pytest.fixture(scope="module")
def gru(tmp_path_factory: pytest.TempPathFactory) -> tuple[StatefulForecaster, Path]:
    return make_stateful(tmp_path_factory.mktemp("stateful_gru"), "gru")


def interleaved(n: int = 60, seed: int = 0) -> tuple[str, dict[str, list[tuple[int, float]]]]:
    """`series,value` rows of three series with different lengths, interleaved irregularly."""
    rng = np.random.default_rng(seed)
    owners = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    lines, meant = ["series,value"], {}
    for i, s in enumerate(owners):
        v = round(float(3 * np.sin(i / 4) + (ord(s) - 97) * 10 + rng.normal(0, 0.1)), 4)
        lines.append(f"{s},{v}")
        meant.setdefault(s, []).append((len(lines), v))
    return "\n".join(lines) + "\n", meant


def eager(net: StatefulForecaster, meant: dict[str, list[tuple[int, float]]]) -> dict[int, np.ndarray]:
    """line -> eager forecast, each series run whole from its first row."""
    out = {}
    for rows in meant.values():
        y = forecast_series(net, np.array([v for _, v in rows], np.float64)[:, None])
        out |= {line: yy for (line, _), yy in zip(rows, y, strict=True)}
    return out


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_every_cell_exports_and_predicts_like_eager(tmp_path: Path, kind: str) -> None:
    net, root = make_stateful(tmp_path, kind)
    text, meant = interleaved()
    r = run_cli(["predict", str(root), "--provider", "cpu", "--warmup", "0"], text)
    assert r.returncode == 0, r.stderr.decode()
    _, keys, y = parse_csv(r.stdout)
    want = eager(net, meant)
    assert [int(k[1]) for k in keys] == sorted(want)
    np.testing.assert_allclose(y, np.array([want[int(k[1])] for k in keys]), atol=1e-5)


def test_interleaved_series_carry_their_own_state_and_the_warmup_is_held_back(gru: tuple) -> None:
    net, root = gru
    text, meant = interleaved()
    r = run_cli(["predict", str(root), "--provider", "cpu"], text)
    assert r.returncode == 0, r.stderr.decode()
    _, keys, y = parse_csv(r.stdout)
    want = eager(net, meant)
    shown = {line for rows in meant.values() for line, _ in rows[WARMUP:]}
    assert [int(k[1]) for k in keys] == sorted(shown)                 # each series' first rows held back
    owner = {line: s for s, rows in meant.items() for line, _ in rows}
    assert [k[0] for k in keys] == [owner[int(k[1])] for k in keys]
    np.testing.assert_allclose(y, np.array([want[int(k[1])] for k in keys]), atol=1e-5)
    assert f"warm-up: {3 * WARMUP} forecast(s) held back" in r.stderr.decode()


@pytest.mark.parametrize("fill", ["stop", "previous"])
def test_a_file_split_in_two_with_the_state_carried_gives_one_run(gru: tuple, tmp_path: Path,
                                                                  fill: str) -> None:
    _, root = gru
    text, _ = interleaved(n=200, seed=1)
    lines = text.splitlines(keepends=True)
    if fill == "previous":            # values missing right after the split: filled from the state file's
        for i in (101, 102, 103, 150):                   # last values, as in one run
            lines[i] = lines[i].split(",")[0] + ",\n"
        text = "".join(lines)
    opts = ["--provider", "cpu", "--fill", fill]
    whole = run_cli(["predict", str(root), *opts], text)
    assert whole.returncode == 0, whole.stderr.decode()
    state = tmp_path / "state.npz"
    halves = []
    for part in (lines[:101], lines[:1] + lines[101:]):
        r = run_cli(["predict", str(root), *opts, "--state", str(state)], "".join(part))
        assert r.returncode == 0 and "state:" in r.stderr.decode(), r.stderr.decode()
        halves.append(parse_csv(r.stdout))
    _, keys, y = parse_csv(whole.stdout)
    split_y = np.concatenate([halves[0][2], halves[1][2]])
    split_series = [k[0] for k in halves[0][1] + halves[1][1]]
    assert split_series == [k[0] for k in keys]
    assert np.array_equal(split_y, y)                                 # bit-identical, as printed
    assert not list(tmp_path.glob(".*tmp"))                            # written atomically, nothing left over


def daily_stores(days: range) -> str:
    """`date,store,units`: three stores' daily rows, interleaved by date, as a database export writes them."""
    lines = ["date,store,units"]
    for d in days:
        day = np.datetime64("2024-03-01") + d
        lines += [f"{day},{s},{round(20 + k * 5 + 3 * np.sin(d / 2 + k), 3)}" for k, s in enumerate("ABC")]
    return "\n".join(lines) + "\n"


def test_an_input_overlapping_the_last_run_is_an_error_skipped_or_kept_as_asked(gru: tuple,
                                                                               tmp_path: Path) -> None:
    """A daily export of the last days overlaps the run before it: its rows at or before each series' last
    time in the --state file would carry the state on a second time. Stopped by default (the state file
    left as it was), left out with --overlap skip (then the forecasts of one run over the whole), run again
    with --overlap keep. A gap between the two runs is named like one inside a run."""
    _, root = gru
    opts = ["predict", str(root), "--provider", "cpu", "--series-col", "store", "--warmup", "0"]
    whole = parse_csv(run_cli(opts, daily_stores(range(40))).stdout)
    state = tmp_path / "state.npz"
    first = run_cli([*opts, "--state", str(state)], daily_stores(range(25)))
    assert first.returncode == 0, first.stderr.decode()
    kept = state.read_bytes()
    again = daily_stores(range(20, 40))                          # days 20-24 were in the first run
    r = run_cli([*opts, "--state", str(state)], again)
    assert r.returncode == 2 and parse_csv(r.stdout)[1] == [], r.stdout
    assert one_error(r.stderr).startswith("seqinfer: error: <stdin>:2:column 1 ('date'): series A: its "
                                          "time is at or before the last time --state"), r.stderr.decode()
    assert "--overlap skip leaves them out" in r.stderr.decode() and state.read_bytes() == kept

    r = run_cli([*opts, "--state", str(state), "--overlap", "skip"], again)
    assert r.returncode == 0 and "--overlap skip: 15 row(s)" in r.stderr.decode(), r.stderr.decode()
    got = parse_csv(r.stdout)
    assert [k[:2] for k in got[1]] == [k[:2] for k in whole[1][75:]]          # series, date (not the line)
    assert np.array_equal(got[2], whole[2][75:])

    state.write_bytes(kept)
    r = run_cli([*opts, "--state", str(state), "--overlap", "keep"], again)
    assert r.returncode == 0 and len(parse_csv(r.stdout)[2]) == 60, r.stderr.decode()
    assert "time: 3 step(s) where time does not increase within a series" in r.stderr.decode()

    state.write_bytes(kept)
    r = run_cli([*opts, "--state", str(state)], daily_stores(range(28, 40)))    # days 25-27 missing
    assert r.returncode == 0 and "time: 3 gap(s) longer than 1.5x the series' usual step" in r.stderr.decode()
    alone = run_cli(opts, daily_stores(range(28, 40)))
    assert "gap" not in alone.stderr.decode()


def test_overlap_ends_for_a_series_at_its_first_row_past_the_state_files_time() -> None:
    from seqinfer.infer.state import SeriesState

    st = SeriesState(1, 1)
    fields = {"last": np.array([10.0, np.nan]), "last_back": np.full(2, np.nan),
              "steps": np.full((2, 8), np.nan), "nsteps": np.zeros(2, np.int64), "weekend": np.zeros(2, bool)}
    st.restore([b"a", b"b"], np.zeros((2, 1)), fields)
    old = st.overlap([b"a", b"b", b"a", b"c", b"a", b"a"], np.array([5.0, 1.0, 10.0, 3.0, 11.0, 9.0]))
    assert old.tolist() == [True, False, True, False, False, False] and len(st.resumed) == 0


def test_verify_runs_torchscript_beside_each_call_and_prints_the_same_forecasts(gru: tuple) -> None:
    _, root = gru
    text, _ = interleaved(n=700, seed=2)                  # more rows than one --verify call takes (256)
    plain = run_cli(["predict", str(root), "--provider", "cpu"], text)
    checked = run_cli(["predict", str(root), "--provider", "cpu", "--verify"], text)
    assert checked.returncode == 0, checked.stderr.decode()
    assert checked.stdout == plain.stdout
    assert "verify: onnxruntime vs TorchScript (model.ts), 700 forecasts" in checked.stderr.decode()


def test_verify_stops_at_the_first_row_torchscript_disagrees_and_keeps_the_state_file(gru: tuple,
                                                                                    tmp_path: Path) -> None:
    _, root = gru
    _, other = make_stateful(tmp_path / "other", "gru", seed=1)        # same layout, other weights
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "model.onnx").write_bytes((root / "model.onnx").read_bytes())
    (mixed / "model.ts").write_bytes((other / "model.ts").read_bytes())
    text, _ = interleaved(n=40)
    state = tmp_path / "state.npz"
    r = run_cli(["predict", str(mixed), "--provider", "cpu", "--verify", "--warmup", "0", "--state",
                 str(state)], text)
    assert r.returncode == 2 and "--verify: row 2: onnxruntime" in one_error(r.stderr)
    assert parse_csv(r.stdout)[2].shape[0] == 0
    assert "state: not written" in r.stderr.decode() and not state.exists()


def test_verify_with_the_checkpoint_of_a_windowed_model_says_so(gru: tuple, tmp_path: Path) -> None:
    """A stateful model.onnx with a windowed checkpoint (or the other way round) was a RuntimeError traceback
    from TorchScript's forward(), exit 1."""
    _, root = gru
    windowed = TorchForecaster(ModelConfig(kind="gru", hidden=8, horizon=HORIZON)).eval()
    save_checkpoint(tmp_path / "checkpoint.pt", windowed, data={"window": 10, "fingerprint": "w"})
    r = run_cli(["verify", str(root / "model.onnx"), "--checkpoint", str(tmp_path)])
    assert r.returncode == 2 and one_error(r.stderr).endswith(
        f"a stateful model, but {tmp_path} holds a windowed one: give the checkpoint it "
        "was exported from (--checkpoint)"), r.stderr.decode()


def test_a_trickle_gets_each_forecast_before_the_next_row(gru: tuple) -> None:
    """Rows sent one at a time through a pipe, two series interleaved: each row's forecast comes out before
    the next row goes in, within the windowed model's latency bounds, and equals the forecast of the same
    rows sent at once. --max-latency 2000: only the flush of a stalled input (the step pipeline idle, no more
    rows to read) can meet the bounds."""
    net, root = gru
    text, meant = interleaved(40)
    header, *rows = text.splitlines()
    whole = run_cli(["predict", str(root), "--provider", "cpu", "--warmup", "0"], text).stdout.decode()
    p = subprocess.Popen([*SEQINFER, "predict", str(root), "--provider", "cpu", "--warmup", "0",
                          "--max-latency", "2000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, bufsize=0)
    assert p.stdin is not None
    try:
        p.stdin.write(f"{header}\n{rows[0]}\n".encode())       # the start is not timed
        got = [readline(p), readline(p)]                      # the header, once the columns are known
        lines, waits = trickle(p, rows[1:])
    finally:
        p.kill()
    assert b"".join(got + lines).decode() == whole
    within_trickle_bounds(waits, "stateful trickle")


def test_a_state_file_of_another_model_is_refused(gru: tuple, tmp_path: Path) -> None:
    _, root = gru
    _, other = make_stateful(tmp_path / "other", "gru", seed=3)
    state = tmp_path / "state.npz"
    text, _ = interleaved()
    assert run_cli(["predict", str(other), "--provider", "cpu", "--state", str(state)], text).returncode == 0
    r = run_cli(["predict", str(root), "--provider", "cpu", "--state", str(state)], text)
    assert r.returncode == 2 and r.stdout == b""
    assert "the state of a different model" in one_error(r.stderr)


def test_a_bad_line_writes_the_forecasts_then_the_state_and_a_rerun_goes_on(gru: tuple,
                                                                           tmp_path: Path) -> None:
    _, root = gru
    text, _ = interleaved(n=120, seed=2)
    lines = text.splitlines(keepends=True)
    whole = parse_csv(run_cli(["predict", str(root), "--provider", "cpu"], text).stdout)
    state = tmp_path / "state.npz"
    bad = lines[:71] + ["a,oops\n"] + lines[71:]
    r = run_cli(["predict", str(root), "--provider", "cpu", "--state", str(state)], "".join(bad))
    assert r.returncode == 2 and "<stdin>:72:2: 'oops' is not a number" in one_error(r.stderr)
    first = parse_csv(r.stdout)
    rest = run_cli(["predict", str(root), "--provider", "cpu", "--state", str(state)],
                   "".join(lines[:1] + lines[71:]))
    second = parse_csv(rest.stdout)
    assert np.array_equal(np.concatenate([first[2], second[2]]), whole[2])


def test_ctrl_c_writes_the_state_of_the_rows_forecast(gru: tuple, tmp_path: Path) -> None:
    _, root = gru
    state = tmp_path / "state.npz"
    p = subprocess.Popen([*SEQINFER, "predict", str(root), "--provider", "cpu", "--state", str(state),
                          "--warmup", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=default_sigint)
    assert p.stdin and p.stdout
    p.stdin.write(b"value\n" + b"".join(b"%.3f\n" % np.sin(i / 3) for i in range(30)))
    p.stdin.flush()
    out = [p.stdout.readline() for _ in range(31)]                    # header + a forecast per row
    assert out[-1].startswith(b"31,")
    time.sleep(0.2)
    os.kill(p.pid, signal.SIGINT)
    assert p.wait(timeout=30) == 130
    p.stdin.close()
    api = Forecaster(root, provider="cpu")
    api.load_state(state)
    cont = api.step(None, [np.sin(30 / 3)])
    fresh = Forecaster(root, provider="cpu")
    fresh.step(None, [round(float(np.sin(i / 3)), 3) for i in range(30)])
    np.testing.assert_allclose(cont, fresh.step(None, [np.sin(30 / 3)]), atol=1e-6)


def test_ctrl_c_with_a_slow_reader_writes_every_forecast_run_before_the_state(gru: tuple, tmp_path: Path
                                                                             ) -> None:
    """Ctrl-C while the forecasts wait for a reader that has not read yet (`| (sleep 5; cat)`): predict
    writes every forecast it ran, then the state, then exits 130. It exited with the 64 KB the pipe held,
    the last line cut, and a state file of every row, so a resumed run lost the rest for good."""
    _, root = gru
    state, n = tmp_path / "state.npz", 12_000
    p = subprocess.Popen([*SEQINFER, "predict", str(root), "--provider", "cpu", "--state", str(state),
                          "--warmup", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=default_sigint)
    assert p.stdin and p.stdout and p.stderr
    p.stdin.write(b"value\n" + b"".join(b"%.3f\n" % np.sin(i / 3) for i in range(n)))
    p.stdin.close()
    time.sleep(3)                          # every row run; the forecasts wait for the pipe to be read
    os.kill(p.pid, signal.SIGINT)
    time.sleep(2)                          # the reader reads only later
    out = p.stdout.read()
    assert p.wait(timeout=60) == 130, p.stderr.read()
    rows = out.decode().splitlines()
    assert len(rows) == n + 1 and rows[-1].startswith(f"{n + 1},") and out.endswith(b"\n")
    assert np.load(state)["seen"].tolist() == [n]
    assert "interrupted" in p.stderr.read().decode()


def test_output_closed_early_leaves_the_state_file_as_it_was(gru: tuple, tmp_path: Path) -> None:
    """`predict --state s.npz | head -2`: the forecasts past the two lines never went out, so the state
    file is not written (it was, as if all had), said on stderr, exit 1 (0 without --state, as `| head`)."""
    _, root = gru
    state = tmp_path / "state.npz"
    data = tmp_path / "in.csv"
    data.write_text("value\n" + "".join(f"{np.sin(i / 3):.3f}\n" for i in range(200_000)))
    run_cli(["predict", str(root), "--provider", "cpu", "--state", str(state)], "value\n1\n2\n")
    before = state.read_bytes()
    cmd = f"{' '.join(SEQINFER)} predict {root} --provider cpu -i {data}"
    for extra, rc in ((f" --state {state}", 1), ("", 0)):
        r = subprocess.run(["bash", "-c", f"{cmd}{extra} | head -2 > /dev/null; exit ${{PIPESTATUS[0]}}"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == rc, r.stderr
        assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr
    assert state.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))
    r = subprocess.run(["bash", "-c", f"{cmd} --state {state} | head -2 > /dev/null"], capture_output=True,
                       text=True, timeout=120)
    assert f"state: not written to {state}: the forecasts of " in r.stderr
    assert "the file is left as the last run wrote it" in r.stderr


def test_a_state_file_that_cannot_be_written_is_one_error_and_the_old_file_stays(
        gru: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while the state file is written: one ConfigError naming it (it was a traceback), no
    temporary file left, the last run's file unchanged."""
    import errno

    import seqinfer.infer.stepstate as stepstate

    _, root = gru
    state = tmp_path / "state.npz"
    f = Forecaster(root, provider="cpu")
    f.step(["a"], [1.0])
    f.save_state(state)
    before = state.read_bytes()
    f.step(["a"], [2.0])

    def full(*a: object, **k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(stepstate.np, "savez", full)
    with pytest.raises(ConfigError, match=re.escape(f"{state}: cannot write (No space left on device); the "
                                                    f"file is left as it was")):
        f.save_state(state)
    assert state.read_bytes() == before and not list(tmp_path.glob(".*tmp"))


def test_a_ctrl_c_inside_a_step_waits_for_its_end_and_a_second_stops_at_once() -> None:
    """stream.Interrupts: the first Ctrl-C inside a held step is raised when the step ends (a block's rows
    enter the series state and their batch together); outside one, or a second, at once."""
    from seqinfer.infer.stream import Interrupts

    ctrl, done = Interrupts(), []
    with pytest.raises(KeyboardInterrupt):
        with ctrl.held():
            ctrl._hit(signal.SIGINT, None)             # deferred ...
            done.append("the step ran to its end")
    assert done == ["the step ran to its end"]
    with pytest.raises(KeyboardInterrupt):
        with ctrl.held():
            ctrl._hit(signal.SIGINT, None)             # ... a second one is not
            done.append("not reached")
    assert done == ["the step ran to its end"]
    with pytest.raises(KeyboardInterrupt):
        Interrupts()._hit(signal.SIGINT, None)        # outside a step: at once


@pytest.mark.parametrize("batch_size", [1, 7])
def test_python_api_stream_on_a_stateful_model_equals_step_past_the_warmup(gru: tuple, batch_size: int
                                                                           ) -> None:
    """stream() on a stateful model carries each series' state and yields every row past its warm-up, as
    predict shows them (it ran the windowed path: nothing for short input, then an error naming
    predict())."""
    _, root = gru
    text, _ = interleaved()
    rows = [(s, float(v)) for s, v in (ln.split(",") for ln in text.splitlines()[1:])]
    f = Forecaster(root, provider="cpu")
    got = list(f.stream(rows, batch_size=batch_size))
    want = Forecaster(root, provider="cpu").step([s for s, _ in rows], [v for _, v in rows])
    seen: dict[str, int] = {}
    past = [i for i, (s, _) in enumerate(rows) if (seen := seen | {s: seen.get(s, 0) + 1})[s] > WARMUP]
    assert [g.position for g in got] == past and [g.series for g in got] == [rows[i][0] for i in past]
    np.testing.assert_array_equal(np.array([g.yhat for g in got]), want[past])
    assert list(f.stream([1.0] * WARMUP)) == []
    with pytest.raises(ConfigError, match="horizon: a stateful model forecasts its own"):
        list(f.stream([1.0], horizon=HORIZON + 1))


def test_python_api_step_equals_predict_and_refuses_misuse(gru: tuple) -> None:
    net, root = gru
    text, meant = interleaved()
    rows = [ln.split(",") for ln in text.splitlines()[1:]]
    f = Forecaster(root, provider="cpu")
    y = f.step([s for s, _ in rows], [float(v) for _, v in rows])
    want = eager(net, meant)
    np.testing.assert_allclose(y, np.array([want[i + 2] for i in range(len(rows))]), atol=1e-5)
    with pytest.raises(Exception, match="this model is stateful"):
        f.predict(np.zeros((1, 10)))
    with pytest.raises(Exception, match="NaN, inf"):
        f.step(None, [float("nan")])
    for series, values, said in ((["a"], [1e39], "row 0 is NaN, inf or beyond float32"),
                                 (["a"], ["x"], "values: not numbers"),
                                 ("ab", [1.0, 2.0], "a list of ids, one per row (got one string)"),
                                 ([["a"]], [1.0], "row 0's id is list ['a']: ids are text")):
        with pytest.raises(DataError, match=re.escape(said)):
            f.step(series, values)
    assert f.step([], []).shape == (0, f.horizon)


def test_python_api_state_files_carry_str_ids_across_forecasters_and_to_predict(gru: tuple,
                                                                               tmp_path: Path) -> None:
    """step() with str ids, save_state, a new Forecaster, load_state: it went on from a fresh state (the file
    gives ids back as bytes, as predict reads them), silently, 178 of 374 forecasts off by up to 16. Ids are
    text as in a CSV: str and bytes are one id, an integer its str(). predict --state goes on from it too."""
    _, root = gru
    text, _ = interleaved(n=80)
    rows = [ln.split(",") for ln in text.splitlines()[1:]]
    ids, values = [s for s, _ in rows], [float(v) for _, v in rows]
    one = Forecaster(root, provider="cpu").step(ids, values)
    first = Forecaster(root, provider="cpu")
    head = first.step(ids[:70], values[:70])
    first.save_state(tmp_path / "api.state")
    second = Forecaster(root, provider="cpu")
    second.load_state(tmp_path / "api.state")
    np.testing.assert_array_equal(np.concatenate([head, second.step(ids[70:], values[70:])]), one)
    lines = text.splitlines(keepends=True)
    r = run_cli(["predict", str(root), "--provider", "cpu", "--state", str(tmp_path / "api.state"),
                 "--warmup", "0"], "".join(lines[:1] + lines[71:]))
    np.testing.assert_allclose(parse_csv(r.stdout)[2], one[70:], atol=1e-6)
    by_number = Forecaster(root, provider="cpu")
    np.testing.assert_array_equal(by_number.step([7, "7", b"7"], [1.0, 2.0, 3.0]),
                                  Forecaster(root, provider="cpu").step(None, [1.0, 2.0, 3.0]))
    for content, said in ((b"", "not a seqinfer state file (not a whole NumPy .npz"),
                          ((tmp_path / "api.state").read_bytes()[:300], "not a seqinfer state file (not a")):
        (tmp_path / "bad.state").write_bytes(content)
        with pytest.raises(ModelError, match=re.escape(f"load_state() {tmp_path / 'bad.state'}: {said}")):
            second.load_state(tmp_path / "bad.state")
        r = run_cli(["predict", str(root), "--provider", "cpu", "--state", str(tmp_path / "bad.state")],
                    text)
        assert r.returncode == 2 and f"--state {tmp_path / 'bad.state'}: {said}" in one_error(r.stderr)
    with pytest.raises(ConfigError, match="no folder"):
        second.save_state(tmp_path / "nodir" / "x.state")
    nowhere = tmp_path / "nodir" / "x.state"
    r = run_cli(["predict", str(root), "--provider", "cpu", "--state", str(nowhere)], text)
    assert r.returncode == 2 and r.stdout == b"" and one_error(r.stderr).endswith(
        f"--state {nowhere}: no folder {tmp_path / 'nodir'}")


def test_calls_over_any_subset_of_the_series_carry_each_ones_state(gru: tuple) -> None:
    """StepStore gathers a call's series with a slice where their slots are consecutive (every series in
    the call) and by index where not: calls over all three series, over the first and last only, over the
    middle one, and all again, each forecast as the series run alone."""
    net, root = gru
    v = {k: [round(float(np.sin(i / 4 + k)) + 3 * k, 4) for i in range(9)] for k in range(3)}
    calls = [[0, 1, 2, 0, 1, 2], [2, 0, 2, 0], [1, 1], [0, 1, 2]]
    taken = {k: 0 for k in v}
    f = Forecaster(root, provider="cpu")
    got: dict[int, list[np.ndarray]] = {k: [] for k in v}
    for ids in calls:
        vals = []
        for k in ids:
            vals.append(v[k][taken[k]])
            taken[k] += 1
        y = f.step([f"s{k}" for k in ids], vals)
        for k, row in zip(ids, y, strict=True):
            got[k].append(row)
    for k in v:
        want = forecast_series(net, np.array(v[k][:taken[k]])[:, None])
        np.testing.assert_allclose(np.array(got[k]), want, atol=1e-5)


def test_a_long_call_cut_into_parts_gives_the_same_forecasts_and_state(gru: tuple) -> None:
    """On CUDA a step call runs at most CUDA_MAX_STEPS steps (cuDNN refused predict's 65,536 steps of one
    series): longer calls are cut along time, rows of other lengths dropping out as they end."""
    from seqinfer.infer.session import CUDA_MAX_STEPS, Model, load_model

    _, root = gru
    whole, cut = load_model(root, "cpu"), load_model(root, "cpu")
    assert whole.max_steps == 0 and cut.max_steps == 0
    assert Model(whole.path, whole.meta, whole.session, "cuda").max_steps == CUDA_MAX_STEPS
    cut.max_steps = 7
    rng = np.random.default_rng(0)
    lens = np.array([30, 3, 14, 7, 1])
    x = rng.standard_normal((len(lens), 30, 1)).astype(np.float32)
    state = [rng.standard_normal(s.shape).astype(s.dtype) for s in
             (np.zeros((5, 1, 8), np.float32), np.zeros((5, 1), np.float32))]
    state[1][4] = np.nan                                             # a series not seen before
    before = [s.copy() for s in state]
    (y0, s0), (y1, s1) = whole.step(x, state, lens), cut.step(x, state, lens)
    valid = np.arange(30)[None, :] < lens[:, None]
    np.testing.assert_allclose(y1[valid], y0[valid], rtol=1e-6, atol=1e-6)
    for a, b in zip(s1, s0, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    for a, b in zip(state, before, strict=True):                      # the caller's arrays are left alone
        np.testing.assert_array_equal(a, b)


def test_an_evicted_series_comes_back_with_a_fresh_state(gru: tuple) -> None:
    """--max-series 2, rows arriving in three bursts: c evicts a; a, back, evicts b and is handed a's old
    slot, which must start from a fresh state, not a's old one."""
    net, root = gru
    a1, b, c, a2 = ([round(float(np.sin(i / 3 + k)) + 5 * k, 4) for i in range(12)] for k in range(4))
    bursts = ["series,value\n" + "".join(f"a,{v}\n" for v in a1) + "".join(f"b,{v}\n" for v in b),
              "".join(f"c,{v}\n" for v in c), "".join(f"a,{v}\n" for v in a2)]
    p = subprocess.Popen([*SEQINFER, "predict", str(root), "--provider", "cpu", "--warmup", "0",
                          "--max-series", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdin is not None
    for burst in bursts:
        p.stdin.write(burst.encode())
        p.stdin.flush()
        time.sleep(0.5)                                  # each burst its own block
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "--max-series: 2 series evicted" in err.decode(), err.decode()
    _, keys, y = parse_csv(out)
    want = np.concatenate([forecast_series(net, np.array(v)[:, None]) for v in (a1, b, c, a2)])
    np.testing.assert_allclose(y, want, atol=1e-5)


def test_the_step_pipeline_lowers_the_switch_interval_while_it_runs_and_restores_it() -> None:
    """A stateful predict runs with a short GIL switch interval (config.STEP_SWITCH_INTERVAL_S) and gives
    the caller's back when it ends, also when a batch failed."""
    import sys

    from seqinfer.infer.config import STEP_SWITCH_INTERVAL_S
    from seqinfer.infer.stream import Done, StepRunner

    before = sys.getswitchinterval()
    assert before != STEP_SWITCH_INTERVAL_S
    written: list[bytes] = []

    def run(item: object) -> object:
        if item == b"bad":
            raise ValueError("bad batch")
        return item

    def write(done: Done) -> None:                     # as Engine._write: a failed batch raises there
        written.append(done.data)
        if done.error is not None:
            raise done.error

    for items, error in (([b"a", b"b"], None), ([b"a", b"bad"], ValueError)):
        runner = StepRunner(run, lambda out: Done(out, 1), write)
        assert sys.getswitchinterval() == pytest.approx(STEP_SWITCH_INTERVAL_S)
        for item in items:
            runner.put(item)
        if error is None:
            runner.close()
        else:
            with pytest.raises(error):
                runner.close()
        assert sys.getswitchinterval() == pytest.approx(before)
    assert written[:3] == [b"a", b"b", b"a"]


def test_a_busy_model_gets_whole_batches_and_the_cores_as_threads(gru: tuple, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows overdue for --max-latency while the model is busy and more input is at hand wait for the next
    read to fill their batch: sent alone, the remnant of each read would wait behind the queued batches
    all the same, then cost a call of its own. And the model's session gets one onnxruntime thread per
    core (at most 4), since its calls run one after another."""
    from seqinfer.infer import session, stream
    from seqinfer.infer.config import PredictConfig
    from seqinfer.infer.stepstate import StepStore

    sizes: list[int] = []
    run_plan = StepStore.run_plan

    def slow(self: StepStore, plan: object) -> object:
        sizes.append(plan.n)                                  # type: ignore[attr-defined]
        time.sleep(0.03)                                      # 3x --max-latency: pending rows go overdue
        return run_plan(self, plan)                           # type: ignore[arg-type]

    threads: list[int | None] = []
    load = session.load_model

    def spy(model: object, provider: str = "auto", n: int | None = None, spin: bool = False) -> object:
        threads.append(n)
        return load(model, provider, n, spin)                 # type: ignore[arg-type]

    monkeypatch.setattr(StepStore, "run_plan", slow)
    monkeypatch.setattr(stream, "load_model", spy)
    monkeypatch.setattr(stream, "default_workers", lambda provider: 2)    # as on a 2-core machine
    n, batch = 150_000, 20_000                                # 1 MB reads of ~95,000 rows each
    data = tmp_path / "two.csv"
    data.write_text("series,value\n" + "".join(f"{'ab'[i % 2]},{i % 97 / 97:.6f}\n" for i in range(n)))
    with open(os.devnull, "wb") as out:
        summary = stream.predict(gru[1], PredictConfig(batch_size=batch, provider="cpu", warmup=0), data, out,
                                 lambda _: None)
    assert summary.forecasts == n
    assert sizes == [batch] * (n // batch) + [n % batch], sizes
    assert threads == [None, 2]                               # opened, then again with the cores


def test_provider_auto_runs_the_cpu_and_says_so_for_windowed_and_stateful_models(gru: tuple, lstm) -> None:  # noqa: ANN001
    """--provider auto is the CPU (AUTO_PROVIDER: CUDA ran every model seqinfer trains slower), said on
    stderr in the same words for a stateful model (whose session is opened again with a thread per core) as
    for a windowed one, with the option that runs CUDA."""
    rows = "series,value\n" + "".join(f"a,{i / 10}\n" for i in range(40))
    said = []
    for model in (lstm.dir, gru[1]):
        r = run_cli(["predict", str(model), "--provider", "auto"], rows)
        assert r.returncode == 0, r.stderr
        said.append(r.stderr.decode().splitlines()[0])
    assert said[0].startswith("seqinfer: provider: CPU (auto") and "--provider cuda" in said[0], said
    assert said[1] == said[0], said


def test_evaluate_backtests_a_stateful_model_from_each_series_first_row(gru: tuple, tmp_path: Path) -> None:
    """`seqinfer evaluate` on a stateful model: every row of a series runs in order with its state carried,
    and each row past the warm-up whose next HORIZON values are in the file is an origin, scored against
    eager PyTorch over the whole series. (It was an error naming step().)"""
    from seqinfer.infer.backtest import evaluate
    from seqinfer.infer.config import ColumnSpec

    net, root = gru
    text, meant = interleaved(200, seed=5)
    (tmp_path / "d.csv").write_text(text)
    bt = evaluate(root, tmp_path / "d.csv", ColumnSpec(), provider="cpu")
    first = max(WARMUP, (bt.season or 1) - 1)          # the seasonal naive's history too: the same origins
    want, truth = [], []
    for rows in meant.values():
        v = np.array([x for _, x in rows], np.float64)
        y = forecast_series(net, v[:, None])
        for t in range(first, len(v) - HORIZON):
            want.append(y[t])
            truth.append(v[t + 1:t + 1 + HORIZON])
    err = np.array(want) - np.array(truth)
    assert bt.origins == len(want)
    assert np.isclose(bt.overall["model"]["mse"], float(np.mean(err ** 2)), rtol=1e-5)
    assert np.isclose(bt.steps[0]["model"]["mae"], float(np.mean(np.abs(err[:, 0]))), rtol=1e-5)
    r = run_cli(["evaluate", str(root), "--input", str(tmp_path / "d.csv"), "--provider", "cpu"], "")
    assert r.returncode == 0 and "The model " in r.stdout.decode(), r.stderr.decode()
