"""Reading a task's local data file, JSON, JSON Lines or CSV, into records.

The standard library reads them, not `datasets`: its errors name no line ("An error occurred
while generating the dataset"), and it read a UTF-8 byte-order mark into the first column's
name. Here a BOM is dropped, every fault names the file, the line and the fix, and every CSV
value is kept as the text in the file (an id "0007" stays "0007").
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from pldc.errors import DataError

LOCAL_FORMATS = (".json", ".jsonl", ".csv")

Record = dict[str, Any]


def read_data_file(path: Path, source: str) -> list[Record]:
    """The records in the local file at `path`; `source` (the task file) leads every error.

    Raises `DataError` for a missing, unreadable or non-UTF-8 file, an unknown suffix, or
    content that is not records, naming the line at fault.
    """
    where = f"{source}: Task.data file {path}"
    suffix = path.suffix.lower()
    if suffix not in LOCAL_FORMATS:
        raise DataError(f"{where} has suffix {path.suffix!r}; use .json, .jsonl or .csv.")
    text = _read_text(path, where)
    if suffix == ".jsonl":
        return _json_lines(text, where)
    if suffix == ".json":
        return _json_document(text, where)
    return _csv_rows(text, where)


def _read_text(path: Path, where: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{where} does not exist; fix the path.") from None
    except OSError as exc:
        raise DataError(f"{where}: cannot read it ({exc.strerror}); give a data file.") from None
    try:
        return raw.decode("utf-8-sig")  # a leading byte-order mark is not part of the data
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{where}: line {line} is not UTF-8 (byte {raw[exc.start]:#04x}); save the file "
            "as UTF-8."
        ) from None


def _json_lines(text: str, where: str) -> list[Record]:
    records = []
    # Not str.splitlines: JSON strings may hold U+2028, which it would split on.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{where}: line {number} is not valid JSON ({exc.msg}, column {exc.colno}); "
                "fix that line: JSON Lines holds one JSON object per line."
            ) from None
        if not isinstance(value, dict):
            raise DataError(
                f"{where}: line {number} is a JSON {_json_kind(value)}, not an object; write "
                'one record per line, e.g. {"claim": "...", "decision": "approve"}.'
            )
        records.append(value)
    return records


def _json_document(text: str, where: str) -> list[Record]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = (
            "; it holds one JSON value per line, so name it .jsonl"
            if exc.msg == "Extra data" and exc.colno == 1
            else "; fix the file"
        )
        raise DataError(
            f"{where}: line {exc.lineno} column {exc.colno} is not valid JSON ({exc.msg}){hint}."
        ) from None
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        return _columns_as_records(value, where)
    if not isinstance(value, list):
        raise DataError(
            f"{where} holds a JSON {_json_kind(value)}; give a list of records, "
            '[{"claim": "...", "decision": "approve"}, ...], or one list per column.'
        )
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise DataError(
                f"{where}: item {index} of the list is a JSON {_json_kind(item)}, not an object; "
                "every item must be one record."
            )
    return value


def _columns_as_records(columns: dict[str, list[Any]], where: str) -> list[Record]:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name!r} {n}" for name, n in lengths.items())
        raise DataError(
            f"{where} holds one list per column, of different lengths ({detail}); give every "
            "column one value per record."
        )
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _csv_rows(text: str, where: str) -> list[Record]:
    previous_limit = csv.field_size_limit(sys.maxsize)  # long documents are data, not faults
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise DataError(f"{where} has no header row; its first line must name the columns.")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise DataError(f"{where}: the header names column {repeated[0]!r} twice; rename one.")
        return [_csv_record(header, row, reader.line_num, where) for row in reader if row]
    except csv.Error as exc:
        raise DataError(
            f"{where}: line {reader.line_num} is not valid CSV ({exc}); fix that line."
        ) from None
    finally:
        csv.field_size_limit(previous_limit)


def _csv_record(header: list[str], row: list[str], line: int, where: str) -> Record:
    if len(row) != len(header):
        raise DataError(
            f"{where}: line {line} has {len(row)} values but the header has {len(header)} "
            f"columns ({', '.join(map(repr, header))}); quote values that hold commas."
        )
    return dict(zip(header, row, strict=True))


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")
