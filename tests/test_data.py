"""Specification tests for pldc/data.py: loading a task's examples and splitting them."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Literal

import datasets
import dspy
import pytest

from pldc import DataError, Splits, Task
from pldc.data import load_task_and_data, load_task_data

SOURCE = "claims_task.py"


class ClaimReview(dspy.Signature):
    """Decide what happens to an expense claim."""

    claim: str = dspy.InputField()
    decision: Literal["approve", "reject", "escalate"] = dspy.OutputField()


@pytest.fixture(autouse=True)
def private_datasets_cache(tmp_path, monkeypatch):
    """`datasets` caches every file it reads; keep that cache out of the user's home."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def claim_records(approve: int = 10, reject: int = 10, escalate: int = 10) -> list[dict]:
    counts = {"approve": approve, "reject": reject, "escalate": escalate}
    records = []
    for label, count in counts.items():
        for i in range(count):
            claim = f"claim {i} for {label}"
            records.append({"id": f"{label}-{i}", "claim": claim, "decision": label})
    return records


def load(records, **task_fields):
    return load_task_data(Task(signature=ClaimReview, data=records, **task_fields), SOURCE)


def all_examples(task_data):
    return [*task_data.train, *task_data.dev, *task_data.test]


def example_by_id(task_data, example_id):
    return next(ex for ex in all_examples(task_data) if ex.id == example_id)


def all_ids(task_data) -> list[str]:
    return [ex.id for name in ("train", "dev", "test") for ex in task_data.split(name)]


def split_of(task_data) -> dict[str, str]:
    return {ex.id: name for name in ("train", "dev", "test") for ex in task_data.split(name)}


# Reading records


def test_records_from_a_list_of_dicts_become_examples():
    task_data = load(claim_records())

    assert sorted(all_ids(task_data)) == sorted(r["id"] for r in claim_records())
    example = example_by_id(task_data, "reject-0")
    assert example.inputs == {"claim": "claim 0 for reject"}
    assert example.label == "reject"


