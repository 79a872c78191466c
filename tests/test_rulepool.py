"""Clustering and synthesis: no rule disappears, and every pooled rule keeps its provenance."""

from __future__ import annotations

import pytest
from conftest import TicketTriage

from pldc.embed import TfidfEmbedder, open_embedder
from pldc.records import TeacherTrace
from pldc.rulepool import build_rule_pool, cluster_rules
from pldc.settings import ClusterSettings
from pldc.task import TaskSchema

SCHEMA = TaskSchema.from_signature(TicketTriage)

TRACES = [
    TeacherTrace(
        example_id="a", label="refund", rule="If the customer wants money back, refund.", reply=""
    ),
    TeacherTrace(
        example_id="b", label="refund", rule="If the customer wants their money back.", reply=""
    ),
    TeacherTrace(
        example_id="c", label="bug", rule="If the app crashes on start, it is a bug.", reply=""
    ),
    TeacherTrace(
        example_id="d",
        label="bug",
        rule=None,
        reply="OK.",
        dropped_reason="the teacher's reply held no rule",
    ),
    TeacherTrace(
        example_id="e", label="other", rule="If the customer wants money back, refund.", reply=""
    ),
]


def synthesis_answer(messages):
    return "If the customer asks for a refund, the answer is refund."


LOOSE = ClusterSettings(eps=0.5, min_samples=2)


def pool(settings: ClusterSettings = LOOSE):
    return build_rule_pool(SCHEMA, TRACES, TfidfEmbedder(), synthesis_answer, settings)


def test_near_duplicates_for_one_label_are_synthesised_into_one_rule():
    first = pool()[0]
    assert first.fate == "synthesized"
    assert first.text == "If the customer asks for a refund, the answer is refund."
    assert first.source_example_ids == ["a", "b"] and first.support == 2
    assert len(first.merged_texts) == 2


def test_identical_rules_arguing_for_different_labels_are_never_merged():
    by_source = {tuple(rule.source_example_ids): rule for rule in pool()}
    assert by_source[("e",)].labels == ["other"] and by_source[("e",)].fate == "singleton"


def test_every_usable_teacher_rule_lands_in_exactly_one_pooled_rule():
    sources = [i for rule in pool() for i in rule.source_example_ids]
    assert sorted(sources) == ["a", "b", "c", "e"]


def test_noise_points_are_kept_as_singletons_not_dropped():
    strict = pool(ClusterSettings(eps=0.01, min_samples=2))
    assert [rule.fate for rule in strict] == ["singleton"] * 4


def test_a_synthesis_without_a_rule_falls_back_to_the_clusters_first_rule():
    rules = build_rule_pool(
        SCHEMA, TRACES, TfidfEmbedder(), lambda m: "OK.", ClusterSettings(eps=0.5, min_samples=2)
    )
    assert rules[0].fate == "unsynthesized" and rules[0].text == TRACES[0].rule


@pytest.mark.real_model
def test_the_local_minilm_embedder_ranks_paraphrases_above_unrelated_rules():
    embedder = open_embedder("minilm")
    vectors = embedder.embed(
        [
            "Reject any claim that includes alcohol.",
            "If the expense contains wine or beer, the answer is reject.",
            "Escalate first-class airfare.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.1


def test_clustering_groups_one_labels_near_duplicates_and_leaves_the_rest_alone():
    groups = cluster_rules(TRACES, TfidfEmbedder(), LOOSE)

    ids = [[t.example_id for t in group] for group in groups]
    # The refund pair merges; the same text under another label does not join it; "d" has no
    # rule; the rest stand alone, in their order of appearance after the larger group.
    assert ids == [["a", "b"], ["c"], ["e"]]


def test_the_rule_pool_keeps_the_clusterings_groups_in_order():
    groups = cluster_rules(TRACES, TfidfEmbedder(), LOOSE)

    assert [r.source_example_ids for r in pool()] == [
        [t.example_id for t in group] for group in groups
    ]
