"""Data as users already hold it (issue 21): dspy.Example lists, sets given already split,
a `datasets.DatasetDict` with its own splits, and `ClassLabel` columns."""

from __future__ import annotations

import warnings

import datasets
import dspy
import pytest
from test_data import ClaimReview, private_datasets_cache  # noqa: F401 - an autouse fixture

from pldc import DataError, Splits, Task, TaskFileError
from pldc.data import load_task_data

SOURCE = "claims_task.py"
LABELS = ["approve", "reject", "escalate"]


def records(prefix: str, per_label: int, *, ids: bool = True) -> list[dict]:
    out = []
    for label in LABELS:
        for i in range(per_label):
            record = {"claim": f"{prefix} claim {i} for {label}", "decision": label}
            if ids:
                record["id"] = f"{prefix}-{label}-{i}"
            out.append(record)
    return out


def load(**task_fields):
    return load_task_data(Task(signature=ClaimReview, **task_fields), SOURCE)


def ids(examples) -> list[str]:
    return [example.id for example in examples]


def test_a_list_of_dspy_examples_reads_as_the_same_records():
    plain = records("a", 10)
    examples = [dspy.Example(**r).with_inputs("claim") for r in plain]

    from_examples, from_dicts = load(data=examples), load(data=plain)

    assert from_examples == from_dicts
    assert from_examples.fingerprint == from_dicts.fingerprint


def test_train_dev_and_test_given_are_kept_as_given():
    train, dev, test = records("tr", 6), records("dv", 2), records("te", 3)

    data = load(train=train, dev=dev, test=test)

    assert ids(data.train) == [r["id"] for r in train]
    assert ids(data.dev) == [r["id"] for r in dev]
    assert ids(data.test) == [r["id"] for r in test]


def test_given_sets_without_an_id_column_get_ids_named_by_their_set():
    data = load(
        train=records("tr", 4, ids=False),
        dev=records("dv", 1, ids=False),
        test=records("te", 1, ids=False),
    )

    assert ids(data.train)[:2] == ["train-0", "train-1"]
    assert ids(data.dev) == ["dev-0", "dev-1", "dev-2"]
    assert ids(data.test) == ["test-0", "test-1", "test-2"]


def test_a_missing_dev_set_is_carved_from_train_in_proportion_and_test_is_untouched():
    train, test = records("tr", 8), records("te", 3)

    data = load(train=train, test=test, splits=Splits(train=0.6, dev=0.2, test=0.2))

    assert ids(data.test) == [r["id"] for r in test]
    assert sorted(ids(data.train) + ids(data.dev)) == sorted(r["id"] for r in train)
    # train 0.6 against dev 0.2: a quarter of each label's 8 examples moves to dev.
    assert len(data.dev) == 3 * 2 and len(data.train) == 3 * 6
    assert {example.label for example in data.dev} == set(LABELS)


def test_train_alone_splits_exactly_as_data_does():
    plain = records("a", 10)

    assert load(train=plain) == load(data=plain)


def test_a_dataset_dict_uses_its_own_splits_and_a_class_label_column_reads_as_names():
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "claim": datasets.Value("string"),
            "decision": datasets.ClassLabel(names=LABELS),
        }
    )

    def dataset(prefix: str, per_label: int) -> datasets.Dataset:
        rows = [{**r, "decision": LABELS.index(r["decision"])} for r in records(prefix, per_label)]
        return datasets.Dataset.from_list(rows, features=features)

    splits = datasets.DatasetDict(
        train=dataset("tr", 6), validation=dataset("va", 2), test=dataset("te", 2)
    )

    data = load(data=splits)

    assert ids(data.dev) == [f"va-{label}-{i}" for label in LABELS for i in range(2)]
    assert ids(data.test) == [f"te-{label}-{i}" for label in LABELS for i in range(2)]
    assert [example.label for example in data.train[:6]] == ["approve"] * 6
    assert {example.label for example in data.test} == set(LABELS)


def test_a_dataset_dict_without_validation_carves_dev_from_its_train_split():
    splits = datasets.DatasetDict(
        train=datasets.Dataset.from_list(records("tr", 8)),
        test=datasets.Dataset.from_list(records("te", 2)),
    )

    data = load(data=splits)

    assert len(data.dev) > 0 and all(i.startswith("tr-") for i in ids(data.dev))
    assert ids(data.test) == [r["id"] for r in records("te", 2)]


def test_a_text_in_two_given_sets_is_reported_as_overstating_scores():
    train = records("tr", 6)
    test = [*records("te", 2), {**train[0], "id": "copy"}]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(train=train, dev=records("dv", 2), test=test)

    assert any("overstate" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        (
            {"data": records("a", 3), "train": records("b", 3)},
            TaskFileError,
            "give either data= .* or train=/dev=/test=",
        ),
        ({"dev": records("a", 3)}, TaskFileError, "has no train= set"),
        ({}, TaskFileError, "has no data"),
    ],
    ids=["data and train", "dev without train", "nothing"],
)
def test_an_unusable_combination_of_sets_is_refused_when_the_task_is_declared(
    fields, error, message
):
    with pytest.raises(error, match=message):
        Task(signature=ClaimReview, **fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"data": datasets.DatasetDict(other=datasets.Dataset.from_list(records("a", 3)))},
            r"DatasetDict without a 'train' split \(splits: 'other'\)",
        ),
        ({"train": records("a", 3), "test": [1, 2]}, r"Task\.test is a list"),
        ({"train": records("a", 3), "dev": []}, r"Task\.dev holds no records"),
        (
            {"train": records("a", 3), "test": [{"text": "x", "decision": "approve"}]},
            r"Task\.test has no column 'claim'",
        ),
        (
            {"train": records("a", 3), "test": records("a", 1)},
            r"example id 'a-approve-0' appears twice",
        ),
    ],
    ids=["no train split", "not records", "empty set", "missing column", "same id twice"],
)
def test_unusable_sets_are_refused_naming_the_set_and_the_fix(fields, message):
    with pytest.raises(DataError, match=message):
        load(**fields)
