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
from pldc.splitting import DEV, TEST, TRAIN, assign_splits, carve_from_train
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
    `base_dir` (the task file's folder). Sets given already split (`Task(train=, dev=, test=)`
    or a `datasets.DatasetDict`) are kept as given; a missing dev or test set is carved from
    train (`pldc.splitting.carve_from_train`). No model is needed: every check here runs before
    one loads. Raises `DataError` (`TaskFileError` for `columns` or `truncate` naming no field);
    warns (`DataWarning`) of duplicate inputs and of labels missing from a split.
    """
    task.check_field_names()
    schema = task.schema
    base = base_dir or Path.cwd()
    given = _given_sets(task, source)
    if given:
        parts = _split_given_sets(given, task, schema, source, base)
    else:
        records, from_file = _read_records(task.data, "Task.data", task, source, base)
        if not records:
            raise DataError(
                f"{source}: Task.data holds no records; point it at a non-empty data set."
            )
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
                f"{source}: the {name} split is empty ({_sizes(task, given, parts)}). Add "
                f"data or enlarge Splits({name}=...)."
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


DEV_SPLIT_NAMES = ("validation", "dev", "valid", "val")
"""A DatasetDict's split that serves as dev, the first of these it has."""


def _given_sets(task: Task, source: str) -> dict[str, tuple[str, Any]]:
    """Each set given already split, by pldc's split name, to (what error messages call it,
    the set); {} when `Task.data` is one set for `splits` to divide."""
    if task.given_sets:
        return {name: (f"Task.{name}", value) for name, value in task.given_sets.items()}
    data = task.data
    if not _is_dataset_dict(data):
        return {}
    if "train" not in data:
        raise DataError(
            f"{source}: Task.data is a DatasetDict without a 'train' split (splits: "
            f"{', '.join(map(repr, data))}); pass Task(train=dd['<split>'], dev=..., test=...)."
        )
    given = {"train": ("Task.data['train']", data["train"])}
    dev = next((name for name in DEV_SPLIT_NAMES if name in data), None)
    if dev is not None:
        given["dev"] = (f"Task.data[{dev!r}]", data[dev])
    if "test" in data:
        given["test"] = ("Task.data['test']", data["test"])
    return given


def _is_dataset_dict(data: Any) -> bool:
    return (
        isinstance(data, Mapping)
        and bool(data)
        and all(_is_dataset(value) for value in data.values())
    )


def _is_dataset(data: Any) -> bool:
    return hasattr(data, "to_list") and hasattr(data, "column_names")


def _split_given_sets(
    given: dict[str, tuple[str, Any]], task: Task, schema: TaskSchema, source: str, base: Path
) -> tuple[tuple[Example, ...], ...]:
    """The given sets as examples, with what is missing carved from train."""
    examples: dict[str, list[Example]] = {}
    groups: dict[str, list[str] | None] = {}
    for name, (where, value) in given.items():
        records, from_file = _read_records(value, where, task, source, base)
        if not records:
            raise DataError(f"{source}: {where} holds no records; give a non-empty set.")
        examples[name], groups[name] = _to_examples(
            records, task, schema, source, from_file, id_prefix=f"{name}-", where=where
        )
    every = [ex for name in examples for ex in examples[name]]
    check_inputs_not_empty(every, source)
    _check_unique_ids(every, task.id_column or "id", f"{source}: across the given sets")
    check_duplicates(every, source, split=False)
    missing = {"dev", "test"} - set(examples)
    if missing:
        train = examples["train"]
        assignment = carve_from_train(train, groups["train"], task.splits, missing)
        examples["train"] = [ex for ex, k in zip(train, assignment, strict=True) if k == TRAIN]
        for name, k in (("dev", DEV), ("test", TEST)):
            if name in missing:
                examples[name] = [ex for ex, s in zip(train, assignment, strict=True) if s == k]
    return tuple(tuple(examples[name]) for name in ("train", "dev", "test"))


def _sizes(task: Task, given: dict[str, tuple[str, Any]], parts: tuple) -> str:
    if not given:
        total = sum(len(part) for part in parts)
        return f"{total} examples split {task.splits.train}/{task.splits.dev}/{task.splits.test}"
    sizes = ", ".join(
        f"{name} {len(part)}" for name, part in zip(("train", "dev", "test"), parts, strict=True)
    )
    named = ", ".join(where for where, _ in given.values())
    return f"{sizes}; given {named}, the rest carved from train by Splits"


