"""Turn one run's results into the targets table, latest.md and latest.png."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import reference as R
from .gpu import gpu_lines

RUNTIMES = ("torch_eager", "torchscript", "ort_cpu", "seqinfer", "torch_cuda", "ort_cuda")


def _status(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(target: str, measured: str, ok: bool | None) -> None:
        out.append({"target": target, "measured": measured, "status": _status(ok)})

    models = res.get("model", {})
    lstm = models.get("lstm")
    if lstm:
        b1 = next(r for r in lstm["rows"] if r["batch"] == 1)["seqinfer_over_eager"]
        add(f"LSTM: seqinfer (ORT CPU) >= {R.ORT_OVER_EAGER_BATCH1:g}x eager at batch 1", f"{b1:.2f}x",
            b1 >= R.ORT_OVER_EAGER_BATCH1)
    if models:
        worst = min((r["seqinfer_over_eager"], k, r["batch"]) for k, m in models.items() for r in m["rows"])
        add("all kinds: seqinfer (ORT CPU) >= eager at every batch",
            f"min {worst[0]:.2f}x ({worst[1]} batch {worst[2]})", worst[0] >= 1.0)

    e2e = res.get("e2e", {})
    s = e2e.get("series", {})
    p = s.get("predict", {})
    rate = p.get("rows_per_s")
    add(f"predict series stream >= {R.PREDICT_ROWS_PER_S:,} rows/s",
        f"{rate:,.0f} rows/s" if rate else p.get("skipped", "not run"),
        None if rate is None else rate >= R.PREDICT_ROWS_PER_S)
    loop = s.get("torch_loop", {}).get("rows_per_s")
    ratio = rate / loop if rate and loop else None
    add(f"predict >= {R.PREDICT_OVER_LOOP:g}x plain PyTorch loop",
        f"{ratio:.1f}x" if ratio else "predict not measured",
        None if ratio is None else ratio >= R.PREDICT_OVER_LOOP)
    mb = s.get("model_batched", {}).get("time_for_all_s")
    pm = p["wall_s"] / mb if rate and mb else None
    add(f"predict within {R.PREDICT_OVER_MODEL_MAX:g}x of the model's own batched time",
        f"{pm:.2f}x" if pm else "predict not measured",
        None if pm is None else pm <= R.PREDICT_OVER_MODEL_MAX)

    rss = e2e.get("rss", {})
    r1, r10 = rss.get("rss_1m_mb"), rss.get("rss_10m_mb")
    if r1 and r10:
        add(f"peak RSS < {R.RSS_MAX_MB:g} MB and flat 1M -> 10M rows",
            f"{r1:.0f} MB -> {r10:.0f} MB ({rss['rows_big']:,} rows)",
            max(r1, r10) < R.RSS_MAX_MB and r10 <= r1 * R.RSS_FLAT_RATIO)
    else:
        add(f"peak RSS < {R.RSS_MAX_MB:g} MB and flat 1M -> 10M rows", rss.get("skipped", "not run"), None)

    tr = e2e.get("trickle", {})
    ml = e2e.get("max_latency_s")
    if "p99_ms" in tr and ml:
        add(f"trickle p99 < {R.P99_OVER_MAX_LATENCY:g}x --max-latency ({ml * 1e3:g} ms)",
            f"p99 {tr['p99_ms']:.1f} ms", tr["p99_ms"] < R.P99_OVER_MAX_LATENCY * ml * 1e3)
    else:
        why = tr.get("skipped") or ("no --max-latency default in `predict --help`" if not ml else "not run")
        add(f"trickle p99 < {R.P99_OVER_MAX_LATENCY:g}x --max-latency", why, None)

    st = e2e.get("startup", {})
    fs = st.get("first_forecast_s")
    add(f"first forecast < {R.FIRST_FORECAST_S:g} s after process start",
        f"{fs:.3f} s" if fs else st.get("skipped", "not run"),
        None if fs is None else fs < R.FIRST_FORECAST_S)

    t = res.get("training", {})
    tot = t.get("wall_s") if t and "skipped" not in t else None
    lim = t.get("ref_total_train_s", R.TUTORIAL["total_train_s"]) * R.TRAIN_FRACTION
    add(f"`make train`, all kinds, wall <= 1/5 of tutorial ({lim:.1f} s)",
        f"{tot:.1f} s" if tot else t.get("skipped", "not run"), None if tot is None else tot <= lim)
    for row in t.get("rows", []):
        mse = row.get("test_mse")
        add(f"{row['kind']}: test MSE <= tutorial {row['ref_test_mse']:.1e}",
            f"{mse:.2e}" if mse is not None else row.get("skipped", "no test MSE in metrics.json"),
            None if mse is None else mse <= row["ref_test_mse"])
    for row in res.get("seeds", {}).get("rows", []):
        med = row.get("median")
        add(f"{row['kind']}: median test MSE over seeds 0-4 <= tutorial {row['ref_test_mse']:.1e}",
            f"{med:.2e} (spread {row['min']:.1e}-{row['max']:.1e})" if med is not None else "not run",
            None if med is None else med <= row["ref_test_mse"])
    st = res.get("stateful", {})
    for name in ("one series", "10,000 series"):
        sec = st.get(name)
        if not sec:
            continue
        rate, ratio = sec["stateful"].get("rows_per_s"), sec.get("ratio")
        add(f"stateful predict, {name}: >= {R.STATEFUL_ROWS_PER_S:,} rows/s end to end",
            f"{rate:,.0f} rows/s (limit: {sec['limit']})" if rate else
            sec["stateful"].get("skipped", "not run"),
            None if rate is None else rate >= R.STATEFUL_ROWS_PER_S)
        add(f"stateful predict, {name}: >= {R.STATEFUL_OVER_WINDOWED:g}x windowed predict",
            f"{ratio:.1f}x" if ratio else "not run",
            None if ratio is None else ratio >= R.STATEFUL_OVER_WINDOWED)
    if st:
        srss = st.get("rss", {})
        small, big = srss.get("rss_small_mb"), srss.get("rss_big_mb")
        add("stateful predict, one series: peak RSS flat 1M -> 10M rows",
            f"{small:.0f} MB -> {big:.0f} MB ({srss['rows_big']:,} rows)" if small and big else
            srss.get("skipped", srss.get("big", {}).get("skipped", "not run")),
            None if not (small and big) else big <= small * R.RSS_FLAT_RATIO)
    q = res.get("quality", {}).get("rows", [])
    if q:
        beatable = [r for r in q if r.get("beatable", r["series"] != "random_walk")]
        ratios = [(r.get(f"{k}_over_naive"), r["series"], k) for r in beatable
                  for k in ("rnn", "lstm", "gru")]
        weakest = max(((v, s, k) for v, s, k in ratios if v is not None), default=None)
        done = all(v is not None for v, _, _ in ratios)
        add(f"every kind beats naive (test MSE) on the {len(beatable)} trending/seasonal series",
            f"worst {weakest[0]:.3f} of naive ({weakest[2]} on {weakest[1]})" if weakest else "not run",
            None if weakest is None or not done else weakest[0] < 1.0)
        for k in ("rnn", "lstm", "gru"):
            rel = [(r[f"{k}_stateful_over_windowed"], r["series"]) for r in q
                   if r.get(f"{k}_stateful_over_windowed") is not None]
            if not rel:
                continue
            stworst, geo = max(rel), _geomean([v for v, _ in rel])
            worse = [r["series"] for r in q if r.get(f"{k}_stateful_verdict") == "worse"]
            dm = (f"; worse beyond the test's noise (Diebold-Mariano, 5%) on {len(worse)}"
                  + (f" ({', '.join(worse)})" if worse else "")) if any(
                      f"{k}_stateful_verdict" in r for r in q) else ""
            add(f"{k}-stateful: test MSE <= windowed {k}'s on every series",
                f"on {sum(v <= 1 for v, _ in rel)} of {len(rel)}; geomean {geo:.2f}x, "
                f"worst {stworst[0]:.2f}x ({stworst[1]}){dm}", stworst[0] <= 1.0)
    return out


def _geomean(vals: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def _fmt(x: Any, spec: str = ",.0f") -> str:
    return format(x, spec) if isinstance(x, int | float) else "-"


def markdown(res: dict[str, Any]) -> str:
    mi = res["machine"]
    L = [f"# seqinfer benchmarks ({res['started']}, {res['mode']} run, {res['elapsed_s']:.0f} s)", "",
         f"Machine: {mi['cores']} cores ({mi['cpu_model']}), GPU: {mi['gpu'] or 'none'}; "
         f"torch {mi['torch']} ({mi['torch_threads']} threads), onnxruntime {mi['onnxruntime']}, "
         f"numpy {mi['numpy']}, Python {mi['python']}.", "",
         "Ratios are taken within this one run (shared, noisy machines: times drift, ratios hold).", "",
         "## Targets", "", "| target | measured | status |", "|---|---|---|"]
    L += [f"| {t['target']} | {t['measured']} | {t['status']} |" for t in res["targets"]]

    L.append("")
    if "model" in res:
        L += ["## 1. Model throughput (median µs/batch [p10-p90], windows/s)", ""]
        L += ceiling_lines(res)
        L += model_tables(res["model"])
    # a run of some sections (--only) reports those; sections 2-6 come from e2e and training
    L += rest(res) if {"e2e", "training"} & set(res) else later_lines(res) + gpu_lines(res)
    return "\n".join(L)


def ceiling_lines(res: dict[str, Any]) -> list[str]:
    """The machine's own ceiling, and how close the best measured model throughput comes to it."""
    c = res.get("ceiling")
    if not c:
        return []
    mm = c["matmul"]
    L = [f"Machine ceiling: a float32 {mm['n']}x{mm['n']} matrix product in torch on {mm['threads']} threads "
         f"runs at {mm['gflops']:.0f} GFLOP/s. If every FLOP of the gate products ran at that rate:", ""]
    for kind, k in c["kinds"].items():
        best = max((r["runtimes"]["seqinfer"].get("windows_per_s", 0), r["batch"])
                   for r in res.get("model", {}).get(kind, {}).get("rows", []))
        L.append(f"- {kind}: {k['flop_per_window'] / 1e6:.2f} MFLOP per window, ceiling "
                 f"{k['windows_per_s']:,.0f} windows/s; seqinfer's best here {best[0]:,.0f}/s "
                 f"(batch {best[1]}), {best[0] / k['windows_per_s']:.0%} of it.")
    return L + [""]


