"""The Diebold-Mariano test behind comparison.md's "is the difference real?" section."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from seqinfer.trainer.significance import comparisons, diebold_mariano, verdict


@pytest.mark.parametrize("n", [3, 8, 150])
def test_horizon_one_is_the_paired_t_test(n: int) -> None:
    """Against scipy's paired t test: its Student t tail (infer/significance.t_sf, scipy-free so that an
    inference-only install's evaluate has it) at few and many degrees of freedom."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(n, 1))
    a, b = truth + rng.normal(0, 1.0, truth.shape), truth + rng.normal(0, 1.2, truth.shape)
    dm = diebold_mariano(a, b, truth)
    t = stats.ttest_rel(((a - truth) ** 2)[:, 0], ((b - truth) ** 2)[:, 0])
    assert dm["stat"] == pytest.approx(t.statistic, rel=1e-9) and dm["p"] == pytest.approx(t.pvalue, rel=1e-9)
    assert dm["n"] == n


def test_a_clearly_better_forecast_is_called_better_and_noise_is_not() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(200, 3))
    good, bad = truth + rng.normal(0, 0.5, truth.shape), truth + rng.normal(0, 1.0, truth.shape)
    assert verdict(diebold_mariano(good, bad, truth)) == "better"
    assert verdict(diebold_mariano(bad, good, truth)) == "worse"
    twin = truth + rng.normal(0, 0.5, truth.shape)                         # as good, other noise
    assert verdict(diebold_mariano(good, twin, truth)) == "no significant difference"
    same = diebold_mariano(good, good, truth)
    assert same["stat"] == 0 and same["p"] == 1


def test_overlapping_multi_step_errors_widen_the_test() -> None:
    """h-step forecasts share shocks, so their loss differences are autocorrelated: the long-run variance
    (lags up to h - 1) must make the test less sure than one that treats origins as independent."""
    rng = np.random.default_rng(2)
    h, n = 6, 300
    shock = rng.normal(size=n + h)
    d_series = np.convolve(shock, np.ones(h), "valid")[:n]                # MA(h-1): overlapping windows
    truth = np.zeros((n, h))
    a = np.sqrt(np.clip(1.3 + 0.25 * d_series, 0, None))[:, None] * np.ones((1, h))
    b = np.ones((n, h))
    dm = diebold_mariano(a, b, truth)
    t = stats.ttest_rel(np.mean(a**2, 1), np.mean(b**2, 1))
    assert abs(dm["stat"]) < 0.7 * abs(t.statistic) and dm["p"] > t.pvalue


def test_comparisons_pair_each_stateful_model_with_its_windowed_twin() -> None:
    truth = np.linspace(0, 1, 40)[:, None]
    preds = {"gru": truth + 0.1, "gru-stateful": truth + 0.05, "lstm-stateful": truth - 0.2}
    results = [{"name": n} for n in preds]
    naive = truth + 0.3
    rows = comparisons(results, preds, truth, naive)
    assert [(r["model"], r["against"]) for r in rows] == [
        ("gru", "naive"), ("gru-stateful", "naive"), ("lstm-stateful", "naive"), ("gru-stateful", "gru")]
    assert rows[3]["mse_ratio"] == pytest.approx(0.25) and rows[0]["mse_ratio"] == pytest.approx(1 / 9)
