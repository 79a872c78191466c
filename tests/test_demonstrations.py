"""pldc.demonstrations: labelled training examples offered to the search as candidates."""

from __future__ import annotations

from conftest import toy_task

from pldc.data import load_task_data
from pldc.demonstrations import demonstration_candidates
from pldc.render import EXAMPLES_HEADING, render_candidates, render_demonstration
from pldc.rulepool import pinned_rules

SCHEMA = toy_task().schema
TRAIN = load_task_data(toy_task(), "toy").train
BY_ID = {example.id: example for example in TRAIN}


def test_each_demonstration_is_one_training_example_rendered_by_the_one_renderer():
    demonstrations = demonstration_candidates(SCHEMA, TRAIN, 4, seed=0)

    assert [d.id for d in demonstrations] == ["demo-01", "demo-02", "demo-03", "demo-04"]
    for demo in demonstrations:
        (source_id,) = demo.source_example_ids
        source = BY_ID[source_id]
        assert demo.kind == demo.fate == "demonstration"
        assert demo.text == render_demonstration(SCHEMA, source.inputs, source.label)
        assert demo.labels == [source.label] and demo.support == 1


def test_demonstrations_are_dealt_round_robin_across_labels():
    demonstrations = demonstration_candidates(SCHEMA, TRAIN, 6, seed=0)

    labels = [d.labels[0] for d in demonstrations]
    assert sorted(labels[:3]) == sorted(SCHEMA.labels) == sorted(labels[3:])


def test_the_same_seed_deals_the_same_demonstrations_and_another_seed_others():
    first = demonstration_candidates(SCHEMA, TRAIN, 4, seed=0)

    assert demonstration_candidates(SCHEMA, TRAIN, 4, seed=0) == first
    assert demonstration_candidates(SCHEMA, TRAIN, 4, seed=1) != first


def test_excluded_examples_are_never_demonstrations():
    excluded = {d.source_example_ids[0] for d in demonstration_candidates(SCHEMA, TRAIN, 9, seed=0)}

    demonstrations = demonstration_candidates(SCHEMA, TRAIN, 9, seed=0, exclude_ids=excluded)

    assert len(demonstrations) == 9
    assert not excluded & {d.source_example_ids[0] for d in demonstrations}


def test_a_prompt_numbers_its_rules_then_shows_its_demonstrations_under_examples():
    first, second = demonstration_candidates(SCHEMA, TRAIN, 2, seed=3)
    (crash,) = pinned_rules(["If the ticket mentions crash, the answer is bug."])

    prompt = render_candidates(SCHEMA, [first, crash, second])

    rules_part, examples_part = prompt.split(f"\n\n{EXAMPLES_HEADING}\n\n")
    assert rules_part.endswith("\n1. If the ticket mentions crash, the answer is bug.")
    assert examples_part.startswith(f"{first.text}\n\n{second.text}\n\n")
