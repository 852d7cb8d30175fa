"""The one family of user errors: the CLI prints `str(err)` as one line on stderr and exits 2."""
from __future__ import annotations

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class SeqinferError(Exception):
    """A problem the user can fix (bad input, wrong model, failed parity). Anything else is a bug."""

    exit_code = EXIT_USER_ERROR


class ConfigError(SeqinferError):
    """A configuration value is out of range; the message names the field (`field`: a config's own name of
    it, data.window, which the CLI says as its option, --window)."""

    def __init__(self, what: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {what}" if field else what)
        self.what, self.field = what, field


class DataError(SeqinferError):
    """Bad input data. `where` is 'file:line[:column]' so the user can jump straight to it."""

    def __init__(self, what: str, *, source: str = "<stdin>", line: int | None = None,
                 column: int | str | None = None) -> None:
        self.what, self.source, self.line, self.column = what, source, line, column
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {what}")

    def __reduce__(self) -> tuple:
        """Pickled as its parts (a Dask worker's error reaches the client intact, not re-prefixed)."""
        return (_data_error, (self.what, self.source, self.line, self.column))


def _data_error(what: str, source: str, line: int | None, column: int | str | None) -> DataError:
    return DataError(what, source=source, line=line, column=column)


class ModelError(SeqinferError):
    """A model file or checkpoint that is missing, corrupt, or not a seqinfer model."""


class ParityError(SeqinferError):
    """Exported model disagrees with the PyTorch reference beyond tolerance."""


class ProviderError(SeqinferError):
    """An execution provider that was asked for explicitly cannot run here."""
