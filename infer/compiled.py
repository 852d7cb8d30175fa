"""predict's hot loops in C (infer/_csvfast.c: the output lines, the series-code lookup), where the install
had a C compiler to build them; without, FAST is None and the callers run their numpy / Python versions,
which give the same results, slower. DESCRIPTION says which, for `seqinfer info`."""
from __future__ import annotations

from types import ModuleType


def _load() -> tuple[ModuleType | None, str]:
    try:
        from . import _csvfast  # type: ignore[attr-defined]
    except ImportError as e:
        return None, f"numpy (the C writer was not built: {e})"
    return _csvfast, "C (seqinfer.infer._csvfast)"


FAST, DESCRIPTION = _load()
