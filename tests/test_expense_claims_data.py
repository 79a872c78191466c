"""Specification tests for signatures/expense_claims_data.py (the expense-claim review dataset)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

_MODULE_PATH = Path(__file__).resolve().parent.parent / "signatures" / "expense_claims_data.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("expense_claims_data", _MODULE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


ecd = _load()
RULE_IDS = [f"R{i}" for i in range(1, 8)]


@pytest.fixture(scope="module")
def claims() -> list[dict[str, str]]:
    return ecd.generate_claims(400, seed=7, noise=0.05)


def test_same_seed_gives_identical_records():
    assert ecd.generate_claims(400, seed=7) == ecd.generate_claims(400, seed=7)


def test_records_are_identical_across_processes_with_different_hash_seeds():
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(_MODULE_PATH)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['m'] = m\n"
        "spec.loader.exec_module(m)\n"
        "print(json.dumps(m.generate_claims(100, seed=5)))\n"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == ecd.generate_claims(100, seed=5)


def test_different_seed_gives_different_records():
    assert ecd.generate_claims(400, seed=7) != ecd.generate_claims(400, seed=8)


def test_records_have_the_documented_fields(claims):
    for record in claims:
        assert set(record) == {"id", "claim", "decision", "true_decision", "policy_rule"}
        assert record["decision"] in ecd.LABELS
        assert record["true_decision"] in ecd.LABELS


def test_ids_are_unique_and_zero_padded(claims):
    ids = [r["id"] for r in claims]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "claim-0001"
    assert ids[-1] == "claim-0400"


def test_label_distribution_is_within_stated_ranges(claims):
    share = {k: v / len(claims) for k, v in Counter(r["true_decision"] for r in claims).items()}
    assert 0.32 <= share["approve"] <= 0.48
    assert 0.27 <= share["reject"] <= 0.43
    assert 0.18 <= share["escalate"] <= 0.32


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_decides_at_least_five_percent_of_records(claims, rule_id):
    decided = sum(r["policy_rule"] == rule_id for r in claims)
    assert decided >= 0.05 * len(claims)


def test_noise_flips_between_two_and_nine_percent_of_labels(claims):
    flipped = sum(r["decision"] != r["true_decision"] for r in claims)
    assert 0.02 <= flipped / len(claims) <= 0.09


def test_zero_noise_leaves_every_label_as_the_policy_decides():
    records = ecd.generate_claims(400, seed=7, noise=0.0)
    assert all(r["decision"] == r["true_decision"] for r in records)


def test_noise_level_does_not_change_the_claim_texts():
    clean = ecd.generate_claims(200, seed=3, noise=0.0)
    noisy = ecd.generate_claims(200, seed=3, noise=0.3)
    assert [r["claim"] for r in clean] == [r["claim"] for r in noisy]


def test_true_decision_is_the_label_of_the_deciding_rule(claims):
    label_of = {rule.id: rule.label for rule in ecd.POLICY_RULES}
    for record in claims:
        assert record["true_decision"] == label_of[record["policy_rule"]]


def test_claim_texts_are_varied(claims):
    assert len({r["claim"] for r in claims}) >= 300


def test_two_thousand_records_can_be_generated():
    records = ecd.generate_claims(2000, seed=11)
    assert len(records) == 2000
    assert records[-1]["id"] == "claim-2000"


def test_policy_rules_are_r1_to_r7_then_the_default():
    assert [rule.id for rule in ecd.POLICY_RULES] == [*RULE_IDS, "R0"]
    assert ecd.POLICY_RULES[-1].label == "approve"


@pytest.mark.parametrize("rule", [r for r in ecd.POLICY_RULES if r.id != "R0"], ids=lambda r: r.id)
def test_rules_stated_finds_each_rule_in_its_own_statement(rule):
    assert rule.id in ecd.rules_stated(rule.statement)


def test_rules_stated_finds_all_rules_in_the_full_policy():
    policy = "\n".join(rule.statement for rule in ecd.POLICY_RULES)
    assert ecd.rules_stated(policy) == RULE_IDS


def test_rules_stated_finds_nothing_in_unrelated_text():
    assert ecd.rules_stated("Answer with one word.") == []


def test_rules_stated_finds_alcohol_rule_in_a_paraphrase():
    text = "2. If the claim includes wine, beer or other alcohol, reject it."
    assert "R2" in ecd.rules_stated(text)


def test_rules_stated_finds_receipt_rule_in_a_paraphrase():
    assert "R4" in ecd.rules_stated("Reject claims over $75 that lack a receipt.")


def test_rules_stated_needs_all_patterns_on_the_same_line():
    assert "R4" not in ecd.rules_stated("Reject claims without a receipt.\nThe limit is $75.")