def _read_records(
    data: Any, where: str, task: Task, source: str, base_dir: Path
) -> tuple[list[Mapping[str, Any]], bool]:
    """The records, and whether they were read from a file (so are spelled as JSON there)."""
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_absolute():
            path = base_dir / path
        if path.is_dir():
            return _read_named_dataset(str(path), task.dataset_split, where, source), True
        if path.exists() or Path(data).suffix.lower() in LOCAL_FORMATS:
            return read_data_file(path, source), True
        return _read_named_dataset(str(data), task.dataset_split, where, source), True
    if _is_dataset(data):
        return _dataset_records(data), False
    if isinstance(data, Sequence) and not isinstance(data, bytes):
        records = [_record(item) for item in data]
        if all(record is not None for record in records):
            return records, False
    raise DataError(
        f"{source}: {where} is a {type(data).__name__}; give a JSON/JSONL/CSV path, a "
        "`datasets` name, a datasets.Dataset or DatasetDict, or a list of dicts or "
        "dspy.Examples."
    )


def _record(item: Any) -> Mapping[str, Any] | None:
    """A record as a mapping: itself, a `dspy.Example`'s fields, or None if it is neither."""
    if isinstance(item, Mapping):
        return item
    to_dict = getattr(item, "toDict", None)  # dspy.Example
    if callable(to_dict):
        record = to_dict()
        if isinstance(record, Mapping):
            return record
    return None


def _read_named_dataset(name: str, split: str, where: str, source: str) -> list[Mapping[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise DataError(
            f"{source}: {where} {name!r} is neither a local file nor a loadable `datasets` "
            f"name or folder ({type(exc).__name__}: {exc}). Fix the path or the dataset name."
        ) from exc
    return [_without_bom(record) for record in _dataset_records(dataset)]


def _dataset_records(dataset: Any) -> list[dict[str, Any]]:
    """A `datasets.Dataset`'s rows, with each `ClassLabel` column's integers read as its
    label names (-1, the library's "no label", is left for the label check to refuse)."""
    records = dataset.to_list()
    features = getattr(dataset, "features", None) or {}
    class_labels = {
        column: feature
        for column, feature in features.items()
        if callable(getattr(feature, "int2str", None)) and getattr(feature, "names", None)
    }
    for record in records:
        for column, feature in class_labels.items():
            value = record.get(column)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                record[column] = feature.int2str(value)
    return records


def _without_bom(record: Mapping[str, Any]) -> dict[str, Any]:
    """A UTF-8 byte-order mark read into a column name is not part of the name."""
    return {str(key).removeprefix("\ufeff"): value for key, value in record.items()}


def _to_examples(
    records: list[Mapping[str, Any]],
    task: Task,
    schema: TaskSchema,
    source: str,
    from_file: bool,
    *,
    id_prefix: str = "",
    where: str = "Task.data",
) -> tuple[list[Example], list[str] | None]:
    """The records as examples, and each one's group when the splits group them. Without an
    id column, an example's id is `id_prefix` and its position."""
    available = {key for record in records for key in record}
    columns, id_column, group_column = _columns(available, task, schema, source, where)
    reader = LabelReader(schema.labels, from_file=from_file)
    label_column = columns[schema.output_field]
    examples: list[Example] = []
    groups: list[str] = []
    unknown: dict[str, list[str]] = {}
    for index, record in enumerate(records):
        example_id = _example_id(record, id_column, index, source, id_prefix)
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
        of = "" if where == "Task.data" else f" of {where}"
        raise DataError(
            f"{source}: labels outside the signature's label set {list(schema.labels)} in "
            f"column {label_column!r}{of}: {detail}. Fix those values in the data, or add new "
            "labels to the Literal[...] of the output field (-1 is a `datasets` split's "
            "missing label: give a labelled split)."
        )
    _check_unique_ids(examples, id_column, source)
    return examples, (groups if group_column is not None else None)


def _example_id(
    record: Mapping[str, Any], id_column: str | None, index: int, source: str, prefix: str = ""
) -> str:
    if id_column is None:
        return f"{prefix}{index}"
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
    available: set[str], task: Task, schema: TaskSchema, source: str, where: str = "Task.data"
) -> tuple[dict[str, str], str | None, str | None]:
    """The data column of each signature field, the id column and the group column, each
    checked against the `available` columns."""
    columns = {
        name: task.columns.get(name, name) for name in (*schema.input_names, schema.output_field)
    }
    for field_name, column in columns.items():
        if column not in available:
            raise DataError(
                f"{source}: {where} has no column {column!r} for signature field "
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
