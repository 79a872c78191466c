"""Load a task's labelled examples and split them deterministically into train / dev / test."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pldc.datachecks import (
    MISSING,
    LabelReader,
    check_duplicates,
    check_inputs_not_empty,
    report_rare_labels,
)
from pldc.datafiles import LOCAL_FORMATS, read_data_file
from pldc.errors import DataError
from pldc.splitting import assign_splits
from pldc.task import Task, TaskSchema
from pldc.taskfile import load_task_file


@dataclass(frozen=True)
class Example:
    id: str
    inputs: dict[str, str]
    label: str


@dataclass(frozen=True)
class TaskData:
    train: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]

    def split(self, name: str) -> tuple[Example, ...]:
        if name not in ("train", "dev", "test"):
            raise DataError(f"unknown split {name!r}: choose train, dev or test.")
        return getattr(self, name)

    @property
    def fingerprint(self) -> str:
        """sha256 over every example and the split it fell in: any change of data or seed shows."""
        digest = hashlib.sha256()
        for split_name in ("train", "dev", "test"):
            for ex in self.split(split_name):
                row = [split_name, ex.id, ex.inputs, ex.label]
                digest.update(json.dumps(row, sort_keys=True).encode())
        return digest.hexdigest()


def load_task_data(task: Task, source: str, base_dir: Path | None = None) -> TaskData:
    """Read the task's records, check them against its schema, and split them.

    `source` names the task file in error messages; relative data paths resolve against
    `base_dir` (the task file's folder). No model is needed: every check here runs before one
    loads. Raises `DataError` (`TaskFileError` for `columns` or `truncate` naming no field);
    warns (`DataWarning`) of duplicate inputs and of labels missing from a split.
    """
    task.check_field_names()
    schema = task.schema
    records, from_file = _read_records(task, source, base_dir or Path.cwd())
    if not records:
        raise DataError(f"{source}: Task.data holds no records; point it at a non-empty data set.")
    examples, groups = _to_examples(records, task, schema, source, from_file)
    check_inputs_not_empty(examples, source)
    check_duplicates(examples, source)
    assignment = assign_splits(examples, groups, task.splits)
    parts = tuple(
        tuple(ex for ex, split in zip(examples, assignment, strict=True) if split == k)
        for k in range(3)
    )
    for name, part in zip(("train", "dev", "test"), parts, strict=True):
        if not part:
            raise DataError(
                f"{source}: the {name} split is empty ({len(examples)} examples split "
                f"{task.splits.train}/{task.splits.dev}/{task.splits.test}). Add data or "
                f"enlarge Splits({name}=...)."
            )
    report_rare_labels(schema.labels, parts, source)
    return TaskData(*parts)


def load_task_and_data(task_file: str | Path) -> tuple[Task, TaskData]:
    """The `Task` the task file at `task_file` declares, and its data, split.

    Error messages name the file, and relative data paths resolve beside it. Raises
    `TaskFileError` for a task file that declares no usable task, `DataError` for its data.
    """
    path = Path(task_file)
    task = load_task_file(path)
    return task, load_task_data(task, str(path), path.parent)


def _read_records(task: Task, source: str, base_dir: Path) -> tuple[list[Mapping[str, Any]], bool]:
    """The records, and whether they were read from a file (so are spelled as JSON there)."""
    data = task.data
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_absolute():
            path = base_dir / path
        if path.is_dir():
            return _read_named_dataset(str(path), task.dataset_split, source), True
        if path.exists() or Path(data).suffix.lower() in LOCAL_FORMATS:
            return read_data_file(path, source), True
        return _read_named_dataset(str(data), task.dataset_split, source), True
    if hasattr(data, "to_list") and hasattr(data, "column_names"):
        return data.to_list(), False
    if isinstance(data, Sequence) and all(isinstance(r, Mapping) for r in data):
        return list(data), False
    raise DataError(
        f"{source}: Task.data is a {type(data).__name__}; give a JSON/JSONL/CSV path, a "
        "`datasets` name, a datasets.Dataset, or a list of dicts."
    )


def _read_named_dataset(name: str, split: str, source: str) -> list[Mapping[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise DataError(
            f"{source}: Task.data {name!r} is neither a local file nor a loadable `datasets` "
            f"name or folder ({type(exc).__name__}: {exc}). Fix the path or the dataset name."
        ) from exc
    return [_without_bom(record) for record in dataset.to_list()]


def _without_bom(record: Mapping[str, Any]) -> dict[str, Any]:
    """A UTF-8 byte-order mark read into a column name is not part of the name."""
    return {str(key).removeprefix("\ufeff"): value for key, value in record.items()}


def _to_examples(
    records: list[Mapping[str, Any]], task: Task, schema: TaskSchema, source: str, from_file: bool
) -> tuple[list[Example], list[str] | None]:
    """The records as examples, and each one's group when the splits group them."""
    available = {key for record in records for key in record}
    columns, id_column, group_column = _columns(available, task, schema, source)
    reader = LabelReader(schema.labels, from_file=from_file)
    label_column = columns[schema.output_field]
    examples: list[Example] = []
    groups: list[str] = []
    unknown: dict[str, list[str]] = {}
    for index, record in enumerate(records):
        example_id = _example_id(record, id_column, index, source)
        inputs = {
            name: _input_text(record.get(columns[name]), reader, example_id, name, source)
            for name in schema.input_names
        }
        value = record.get(label_column, MISSING)
        label = reader.label(value)
        if label is None:
            unknown.setdefault(reader.describe(value), []).append(example_id)
        examples.append(Example(example_id, inputs, label or ""))
        if group_column is not None:
            groups.append(str(record.get(group_column)))
    if unknown:
        detail = "; ".join(
            f"{described} ×{len(ids)} (first: example {ids[0]!r})"
            for described, ids in unknown.items()
        )
        raise DataError(
            f"{source}: labels outside the signature's label set {list(schema.labels)} in "
            f"column {label_column!r}: {detail}. Fix those values in the data, or add new labels "
            "to the Literal[...] of the output field."
        )
    _check_unique_ids(examples, id_column, source)
    return examples, (groups if group_column is not None else None)


def _example_id(record: Mapping[str, Any], id_column: str | None, index: int, source: str) -> str:
    if id_column is None:
        return str(index)
    value = record.get(id_column)
    if value is None or not str(value).strip():
        raise DataError(
            f"{source}: record {index} (counting from 0) has no id in column {id_column!r}; "
            "give every record an id, or set Task(id_column=...)."
        )
    return str(value)


def _input_text(value: Any, reader: LabelReader, example_id: str, name: str, source: str) -> str:
    if value is None:
        raise DataError(
            f"{source}: example {example_id!r} has no value for input field {name!r}; "
            "fill it in or drop the record."
        )
    return value if isinstance(value, str) else reader.spelled(value)


def _columns(
    available: set[str], task: Task, schema: TaskSchema, source: str
) -> tuple[dict[str, str], str | None, str | None]:
    """The data column of each signature field, the id column and the group column, each
    checked against the `available` columns."""
    columns = {
        name: task.columns.get(name, name) for name in (*schema.input_names, schema.output_field)
    }
    for field_name, column in columns.items():
        if column not in available:
            raise DataError(
                f"{source}: the data has no column {column!r} for signature field "
                f"{field_name!r}{_near_columns(column, available)}. Rename the field, or map it "
                f"with Task(columns={{{field_name!r}: '<column>'}})."
            )
    if task.id_column is not None and task.id_column not in available:
        raise DataError(
            f"{source}: Task.id_column names column {task.id_column!r}, which the data lacks"
            f"{_near_columns(task.id_column, available)}."
        )
    id_column = task.id_column or ("id" if "id" in available else None)
    group_column = task.splits.group_by
    if group_column is not None and group_column not in available:
        raise DataError(
            f"{source}: Splits.group_by names column {group_column!r}, which the data lacks"
            f"{_near_columns(group_column, available)}."
        )
    return columns, id_column, group_column


def _near_columns(wanted: str, available: set[str]) -> str:
    """The available columns, quoted so surrounding spaces show, and any that differ from
    `wanted` only in case or surrounding whitespace."""
    names = sorted(available, key=str)
    near = [name for name in names if str(name).strip().casefold() == wanted.strip().casefold()]
    hint = (
        f"; column {near[0]!r} differs from it only in case or surrounding whitespace"
        if near
        else ""
    )
    return f" (columns: {', '.join(repr(name) for name in names)}{hint})"


def _check_unique_ids(examples: list[Example], id_column: str | None, source: str) -> None:
    seen: set[str] = set()
    for ex in examples:
        if ex.id in seen:
            raise DataError(
                f"{source}: example id {ex.id!r} appears twice in column {id_column!r}; "
                "ids must be unique (or set Task(id_column=...))."
            )
        seen.add(ex.id)


def round_robin_sample(
    examples: Sequence[Example], limit: int, rng: random.Random
) -> list[Example]:
    """Up to `limit` examples, dealt round-robin across labels, each label's in a shuffled order."""
    by_label: dict[str, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    queues = []
    for label in sorted(by_label):
        queue = sorted(by_label[label], key=lambda ex: ex.id)
        rng.shuffle(queue)
        queues.append(queue)
    chosen: list[Example] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen
