"""What each CSV column is (value, series id, time, kept, ignored): decided once, by one set of rules, for
`seqinfer train`, `seqinfer predict` and the Python API alike.

    from seqinfer.infer.columns import ColumnSpec, resolve
    cols = resolve([["date", "co2"], ["19580329", "315.71"]], ColumnSpec(), features=1, source="co2.csv")
    cols.describe()   # 'value=co2, time=date (passed through), series=none (header: line 1)'

The rules, in order (README "Your CSV file"):
1. Header (`--header auto`): line 1 is a header when one of its fields does not fit its column below: not a
   number where the lines below hold numbers, or not a date where they hold dates, or line 1's first field
   is empty over a full column of numbers or dates (pandas' unnamed index); with no line below, when
   none of its fields is a number. So a first line `0` (pandas' unnamed Series) is data under auto: say
   `--header yes`. A column named in an option that matches a field of line 1 makes line 1 a header too.
2. A column named in an option (`--value-col`, `--series-col`, `--time-col`, `--keep`) has that role; a
   column is a header name or a 1-based number.
3. A single column is the value.
4. A time column: its header says time (date, time, timestamp, ds, year, ..._at), or its values are dates or
   datetimes (ISO, YYYYMMDD, d/m/y, m/d/y, y/m/d, 1959Q1), or, when that settles which number is the value,
   increasing integers (1700, 1701, ...). Time columns are passed through to the output, never series ids.
5. The series id: a text column (a, store_17; not a TRUE/FALSE flag, nor a note column, blank in some
   rows), or a column whose header says id (series, id, unique_id, ..._id). Two candidates are an
   ambiguity.
6. The value: a header column named `value` (or `y`, `target`), else the numeric columns that are not time,
   as many as the model has features.
7. Anything still ambiguous is a ConfigError that names the columns and the option to add. Columns left
   over are ignored only when the value was named (--value-col, or a header `value`) or when they are
   empty, and the line printed at start says so.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .config import LAYOUTS, ColumnSpec
from .contract import SERIES_COLUMN, join_key
from .errors import ConfigError
from .timecol import MONTH_SHAPE, TimeFormat, detect, is_index_name, is_time_name, with_order

if TYPE_CHECKING:
    from .reader import Dialect

# A cell that holds one of these (case-insensitive, spaces stripped) is a missing value: --fill decides.
# \N: NULL in PostgreSQL COPY and MySQL dumps; ".": FRED's downloads; "-", "--": statistics offices' and
# spreadsheets' tables; "?": the UCI repository's files; "<na>", "#na", "1.#qnan" ...: the rest of pandas'
# read_csv defaults, so a file pandas reads as missing is missing here. None of them is ever a number.
MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "#n/a", "nat", "missing",
                     "\\n", ".", "-", "--", "?", "<na>", "#na", "#n/a n/a", "1.#ind", "-1.#ind", "1.#qnan",
                     "-1.#qnan"})
# A spreadsheet's error values (#DIV/0!, #VALUE!, #REF!, #NAME?, #NUM!, #NULL!, #SPILL!, #CALC!): a formula
# that failed, not a missing value. Named as such when a value column holds one.
SHEET_ERROR = re.compile(r"#[A-Z/0]+[!?]")
SERIES_NAMES = frozenset({"series", "id", "series_id", "unique_id", "item_id", "ts_id", "key"})
VALUE_NAMES = ("value", "y", "target")
BOOLEANS = frozenset({"true", "false", "t", "f", "yes", "no"})   # a flag (holiday: TRUE/FALSE), never an id
# Codes for a missing value that loggers and databases write as numbers; one far outside a value column's
# other values in the first lines is said (Columns.notes).
MISSING_CODES = (-99999.0, -9999.0, -999.0, 9999.0, 99999.0)
SAMPLE_LINES = 50          # lines (header included) the roles are decided from, when that many are at hand
RUNS_MIN_ROWS = 10         # rows of a text column in runs beside a rising time before it is called ambiguous
_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_CLOCK = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")        # a time of day: 9:05, 17:24:00.5
# A spreadsheet's summary row's label where its time would be (Total, Grand total, Subtotal:, Sum, Average):
# left out when a column's time format is decided; parse.py makes the row an error at its line.
SUMMARY = re.compile(r"(grand\s+|sub)?totals?:?|sum:?|average:?|avg:?|mean:?", re.IGNORECASE)
_TIMEISH = re.compile(r"\d{1,2}:\d{2}|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|" + MONTH_SHAPE, re.IGNORECASE)
# A number formatted for reading, not for a program: 1,234.5  12.5%  $1,234.50  (a spreadsheet's cell
# format), or with a decimal comma in quotes: "0,5"  "1.234,5"  "1 234,5" (a space or NBSP for thousands).
_FORMATTED = re.compile(r"^[-+(]?[$€£¥]?\s*[-+]?((\d{1,3}([, \u00a0\u202f]\d{3})+|\d+)(\.\d*)?"
                        r"|(\d{1,3}([. \u00a0\u202f]\d{3})+|\d+),\d+)\s*[%)€]?$")


def is_missing(field: str) -> bool:
    return field.strip().lower() in MISSING


def plain_float(field: str) -> float:
    """float() of a number written in ASCII without `_`: float() also reads `５０`, `٥٠` and `5_0.5`,
    which the bulk parsers (and JavaScript's Number) refuse: one rule for every path. ValueError else."""
    if not field.isascii() or "_" in field:
        raise ValueError(field)
    return float(field)


def is_number(field: str) -> bool:
    """A field that plain_float() reads and that is not a missing-value marker (nan)."""
    if is_missing(field):
        return False
    try:
        plain_float(field)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Columns:
    """The decision: which field of a row holds what."""

    layout: str                      # "series" | "windows"
    nfields: int
    header: tuple[str, ...] | None   # line 1's names, when line 1 is a header
    values: tuple[int, ...]          # 0-based fields holding the numbers, in model feature order
    series: int | None               # field holding the series id (the first, when several name it)
    time: tuple[int, ...]            # time fields, passed through
    keep: tuple[int, ...]            # other fields passed through (--keep)
    ignored: tuple[int, ...]         # fields nobody reads
    gap_col: int | None = None       # the time field read for gap checks
    time_format: TimeFormat | None = None
    notes: tuple[str, ...] = ()      # what the first lines suggest and the options could change (said once)
    series_also: tuple[int, ...] = ()  # further fields of a series' id (--series-col store,item)
    # Ignored columns that hold something (the value was named): a series id among them would explain a time
    # that goes back to its series' start (clocks.Starts), and the error names them.
    unread: tuple[int, ...] = ()
    gap_also: int | None = None      # a time-of-day field read with gap_col's date (Date,Time: a logger's)
    na_codes: tuple[str, ...] = ()   # --na-value: codes the reader emptied, named in a missing value's error

    @property
    def key(self) -> tuple[int, ...]:
        """The fields whose values together name a series: none, one, or several."""
        return ((self.series,) if self.series is not None else ()) + self.series_also

    @property
    def passed(self) -> tuple[int, ...]:
        """Fields copied to the output, in output order: series (each of its fields), time, kept."""
        return self.key + self.time + self.keep

    @property
    def names(self) -> tuple[str, ...]:
        """Output column names of the passed-through fields: a one-field id is `series`; the fields of one
        named by several keep their own names (store, item)."""
        own = tuple(self.header[i] if self.header else f"col{i + 1}"
                    for i in (self.key if self.series_also else ()) + self.time + self.keep)
        return ((SERIES_COLUMN,) if self.series is not None and not self.series_also else ()) + own

    def label(self, i: int) -> str:
        return self.header[i] if self.header and self.header[i] else f"column {i + 1}"

    def name(self, i: int) -> str:
        """For error messages: column 2 ('co2')."""
        return f"column {i + 1}" + (f" ({self.header[i]!r})" if self.header else "")

    def option(self, cols: Sequence[int]) -> str:
        """The columns as an option names them: store,item (header names, else 1-based numbers)."""
        return _option(cols, self.header)

    def describe(self, header_is: str = "line 1") -> str:
        """One line: what seqinfer understood of the file (`header_is`: where its names came from)."""
        if self.layout == "windows":
            parts = [f"layout=windows ({len(self.values)} values per row)"]
        else:
            parts = ["value=" + ",".join(self.label(i) for i in self.values)]
        if self.time:
            fmt = f", {self.time_format.name}" if self.time_format else ""
            if self.gap_col is not None:
                both = f"+{self.label(self.gap_also)}" if self.gap_also is not None else ""
                gaps = f"; gaps read in {self.label(self.gap_col)}{both}" if len(self.time) > 1 else ""
            elif self.time_format is not None and not self.time_format.gap_check:
                gaps = "; not read for gaps: --date-order dmy or mdy reads them"
            else:
                gaps = "; not read for gaps"
            names = ",".join(self.label(i) for i in self.time)
            parts.append(f"time={names} (passed through{fmt}{gaps})")
        else:
            parts.append("time=none")
        parts.append("series=" + ("+".join(self.label(i) for i in self.key) if self.key else "none"))
        if self.keep:
            parts.append("kept=" + ",".join(self.label(i) for i in self.keep))
        if self.ignored:
            parts.append("ignored=" + ",".join(self.label(i) for i in self.ignored))
        return ", ".join(parts) + f" (header: {header_is if self.header else 'none'})"


# --- the decision -------------------------------------------------------------------------------------------
def numeric(cells: Sequence[str]) -> bool:
    """Most of the cells that are not missing are numbers (a stray bad value is reported on its line)."""
    vals = [c for c in cells if not is_missing(c)]
    return bool(vals) and 2 * sum(is_number(c) for c in vals) > len(vals)


def looks_like_header(first: Sequence[str], below: Sequence[Sequence[str]]) -> bool:
    """Rule 1: a field of line 1 does not fit its column below: not a number over numbers, or not a date
    over dates (`date,0` over `2020-01-01,1.5` is pandas' header for a Series with a dated index)."""
    if not below:
        return not any(is_number(f) for f in first) and not all(is_missing(f) for f in first)
    keys = [r[0] for r in below]
    if len(first) > 1 and first[0] == "" and not any(is_missing(c) for c in keys) \
            and (numeric(keys) or detect(keys) is not None):
        return True      # pandas' unnamed index over its row keys: Series.to_csv() writes `,0`
    for j, f in enumerate(first):
        if is_missing(f):
            continue
        cells = [r[j] for r in below if not is_missing(r[j])]
        if not cells:
            continue
        if numeric(cells):
            if not is_number(f):
                return True
        elif detect(cells) is not None and detect([f, *cells]) is None:
            return True
    return False


def _match(spec: str, header: Sequence[str] | None) -> int | None:
    """A header name: exact, else the one case-insensitive match."""
    if header is None:
        return None
    names = [h.strip() for h in header]
    if spec in names:
        return names.index(spec)
    low = [i for i, h in enumerate(names) if h.lower() == spec.strip().lower()]
    return low[0] if len(low) == 1 else None


def _option(cols: Sequence[int], header: Sequence[str] | None) -> str:
    """How an option names these columns: store,item (header names, else 1-based numbers)."""
    def name(j: int) -> str:
        h = header[j].strip() if header else ""
        return h if h and "," not in h and not h.isdigit() else str(j + 1)
    return ",".join(name(j) for j in cols)


def _one_name_each(header: Sequence[str], named: list[str], spec: ColumnSpec, taken: list[int],
                   source: str) -> None:
    """A header name twice (`time,value,value`, two sheets pasted side by side), where an option names it or
    a rule would read it by its name (value, an id, a time) and the options do not place both columns by
    number: which column is meant cannot be told."""
    names = [h.strip() for h in header]
    for name in dict.fromkeys(n for n in names if n and names.count(n) > 1):
        at = [i + 1 for i, n in enumerate(names) if n == name]
        low = name.lower()
        ruled = (not spec.value_col and low in VALUE_NAMES) or (spec.time_col is None and is_time_name(name))
        ruled = ruled or (spec.series_col is None and low in SERIES_NAMES)
        if name in named or ruled and not all(i - 1 in taken for i in at):
            both = " and ".join(map(str, at))
            raise ConfigError(f"{source}: the header names {name!r} twice (columns {both}): rename one, or "
                              f"give columns by number (--value-col {at[-1]}, --keep {at[0]})")


def _column(spec: str, header: Sequence[str] | None, nfields: int, option: str, source: str) -> int:
    """A column given by header name or by 1-based number -> 0-based index."""
    i = _match(spec, header)
    if i is not None:
        return i
    if spec.strip().isdigit():
        if 1 <= int(spec) <= nfields:
            return int(spec) - 1
        raise ConfigError(f"{source}: {option} {spec}: there are only {nfields} column(s)")
    if header is None:
        raise ConfigError(f"{source}: {option} {spec!r}: line 1 is not a header (it reads as data); give a "
                          f"1-based column number, or --header yes")
    raise ConfigError(f"{source}: {option} {spec!r}: no such column (the header has "
                      f"{', '.join(h.strip() for h in header)})")


def _kind(cells: list[str]) -> tuple[str, TimeFormat | None]:
    """'empty' | 'number' | 'date' | 'text' for a column's sample cells, and its time format if any."""
    vals = [c for c in cells if not is_missing(c)]
    if not vals:
        return "empty", None
    if numeric(vals):
        return "number", detect([v for v in vals if is_number(v)])     # YYYYMMDD integers, else None
    fmt = detect([v for v in vals if not SUMMARY.fullmatch(v.strip())] or vals)
    return ("date", fmt) if fmt is not None else ("text", None)


def _new_every_row(j: int, ids: list[str], times: list[list[str]], shown: Callable[[Sequence[int]], str],
                   header: Sequence[str] | None, source: str) -> None:
    """A text column taken for the series id with a new value on every one of over RUNS_MIN_ROWS rows, and
    no time column repeating a time (series interleaved, the first lines one time's series): not an id,
    which repeats. Dates in a form not read (2024年1月1日 under `when`) made one series a row, and no
    forecast at all, with exit 0. An error naming both readings."""
    vals = [c.strip() for c in ids]
    if len(vals) <= RUNS_MIN_ROWS or len(set(vals)) < len(vals):
        return
    if any(len({c.strip() for c in t}) < len(t) for t in times):
        return
    name = header[j].strip() if header else str(j + 1)
    raise ConfigError(f"{source}: column {shown([j])} is text new on every row ({vals[0]!r}, {vals[1]!r}, "
                      f"...): a series id repeats. A time in a form seqinfer does not read? --time-col "
                      f"{name} (passed through, not checked for gaps), or --keep {name}; --series-col "
                      f"{name} if each row is a series of its own")


def _timeish(cells: list[str]) -> bool:
    """Every cell has a clock time (1:00, 13:00:00) or a date's shape (3/1/24, 01.03.24, Mar-24): a time in
    a form timecol.py does not read (a two-digit year), not text ids."""
    vals = [c for c in cells if not is_missing(c)]
    return bool(vals) and all(_TIMEISH.search(v) for v in vals)


def _flags(cells: list[str]) -> bool:
    """A column of TRUE/FALSE (yes/no, PostgreSQL's t/f): a flag beside the value, not a series id."""
    vals = [c.strip().lower() for c in cells if not is_missing(c)]
    return bool(vals) and all(v in BOOLEANS for v in vals)


def _formatted(cells: list[str]) -> str | None:
    """The first cell of a column of numbers formatted for reading (1,234.5  12.5%  $5), else None."""
    cell = next((c.strip() for c in cells if not is_number(c) and not is_missing(c)), "")
    return cell if _FORMATTED.match(cell) else None


def _steps_one_way(values: Sequence[float], groups: list[str] | None, rising: bool) -> int | None:
    """How many row-to-row steps within the series (each group) rise strictly (`rising`: when every one
    does) or fall (when none rises: a repeated time, a download's doubled row, counts as neither); None
    otherwise."""
    last: dict[str, float] = {}
    steps = 0
    for i, v in enumerate(values):
        key = groups[i] if groups is not None else ""
        if key in last:
            d = v - last[key]
            if (d <= 0) if rising else (d > 0):
                return None
            steps += d != 0
        last[key] = v
    return steps


def _increasing_ints(cells: list[str], groups: list[str] | None) -> bool:
    """Integers rising strictly from row to row (within each series, when there is a series column)."""
    if not cells or not all(_INT.match(c) for c in cells):
        return False
    return bool(_steps_one_way([int(c) for c in cells], groups, rising=True))


def resolve(lines: Sequence[Sequence[str]], spec: ColumnSpec, *, features: int | None = None,
            window: int | None = None, layout: str = "series", source: str = "<stdin>",
            sorts: bool = False, names: Sequence[str] = ()) -> Columns:
    """Decide header and column roles from the first lines and the options: lines[i] is line i + 1, a
    blank or bad line an empty list (parse.sample).

    `sorts`: the reader sorts each series by time (a whole file, table.py); else a file whose times fall
    from row to row (newest first) is an error, as a stream forecasts in input order.

    `features`: the values per step the model takes (None: as many as --value-col names, else 1).
    `layout`: series | windows | auto (windows when the numeric columns make exactly one window per row).
    `names`: the model's value columns as its training file's header named them (ModelMeta.value_names):
    without --value-col, a header holding them all gives the values, in the model's order; a model of
    several values per step whose names the file lacks is an error, not the file's column order.
    """
    if layout not in LAYOUTS:
        raise ConfigError(f"layout: {layout!r} is not one of {', '.join(LAYOUTS)}")
    numbered, lines = lines, [lines[0], *(r for r in lines[1:] if r)]    # blank and bad lines out
    first = [f.strip() for f in lines[0]]
    n = len(first)
    said = ",".join(lines[0]).strip()
    if said.lower().startswith("sep=") and len(said) == 5:          # Excel's hint: `sep=,` or `sep=;`
        raise ConfigError(f"{source}: line 1 is {said!r}, a spreadsheet's hint naming the separator, not "
                          f"the header: remove it (tail -n +2 FILE)")
    for sep, name, opt in ((";", "';'", "';'"), ("\t", "tabs", "tab"), ("|", "'|'", "'|'")):
        if n == 1 and 2 * sum(sep in ",".join(r) for r in lines) > len(lines):
            above = "" if sep in first[0] else \
                f"; line 1 has no {name}: remove the comment or title lines above the header"
            comma = any(re.search(r"(^|" + re.escape(sep) + r")\s*-?\d+,\d+\s*(" + re.escape(sep) + "|$)",
                                  ",".join(r)) for r in lines[1:])
            decimal = " --decimal ','" if comma else ""
            raise ConfigError(f"{source}: the lines are separated by {name}, not commas: read them with "
                              f"--sep {opt}{decimal}{above}")
    if all(r[0].lstrip().startswith(("{", "[")) for r in lines):          # JSON lines, or a JSON array
        raise ConfigError(f"{source}: this is JSON, not CSV (line 1 starts with {first[0][:1]!r}); seqinfer "
                          f"reads CSV (pandas converts JSON lines: pd.read_json(f, lines=True).to_csv(out, "
                          f"index=False))")
    # A data logger's preamble (`# Logger v1.2`, a title, TOA5's station line) above the header: line 1
    # alone has fewer fields, or more (its rows cannot be read under it: every one would be short).
    below = Counter(len(r) for r in lines[1:]).most_common(1)
    _trailing_commas(lines, first, below[0][0] if below else n, source)
    if below and 2 * below[0][1] >= len(lines) and (
            below[0][0] > n and (n == 1 or first[0].startswith("#")) or below[0][0] < n):
        if first[0] == "TOA5":
            raise ConfigError(f"{source}: a Campbell Scientific TOA5 file: line 1 describes the logger, line "
                              f"2 names the columns, lines 3 and 4 give units and processing: keep the "
                              f"names and the data (sed '1d;3,4d' FILE)")
        k = next(i for i, r in enumerate(numbered) if len(r) == below[0][0]) + 1  # the first full line
        raise ConfigError(f"{source}: line 1 has {n} field(s), the lines below {below[0][0]}: comment or "
                          f"title lines above the header? remove them (grep -v '^#' FILE, or tail -n +{k} "
                          f"FILE if line {k} is the header)")
    names_below = len(lines) > 2 and len(lines[1]) == n and \
        all(f.strip() and not is_number(f) and not is_missing(f) for f in lines[1])
    if n > 1 and first[0] and not is_number(first[0]) and not any(first[1:]) and names_below and \
            any(map(is_number, lines[2])):
        raise ConfigError(f"{source}: line 1 holds one field and {n - 1} empty one(s) ({said!r}): a title "
                          f"above the header, padded to the sheet's width? remove it (tail -n +2 FILE)")
    if len(lines) > 1 and first[0].startswith("#") and lines[1][0].strip().startswith("#"):
        raise ConfigError(f"{source}: lines 1 and 2 start with '#': annotation or comment lines above the "
                          f"header (InfluxDB's annotated CSV writes them)? remove them (grep -v '^#' FILE)")
    rest = [[f.strip() for f in r] for r in lines[1:] if len(r) == n]
    named = [s for _, specs in spec.options() for s in specs if not s.strip().isdigit()]
    if spec.header == "auto":
        has_header = any(_match(s, first) is not None for s in named) or looks_like_header(first, rest)
    else:
        has_header = spec.header == "yes"
    header = tuple(first) if has_header else None
    data = rest if has_header else [first, *rest]

    def col(s: str, opt: str) -> int:
        return _column(s, header, n, opt, source)

    values = tuple(col(s, "--value-col") for s in spec.value_col)
    by_model = not values and layout != "windows" and bool(names) and header is not None and \
        all(_match(m, header) is not None for m in names)
    if by_model:
        values = tuple(j for m in names if (j := _match(m, header)) is not None)
    elif not values and len(names) > 1 and layout != "windows":
        has = f"this header has {', '.join(h.strip() for h in header)}" if header else "line 1 is no header"
        raise ConfigError(f"{source}: the model takes {len(names)} values per step, trained on the columns "
                          f"{', '.join(names)} in that order (the first is forecast); {has}: name them with "
                          f"--value-col, in that order")
    if values and header is not None and len(names) == len(values) > 1:
        given = [header[j].strip() for j in values]
        if sorted(given) == sorted(names) and given != list(names):     # the model's columns, another order
            raise ConfigError(f"{source}: --value-col {','.join(given)}: the model was trained on "
                              f"{','.join(names)} in that order (the first is forecast); give them so, or "
                              f"leave --value-col out (the header names them)")
    key = tuple(col(s, "--series-col") for s in spec.series_cols())
    series = key[0] if key else None
    time_given = col(spec.time_col, "--time-col") if spec.time_col is not None else None
    keep = tuple(col(s, "--keep") for s in spec.keep)
    taken = [*values, *key, *_opt_i(time_given), *keep]
    if header is not None:
        _one_name_each(header, named, spec, taken, source)
    dup = sorted({i for i in taken if taken.count(i) > 1})
    if dup:
        raise ConfigError(f"{source}: column {dup[0] + 1} is given two roles (--value-col, --series-col, "
                          f"--time-col, --keep each name different columns)")

    cells = [[r[j] for r in data] for j in range(n)]
    kinds = [_kind(c) for c in cells]
    free = [j for j in range(n) if j not in taken]
    hname = (lambda j: header[j].strip().lower()) if header else (lambda j: "")  # noqa: E731

    def shown(cols: Sequence[int]) -> str:
        return ", ".join(f"{j + 1} ({header[j]!r})" if header else str(j + 1) for j in cols)

    # Rule 4, strong signs: the header says time, or the values are dates. An unnamed column is pandas'
    # index only when it holds numbers or dates: a spreadsheet's trailing `,,` columns are empty (ignored),
    # and an unnamed level of text (`,,value` `a,2020-01-01,1.5`) is the series id. The index comes first:
    # an unnamed column after a named one (`date,` over `2020-01-01,5.1`) is an ordinary column.
    def pandas_index(j: int) -> bool:
        return header is not None and all(is_index_name(h) for h in header[:j + 1]) \
            and kinds[j][0] in ("number", "date")

    strong_time = [j for j in free if (header and is_time_name(header[j])) or pandas_index(j)
                   or kinds[j][0] == "date" or kinds[j][1] is not None]
    def row_number(j: int) -> bool:
        """A column named like an id (`id`, `row_id`) counting up row by row (1, 2, 3 ...): a database's row
        key, where a time column has a new time on every row (series interleaved would repeat the times);
        with no time column to tell, an ambiguity."""
        if kinds[j][0] != "number" or len(cells[j]) < 3 or not _increasing_ints(cells[j], None):
            return False
        times = [t for t in strong_time if t != j]
        if not times:
            name = header[j].strip() if header else str(j + 1)
            first = ", ".join(cells[j][:3])
            raise ConfigError(f"{source}: column {shown([j])} counts up by one row by row ({first} "
                              f"...): a row number, or the ids of series one row each so far? --keep {name} "
                              f"reads past it (one series), --series-col {name} makes it the series id")
        return all(len(set(cells[t])) == len(cells[t]) for t in times)

    def in_runs(j: int) -> bool:
        """Text in runs (OK, OK, MAINT, OK) beside a time that rises row by row, in over ten rows: a status
        or note column, or series logged each at its own instants, one far more often than the others? An
        error naming both readings. (Series interleaved repeat the times or change id on most rows; series
        one after another go back in time.)"""
        vals = [c.strip() for c in cells[j]]
        changes = sum(a != b for a, b in zip(vals, vals[1:], strict=False))
        if len(set(vals)) < 2 or len(vals) <= RUNS_MIN_ROWS or 2 * changes >= len(vals) - 1:
            return False
        for t in strong_time:
            fmt = kinds[t][1]
            seconds = fmt.seconds(cells[t]) if t != j and fmt is not None else np.zeros(0)
            if len(seconds) and not np.isnan(seconds).any() and (np.diff(seconds) > 0).all():
                name = header[j].strip() if header else str(j + 1)
                raise ConfigError(f"{source}: column {shown([j])} is text that changes in {changes} of "
                                  f"{len(vals) - 1} rows while the time rises row by row: a status or note "
                                  f"column (--keep {name}: one series), or series logged each at its own "
                                  f"times (--series-col {name})?")
        return False

    def id_named(j: int) -> bool:
        return hname(j) in SERIES_NAMES or hname(j).endswith("_id")

    # A row counter beside the time (as a logger's RECORD): an id-named column that is a row number.
    counters = [j for j in free if j not in strong_time and id_named(j) and row_number(j)] \
        if series is None and n > 1 else []
    # Rule 5: the series id (never the only column: rule 3 makes that the value).
    if series is None and n > 1:
        def id_like(j: int) -> bool:
            if id_named(j):
                return j not in counters
            return kinds[j][0] == "text" and not _flags(cells[j]) and _formatted(cells[j]) is None \
                and all(c.strip() for c in cells[j]) \
                and not in_runs(j)              # a blank id names no series (a note column)

        clock = [j for j in free if j not in strong_time and kinds[j][0] == "text" and _timeish(cells[j])
                 and not id_named(j)]
        if clock:                      # 03/01/24 1:00 PM, Mar-24, 01-MAR-24: never a series id
            example = next(c for c in cells[clock[0]] if not is_missing(c))
            raise ConfigError(f"{source}: column {shown(clock[:1])} looks like a time in a form seqinfer "
                              f"does not read ({example.strip()!r}): name it with --time-col (passed "
                              f"through, not checked for gaps), or with --series-col if it is an id")
        ids = [j for j in free if j not in strong_time and id_like(j)]
        if len(ids) > 1:
            both = (f"; or is a series named by {'both' if len(ids) == 2 else 'several'} (an item in a "
                    f"store)? name them all: --series-col {_option(ids, header)}")
            raise ConfigError(f"{source}: columns {shown(ids)} could each be the series id: name it with "
                              f"--series-col (and pass others through with --keep){both}")
        series = ids[0] if ids else None
        if series is not None and not id_named(series):
            _new_every_row(series, cells[series], [cells[t] for t in strong_time], shown, header, source)
        key = (series,) if series is not None else ()
    groups = [join_key([f.strip() for f in fs]) for fs in zip(*(cells[j] for j in key), strict=True)] \
        if key else None
    free = [j for j in free if j not in key]

    def formatted(j: int) -> None:
        """A column of 1,234.5 or 12.5% or $5: say so, rather than that it holds text."""
        cell = _formatted(cells[j])
        if cell is not None:
            at = next((f" (line {i + 1})" for i, r in enumerate(numbered)
                       if len(r) > j and r[j].strip() == cell), "")
            what = f"{source}: column {shown([j])} holds {cell.strip()!r}{at}, not a plain number"
            mark = grouped_by(cell.strip(), spec.decimal)
            if mark is not None:          # 1,234.5: a thousands separator, which --thousands reads
                grouped = cell.strip().strip('"')
                raise ConfigError(f"{what}: {mark!r} groups its thousands? --thousands {mark!r} reads it "
                                  f"({grouped.replace(mark, '')})")
            if spec.decimal == ",":       # --decimal ',' read the decimal commas: what is left is the rest
                raise ConfigError(f"{what} (thousands separators, % and currency signs are not read): export "
                                  f"plain numbers (a spreadsheet: Number format, no 1000 separator)")
            raise ConfigError(f"{what} (decimal commas, thousands separators, % and currency signs are "
                              f"not read): export plain numbers (a spreadsheet: Number format, no 1000 "
                              f"separator, '.' as the decimal point)")

    want = features or max(1, len(values))
    weak_time: list[int] = list(counters)
    if not values:
        cands = [j for j in free if j not in (*strong_time, *counters) and kinds[j][0] == "number"] or \
            [j for j in free if j not in strong_time and kinds[j][0] == "empty"]
        if not cands:
            for j in free:
                formatted(j)
        if n == 1:
            cands, strong_time = [0], []
        win = (window or 0) * want
        if layout == "auto":
            layout = "windows" if win > want and len(cands) == win else "series"
        if layout == "windows":
            if len(cands) != win:
                raise ConfigError(f"{source}: {len(cands)} numeric column(s) per row, but a window is "
                                  f"{window} steps x {want} feature(s) = {win} values (see --window, --keep)")
            values = tuple(cands)
        else:
            values = tuple(_pick_values(cands, want, header, kinds, cells, groups, weak_time, shown, source))
    elif layout == "auto":
        layout = "series"
    if layout == "series" and len(values) != want:
        raise ConfigError(f"{source}: --value-col: the model takes {want} value(s) per step, "
                          f"{len(values)} column(s) given")
    for j in values:
        if kinds[j][0] in ("text", "date"):
            formatted(j)
            bad = next(c for c in cells[j] if not is_number(c) and not is_missing(c))
            raise ConfigError(f"{source}: the value column {shown([j])} holds text ({bad!r}); choose the "
                              f"value column with --value-col")
    free = [j for j in free if j not in values]
    if time_given is not None:
        time = (time_given,) + tuple(j for j in free if j in strong_time)
        gap_col: int | None = time_given
        dated = [time_given]
    else:
        time = tuple(j for j in free if j in strong_time or j in weak_time)
        dated = [j for j in time if not pandas_index(j)] if len(time) > 1 else list(time)  # not a row key
        if len(dated) > 1 and sum(j in strong_time for j in dated) == 1:   # a row counter beside dates
            dated = [j for j in dated if j in strong_time]                   # (a logger's RECORD, `#`)
        gap_col = dated[0] if len(dated) == 1 else None
    pair = list(time) if time_given is not None else dated      # --time-col Date beside a Time column too
    gap_also = _clock_beside_date(pair, cells, kinds) if len(pair) == 2 else None
    if gap_also is not None:                       # Date,Time: the date's column, then its time of day
        gap_col = next(j for j in pair if j != gap_also)
    free = [j for j in free if j not in time]
    chosen = bool(spec.value_col) or by_model or (header is not None and len(values) == 1
                                                  and header[values[0]].strip().lower() in VALUE_NAMES)
    left = [j for j in free if kinds[j][0] != "empty"]
    if left and not chosen:
        what = "text" if all(kinds[j][0] in ("text", "date") for j in left) else \
            "numbers too" if all(kinds[j][0] == "number" for j in left) else None
        one = len(left) == 1
        said = (f"{'holds' if one else 'hold'} {what}" if what else
                f"{'is' if one else 'are'} not understood")
        raise ConfigError(f"{source}: {'column' if one else 'columns'} {shown(left)} {said}: pass "
                          f"{'it' if one else 'them'} through with --keep, or name the value with "
                          f"--value-col (then other columns are ignored)")
    fmt = None
    stamps = [] if gap_col is None else cells[gap_col] if gap_also is None else \
        [f"{d.strip()} {t.strip()}" for d, t in zip(cells[gap_col], cells[gap_also], strict=True)]
    if gap_col is not None:
        fmt = detect(stamps) if gap_also is not None else kinds[gap_col][1] or (
            TimeFormat("number") if kinds[gap_col][0] in ("number", "empty") else None)
        if fmt is not None:
            fmt, unreadable = with_order(fmt, spec.date_order, stamps)
            if unreadable is not None:
                at = next((f", line {i + 1}" for i, r in enumerate(numbered)
                           if len(r) > gap_col and r[gap_col] == unreadable), "")
                raise ConfigError(f"{source}: --date-order {spec.date_order}: {unreadable!r} in column "
                                  f"{shown([gap_col])}{at}, has no such month: its dates are "
                                  f"{fmt.name} (leave --date-order auto)")
        if fmt is None or not fmt.gap_check:       # a time written in a form seqinfer does not read
            gap_col = gap_also = None
    if series is None and time_given is None and len(dated) == 1:
        _one_series(cells, dated[0], [j for j in free if kinds[j][0] != "empty"], header, source)
    if gap_col is not None and fmt is not None and not sorts:
        _oldest_first(fmt.seconds(stamps), groups, shown([gap_col]), source)
    notes = tuple(note for j in values if (note := _missing_code(cells[j], numbered, j, shown)) is not None)
    if spec.sep != "," and spec.decimal == "." and not spec.thousands:
        notes += tuple(note for j in values if (note := _grouped(cells[j], j, shown, spec.sep)) is not None)
    return Columns(layout, n, header, values, series, time, keep, tuple(free), gap_col, fmt, notes, key[1:],
                   tuple(j for j in free if kinds[j][0] != "empty"), gap_also, spec.na_values)


def _clock_beside_date(dated: list[int], cells: list[list[str]], kinds: list) -> int | None:
    """Of two time columns, the one holding times of day (13:10, 17:24:00) beside one holding dates: read
    together for gaps, as a logger or the UCI household power file writes them. None otherwise."""
    for clock, date in (dated, dated[::-1]):
        times = [c for c in cells[clock] if not is_missing(c)]
        if times and kinds[date][1] is not None and all(_CLOCK.match(c) for c in times):
            return clock
    return None


def understood(cols: Columns, where: str = "line 1", dialect: Dialect | None = None,
               more: str = "") -> list[str]:
    """What seqinfer understood of a file, for stderr (train, predict, score alike): the columns, how the
    lines were read (--sep, --decimal, --na-value) and `more`, then what the first lines suggest
    (Columns.notes)."""
    how = f"; {dialect.describe()}" if dialect is not None else ""
    return [f"reading {cols.describe(where)}{how}{more}", *cols.notes]


def far_outside(x: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Which of x lie far outside `rest` (at least 3 values): more than 20 times the spread of its middle 90%
    from its median. The one rule for a -9999 that is a missing-value code, in the first lines and later.
    In float64: float32 values near its range overflow in numpy's percentile (a RuntimeWarning)."""
    x, rest = np.asarray(x, np.float64), np.asarray(rest, np.float64)
    rest = rest[np.isfinite(rest)]
    if len(rest) < 3:
        return np.zeros(len(x), bool)
    lo, hi = np.percentile(rest, [5, 95])
    return np.abs(x - np.median(rest)) > 20 * max(hi - lo, 1e-12)


def _missing_code(cells: list[str], numbered: Sequence[Sequence[str]], j: int,
                  shown: Callable[[Sequence[int]], str]) -> str | None:
    """A value column's -9999 (or -999, 9999, ...) far outside its other values in the first lines: a
    logger's or a database's code for a missing value, read as a number unless --na-value says so."""
    x = np.array([float(c) for c in cells if is_number(c)])
    x = x[np.isfinite(x)]                  # `-inf` reads as a number; its line is an error of its own
    code = np.isin(x, MISSING_CODES)
    rest = x[~code]
    if not code.any() or len(rest) < 3:
        return None
    lo, hi = np.percentile(rest, [5, 95])
    first = float(x[code][0])
    if not far_outside(x[code][:1], rest)[0]:
        return None
    line = next((i + 1 for i, r in enumerate(numbered)
                 if len(r) > j and is_number(r[j]) and float(r[j]) == first), None)
    at = f" (line {line})" if line is not None else ""
    return (f"column {shown([j])} holds {first:g}{at}, far outside its other values ({lo:.4g} to {hi:.4g}): "
            f"a missing-value code? --na-value {first:g} reads it as missing")


def _trailing_commas(lines: Sequence[Sequence[str]], first: list[str], most: int, source: str) -> None:
    """A header or rows that end in a separator (`date,value,` over `2024-01-01,5.1`; or the rows so): one
    field more than the others, empty, on every such line. Said as that, not as a title above the header
    or a short row."""
    rows = lines[1:]
    if not rows or abs(most - len(first)) != 1:
        return
    if len(first) == most + 1 and first[-1] == "" and all(len(r) == most for r in rows):
        raise ConfigError(f"{source}: line 1, the header, ends in an empty field ({','.join(first)!r}): one "
                          f"more than the rows below; remove the separator at its end")
    if most == len(first) + 1 and all(len(r) == most and not r[-1].strip() for r in rows):
        raise ConfigError(f"{source}: every row ends in an empty field, one more than the header "
                          f"({','.join(first)!r}): remove the separator at their ends, or name the column "
                          f"in the header")


def grouped_by(cell: str, decimal: str) -> str | None:
    """The mark (',' or '.', not the decimal one) that groups the digits of `cell` by threes before its
    decimal mark (1,234.5; 1.234 under --decimal ','), else None."""
    cell = cell.strip('"').strip()
    for mark in (",", "."):
        if mark != decimal and re.fullmatch(r"[+-]?[1-9]\d{0,2}(?:" + re.escape(mark) + r"\d{3})+(?:" +
                                            re.escape(decimal) + r"\d*)?", cell):
            return mark
    return None


_WHOLE = re.compile(r"[+-]?\d+")


def _grouped(cells: list[str], j: int, shown: Callable[[Sequence[int]], str], sep: str) -> str | None:
    """A value column of a `;` (tab, |) file, read with '.' as the decimal point, whose numbers with a '.'
    all have 3 digits after each, beside whole numbers (1.287 and 991): a spreadsheet's whole numbers with
    a '.' grouping thousands, as a German or Dutch locale writes them, read as 1.287 unless said. Said."""
    vals = [c.strip().strip('"') for c in cells if is_number(c)]
    dotted = [v for v in vals if "." in v]
    whole = [v for v in vals if _WHOLE.fullmatch(v)]
    if not dotted or not whole or not all(grouped_by(v, ",") == "." for v in dotted):
        return None
    name = {"\t": "tab"}.get(sep, repr(sep))
    return (f"column {shown([j])} holds {dotted[0]} beside whole numbers such as {whole[0]}, in a {name} "
            f"file: read with '.' as the decimal point ({float(dotted[0]):g}); if it groups thousands there "
            f"({dotted[0].replace('.', '')}), --decimal , --thousands . reads it so")


def _oldest_first(seconds: np.ndarray, groups: list[str] | None, shown: str, source: str) -> None:
    """Times that fall at every step of every series in the sample (at least three steps): a download
    written newest first. Forecasting it in input order would run the series backwards."""
    if np.isnan(seconds).any():                      # a time that does not read settles nothing
        return
    down = _steps_one_way(seconds.tolist(), groups, rising=False)
    if down is not None and down >= 3:
        raise ConfigError(f"{source}: the times in column {shown} fall from each row to the next (newest "
                          f"first); predict forecasts in input order, oldest first: reverse the rows below "
                          f"the header (head -n 1 FILE; tail -n +2 FILE | tac), or --keep the column to "
                          f"forecast in this order")


def _one_series(cells: list[list[str]], t: int, ignored: list[int], header: tuple[str, ...] | None,
                source: str) -> None:
    """No series column, yet the time repeats in a third of the first rows while an ignored column repeats
    too (`store,date,value`, stores 1 and 2 interleaved): an ambiguity, not one series of mixed rows."""
    stamps = [c for c in cells[t] if not is_missing(c)]
    if len(stamps) < 4 or 3 * (len(stamps) - len(set(stamps))) < len(stamps):
        return
    ids = [j for j in ignored if 2 * len(set(cells[j])) <= len(cells[j])]
    if ids:
        name = (lambda j: header[j].strip() if header else str(j + 1))  # noqa: E731
        raise ConfigError(f"{source}: {name(t)} repeats in many rows, as if several series were "
                          f"interleaved: name the series with --series-col {name(ids[0])}, or say it is one "
                          f"series with --keep {name(ids[0])}")


def _opt_i(i: int | None) -> tuple[int, ...]:
    return (i,) if i is not None else ()


def _pick_values(cands: list[int], want: int, header: tuple[str, ...] | None, kinds: list,
                 cells: list[list[str]], groups: list[str] | None, weak_time: list[int],
                 shown: object, source: str) -> list[int]:
    """Rule 6 (and the weak form of rule 4): the value columns among the numeric candidates."""
    if header is not None and want == 1:
        for name in VALUE_NAMES:
            named = [j for j in cands if header[j].strip().lower() == name]
            if named:
                return named[:1]
    if len(cands) == want:
        return cands
    if len(cands) > want:
        weak = [j for j in cands if kinds[j][0] == "number" and _increasing_ints(cells[j], groups)]
        left = [j for j in cands if j not in weak]
        if weak and len(left) == want:
            weak_time.extend(weak)
            return left
        wide = ("; or one series per column? make the file long first (pandas: "
                "df.melt(id_vars=[the other columns], var_name='series'))") if header and want == 1 else ""
        # Kaggle's date,store,item,sales sorted by store and item: its first lines are one pair's, so the id
        # columns hold one integer each there. Said as a question, not decided.
        ids = [j for j in cands if len({c.strip() for c in cells[j]}) == 1 and _INT.match(cells[j][0])]
        if ids and len(cands) - len(ids) == want:
            rest = [j for j in cands if j not in ids]
            wide = (f"; columns {shown(ids)} hold one integer each in the first lines: series ids? "  # type: ignore[operator]
                    f"--value-col {_option(rest, header)} --series-col {_option(ids, header)}")
        raise ConfigError(f"{source}: columns {shown(cands)} are all numbers; say which "  # type: ignore[operator]
                          f"{'is the value' if want == 1 else f'are the {want} values'} with --value-col "
                          f"(and --time-col or --keep for the others){wide}")
    if not cands:
        raise ConfigError(f"{source}: no numeric column to forecast; name it with --value-col")
    raise ConfigError(f"{source}: the model takes {want} values per step, the file has {len(cands)} "
                      f"numeric column(s) ({shown(cands)}); name them with --value-col")  # type: ignore[operator]
