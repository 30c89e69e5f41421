"""Printing records and results as table, json, csv, excel or yaml (``--format``).

The default is a table on a terminal and JSON when the output is piped, so scripts get
stable keys without asking. The other formatters (csv, tabulate) are imported when used.

Only the human table is dressed up: money columns get thousands separators and two
decimals, right-aligned, and a totals line sits under a rule without counting as a row.
Its text is shown with control characters escaped (``shown``): a record's text is anyone's
to write, and a terminal would run an ESC sequence in it (colours, a cleared screen, a
window title) or break a row at a newline. JSON, YAML and CSV keep the exact machine values.
CSV is for spreadsheets, so a text cell that a spreadsheet would run as a formula is
defused (OWASP's advice: a leading ``'``); numbers are never touched, so a negative amount
stays a number. CSV starts with a UTF-8 BOM (so Excel reads Chinese text) when it goes to a
new regular file or with ``--format excel``; a pipe gets none, since other programs would
read the BOM as part of the first header.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FORMATS = ("table", "json", "csv", "excel", "yaml")

# Columns (and ``show`` keys) that hold an amount of money, wherever they appear.
MONEY_COLUMNS = frozenset(
    {
        "amount",
        "weighted",
        "received",
        "invoiced",
        "paid",
        "outstanding",
        "overdue",
        "total",
        "current",
        "d1_30",
        "d31_60",
        "d61_90",
        "d90_plus",
        "contract_amount",
        "payments_received",
    }
)
# What spreadsheets read as the start of a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CENT = Decimal("0.01")
BOM = "\ufeff"
# C0 controls, DEL and C1 controls (the 8-bit CSI U+009B among them): what a terminal acts on.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


def money(value: Any) -> str:
    """``1962762.656`` -> ``"1,962,762.66"`` (half up, as people round money)."""
    return f"{Decimal(str(value)).quantize(CENT, ROUND_HALF_UP):,.2f}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: Any, key: str = "", as_money: bool = False, json_bools: bool = False) -> str:
    if value is None:
        return ""
    if as_money and key in MONEY_COLUMNS and _is_number(value):
        return money(value)
    if json_bools and isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_cell(v, key, as_money, json_bools) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v, k, as_money, json_bools)}" for k, v in value.items())
    return str(value)


def shown(text: str) -> str:
    """``text`` for a human table or listing: control characters escaped (``\\x1b``,
    ``\\n``), so that a cell is one line and a terminal runs nothing from a record."""
    return CONTROLS.sub(lambda m: NAMED_CONTROLS.get(m[0]) or f"\\x{ord(m[0]):02x}", text)


def warn_skipped(skipped: Iterable[str]) -> None:
    """One warning per broken record a reading command left out."""
    for each in skipped:
        info(f"warning: skipped {each} (see `salesctl check`)")


def warn_flagged(flagged: Iterable[str]) -> None:
    """One warning per record a reading command shows although it has problems (the
    fields that failed are left out of it)."""
    for each in flagged:
        info(f"warning: {each} (see `salesctl check`)")


def warn_uncommitted(paths: Iterable[str]) -> None:
    """One warning per uncommitted record edit that figures as committed left out."""
    for path in paths:
        info(f"warning: not counted: {path} has uncommitted edits (commit them to count them)")


def csv_cell(value: Any) -> str:
    """A CSV cell no spreadsheet runs as a formula: risky text gets a leading ``'``;
    booleans as JSON writes them (``true``/``false``), never Python's ``True``."""
    text = _cell(value, json_bools=True)
    if _is_number(value):
        return text  # a number (even negative) is data, and must stay one
    if text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS):
        return "'" + text
    return text


def emit(
    data: Any,
    fmt: str | None,
    columns: Sequence[str] = (),
    *,
    money_columns: bool = False,
    totals: dict[str, Any] | None = None,
    counted: tuple[int, str, str] | None = None,
) -> None:
    """Print ``data`` (a dict = one object, a list = rows) in the chosen format.

    ``money_columns`` formats the known money columns of a table; ``totals`` is a line
    printed under a table's rows (tables only: machine formats have no totals line);
    ``counted`` is what a table's footer counts, as (number, singular, plural), when that is
    not its rows (a history entry of several changes takes a row for each).
    """
    warn_skipped(getattr(data, "skipped", ()))
    warn_flagged(getattr(data, "flagged", ()))
    fmt = fmt or default_format()
    out = sys.stdout
    if fmt == "json":
        out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == "yaml":
        from salesctl.yamlio import dumps

        out.write(dumps(yaml_ready(data)))
    elif fmt in ("csv", "excel"):
        _write_csv(data, columns, bom=fmt == "excel" or _stdout_starts_a_file())
    elif isinstance(data, list):
        _write_table(data, columns, money_columns, totals, counted or (len(data), "row", "rows"))
    else:
        width = max((len(shown(str(k))) for k in data), default=0)
        for key, value in data.items():
            label = shown(str(key))
            if isinstance(value, list) and value and isinstance(value[0], dict):
                out.write(f"{label}:\n")
                for item in value:
                    out.write(f"  - {shown(_cell(item, key, money_columns))}\n")
            else:
                out.write(f"{label.ljust(width)}  {shown(_cell(value, key, money_columns))}\n")