def model_tables(models: dict[str, Any]) -> list[str]:
    L: list[str] = []
    for kind, m in models.items():
        L += [f"**{kind}** (window {m['window']}; {m['source']})", "",
              "| batch | " + " | ".join(RUNTIMES) + " | seqinfer/eager | ORT/eager | TS/eager |",
              "|---:|" + "---|" * len(RUNTIMES) + "---:|---:|---:|"]
        for r in m["rows"]:
            cells = []
            for rt in RUNTIMES:
                v = r["runtimes"].get(rt, {})
                cells.append(v["skipped"] if "skipped" in v else
                             f"{v['median_us']:,.0f} µs [{v['p10_us']:,.0f}-{v['p90_us']:,.0f}]; "
                             f"{v['windows_per_s']:,.0f}/s")
            L.append(f"| {r['batch']} | " + " | ".join(cells) + f" | {r['seqinfer_over_eager']:.2f}x"
                     f" | {r['ort_over_eager']:.2f}x | {r['ts_over_eager']:.2f}x |")
        L.append("")
    return L


def rest(res: dict[str, Any]) -> list[str]:
    e2e = res.get("e2e", {})
    L = ["## 2. End to end (rows/s; wall; peak RSS of that process)", "",
          "| input | what | rows | rows/s | wall s | peak RSS MB | note |",
          "|---|---|---:|---:|---:|---:|---|"]
    for name in ("series", "windows"):
        sec = e2e.get(name, {})
        for what in ("predict", "cat", "parse", "torch_loop", "model_batched"):
            v = sec.get(what)
            if v is None:
                continue
            rows = v.get("prefix_rows") or v.get("sample_windows") or sec.get("rows")
            rate = v.get("rows_per_s") or v.get("windows_per_s")
            note = v.get("skipped") or v.get("reader") or (
                f"extrapolated from a {rows:,}-row prefix" if v.get("extrapolated") else "") or (
                f"the model alone (seqinfer API, CPU), batch {v['batch']}; all {sec.get('rows'):,} windows: "
                f"{v['time_for_all_s']:.2f} s"
                if what == "model_batched" else "")
            L.append(f"| {name} | {what} | {_fmt(rows)} | {_fmt(rate)} | {_fmt(v.get('wall_s'), '.2f')} | "
                     f"{_fmt(v.get('peak_rss_mb'), '.0f')} | {note} |")
    rss = e2e.get("rss", {})
    tr = e2e.get("trickle", {})
    st = e2e.get("startup", {})
    L += ["", "## 3. Peak RSS by stream length", "",
          f"1M rows: {_fmt(rss.get('rss_1m_mb'), '.0f')} MB; {_fmt(rss.get('rows_big'))} rows: "
          f"{_fmt(rss.get('rss_10m_mb'), '.0f')} MB. {rss.get('skipped', '')}", "",
          "## 4. Trickle latency", "",
          f"{_fmt(tr.get('rate_rows_per_s'))} rows/s for {_fmt(tr.get('seconds'))} s at the default "
          f"--max-latency ({_fmt(e2e.get('max_latency_s'), 'g')} s): p50 {_fmt(tr.get('p50_ms'), '.1f')} ms, "
          f"p99 {_fmt(tr.get('p99_ms'), '.1f')} ms, max {_fmt(tr.get('max_ms'), '.1f')} ms. "
          f"{tr.get('skipped', '')}",
          "", "## 5. Training (`seqinfer train --model all`, run by this benchmark)", "",
          "| kind | train s | tutorial s | test MSE | tutorial MSE | note |", "|---|---:|---:|---:|---:|---|"]
    t = res.get("training", {})
    for r in t.get("rows", []):
        L.append(f"| {r['kind']} | {_fmt(r.get('train_s'), '.1f')} | {r['ref_train_s']:.0f} | "
                 f"{_fmt(r.get('test_mse'), '.2e')} | {r['ref_test_mse']:.1e} | {r.get('skipped', '')} |")
    L += [f"| whole command (wall) | {_fmt(t.get('wall_s'), '.1f')} | {t.get('ref_total_train_s', 0):.0f} "
          "| | | "
          f"peak RSS {_fmt(t.get('peak_rss_mb'), '.0f')} MB (tutorial {t.get('ref_peak_rss_mb', 0):.0f} MB); "
          f"kinds train side by side, so the per-kind seconds overlap. {t.get('skipped', '')} |",
          "", "## 6. Start-up", "",
          f"Process start to first forecast line: {_fmt(st.get('first_forecast_s'), '.3f')} s "
          f"(median of {len(st.get('runs_s', []))}). {st.get('skipped', '')}", ""]
    return L + later_lines(res) + gpu_lines(res)


