"""Specification tests for signatures/legal_intake_data.py (the legal intake routing dataset)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

_MODULE_PATH = Path(__file__).resolve().parent.parent / "signatures" / "legal_intake_data.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("legal_intake_data", _MODULE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


lid = _load()
RULE_IDS = [f"R{i}" for i in range(1, 8)]
# Words that show each rule's trigger in a request it decides.
TRIGGERS = {
    "R1": r"\bpatent",
    "R2": r"\b(ministry|city|county|state|federal|agency|school district)\b",
    "R3": r"\b(visa|work permit|green card)\b",
    "R4": r"\b(nda|non-disclosure agreement)\b",
    "R5": r"\brenew",
    "R6": r"\bopen[\s-]source\b",
    "R7": r"\b(personal data|data subject request)\b",
}


@pytest.fixture(scope="module")
def requests() -> list[dict[str, str]]:
    return lid.generate_requests(400, seed=11, noise=0.05)


def test_same_seed_gives_identical_records():
    assert lid.generate_requests(400, seed=11) == lid.generate_requests(400, seed=11)


def test_records_are_identical_across_processes_with_different_hash_seeds():
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(_MODULE_PATH)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['m'] = m\n"
        "spec.loader.exec_module(m)\n"
        "print(json.dumps(m.generate_requests(100, seed=5)))\n"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == lid.generate_requests(100, seed=5)


def test_different_seed_gives_different_records():
    assert lid.generate_requests(400, seed=11) != lid.generate_requests(400, seed=12)


def test_records_have_the_documented_fields(requests):
    for record in requests:
        assert set(record) == {"id", "request", "queue", "true_queue", "policy_rule", "matter"}
        assert record["queue"] in lid.LABELS
        assert record["true_queue"] in lid.LABELS


def test_ids_are_unique_and_zero_padded(requests):
    ids = [r["id"] for r in requests]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "request-0001"
    assert ids[-1] == "request-0400"


def test_label_distribution_is_within_stated_ranges(requests):
    share = {k: v / len(requests) for k, v in Counter(r["true_queue"] for r in requests).items()}
    assert 0.28 <= share["self_serve"] <= 0.44
    assert 0.26 <= share["in_house"] <= 0.42
    assert 0.22 <= share["outside_counsel"] <= 0.38


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_decides_at_least_five_percent_of_records(requests, rule_id):
    decided = sum(r["policy_rule"] == rule_id for r in requests)
    assert decided >= 0.05 * len(requests)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_request_a_rule_decides_names_its_trigger(requests, rule_id):
    decided = [r["request"] for r in requests if r["policy_rule"] == rule_id]
    assert all(re.search(TRIGGERS[rule_id], text, re.IGNORECASE) for text in decided)


def test_some_default_requests_are_near_misses(requests):
    defaults = [r for r in requests if r["policy_rule"] == "R0"]
    near = {"trademark", "private_party", "relocation", "confidentiality_clause", "new_contract"}
    assert sum(r["matter"] in near for r in defaults) >= 0.25 * len(defaults)


def test_a_patent_request_with_a_government_party_goes_to_the_patent_rule(requests):
    patents = [r for r in requests if r["policy_rule"] == "R1"]
    assert any(re.search(TRIGGERS["R2"], r["request"], re.IGNORECASE) for r in patents)


def test_noise_flips_between_two_and_nine_percent_of_labels(requests):
    flipped = sum(r["queue"] != r["true_queue"] for r in requests)
    assert 0.02 <= flipped / len(requests) <= 0.09


def test_zero_noise_leaves_every_label_as_the_policy_decides():
    records = lid.generate_requests(400, seed=11, noise=0.0)
    assert all(r["queue"] == r["true_queue"] for r in records)


def test_noise_level_does_not_change_the_request_texts():
    clean = lid.generate_requests(200, seed=3, noise=0.0)
    noisy = lid.generate_requests(200, seed=3, noise=0.3)
    assert [r["request"] for r in clean] == [r["request"] for r in noisy]


def test_true_queue_is_the_label_of_the_deciding_rule(requests):
    label_of = {rule.id: rule.label for rule in lid.POLICY_RULES}
    for record in requests:
        assert record["true_queue"] == label_of[record["policy_rule"]]


def test_request_texts_are_varied(requests):
    assert len({r["request"] for r in requests}) >= 380


def test_request_texts_have_realistic_lengths(requests):
    words = [len(r["request"].split()) for r in requests]
    assert min(words) >= 8
    assert max(words) <= 90


def test_policy_rules_are_r1_to_r7_then_the_default():
    assert [rule.id for rule in lid.POLICY_RULES] == [*RULE_IDS, "R0"]
    assert lid.POLICY_RULES[-1].label == "in_house"


def test_no_rule_is_a_threshold_on_an_amount_or_a_date():
    for rule in lid.POLICY_RULES:
        assert not re.search(r"\d|\$|days?\b|more than|above|below", rule.statement)


@pytest.mark.parametrize("rule", [r for r in lid.POLICY_RULES if r.id != "R0"], ids=lambda r: r.id)
def test_rules_stated_finds_each_rule_in_its_own_statement(rule):
    assert lid.rules_stated(rule.statement) == [rule.id]


def test_rules_stated_finds_all_rules_in_the_full_policy():
    policy = "\n".join(rule.statement for rule in lid.POLICY_RULES)
    assert lid.rules_stated(policy) == RULE_IDS


def test_rules_stated_finds_nothing_in_unrelated_text():
    assert lid.rules_stated("Answer with exactly one label.") == []


def test_rules_stated_finds_a_teacher_style_paraphrase():
    text = "If the request is about a mutual NDA, the answer is self_serve."
    assert lid.rules_stated(text) == ["R4"]


def test_rules_stated_needs_the_rule_and_its_queue_on_the_same_line():
    assert "R1" not in lid.rules_stated("Patents are special.\nThe answer is outside_counsel.")
