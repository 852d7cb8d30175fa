"""The forecasting-quality series: synthetic shapes users bring (trend, season, level shift, exponential
growth, random walk) and real public series shipped inside statsmodels, written as CSV files the way a
user would export them.

    python -m bench.series bench/data/series      # writes one CSV per series and prints the list

Each entry names the column to read and a window that fits the series (a season or two of history).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SeriesSpec:
    name: str
    file: str
    value_col: str
    window: int
    what: str
    fill: str = ""           # a --fill the file needs (CO2 has gaps)
    beatable: bool = True    # False: naive is the optimal forecast here (a random walk), nothing beats it
    sine: tuple[str, ...] = ()   # no file: the built-in sine, with these options

    def args(self, data_dir: Path) -> list[str]:
        """`seqinfer train`'s data options for this series."""
        if not self.file:
            return list(self.sine)
        return ["--data", str(data_dir / self.file), "--value-col", self.value_col,
                "--window", str(self.window)] + (["--fill", self.fill] if self.fill else [])


def _write(path: Path, header: str, rows: list[str]) -> None:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


def synthetic(out: Path) -> list[SeriesSpec]:
    rng = np.random.default_rng(7)
    n, t = 600, np.arange(600)
    months = [str(np.datetime64("1970-01") + int(i)) for i in t]
    season = 3.0 * np.sin(2 * np.pi * t / 12) + 1.5 * np.cos(2 * np.pi * t / 6)
    shapes = {
        "linear_trend": 50 + 0.25 * t + season + rng.normal(0, 1.0, n),
        "exp_trend": 20 * np.exp(t / 200) * (1 + 0.05 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 0.5, n),
        "level_shift": 100 + season + np.where(t > 440, 25.0, 0.0) + np.where(t > 520, -15.0, 0.0)
        + rng.normal(0, 1.0, n),
        "random_walk": 200 + np.cumsum(rng.normal(0.1, 1.0, n)),
    }
    specs = []
    for name, v in shapes.items():
        _write(out / f"{name}.csv", "month,value", [f"{m},{x:.4f}" for m, x in zip(months, v, strict=True)])
        what = f"monthly, synthetic: {name.replace('_', ' ')}"
        specs.append(SeriesSpec(name, f"{name}.csv", "value", 24, what, beatable=name != "random_walk"))
    return specs


def real(out: Path) -> list[SeriesSpec]:
    """Public series that statsmodels ships in its wheel (no download)."""
    import statsmodels.api as sm

    specs = []
    co2 = sm.datasets.co2.load_pandas().data                     # weekly, Mauna Loa, NaNs where missing
    _write(out / "co2.csv", "date,co2", [f"{d:%Y-%m-%d},{'' if np.isnan(v) else f'{v:.1f}'}"
                                         for d, v in zip(co2.index, co2["co2"], strict=True)])
    specs.append(SeriesSpec("co2", "co2.csv", "co2", 52, "weekly CO2 at Mauna Loa, rising, with gaps",
                            fill="interpolate"))
    macro = sm.datasets.macrodata.load_pandas().data
    quarters = [f"{int(y)}Q{int(q)}" for y, q in zip(macro["year"], macro["quarter"], strict=True)]
    for col, what in (("realgdp", "quarterly US real GDP, growing"), ("cpi", "quarterly US CPI, rising")):
        _write(out / f"{col}.csv", f"quarter,{col}",
               [f"{q},{v:.3f}" for q, v in zip(quarters, macro[col], strict=True)])
        specs.append(SeriesSpec(col, f"{col}.csv", col, 8, what))
    sun = sm.datasets.sunspots.load_pandas().data
    _write(out / "sunspots.csv", '"YEAR","SUNACTIVITY"',
           [f'"{int(y)}","{v}"' for y, v in zip(sun["YEAR"], sun["SUNACTIVITY"], strict=True)])
    specs.append(SeriesSpec("sunspots", "sunspots.csv", "SUNACTIVITY", 22, "yearly sunspots, 11-year cycle"))
    nile = sm.datasets.nile.load_pandas().data
    _write(out / "nile.csv", "year,volume", [f"{int(y)},{v}" for y, v in zip(nile["year"], nile["volume"],
                                                                              strict=True)])
    specs.append(SeriesSpec("nile", "nile.csv", "volume", 5, "yearly Nile flow (100 years), level shift"))
    nino = sm.datasets.elnino.load_pandas().data
    rows = [f"{int(r['YEAR'])}-{m + 1:02d},{r.iloc[m + 1]}" for _, r in nino.iterrows() for m in range(12)]
    _write(out / "elnino.csv", "month,temp", rows)
    specs.append(SeriesSpec("elnino", "elnino.csv", "temp", 24, "monthly Pacific sea temperature, seasonal"))
    return specs


def sines() -> list[SeriesSpec]:
    """The built-in sine, clean and with noise (sigma 0.1 on an amplitude of 1): the stateful issue's
    yardstick beside the trending series."""
    return [SeriesSpec("sine", "", "", 80, "built-in sine (the default data)"),
            SeriesSpec("noisy_sine", "", "", 80, "built-in sine, Gaussian noise sigma 0.1",
                       sine=("--noise", "0.1"))]


def write_all(out: str | Path) -> list[SeriesSpec]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return synthetic(out) + real(out)


if __name__ == "__main__":
    for s in write_all(sys.argv[1] if len(sys.argv) > 1 else "bench/data/series"):
        fill = f"--fill {s.fill}" if s.fill else ""
        print(f"{s.name:<14} {s.file:<18} --value-col {s.value_col:<12} --window {s.window:<3} {fill:<18} "
              f"{s.what}")
