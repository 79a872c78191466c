"""Load a task's labelled examples and split them deterministically into train / dev / test."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pldc.errors import DataError
from pldc.task import Splits, Task, TaskSchema
from pldc.taskfile import load_task_file

LOCAL_FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv"}


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
    `base_dir` (the task file's folder).
    """
    schema = task.schema
    records = _read_records(task, source, base_dir or Path.cwd())
    if not records:
        raise DataError(f"{source}: Task.data holds no records; point it at a non-empty data set.")
    examples, groups = _to_examples(records, task, schema, source)
    return _split(examples, groups, task.splits, source)


def load_task_and_data(task_file: str | Path) -> tuple[Task, TaskData]:
    """The `Task` the task file at `task_file` declares, and its data, split.

    Error messages name the file, and relative data paths resolve beside it. Raises
    `TaskFileError` for a task file that declares no usable task, `DataError` for its data.
    """
    path = Path(task_file)
    task = load_task_file(path)
    return task, load_task_data(task, str(path), path.parent)


def _read_records(task: Task, source: str, base_dir: Path) -> list[Mapping[str, Any]]:
    data = task.data
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_absolute():
            path = base_dir / path
        if path.is_dir():
            return _read_named_dataset(str(path), task.dataset_split, source)
        if path.exists() or Path(data).suffix in LOCAL_FORMATS:
            return _read_local_file(path, source)
        return _read_named_dataset(str(data), task.dataset_split, source)
    if hasattr(data, "to_list") and hasattr(data, "column_names"):
        return data.to_list()
    if isinstance(data, Sequence) and all(isinstance(r, Mapping) for r in data):
        return list(data)
    raise DataError(
        f"{source}: Task.data is a {type(data).__name__}; give a JSON/JSONL/CSV path, a "
        "`datasets` name, a datasets.Dataset, or a list of dicts."
    )


def _read_local_file(path: Path, source: str) -> list[Mapping[str, Any]]:
    if not path.exists():
        raise DataError(f"{source}: Task.data file {path} does not exist; fix the path.")
    builder = LOCAL_FORMATS.get(path.suffix.lower())
    if builder is None:
        raise DataError(
            f"{source}: Task.data file {path} has suffix {path.suffix!r}; "
            "use .json, .jsonl or .csv."
        )
    import datasets

    options = {}
    if builder == "csv":
        # Read every column as text: type guessing would turn an id "0007" into 7.
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
        options = {
            "features": datasets.Features({name: datasets.Value("string") for name in header}),
            "keep_default_na": False,
        }
    try:
        dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **options)
    except Exception as exc:  # datasets raises many unrelated types for a bad file
        raise DataError(f"{source}: cannot read {path} as {builder}: {exc}") from exc
    return dataset.to_list()


def _read_named_dataset(name: str, split: str, source: str) -> list[Mapping[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise DataError(
            f"{source}: Task.data {name!r} is neither a local file nor a loadable `datasets` "
            f"name or folder ({type(exc).__name__}: {exc}). Fix the path or the dataset name."
        ) from exc
    return dataset.to_list()


def _to_examples(
    records: list[Mapping[str, Any]], task: Task, schema: TaskSchema, source: str
) -> tuple[list[Example], list[str] | None]:
    """The records as examples, and each one's group when the splits group them."""
    columns, id_column, group_column = _columns(set(records[0]), task, schema, source)
    labels = set(schema.labels)
    examples: list[Example] = []
    groups: list[str] = []
    unknown: dict[str, list[str]] = {}
    for index, record in enumerate(records):
        example_id = str(record[id_column]) if id_column else str(index)
        inputs = {}
        for name in schema.input_names:
            value = record.get(columns[name])
            if value is None:
                raise DataError(
                    f"{source}: example {example_id!r} has no value for input field {name!r}; "
                    "fill it in or drop the record."
                )
            inputs[name] = str(value)
        label = str(record.get(columns[schema.output_field]))
        if label not in labels:
            unknown.setdefault(label, []).append(example_id)
        examples.append(Example(example_id, inputs, label))
        if group_column is not None:
            groups.append(str(record[group_column]))
    if unknown:
        detail = "; ".join(
            f"{label!r} ×{len(ids)} (first: example {ids[0]!r})" for label, ids in unknown.items()
        )
        raise DataError(
            f"{source}: labels outside the signature's label set {list(schema.labels)} in "
            f"column {columns[schema.output_field]!r}: {detail}. Add them to the Literal[...] "
            "of the output field, or fix the data."
        )
    _check_unique_ids(examples, id_column, source)
    return examples, (groups if group_column is not None else None)


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
                f"{field_name!r} (columns: {', '.join(sorted(available))}). Rename the field, "
                f"or map it with Task(columns={{{field_name!r}: '<column>'}})."
            )
    if task.id_column is not None and task.id_column not in available:
        raise DataError(
            f"{source}: Task.id_column names column {task.id_column!r}, which the data lacks "
            f"(columns: {', '.join(sorted(available))})."
        )
    id_column = task.id_column or ("id" if "id" in available else None)
    group_column = task.splits.group_by
    if group_column is not None and group_column not in available:
        raise DataError(
            f"{source}: Splits.group_by names column {group_column!r}, which the data lacks "
            f"(columns: {', '.join(sorted(available))})."
        )
    return columns, id_column, group_column


def _check_unique_ids(examples: list[Example], id_column: str | None, source: str) -> None:
    seen: set[str] = set()
    for ex in examples:
        if ex.id in seen:
            raise DataError(
                f"{source}: example id {ex.id!r} appears twice in column {id_column!r}; "
                "ids must be unique (or set Task(id_column=...))."
            )
        seen.add(ex.id)


def _split(
    examples: list[Example], groups: list[str] | None, splits: Splits, source: str
) -> TaskData:
    rng = random.Random(splits.seed)
    bounds = (splits.train, splits.train + splits.dev)
    assignment: list[int] = [0] * len(examples)
    if groups is not None:
        # Whole groups are dealt out in a seeded order until each split has its share.
        members: dict[str, list[int]] = {}
        for index, group in enumerate(groups):
            members.setdefault(group, []).append(index)
        order = sorted(members)
        rng.shuffle(order)
        placed = 0
        for group in order:
            position = placed / len(examples)
            split_index = 0 if position < bounds[0] else 1 if position < bounds[1] else 2
            for index in members[group]:
                assignment[index] = split_index
            placed += len(members[group])
    else:
        by_label: dict[str, list[int]] = {}
        for index, ex in enumerate(examples):
            by_label.setdefault(ex.label, []).append(index)
        for label in sorted(by_label):
            indices = by_label[label]
            rng.shuffle(indices)
            cut_train = round(len(indices) * bounds[0])
            cut_dev = round(len(indices) * bounds[1])
            for position, index in enumerate(indices):
                assignment[index] = 0 if position < cut_train else 1 if position < cut_dev else 2

    parts = tuple(
        tuple(ex for ex, split_index in zip(examples, assignment, strict=True) if split_index == k)
        for k in range(3)
    )
    for name, part in zip(("train", "dev", "test"), parts, strict=True):
        if not part:
            raise DataError(
                f"{source}: the {name} split is empty ({len(examples)} examples split "
                f"{splits.train}/{splits.dev}/{splits.test}). Add data or enlarge "
                f"Splits({name}=...)."
            )
    return TaskData(*parts)


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
