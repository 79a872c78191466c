"""The StereoSet task file reads ../shared/data, flattens items, and keeps contexts whole."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import pldc
from pldc.data import load_task_and_data

TASK_FILE = Path(__file__).resolve().parent.parent / "signatures" / "stereoset.py"


@pytest.fixture(scope="module")
def task_and_data():
    return load_task_and_data(TASK_FILE)


def test_every_item_becomes_three_examples_one_per_label(task_and_data):
    task, data = task_and_data
    examples = data.train + data.dev + data.test
    assert Counter(ex.label for ex in examples) == {label: 240 for label in task.schema.labels}


def test_no_context_is_split_across_train_dev_and_test(task_and_data):
    task, data = task_and_data
    contexts = {}
    for split in ("train", "dev", "test"):
        for ex in data.split(split):
            context = next(r["context"] for r in task.data if r["id"] == ex.id)
            contexts.setdefault(context, set()).add(split)
    assert all(len(splits) == 1 for splits in contexts.values())


def test_a_missing_data_file_names_the_path_and_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("STEREOSET_JSONL", str(tmp_path / "nope.jsonl"))
    with pytest.raises(pldc.DataError, match="STEREOSET_JSONL"):
        pldc.load_task_file(TASK_FILE)