def test_records_from_a_datasets_dataset_become_examples():
    dataset = datasets.Dataset.from_list(claim_records())

    task_data = load(dataset)

    assert sorted(all_ids(task_data)) == sorted(r["id"] for r in claim_records())


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_csv(path: Path, records: list[dict]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


@pytest.mark.parametrize(
    ("filename", "write"),
    [
        ("claims.jsonl", write_jsonl),
        ("claims.json", lambda path, records: path.write_text(json.dumps(records))),
        ("claims.csv", write_csv),
    ],
)
def test_a_local_data_file_is_read_into_examples(tmp_path, filename, write):
    write(tmp_path / filename, claim_records())
    task = Task(signature=ClaimReview, data=str(tmp_path / filename))

    task_data = load_task_data(task, SOURCE)

    assert sorted(all_ids(task_data)) == sorted(r["id"] for r in claim_records())
    assert example_by_id(task_data, "escalate-3").inputs == {"claim": "claim 3 for escalate"}
    assert example_by_id(task_data, "escalate-3").label == "escalate"


def test_a_relative_data_path_is_resolved_against_base_dir(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "claims.jsonl", claim_records())
    monkeypatch.chdir(tmp_path.parent)
    task = Task(signature=ClaimReview, data="claims.jsonl")

    task_data = load_task_data(task, SOURCE, base_dir=tmp_path)

    assert len(all_ids(task_data)) == 30


def test_a_folder_is_read_as_a_datasets_name_with_its_split(tmp_path):
    # datasets.load_dataset takes a hub name or a folder alike; a folder keeps this offline.
    folder = tmp_path / "claims"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", claim_records())
    write_jsonl(folder / "test.jsonl", claim_records(approve=5, reject=5, escalate=5))

    task_data = load_task_data(Task(signature=ClaimReview, data=str(folder)), SOURCE)
    held_out = load_task_data(
        Task(signature=ClaimReview, data=str(folder), dataset_split="test"), SOURCE
    )

    assert len(all_ids(task_data)) == 30
    assert len(all_ids(held_out)) == 15


def test_a_folder_without_that_split_is_one_clear_error(tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", claim_records())

    with pytest.raises(DataError) as error:
        load_task_data(Task(signature=ClaimReview, data=str(folder), dataset_split="dev"), SOURCE)

    message = str(error.value)
    assert SOURCE in message and str(folder) in message and "Fix the path" in message


def test_csv_values_are_kept_as_the_text_in_the_file(tmp_path):
    # Every value in these columns looks like a number, as account codes or amounts do.
    records = [
        {"id": f"{n:04d}", "claim": f"{n:03d}.50", "decision": r["decision"]}
        for n, r in enumerate(claim_records())
    ]
    write_csv(tmp_path / "claims.csv", records)

    task_data = load_task_data(Task(signature=ClaimReview, data="claims.csv"), SOURCE, tmp_path)

    assert example_by_id(task_data, "0007").inputs == {"claim": "007.50"}


def test_columns_maps_signature_fields_to_data_columns():
    records = [
        {"id": r["id"], "text": r["claim"], "verdict": r["decision"]} for r in claim_records()
    ]

    task_data = load(records, columns={"claim": "text", "decision": "verdict"})

    example = example_by_id(task_data, "reject-2")
    assert example.inputs == {"claim": "claim 2 for reject"}
    assert example.label == "reject"


def test_id_column_names_the_column_that_holds_example_ids():
    records = [{"uid": f"u{n}", **r} for n, r in enumerate(claim_records())]

    task_data = load(records, id_column="uid")

    assert sorted(all_ids(task_data)) == sorted(f"u{n}" for n in range(30))


def test_without_an_id_column_examples_are_numbered_by_position():
    records = [{"claim": r["claim"], "decision": r["decision"]} for r in claim_records()]

    task_data = load(records)

    assert sorted(all_ids(task_data), key=int) == [str(n) for n in range(30)]


def test_an_id_column_missing_from_the_data_is_a_data_error_naming_it():
    with pytest.raises(DataError, match="'uid'"):
        load(claim_records(), id_column="uid")


# Splitting


def test_splits_are_deterministic_for_a_seed():
    first = load(claim_records(), splits=Splits(seed=3))
    second = load(claim_records(), splits=Splits(seed=3))

    assert first == second


def test_splits_differ_across_seeds():
    seed_0 = load(claim_records(), splits=Splits(seed=0))
    seed_1 = load(claim_records(), splits=Splits(seed=1))

    assert split_of(seed_0) != split_of(seed_1)


def test_splits_are_disjoint_and_cover_every_example():
    task_data = load(claim_records())
    ids = all_ids(task_data)

    assert len(ids) == len(set(ids))
    assert set(ids) == {r["id"] for r in claim_records()}


def test_split_sizes_roughly_follow_the_fractions():
    task_data = load(claim_records(40, 40, 20), splits=Splits(train=0.5, dev=0.2, test=0.3))

    sizes = [len(task_data.train), len(task_data.dev), len(task_data.test)]
    for size, expected in zip(sizes, (50, 20, 30), strict=True):
        assert abs(size - expected) <= 2


def test_every_label_appears_in_every_split_when_it_has_enough_examples():
    task_data = load(claim_records(approve=30, reject=15, escalate=5))

    for name in ("train", "dev", "test"):
        labels = Counter(ex.label for ex in task_data.split(name))
        assert set(labels) == {"approve", "reject", "escalate"}, name


def test_group_by_keeps_every_group_whole_in_one_split():
    records = [
        {
            "id": f"g{group}-{member}",
            "claim": f"c{group}-{member}",
            "decision": label,
            "case": f"g{group}",
        }
        for group in range(20)
        for member, label in enumerate(("approve", "reject", "escalate"))
    ]

    task_data = load(records, splits=Splits(group_by="case"))

    split_by_id = split_of(task_data)
    for group in range(20):
        splits = {split_by_id[f"g{group}-{member}"] for member in range(3)}
        assert len(splits) == 1, f"group g{group} was split across {splits}"
    assert all(task_data.split(name) for name in ("train", "dev", "test"))


def test_group_by_naming_a_missing_column_is_a_data_error():
    with pytest.raises(DataError, match="'case'"):
        load(claim_records(), splits=Splits(group_by="case"))


def test_unknown_split_name_is_refused():
    with pytest.raises(DataError, match="'validation'"):
        load(claim_records()).split("validation")


# Errors


def test_unknown_label_error_names_the_label_the_column_the_first_example_and_the_fix():
    records = claim_records()
    records[4]["decision"] = "maybe"
    records[7]["decision"] = "maybe"
    records = [{"id": r["id"], "claim": r["claim"], "verdict": r["decision"]} for r in records]

    with pytest.raises(DataError) as error:
        load(records, columns={"decision": "verdict"})

    message = str(error.value)
    assert "'maybe'" in message
    assert "column 'verdict'" in message
    assert "first: example 'approve-4'" in message
    assert "Literal[...]" in message


def test_an_empty_split_is_a_data_error_naming_the_split_and_the_fix():
    records = [
        {"id": "a", "claim": "taxi", "decision": "approve"},
        {"id": "b", "claim": "spa", "decision": "reject"},
    ]

    with pytest.raises(DataError) as error:
        load(records)

    message = str(error.value)
    assert "the dev split is empty" in message
    assert "Splits(dev=" in message


def test_a_missing_column_error_names_the_column_and_suggests_columns():
    records = [
        {"id": r["id"], "text": r["claim"], "decision": r["decision"]} for r in claim_records()
    ]

    with pytest.raises(DataError) as error:
        load(records)

    message = str(error.value)
    assert "no column 'claim'" in message
    assert "columns=" in message


def test_duplicate_ids_are_a_data_error_naming_the_id():
    records = claim_records()
    records[5]["id"] = records[2]["id"]

    with pytest.raises(DataError) as error:
        load(records)

    message = str(error.value)
    assert f"{records[2]['id']!r} appears twice" in message


def test_a_none_input_value_is_a_data_error_naming_the_example_and_the_field():
    records = claim_records()
    records[3]["claim"] = None

    with pytest.raises(DataError) as error:
        load(records)

    message = str(error.value)
    assert "'approve-3'" in message
    assert "input field 'claim'" in message


TASK_FILE = """
from typing import Literal

import dspy
import pldc


class ClaimReview(dspy.Signature):
    \"\"\"Decide what happens to an expense claim.\"\"\"

    claim: str = dspy.InputField()
    decision: Literal["approve", "reject", "escalate"] = dspy.OutputField()


task = pldc.Task(ClaimReview, data={data!r})
"""


def test_a_task_file_and_its_data_beside_it_load_together(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "claims.jsonl", claim_records())
    (tmp_path / "claims_task.py").write_text(TASK_FILE.format(data="claims.jsonl"))
    monkeypatch.chdir(tmp_path.parent)

    task, task_data = load_task_and_data(tmp_path / "claims_task.py")

    assert task.display_name == "claim_review"
    assert sorted(all_ids(task_data)) == sorted(r["id"] for r in claim_records())


def test_a_task_files_data_error_names_the_task_file(tmp_path):
    (tmp_path / "claims_task.py").write_text(TASK_FILE.format(data="missing.jsonl"))

    with pytest.raises(DataError, match=r"claims_task\.py: .*missing\.jsonl does not exist"):
        load_task_and_data(tmp_path / "claims_task.py")


def test_no_records_is_a_data_error():
    with pytest.raises(DataError, match="no records"):
        load([])


def test_a_missing_data_file_is_a_data_error_naming_the_path(tmp_path):
    task = Task(signature=ClaimReview, data="missing.jsonl")

    with pytest.raises(DataError) as error:
        load_task_data(task, SOURCE, base_dir=tmp_path)

    message = str(error.value)
    assert str(tmp_path / "missing.jsonl") in message
    assert "does not exist" in message


def test_an_unsupported_file_suffix_is_a_data_error_listing_the_formats(tmp_path):
    (tmp_path / "claims.txt").write_text("taxi,approve\n")
    task = Task(signature=ClaimReview, data="claims.txt")

    with pytest.raises(DataError) as error:
        load_task_data(task, SOURCE, base_dir=tmp_path)

    message = str(error.value)
    assert "'.txt'" in message
    assert ".json, .jsonl or .csv" in message


def test_data_of_an_unsupported_type_is_a_data_error():
    with pytest.raises(DataError, match=r"Task\.data is a int"):
        load(42)


# Fingerprint


def one_group_per_example(records: list[dict]) -> list[dict]:
    """With one group per example the split does not depend on labels, only on the seed."""
    return [{**r, "case": r["id"]} for r in records]


def test_fingerprint_is_the_same_for_the_same_data_and_seed():
    first = load(claim_records()).fingerprint
    second = load(claim_records()).fingerprint

    assert first == second


def test_fingerprint_changes_when_one_label_changes():
    records = one_group_per_example(claim_records())
    relabelled = [dict(r) for r in records]
    relabelled[0]["decision"] = "reject"
    splits = Splits(group_by="case")

    original = load(records, splits=splits)
    changed = load(relabelled, splits=splits)

    assert split_of(original) == split_of(changed)
    assert original.fingerprint != changed.fingerprint


def test_fingerprint_changes_when_the_split_seed_changes():
    seed_0 = load(claim_records(), splits=Splits(seed=0))
    seed_1 = load(claim_records(), splits=Splits(seed=1))

    assert seed_0.fingerprint != seed_1.fingerprint
