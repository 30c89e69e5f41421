"""Printing records and results as table, json, csv or yaml (``--format``).

The default is a table on a terminal and JSON when the output is piped, so scripts get
stable keys without asking. The other formatters (csv, tabulate) are imported when used.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

FORMATS = ("table", "json", "csv", "yaml")


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def warn_skipped(skipped: Iterable[str]) -> None:
    """One warning per broken record a reading command left out."""
    for each in skipped:
        info(f"warning: skipped {each} (see `salesctl check`)")


def emit(data: Any, fmt: str | None, columns: Sequence[str] = ()) -> None:
    """Print ``data`` (a dict = one object, a list = rows) in the chosen format."""
    warn_skipped(getattr(data, "skipped", ()))
    fmt = fmt or default_format()
    out = sys.stdout
    if fmt == "json":
        out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == "yaml":
        from salesctl.yamlio import dumps

        out.write(dumps(list(data) if isinstance(data, list) else data))
    elif fmt == "csv":
        import csv
        import io

        rows = data if isinstance(data, list) else [data]
        keys = list(columns) or _keys(rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow([_cell(row.get(k)) for k in keys])
        out.write(buffer.getvalue())
    elif isinstance(data, list):
        from tabulate import tabulate

        keys = list(columns) or _keys(data)
        table = [[_cell(row.get(k)) for k in keys] for row in data]
        out.write(tabulate(table, headers=keys, tablefmt="simple", disable_numparse=True) + "\n")
        if len(data) != 1:
            out.write(f"({len(data)} rows)\n")
    else:
        width = max((len(k) for k in data), default=0)
        for key, value in data.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                out.write(f"{key}:\n")
                for item in value:
                    out.write(f"  - {_cell(item)}\n")
            else:
                out.write(f"{key.ljust(width)}  {_cell(value)}\n")


def _keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    return keys


def info(message: str) -> None:
    """A human note on stderr (keeps stdout clean for --format json)."""
    sys.stderr.write(message + "\n")
