"""Reading a lead import's file and mapping its columns: the first two steps of ``lead import``.

A CSV (UTF-8 with or without BOM, Excel quoting, CRLF; separated by commas, tabs or semicolons,
as its header line shows) or JSON file becomes its column names
and ``(row number, values)`` pairs, with rows of the wrong shape collected as problems rather
than raised; ``map_columns`` then names the lead field each column fills (``--map`` first,
then built-in English and Chinese header names) and which columns are ignored. The pipeline
that builds, checks and writes the leads from these rows is ``lead_import``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from salesctl import yamlio
from salesctl.errors import Invalid
from salesctl.model.config import Config
from salesctl.model.kinds import LEAD
from salesctl.model.values import not_utf8, printable

MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_HEADER_CHARS = 1024 * 1024  # where a header line's separators are counted

# Header names (lower-cased, spaces/underscores collapsed) recognised without --map.
HEADERS: dict[str, str] = {}
for _field, _names in {
    "company": "company, company name, account, account name, organization, organisation, "
    "公司, 公司名称, 企业名称, 单位, 客户名称",
    "name": "name, full name, contact, contact name, lead name, 姓名, 联系人, 名字",
    "first_name": "first name, firstname, given name, 名",
    "last_name": "last name, lastname, surname, family name, 姓",
    "email": "email, e-mail, email address, mail, 邮箱, 电子邮件, 电子邮箱, 邮件",
    "phone": "phone, mobile, mobile phone, telephone, tel, phone number, cell, "
    "电话, 手机, 手机号, 手机号码, 联系电话, 电话号码",
    "source": "source, lead source, channel, 来源, 线索来源, 渠道",
    "stage": "stage, status, lead status, 状态, 阶段, 线索状态",
    "created": "created, created date, create date, created time, created at, date created, "
    "创建时间, 创建日期",
    "tags": "tags, tag, 标签",
    "notes": "notes, note, description, comments, 备注, 描述",
    "owner": "owner, lead owner, assigned to, 负责人, 所有人",
}.items():
    for _name in _names.split(","):
        HEADERS[" ".join(_name.strip().lower().replace("_", " ").split())] = _field

Rows = list[tuple[int, dict[str, Any]]]


def read_rows(path: Path) -> tuple[list[str], Rows, list[str]]:
    """(columns, [(row number, values)], row problems) from a CSV or JSON file; rows number
    like a spreadsheet (the header is row 1) for CSV, from 1 for JSON."""
    name = path.name
    try:
        # Only a regular file: a named pipe would block the import (and the lock) forever.
        raw = yamlio.read_regular(path, limit=MAX_IMPORT_BYTES + 1, follow=True)
    except FileNotFoundError:
        raise Invalid(f"cannot read {path}: no such file", "check the path") from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise Invalid(f"{name} is over {MAX_IMPORT_BYTES // 2**20} MB", "split it into parts")
    refuse_other_formats(name, raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"{name}: not UTF-8 (byte {exc.start})",
            "save it as 'CSV UTF-8' in Excel, or convert it: iconv -f GBK -t UTF-8",
        ) from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        return _json_rows(name, text)
    return _csv_rows(name, text)


# Files people export instead of CSV, told by their first bytes: the GBK hint of a file
# that is not UTF-8 would send them the wrong way.
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # .xlsx (zip), .xls
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def refuse_other_formats(name: str, raw: bytes) -> None:
    """An Excel workbook or UTF-16 text (Excel's "Unicode text") is refused, naming it."""
    if raw.startswith(WORKBOOK_MAGIC):
        raise Invalid(
            f"{name}: an Excel workbook, not a CSV file",
            "in Excel: File > Save As > 'CSV UTF-8', then import that file",
        )
    if raw.startswith(UTF16_BOMS):
        raise Invalid(
            f"{name}: UTF-16 text, not UTF-8",
            "save it as 'CSV UTF-8' in Excel, or convert it: iconv -f UTF-16 -t UTF-8",
        )


def _json_rows(name: str, text: str) -> tuple[list[str], Rows, list[str]]:
    try:
        # Numbers stay as written, like a CSV cell: a phone keeps its digits, and a number
        # of 5,000 digits is a value to refuse in its row, not Python's int-size ValueError.
        data = json.loads(text, parse_int=str, parse_float=str, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise Invalid(f"{name}:{exc.lineno}: not valid JSON: {exc.msg}", "fix the file") from None
    except RecursionError:  # "[[[[..." thousands deep: no export nests like that
        raise Invalid(f"{name}: JSON nested too deeply", '[{"company": ...}, ...]') from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise Invalid(f"{name}: expected a JSON list of objects", '[{"company": ...}, ...]')
    columns: list[str] = []
    rows: Rows = []
    problems: list[str] = []
    for number, item in enumerate(data, 1):
        # JSON may escape half a character ("\ud800"), which no file can hold.
        broken = [(str(k), p) for k, v in item.items() if (p := not_utf8(k) or not_utf8(v))]
        if broken:
            problems += [
                f"row {number}: {printable(k)}: is not valid text ({p})" for k, p in broken
            ]
            continue
        columns += [str(k) for k in item if str(k) not in columns]
        rows.append((number, {str(k): v for k, v in item.items()}))
    return columns, rows, problems


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}


def delimiter(name: str, text: str) -> str:
    """The delimiter of a CSV's header line: whichever of comma, tab and semicolon it holds
    most often outside quotes (Excel writes semicolons where the decimal mark is a comma,
    tabs as "Unicode text"); a comma for a single column. A tie is refused: guessing would
    spread one row's values over the wrong columns."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text[:MAX_HEADER_CHARS]:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "\r\n":
            break
        elif char in counts:
            counts[char] += 1
    most = max(counts.values())
    found = [d for d, n in counts.items() if n == most]
    if most and len(found) > 1:
        names = " and ".join(DELIMITERS[d] for d in found)
        raise Invalid(
            f"{name} row 1: as many {names} separators; cannot tell which divides the columns",
            "save it again from Excel as 'CSV UTF-8', which separates by commas",
        )
    return found[0] if most else ","


def _csv_rows(name: str, text: str) -> tuple[list[str], Rows, list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(name, text))
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid(f"{name} is empty", "export it again with a header row") from None
    except csv.Error as exc:
        raise Invalid(f"{name} row 1: {exc}", "fix the quoting") from None
    columns = [h.strip() for h in header]
    if len(set(columns)) != len(columns) or "" in columns:
        raise Invalid(f"{name} row 1: empty or repeated column names", "name every column once")
    rows: Rows = []
    problems: list[str] = []
    try:
        # Spreadsheet numbering: the header is row 1, each record (even one whose quoted
        # cell holds line breaks) is one row, blank lines included.
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue  # blank lines, as spreadsheets leave at the end
            if len(values) != len(columns):
                problems.append(
                    f"row {number}: {len(values)} values for {len(columns)} columns "
                    "(a missing or extra column, or a stray comma)"
                )
                continue
            rows.append((number, dict(zip(columns, values, strict=True))))
    except csv.Error as exc:
        raise Invalid(f"{name} row {reader.line_num}: {exc}", "fix the quoting") from None
    return columns, rows, problems


def map_columns(
    config: Config, columns: Sequence[str], mappings: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """column -> field (a lead field, ``custom.NAME``, or ``owner``), and ignored columns."""
    explicit: dict[str, str] = {}
    for pair in mappings:
        column, sep, wanted = pair.partition("=")
        if not sep or not column.strip():
            raise Invalid(f"--map {pair!r} is not Column=field", 'e.g. --map "Mobile=phone"')
        if column.strip() in explicit:
            raise Invalid(f"--map names column {column.strip()!r} twice", "map each column once")
        explicit[column.strip()] = wanted.strip()
    custom = {f.name for f in config.custom_fields.get("lead", ())}
    allowed = {f.name for f in LEAD.fields if f.settable} | {"created", "owner"}
    allowed |= {"first_name", "last_name"}
    result: dict[str, str] = {}
    ignored: list[str] = []
    for column in explicit:
        if column not in columns:
            raise Invalid(
                f"--map names column {column!r}, which the file does not have",
                f"columns: {', '.join(columns)}",
            )
    for column in columns:
        target: str | None = explicit.get(column)
        if target is None:
            key = " ".join(column.lower().replace("_", " ").split())
            target = HEADERS.get(key) or (key if key in custom else None)
        if target in (None, "-", ""):
            ignored.append(column)
            continue
        assert target is not None
        name = target.removeprefix("custom.")
        if target.startswith("custom.") and name not in custom:
            raise Invalid(
                f"--map {column}={target}: lead has no custom field {name!r}",
                "add it under custom_fields: lead: in salesctl.yaml",
            )
        if not target.startswith("custom.") and target not in allowed:
            if target in custom:
                target = f"custom.{target}"
            else:
                raise Invalid(
                    f"--map {column}={target}: not a lead field",
                    f"use one of {', '.join(sorted(allowed))} or custom.NAME",
                )
        result[column] = target
    _refuse_shared_fields(result, explicit)
    return result, ignored


def _refuse_shared_fields(result: dict[str, str], explicit: dict[str, str]) -> None:
    """Two columns filling one field would keep one of them without a word: refused where
    ``--map`` asks for it (built-in names alone, such as Phone and Mobile, fill it in turn)."""
    columns_of: dict[str, list[str]] = {}
    for column, target in result.items():
        columns_of.setdefault(target, []).append(column)
    for target, columns in columns_of.items():
        if len(columns) > 1 and any(column in explicit for column in columns):
            named = ", ".join(columns[:-1]) + f" and {columns[-1]}"
            raise Invalid(
                f"--map: columns {named} {'both' if len(columns) == 2 else 'all'} map to {target}",
                'map each field from one column; "COLUMN=-" ignores a column',
            )