def yaml_ready(value: Any, key: str = "") -> Any:
    """``value`` as YAML should carry it: an ISO date or date-time string (as JSON carries
    them) becomes a date again, so YAML writes it unquoted as salesctl's own files do. A
    record's text fields (a company or note that reads like a date) stay text."""
    if isinstance(value, dict):
        return {k: yaml_ready(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [yaml_ready(v, key) for v in value]
    if isinstance(value, str) and key not in _text_fields():
        return _as_date(value)
    return value


def _as_date(text: str) -> Any:
    """The date or date-time ``text`` writes exactly, or ``text`` itself."""
    from salesctl.model import values

    parse = values.iso_date if len(text) == 10 else values.iso_datetime
    if not 10 <= len(text) <= 32 or text[4:5] != "-" or not text[:4].isdigit():
        return text
    try:
        value = parse(text)
    except ValueError:
        return text
    return value if value.isoformat() == text else text


@functools.cache
def _text_fields() -> frozenset[str]:
    """Record fields that are never a date in any kind (names, notes, tags ...)."""
    from salesctl.model import values
    from salesctl.model.kinds import KINDS

    fields = [f for k in KINDS.values() for f in k.fields]
    fields += [c for f in fields for c in f.columns]
    dates = {values.coerce_date, values.coerce_datetime}
    dated = {f.name for f in fields if f.coerce in dates or f.name == "stages"}
    return frozenset(f.name for f in fields) - dated


class EveryField(tuple[str, ...]):
    """A CSV of every field of its rows; these columns are its header when it has none."""


def table_columns(fmt: str | None, columns: Sequence[str]) -> Sequence[str]:
    """A list's chosen columns, for a table only: CSV and the other formats carry every field
    (an empty CSV still has its header row: these columns)."""
    return columns if fmt in (None, "", "table") else EveryField(columns)


def _write_csv(data: Any, columns: Sequence[str], *, bom: bool) -> None:
    import csv
    import io

    rows = data if isinstance(data, list) else [data]
    if isinstance(columns, EveryField):
        keys = _keys(rows) or list(columns)
    else:
        keys = list(columns) or _keys(rows)
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(k) for k in keys])
    for row in rows:
        writer.writerow([csv_cell(row.get(k)) for k in keys])
    sys.stdout.write(buffer.getvalue())


def _write_table(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    money_columns: bool,
    totals: dict[str, Any] | None,
    counted: tuple[int, str, str],
) -> None:
    from tabulate import SEPARATING_LINE, tabulate

    keys = list(columns) or _keys(rows)
    table: list[Any] = [[shown(_cell(row.get(k), k, money_columns)) for k in keys] for row in rows]
    if totals is not None:
        table += [SEPARATING_LINE, [shown(_cell(totals.get(k), k, money_columns)) for k in keys]]
    align = ["right" if money_columns and k in MONEY_COLUMNS else "left" for k in keys]
    headers = [shown(str(k)) for k in keys]
    text = tabulate(
        table, headers=headers, tablefmt="simple", disable_numparse=True, colalign=align
    )
    sys.stdout.write(text + "\n")
    count, one, many = counted
    if count != 1 or totals is not None:  # the totals line is not a row
        sys.stdout.write(f"({count} {one if count == 1 else many})\n")


def _stdout_starts_a_file() -> bool:
    """Is stdout an empty regular file (``> leads.csv``), not a pipe, terminal or ``>>``?"""
    import os
    import stat

    try:
        sys.stdout.flush()
        status = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):  # captured or closed stdout: no file to speak of
        return False
    return stat.S_ISREG(status.st_mode) and status.st_size == 0


def _keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    return keys


def info(message: str) -> None:
    """A human note on stderr (keeps stdout clean for --format json)."""
    sys.stderr.write(message + "\n")


class TerminalProgress:
    """A progress bar on stderr (tqdm), only on a terminal and only for work that has
    already taken a second (like git's): quick commands and pipes stay silent and never
    import tqdm. The store calls it for long work such as an index build or an import
    (``Store.progress``)."""

    def __init__(self, label: str, total: int | None = None) -> None:
        import time

        self.clock = time.monotonic
        self.label, self.total = label, total
        self.started = self.clock()
        self.enabled = sys.stderr.isatty()
        self.bar: Any = None

    def update(self, done: int, total: int | None = None) -> None:
        if not self.enabled or (self.bar is None and self.clock() - self.started < 1.0):
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                desc=self.label, total=total or self.total, file=sys.stderr, unit=" records",
                leave=True, dynamic_ncols=True,
            )  # fmt: skip
        if total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def done(self, message: str = "") -> None:
        if self.bar is not None:
            if message:
                self.bar.set_postfix_str(message, refresh=False)
            self.bar.close()
