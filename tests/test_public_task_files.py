"""The public-benchmark task files in signatures/ read ../shared/data and split it soundly."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

import pldc
from pldc.data import load_task_and_data
from pldc.render import render_system_prompt
from pldc.taskfile import load_task_file

SIGNATURES = Path(__file__).resolve().parent.parent / "signatures"
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
TASK_NAMES = ("contract_nli", "logiqa", "banking77", "davidson", "stereoset")
GROUPED = ("contract_nli", "logiqa", "stereoset")
ENVIRONMENT = {
    "contract_nli": "CONTRACT_NLI_DIR",
    "logiqa": "LOGIQA_TXT",
    "banking77": "BANKING77_DIR",
    "davidson": "DAVIDSON_CSV",
    "stereoset": "STEREOSET_JSONL",
}

if not DATA_DIR.is_dir():
    pytest.skip(f"{DATA_DIR} is missing", allow_module_level=True)


def load(name: str):
    path = SIGNATURES / f"{name}.py"
    task, data = load_task_and_data(path)
    # Kept now: a later load of the same file replaces the module in sys.modules.
    return task, data, sys.modules[task.signature.__module__]


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = load(name)
        return cache[name]

    return get


def records_by_id(task) -> dict[str, dict]:
    return {str(record["id"]): record for record in task.data}


@pytest.mark.parametrize("name", TASK_NAMES)
def test_train_dev_and_test_are_all_non_empty(loaded, name):
    _, data, _ = loaded(name)
    assert all(data.split(split) for split in ("train", "dev", "test"))


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_label_is_in_the_signature_label_set(loaded, name):
    task, data, _ = loaded(name)
    labels = {ex.label for ex in data.train + data.dev + data.test}
    assert labels == set(task.schema.labels)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_loading_twice_gives_identical_splits(loaded, name):
    _, first, _ = loaded(name)
    _, second, _ = load(name)
    assert first == second
    assert first.fingerprint == second.fingerprint


@pytest.mark.parametrize("name", GROUPED)
def test_no_group_crosses_train_dev_and_test(loaded, name):
    task, data, _ = loaded(name)
    records = records_by_id(task)
    splits_of_group: dict[str, set[str]] = {}
    for split in ("train", "dev", "test"):
        for ex in data.split(split):
            group = records[ex.id][task.splits.group_by]
            splits_of_group.setdefault(group, set()).add(split)
    assert all(len(splits) == 1 for splits in splits_of_group.values())


@pytest.mark.parametrize("name", [n for n in TASK_NAMES if n != "stereoset"])
def test_a_missing_data_path_names_the_environment_variable(name, tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT[name], str(tmp_path / "nope"))
    with pytest.raises(pldc.DataError, match=ENVIRONMENT[name]):
        load_task_file(SIGNATURES / f"{name}.py")


# Contract-NLI


def test_contract_nli_samples_whole_contracts_from_both_files(loaded):
    task, _, module = loaded("contract_nli")
    pairs_per_document = Counter(record["document"] for record in task.data)
    assert len(pairs_per_document) == module.DOCUMENTS
    assert set(pairs_per_document.values()) == {17}
    # train_truncated.json holds ids 34 and 86-143; dev.json holds the others.
    from_truncated = {d for d in pairs_per_document if int(d) == 34 or 86 <= int(d) <= 143}
    assert from_truncated and from_truncated != set(pairs_per_document)


def test_contract_nli_excerpts_hold_k_spans_one_per_line_whatever_the_label(loaded):
    task, _, module = loaded("contract_nli")
    for record in task.data:
        lines = record["excerpts"].split("\n")
        assert len(lines) == module.EXCERPT_SPANS
        assert all(line.strip() for line in lines)


def test_contract_nli_excerpts_are_never_the_evidence_only_premise(loaded):
    task, _, _ = loaded("contract_nli")
    for record in task.data:
        assert " ".join(record["excerpts"].split()) != " ".join(record["evidence"].split())
    assert any(r["evidence"] for r in task.data)
    assert all(not r["evidence"] for r in task.data if r["label"] == "NotMentioned")


def test_bm25_ranks_the_span_sharing_the_hypothesis_rare_words_first(loaded):
    _, _, module = loaded("contract_nli")
    spans = [
        "The Receiving Party shall keep the Confidential Information secret.",
        "The Receiving Party shall not reverse engineer any prototypes.",
        "________________",
        "The Receiving Party shall return the Confidential Information on request.",
        "This Agreement is governed by the laws of Delaware.",
    ]
    index = module.SpanIndex(spans)
    scores = index.scores("Receiving Party shall not reverse engineer any objects.")
    assert max(range(len(spans)), key=scores.__getitem__) == 1
    # A word every span shares counts for less than one only a single span has.
    assert index.scores("party")[0] < index.scores("delaware")[4]
    assert index.top("reverse engineer prototypes", k=1) == [1]


def test_bm25_top_spans_come_in_document_order_and_skip_spans_without_words(loaded):
    _, _, module = loaded("contract_nli")
    spans = ["alpha beta", "____", "gamma", "beta gamma delta", "delta"]
    top = module.SpanIndex(spans).top("delta gamma", k=4)
    assert top == sorted(top)
    assert 1 not in top
    assert len(top) == 4


# LogiQA


def test_logiqa_reads_every_eight_line_block(loaded):
    task, _, _ = loaded("logiqa")
    assert len(task.data) == 651


def test_logiqa_options_are_four_lines_lettered_a_to_d(loaded):
    task, _, _ = loaded("logiqa")
    for record in task.data:
        lines = record["options"].split("\n")
        assert [line[:3] for line in lines] == ["A. ", "B. ", "C. ", "D. "]
        assert all(line[3:].strip() for line in lines)


def test_logiqa_options_drop_exactly_their_own_letter_prefix(loaded):
    task, _, _ = loaded("logiqa")
    raw_lines = (DATA_DIR / "logiqa" / "Eval.txt").read_text(encoding="utf-8").split("\n")
    malformed_blocks = set()
    for block, record in enumerate(task.data):
        options = record["options"].split("\n")
        for position, letter in enumerate("ABCD"):
            raw = raw_lines[block * 8 + 4 + position].strip()
            clean = options[position][3:]
            if raw.startswith(f"{letter}."):
                # Well-formed: only the prefix goes, so content like "C. C lose." survives.
                assert clean == raw[2:].strip()
            else:
                malformed_blocks.add(block)
                assert not re.match(rf"{letter}[.?\s]", clean, re.IGNORECASE), options[position]
                assert not re.search(rf"(?<![A-Za-z]){letter}\.(?=\S)", clean), options[position]
    assert len(malformed_blocks) == 14  # as SOURCE.md counts for Eval.txt


def test_logiqa_a_letter_that_slid_into_the_option_text_is_removed(loaded):
    task, _, _ = loaded("logiqa")
    options = records_by_id(task)["logiqa082"]["options"].split("\n")
    assert options[1].startswith("B. In the NEC fast chess game")


@pytest.mark.parametrize(
    ("raw", "letter", "clean"),
    [
        ("A.Civic Park is north", "A", "Civic Park is north"),
        ("A The brain will adapt", "A", "The brain will adapt"),
        ("C?Both are true", "C", "Both are true"),
        ("d.The fertility rate", "D", "The fertility rate"),
        ("In the B.NEC fast chess game", "B", "In the NEC fast chess game"),
        ("A.A.C, D are playing", "A", "A.C, D are playing"),
        ("A small amount of land in C.A area", "C", "A small amount of land in A area"),
    ],
)
def test_logiqa_clean_option_strips_only_the_options_own_letter(loaded, raw, letter, clean):
    _, _, module = loaded("logiqa")
    assert module.clean_option(raw, letter) == clean


# BANKING77


def test_banking77_has_all_77_intents_from_categories_json(loaded):
    task, data, _ = loaded("banking77")
    categories = json.loads((DATA_DIR / "banking77" / "categories.json").read_text())
    assert len(task.schema.labels) == 77
    assert set(task.schema.labels) == set(categories)
    assert {ex.label for ex in data.train} == set(categories)


def test_banking77_student_system_prompt_lists_every_intent(loaded):
    task, _, _ = loaded("banking77")
    prompt = render_system_prompt(task.schema, [])
    inventory = prompt.rsplit("nothing else: ", 1)[1].rstrip(".").split(", ")
    assert set(inventory) == set(task.schema.labels)


def test_banking77_samples_the_same_number_of_distinct_queries_per_intent(loaded):
    task, _, module = loaded("banking77")
    assert set(Counter(r["intent"] for r in task.data).values()) == {module.PER_INTENT}
    texts = [r["query"].strip().lower() for r in task.data]
    assert len(texts) == len(set(texts))


# Davidson


def test_davidson_sample_is_balanced_across_the_three_classes(loaded):
    task, _, module = loaded("davidson")
    assert Counter(r["label"] for r in task.data) == dict.fromkeys(
        ("hate", "offensive", "neither"), module.PER_CLASS
    )


def test_davidson_labels_follow_the_class_column(loaded):
    task, _, _ = loaded("davidson")
    with (DATA_DIR / "davidson-hate-speech" / "labeled_data.csv").open(newline="") as handle:
        class_of = {f"tweet{int(row['']):05d}": row["class"] for row in csv.DictReader(handle)}
    names = {"0": "hate", "1": "offensive", "2": "neither"}
    assert all(names[class_of[r["id"]]] == r["label"] for r in task.data)
