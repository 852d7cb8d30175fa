"""predict's hot loops in C (infer/_csvfast.c: the output lines, the series-code lookup; infer/_csvread.c:
reading a block's lines), where the install had a C compiler to build them; without, FAST is None and the
callers run their pyarrow / numpy / Python versions, which give the same results, slower. DESCRIPTION says
which, for `seqinfer info`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np


def _load() -> tuple[ModuleType | None, str]:
    try:
        from . import _csvfast  # type: ignore[attr-defined]
    except ImportError as e:
        return None, f"pyarrow and numpy (the C extension was not built: {e})"
    return _csvfast, "C (seqinfer.infer._csvfast)"


FAST, DESCRIPTION = _load()


def lookup(keys: Sequence[Any], index: Mapping[Any, int]) -> tuple[np.ndarray, int]:
    """Each key's int in `index` (int64, -1 where absent) and how many were absent. In C where built: 55 ns
    a key against 124 for the comprehension (65,536 series ids of 10,000, measured in one run)."""
    if FAST is not None and type(keys) is list and isinstance(index, dict):
        out = np.empty(len(keys), np.int64)
        return out, FAST.lookup(keys, index, out)
    get = index.get
    out = np.array([get(k, -1) for k in keys], np.int64)
    return out, int((out < 0).sum())
