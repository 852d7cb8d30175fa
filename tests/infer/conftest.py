"""Fixtures for tests/infer; the helpers live in infer_support.py (this folder goes on sys.path)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from infer_support import Fixture, make_model  # noqa: E402


@pytest.fixture(scope="session")
def lstm(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """LSTM, hidden 8, window 16, horizon 2."""
    return make_model(tmp_path_factory.mktemp("lstm"))


@pytest.fixture(scope="session")
def gru2(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """GRU with two features per step, window 6, horizon 1."""
    return make_model(tmp_path_factory.mktemp("gru2"), kind="gru", window=6, horizon=1, features=2)
