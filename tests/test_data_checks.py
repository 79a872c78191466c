"""Specification tests for what is checked of a task's data before any model runs (issue 20):
files read exactly, labels reported as the file spells them, empty and duplicate inputs, and
splits that keep identical inputs together and teach every label."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Literal

import dspy
import pytest

from pldc import DataError, DataWarning, Splits, Task
from pldc.data import load_task_data

SOURCE = "claims_task.py"


class ClaimReview(dspy.Signature):
    """Decide what happens to an expense claim."""

    claim: str = dspy.InputField()
    decision: Literal["approve", "reject", "escalate"] = dspy.OutputField()


class Rating(dspy.Signature):
    """Rate the claim."""

    claim: str = dspy.InputField()
    stars: Literal["1", "2"] = dspy.OutputField()


class Accent(dspy.Signature):
    """Where does the trip go."""

    claim: str = dspy.InputField()
    place: Literal["caf\u00e9", "bar"] = dspy.OutputField()  # "café", NFC


def claim_records(approve: int = 10, reject: int = 10, escalate: int = 10) -> list[dict]:
    counts = {"approve": approve, "reject": reject, "escalate": escalate}
    return [
        {"id": f"{label}-{i}", "claim": f"claim {i} for {label}", "decision": label}
        for label, count in counts.items()
        for i in range(count)
    ]


def load(records, signature=ClaimReview, **task_fields):
    return load_task_data(Task(signature=signature, data=records, **task_fields), SOURCE)


def load_file(path: Path, signature=ClaimReview, **task_fields):
    return load_task_data(Task(signature=signature, data=str(path), **task_fields), SOURCE)


def split_of(task_data) -> dict[str, str]:
    return {ex.id: name for name in ("train", "dev", "test") for ex in task_data.split(name)}


def data_warnings(call) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


# Files


def test_a_csv_with_a_utf8_byte_order_mark_is_read_with_its_first_column_named_plainly(tmp_path):
    path = tmp_path / "claims.csv"
    lines = ["id,claim,decision"] + [
        f"{r['id']},{r['claim']},{r['decision']}" for r in claim_records()
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())

    task_data = load_file(path)

    assert sorted(split_of(task_data)) == sorted(r["id"] for r in claim_records())


def test_a_json_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "claims.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(claim_records()).encode())

    assert len(split_of(load_file(path))) == 30


def test_a_json_object_of_columns_is_read_as_records(tmp_path):
    records = claim_records()
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({key: [r[key] for r in records] for key in records[0]}))

    assert len(split_of(load_file(path))) == 30


def test_a_broken_jsonl_line_is_named_by_its_number(tmp_path):
    path = tmp_path / "claims.jsonl"
    lines = [json.dumps(r) for r in claim_records()]
    lines[6] = lines[6].replace('", "', '" "', 1)
    path.write_text("\n".join(lines))

    with pytest.raises(DataError) as error:
        load_file(path)

    message = str(error.value)
    assert f"{path}: line 7 is not valid JSON" in message
    assert "fix that line" in message


def test_jsonl_saved_as_json_is_told_to_use_the_jsonl_suffix(tmp_path):
    path = tmp_path / "claims.json"
    path.write_text("\n".join(json.dumps(r) for r in claim_records()))

    with pytest.raises(DataError, match=r"name it \.jsonl"):
        load_file(path)


def test_a_csv_row_with_too_many_values_is_named_by_its_line(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("id,claim,decision\na,taxi,approve\nb,taxi, spa,reject\n")

    with pytest.raises(DataError) as error:
        load_file(path)

    message = str(error.value)
    assert "line 3 has 4 values but the header has 3 columns ('id', 'claim', 'decision')" in message
    assert "quote values that hold commas" in message


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_bytes("id,claim,decision\na,caf\u00e9,approve\n".encode("latin-1"))

    with pytest.raises(DataError, match=r"line 2 is not UTF-8.*save the file as UTF-8"):
        load_file(path)


def test_a_missing_column_lists_the_columns_quoted_and_the_near_miss(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text("id, claim,decision\na,taxi,approve\n")

    with pytest.raises(DataError) as error:
        load_file(path)

    message = str(error.value)
    assert "columns: ' claim', 'decision', 'id'" in message
    assert "column ' claim' differs from it only in case or surrounding whitespace" in message


# Labels as the file spells them


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        (True, "true (a boolean, not a label)"),
        (False, "false (a boolean, not a label)"),
        (None, "null (a missing label)"),
        (1.0, "number 1.0 (where the Literal has '1')"),
        (2.5, "number 2.5 (not a label)"),
        ("1.0", "'1.0' (the number of label '1', written differently)"),
        (" 1", "' 1' (differs from '1' only in case or whitespace)"),
    ],
)
def test_a_json_label_outside_the_set_is_reported_in_the_files_spelling_with_its_cause(
    tmp_path, value, phrase
):
    records = [{"id": str(i), "claim": f"trip {i}", "stars": "12"[i % 2]} for i in range(20)]
    records[3]["stars"] = value
    path = tmp_path / "ratings.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    with pytest.raises(DataError) as error:
        load_file(path, signature=Rating)

    message = str(error.value)
    assert f"{phrase} ×1 (first: example '3')" in message
    assert "column 'stars'" in message


def test_a_record_without_the_label_key_is_reported_as_lacking_it(tmp_path):
    records = [{"id": str(i), "claim": f"trip {i}", "stars": "12"[i % 2]} for i in range(20)]
    del records[5]["stars"]
    path = tmp_path / "ratings.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    with pytest.raises(DataError, match=r"no value \(the record lacks the column\) ×1"):
        load_file(path, signature=Rating)


def test_a_whole_number_label_names_the_label_spelled_as_that_number():
    records = [{"id": str(i), "claim": f"trip {i}", "stars": (1, 2)[i % 2]} for i in range(20)]

    task_data = load(records, signature=Rating)

    assert {ex.label for ex in task_data.train} == {"1", "2"}


def test_records_given_in_python_are_reported_in_pythons_spelling():
    records = claim_records()
    records[0]["decision"] = None

    with pytest.raises(DataError, match=r"None \(a missing label\)"):
        load(records)


def test_a_data_label_in_another_unicode_normalization_is_read_as_the_declared_label():
    records = [
        {"id": str(i), "claim": f"trip {i}", "place": ("cafe\u0301", "bar")[i % 2]}
        for i in range(20)
    ]

    task_data = load(records, signature=Accent)

    labels = {ex.label for name in ("train", "dev", "test") for ex in task_data.split(name)}
    assert labels == {"caf\u00e9", "bar"}


# Inputs


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_or_whitespace_only_inputs_are_refused_naming_every_example(text):
    records = claim_records()
    for index in (2, 12):
        records[index]["claim"] = text

    with pytest.raises(DataError) as error:
        load(records)

    message = str(error.value)
    assert "input field 'claim' is empty or whitespace-only in 2 example(s)" in message
    assert "'approve-2', 'reject-2'" in message


def test_identical_inputs_with_different_labels_are_refused_naming_the_examples():
    records = claim_records()
    records[12]["claim"] = records[1]["claim"]

    with pytest.raises(DataError) as error:
        load(records)

    message = str(error.value)
    assert "1 input text(s) appear with different labels" in message
    assert "'approve-1' (approve), 'reject-2' (reject)" in message


def test_identical_inputs_are_reported_with_counts_and_kept_in_one_split():
    records = claim_records(30, 30, 30)
    for copy in (1, 2, 3):  # approve-0's text four times
        records[copy]["claim"] = records[0]["claim"]
    # approve-5's text is approve-4's with other whitespace
    records[5]["claim"] = "  " + records[4]["claim"].replace(" ", "  ") + "\n"

    for seed in range(8):
        task_data, reports = data_warnings(
            lambda seed=seed: load(records, splits=Splits(seed=seed))
        )
        splits = split_of(task_data)
        assert len({splits[f"approve-{i}"] for i in range(4)}) == 1
        assert splits["approve-4"] == splits["approve-5"]
    assert any("2 input text(s) occur more than once (6 examples" in r for r in reports)


def test_identical_inputs_in_two_groups_keep_both_groups_in_one_split():
    records = [
        {"id": f"g{g}-{m}", "claim": f"c{g}-{m}", "decision": label, "case": f"g{g}"}
        for g in range(20)
        for m, label in enumerate(("approve", "reject", "escalate"))
    ]
    records[4]["claim"] = records[40]["claim"]  # g1-1 and g13-1, both "reject"

    for seed in range(8):
        task_data, _ = data_warnings(
            lambda seed=seed: load(records, splits=Splits(group_by="case", seed=seed))
        )
        splits = split_of(task_data)
        assert (
            len({splits[f"g1-{m}"] for m in range(3)} | {splits[f"g13-{m}"] for m in range(3)}) == 1
        )


def test_data_without_duplicate_inputs_is_not_reported():
    _, reports = data_warnings(lambda: load(claim_records()))

    assert reports == []


# Rare labels


def test_a_label_too_rare_for_every_split_is_reported_with_its_counts():
    records = claim_records(20, 20, 2)

    task_data, reports = data_warnings(lambda: load(records))

    counts = Counter(ex.label for ex in task_data.train)
    assert counts["escalate"] >= 1
    assert len(reports) == 1
    assert "'escalate' 2 (train 1, dev " in reports[0]
    assert "add examples of it or drop it from the Literal" in reports[0]


def test_a_declared_label_without_examples_is_reported_as_zero():
    _, reports = data_warnings(lambda: load(claim_records(20, 20, 0)))

    assert "'escalate' 0 (train 0, dev 0, test 0)" in reports[0]


@pytest.mark.parametrize("train", [0.2, 0.5])
def test_every_label_with_an_example_lands_in_train(train):
    splits = Splits(train=train, dev=(1 - train) / 2, test=(1 - train) / 2)
    records = claim_records(20, 20, 1)
    for seed in range(10):
        task_data, _ = data_warnings(
            lambda seed=seed: load(records, splits=Splits(**{**splits.__dict__, "seed": seed}))
        )
        assert "escalate" in {ex.label for ex in task_data.train}, seed


def test_a_grouped_split_moves_a_label_missing_from_train_into_train():
    records = [
        {
            "id": f"g{g}-{m}",
            "claim": f"c{g}-{m}",
            "decision": "approve" if m else "reject",
            "case": f"g{g}",
        }
        for g in range(20)
        for m in range(3)
    ]
    records.append(
        {"id": "rare", "claim": "a rare escalation", "decision": "escalate", "case": "g-rare"}
    )

    for seed in range(10):
        task_data, _ = data_warnings(
            lambda seed=seed: load(records, splits=Splits(group_by="case", seed=seed))
        )
        assert "escalate" in {ex.label for ex in task_data.train}, seed
        assert task_data.dev and task_data.test


def test_data_with_enough_of_every_label_splits_as_before():
    # The assignment of data without duplicates or rare labels is pinned: splits, and so every
    # stored stage and study of an earlier compile, stay valid.
    task_data = load(claim_records(), splits=Splits(seed=0))

    assert sorted(ex.id for ex in task_data.dev) == [
        "approve-0",
        "approve-2",
        "escalate-2",
        "escalate-7",
        "reject-6",
        "reject-8",
    ]
