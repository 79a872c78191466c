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


def test_with_a_budget_only_examples_that_fit_together_are_offered_and_an_overflow_is_skipped():
    from pldc.backends import FunctionBackend
    from pldc.render import render_system_prompt

    count = FunctionBackend().count_tokens
    unlimited = demonstration_candidates(SCHEMA, TRAIN, len(TRAIN), seed=0)
    pinned = ["If the ticket mentions crash, the answer is bug."]
    prompt_of = lambda demos: render_system_prompt(  # noqa: E731
        SCHEMA, pinned, demonstrations=[d.text for d in demos]
    )
    budget = count(prompt_of(unlimited[:5])) + 1

    fitted = demonstration_candidates(
        SCHEMA, TRAIN, 64, seed=0, count_tokens=count, token_budget=budget, pinned=pinned
    )

    assert count(prompt_of(fitted)) <= budget
    texts = [d.text for d in fitted]
    assert texts[:5] == [d.text for d in unlimited[:5]]
    # Every example it passed over would have overflowed the budget where it was dealt.
    offered = iter(unlimited)
    kept: list = []
    for demo in offered:
        if kept and len(kept) == len(fitted):
            break
        if demo.text in texts:
            kept.append(demo)
        else:
            assert count(prompt_of([*kept, demo])) > budget
    assert [d.id for d in fitted] == [f"demo-{i:02d}" for i in range(1, len(fitted) + 1)]
    capped = demonstration_candidates(
        SCHEMA, TRAIN, 3, seed=0, count_tokens=count, token_budget=budget, pinned=pinned
    )
    assert [d.text for d in capped] == texts[:3]
