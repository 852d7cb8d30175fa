"""predict's hot loops in C (infer/_csvfast.c: the output lines, the series-code lookup; infer/_csvread.c:
reading a block's lines), where the install had a C compiler to build them; without, FAST is None and the
callers run their pyarrow / numpy / Python versions, which give the same results, slower. DESCRIPTION says
which, for `seqinfer info`."""
from __future__ import annotations

from types import ModuleType


def _load() -> tuple[ModuleType | None, str]:
    try:
        from . import _csvfast  # type: ignore[attr-defined]
    except ImportError as e:
        return None, f"pyarrow and numpy (the C extension was not built: {e})"
    return _csvfast, "C (seqinfer.infer._csvfast)"


FAST, DESCRIPTION = _load()