def later_lines(res: dict[str, Any]) -> list[str]:
    """Sections 9, 10, 7, 8 and 11, in latest.md and in the README's block alike."""
    return (stateful_lines(res) + scoring_lines(res) + quality_lines(res) + seeds_lines(res)
            + stateful_quality_lines(res))


def scoring_lines(res: dict[str, Any]) -> list[str]:
    """Section 10: seqinfer score on 1 and 2 local workers against one predict process, same rows."""
    sc = res.get("scoring", {})
    if not sc:
        return []
    L = [f"## 10. Scoring on Dask: {sc['rows']:,} rows of {sc['series']:,} series in {sc['files']} Parquet "
         "files", "", "| command | wall s | rows/s |", "|---|---:|---:|"]
    for key, label in (("predict", "seqinfer predict (one process, the same rows as one CSV)"),
                       ("score_1", "seqinfer score --workers 1"), ("score_2", "seqinfer score --workers 2")):
        r = sc[key]
        L.append(f"| {label} | {_fmt(r.get('wall_s'), '.1f')} | {_fmt(r.get('rows_per_s'))} |")
    L += ["", f"2 workers over 1: {_fmt(sc.get('scaling_2_over_1'), '.2f')}x. Wall times include starting "
          "the local cluster (a few seconds, once per job).", ""]
    return L


def stateful_lines(res: dict[str, Any]) -> list[str]:
    """Section 9: stateful against windowed predict, and the stateful stages (rows/s each, alone)."""
    st = res.get("stateful", {})
    if not st:
        return []
    L = [f"## 9. Stateful predict ({st['model']}), {st['rows']:,} rows", "",
         "| input | stateful rows/s | windowed rows/s | ratio | peak RSS MB (stateful) | parse | state "
         "| model | format | all stages, every core | limit | LSTM op alone |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for name in ("one series", "10,000 series"):
        sec = st.get(name)
        if not sec:
            continue
        s, w, g = sec["stateful"], sec["windowed"], sec["stages"]
        stages = " | ".join(_fmt(g[k]["rows_per_s"]) for k in ("parse_s", "state_s", "model_s", "format_s"))
        L.append(f"| {name} | {_fmt(s.get('rows_per_s'))} | {_fmt(w.get('rows_per_s'))} | "
                 f"{_fmt(sec.get('ratio'), '.1f')}x | {_fmt(s.get('peak_rss_mb'), '.0f')} | {stages} | "
                 f"{_fmt(sec.get('all_stages_rows_per_s'))} | {sec['limit']} | "
                 f"{_fmt(sec.get('op_ceiling_steps_per_s'))} |")
    timed = st.get("10,000 series, time column")
    if timed:
        s, w = timed["stateful"], timed["windowed"]
        L.append(f"| 10,000 series, time column | {_fmt(s.get('rows_per_s'))} | "
                 f"{_fmt(w.get('rows_per_s'))} | {_fmt(timed.get('ratio'), '.1f')}x | "
                 f"{_fmt(s.get('peak_rss_mb'), '.0f')} | " + " | ".join(["-"] * 7) + " |")
        L += ["", "Time column: the 10,000-series rows with an ISO time before each id "
              "(`2024-01-01T00:00:00Z,s17,0.001257`, every series once an hour), read, checked for gaps per "
              "series and passed through; end to end only."]
    rounds = st.get("rounds", 1)
    if rounds > 1:
        inputs = [n for n in ("one series", "10,000 series", "10,000 series, time column") if n in st]
        runs = [f"{name}, {m}: {_runs(st[name][m])}" for name in inputs for m in ("stateful", "windowed")]
        L += ["", f"End to end: the median of {rounds} runs, the stateful and the windowed model taking "
              "turns (the machine's speed drifts by tens of percent from minute to minute); every run, in "
              "rows/s: " + "; ".join(runs) + "."]
    L += ["",
          "Stages: rows/s of each alone over the whole file (parse: reader and parser; state: the series "
          "bookkeeping; model: gathering the state, onnxruntime, scattering it back; format: the output "
          "CSV; the model with the onnxruntime threads predict gives it, one per core). predict runs them on "
          "three threads: its ceiling is the slowest stage, or all the stages' CPU time shared by every core "
          "(rows x cores / the stages' summed CPU seconds), whichever is lower; "
          "the end-to-end figures also carry the process start (section 6). LSTM op alone: "
          "steps/s of onnxruntime's LSTM operator by itself (hidden 32, predict's threads, no transform or "
          "head) at "
          f"the shapes predict gives it{_op_shapes(st)}, the ceiling of any stateful predict on this "
          "machine.", ""]
    many = st.get("10,000 series", {})
    if many.get("ratio_per_forecast"):
        L += [f"The windowed model forecasts a row once its series has a full window ({st['window']} "
              f"values): on {st['series']:,} series of {st['rows'] // st['series']:,} rows each that is "
              f"{many['windowed_forecasts']:,} of the {st['rows']:,} rows, so its rows/s there counts rows "
              f"it only buffers. The stateful model forecasts every row: per forecast written it is "
              f"{many['ratio_per_forecast']:.1f}x the windowed path (the target above is per row read).", ""]
    cells = st.get("cells", {})
    if cells:
        L += ["The other cells, untrained stand-ins at their stateful default size, end to end (rows/s):", "",
              "| model | one series | 10,000 series |", "|---|---:|---:|"]
        L += [f"| {kind}, hidden {c['hidden']} | {_fmt(c['one series'].get('rows_per_s'))} | "
              f"{_fmt(c['10,000 series'].get('rows_per_s'))} |" for kind, c in cells.items()]
        L.append("")
    srss = st.get("rss", {})
    if srss.get("rss_big_mb"):
        big = srss["big"]
        L += [f"Memory: stateful predict on one series peaks at {srss['rss_small_mb']:.0f} MB over "
              f"{srss['rows_small']:,} rows and {srss['rss_big_mb']:.0f} MB over {srss['rows_big']:,} rows "
              f"({_fmt(big.get('rows_per_s'))} rows/s there, the process start spread over more rows).", ""]
    elif srss.get("skipped"):
        L += [f"Memory over {srss['rows_big']:,} rows: {srss['skipped']}.", ""]
    return L


def _runs(r: dict[str, Any]) -> str:
    """Every run's rows/s, slowest first, in thousands."""
    return ", ".join(f"{x / 1e3:,.0f}K" for x in r.get("runs_rows_per_s", [])) or "-"


def _op_shapes(st: dict[str, Any]) -> str:
    shapes = [f"{name}: batch {sec['op_shape'][0]:,} x {sec['op_shape'][1]:,} steps"
              for name, sec in st.items() if isinstance(sec, dict) and "op_shape" in sec]
    return f" ({'; '.join(shapes)})" if shapes else ""


def quality_lines(res: dict[str, Any]) -> list[str]:
    """Section 7: test MSE over the naive forecast's per series and kind, ETS beside (lower is better)."""
    q = res.get("quality", {}).get("rows", [])
    if not q:
        return []
    L = ["## 7. Forecast quality: test MSE / naive test MSE (below 1 beats \"tomorrow equals today\")", "",
         "Each row is `seqinfer train` as a user runs it: the file, its value column, a window that fits "
         "(bench/series.py); default settings otherwise.", "",
         "| series | what | rnn | lstm | gru | ETS | season |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in q:
        cells = [_ratio(r.get(f"{k}_over_naive"), r.get("ets_over_naive")) for k in ("rnn", "lstm", "gru")]
        ets = _ratio(r.get("ets_over_naive"), None)
        tail = f" | {ets} | {r.get('season') or '-'} |" + (f" {r['skipped']}" if "skipped" in r else "")
        L.append(f"| {r['series']} | {r['what']} | " + " | ".join(cells) + tail)
    L += ["", "**Bold**: ahead of ETS on that series. The random walk is the honest exception: there the "
          "naive forecast is the optimal one, and nothing beats it by more than noise.", ""]
    return L


def stateful_quality_lines(res: dict[str, Any]) -> list[str]:
    """Section 11: each stateful model's test MSE over its windowed twin's, on the quality series."""
    kinds = ("rnn", "lstm", "gru")
    q = [r for r in res.get("quality", {}).get("rows", [])
         if any(r.get(f"{k}_stateful_over_windowed") is not None for k in kinds)]
    if not q:
        return []
    L = ["## 11. Stateful against windowed: test MSE of the stateful model / its windowed twin's (below 1: "
         "stateful better)", "",
         "The same runs as section 7 (`seqinfer train --stateful both`, one seed); in brackets the stateful "
         "model's test MSE / naive's. Marked better or worse: a difference the Diebold-Mariano test on the "
         "test windows' squared errors calls real (two-sided, 5%, comparison.json); unmarked, the test set "
         "cannot tell the two apart.", "",
         "| series | rnn | lstm | gru |", "|---|---:|---:|---:|"]
    for r in q:
        mark = {"better": " better", "worse": " worse"}
        cells = [f"{r[f'{k}_stateful_over_windowed']:.2f}{mark.get(r.get(f'{k}_stateful_verdict', ''), '')} "
                 f"({_fmt(r.get(f'{k}_stateful_over_naive'), '.3g')})"
                 if r.get(f"{k}_stateful_over_windowed") is not None else "-" for k in kinds]
        L.append(f"| {r['series']} | " + " | ".join(cells) + " |")
    rel = [[r[f"{k}_stateful_over_windowed"] for r in q if r.get(f"{k}_stateful_over_windowed") is not None]
           for k in kinds]
    geo = [_geomean(v) if v else None for v in rel]
    L.append("| geometric mean | " + " | ".join(_fmt(g, ".2f") for g in geo) + " |")
    return L + [""]


def _ratio(v: float | None, ets: float | None) -> str:
    if v is None:
        return "-"
    text = f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"              # the clean sine: 1e-7 of naive
    return f"**{text}**" if ets is not None and v < ets else text


def seeds_lines(res: dict[str, Any]) -> list[str]:
    """Section 8: the default sine's test MSE per seed."""
    s = res.get("seeds", {})
    if not s.get("rows"):
        return []
    L = ["## 8. The default sine over seeds (`seqinfer train --model all --seed S`)", "",
         "| kind | " + " | ".join(f"seed {x}" for x in s["seeds"]) + " | median | tutorial |",
         "|---|" + "---:|" * (len(s["seeds"]) + 2)]
    for r in s["rows"]:
        L.append(f"| {r['kind']} | " + " | ".join(_fmt(v, ".2e") for v in r["mse"])
                 + f" | {_fmt(r['median'], '.2e')} | {r['ref_test_mse']:.1e} |")
    return L + [""]


def chart(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = res.get("model", {})
    fig, grid = plt.subplots(1, len(models) + 1, figsize=(5 * (len(models) + 1), 4.2), squeeze=False)
    axes = list(grid[0])
    for ax, (kind, m) in zip(axes, models.items(), strict=False):
        for rt in RUNTIMES:
            pts = [(r["batch"], r["runtimes"][rt]["windows_per_s"]) for r in m["rows"]
                   if "windows_per_s" in r["runtimes"].get(rt, {})]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=rt)
        ax.set(xscale="log", yscale="log", title=f"{kind}: model throughput", xlabel="batch",
               ylabel="windows/s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[-1]
    s = res.get("e2e", {}).get("series", {})
    bars = [(lbl, s.get(k, {}).get("rows_per_s") or s.get(k, {}).get("windows_per_s"))
            for lbl, k in (("cat", "cat"), ("parse", "parse"), ("predict", "predict"),
                           ("model alone\nbatched", "model_batched"), ("PyTorch\nloop", "torch_loop"))]
    bars = [(lbl, v) for lbl, v in bars if v]
    if bars:
        ax.bar([b[0] for b in bars], [b[1] for b in bars], color="tab:blue")
        for i, (_, v) in enumerate(bars):
            ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    if not s.get("predict", {}).get("rows_per_s"):
        why = str(s.get("predict", {}).get("skipped", ""))[:60]
        ax.text(0.5, 0.5, "seqinfer predict: not measured\n" + why,
                transform=ax.transAxes, ha="center", fontsize=8, wrap=True)
    ax.axhline(R.PREDICT_ROWS_PER_S, color="tab:red", ls="--", label="target 50k rows/s")
    ax.set(yscale="log", title=f"series stream, {s.get('rows', 0):,} rows", ylabel="rows/s")
    ax.legend(fontsize=8)
    fig.suptitle(f"seqinfer bench {res['started']} - {res['machine']['cores']} cores, "
                 f"{res['machine']['cpu_model']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def readme_block(res: dict[str, Any]) -> str:
    """The README's figures, written by `make bench` from this run alone (tests check they match the JSON)."""
    mi = res["machine"]
    load = res.get("load_avg", {})
    L = [README_START,
         f"From `make bench` at commit {res.get('commit', '?')}, {res['started']}, {res['elapsed_s']:.0f} s: "
         f"{mi['cores']} cores ({mi['cpu_model']}), GPU: {mi['gpu'] or 'none'}, load average "
         f"{_fmt(load.get('start'), '.1f')} at the start and {_fmt(load.get('end'), '.1f')} at the end; "
         f"torch {mi['torch']}, onnxruntime {mi['onnxruntime']}. Every ratio is taken within that one run. "
         "The whole report is in [bench/results/latest.md](bench/results/latest.md) "
         "(chart: [latest.png](bench/results/latest.png)).", "",
         "| target | measured | status |", "|---|---|---|"]
    L += [f"| {t['target']} | {t['measured']} | {t['status']} |" for t in res["targets"]]
    models = res.get("model", {})
    if models:
        batches = [r["batch"] for r in next(iter(models.values()))["rows"]]
        L += ["", "Model throughput, seqinfer (the Python API on onnxruntime's CPU provider) over PyTorch "
              "eager, same windows, same run:", "",
              "| kind | " + " | ".join(f"batch {b}" for b in batches) + " |",
              "|---|" + "---:|" * len(batches)]
        for kind, m in models.items():
            ratios = (f"{r['seqinfer_over_eager']:.2f}x" for r in m["rows"])
            L.append(f"| {kind} | " + " | ".join(ratios) + " |")
    L += ["", *ceiling_lines(res)][:-1] if res.get("ceiling") else []
    more = later_lines(res)
    if more:                                          # under the README's own "## Figures": smaller headings
        L += [""] + [("###" + ln[2:]) if ln.startswith("## ") else ln for ln in more][:-1]
    L.append(README_END)
    return "\n".join(L)


def update_readme(path: Path, res: dict[str, Any]) -> bool:
    """Replace the block between the markers; False when the README has no markers (nothing written)."""
    text = path.read_text()
    a, b = text.find(README_START), text.find(README_END)
    if a < 0 or b < a:
        return False
    path.write_text(text[:a] + readme_block(res) + text[b + len(README_END):])
    return True

