"""The tutorial's recorded figures (data, not code): the baseline that issue 5's training target is judged by.

On the 2-core reference machines: 500 fixed epochs, batch 500, hidden 20, lr 1e-3, Adam, default sine.
"""
from __future__ import annotations

from typing import Any

TUTORIAL: dict[str, Any] = {
    "source": "tutorial reference run, 2-core machine (issue 5)",
    "epochs": 500, "batch": 500, "hidden": 20, "lr": 1e-3, "optimizer": "Adam",
    "total_train_s": 237.0,
    "peak_rss_mb": 431.0,
    "per_kind": {
        "rnn": {"train_s": 43.0, "test_mse": 2.5e-7},
        "lstm": {"train_s": 90.0, "test_mse": 1.2e-7},
        "gru": {"train_s": 105.0, "test_mse": 6.3e-7},
    },
}

# Issue 5 targets, in one place so the report and the checks agree.
ORT_OVER_EAGER_BATCH1 = 4.0
PREDICT_ROWS_PER_S = 50_000
PREDICT_OVER_LOOP = 20.0
PREDICT_OVER_MODEL_MAX = 1.5
RSS_MAX_MB = 200.0
RSS_FLAT_RATIO = 1.10          # 10M-row peak within 10% of 1M-row peak counts as flat
P99_OVER_MAX_LATENCY = 2.0
FIRST_FORECAST_S = 0.5
TRAIN_FRACTION = 0.2

# Issue 12 targets: stateful predict end to end on this 2-core machine, and against windowed predict.
STATEFUL_ROWS_PER_S = 1_000_000
STATEFUL_OVER_WINDOWED = 8.0
