"""Deterministic train / dev / test splits of a task's examples.

Examples are dealt in units that never straddle two splits: a `group_by` group (merged with any
other group that shares an input text), or, without groups, the examples that share one input
text. Without groups the split is stratified by label, and each label's first unit goes to
train, so every label with an example is in train. With groups, a label no train group holds
moves into train with its smallest group, when that leaves dev and test non-empty. Data without
duplicate inputs splits exactly as it did before units existed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pldc.datachecks import Labelled, identical_inputs
from pldc.task import Splits

TRAIN, DEV, TEST = 0, 1, 2


def assign_splits(
    examples: Sequence[Labelled], groups: Sequence[str] | None, splits: Splits
) -> list[int]:
    """The split (TRAIN, DEV or TEST) of each example, in order."""
    return assign_by_bounds(
        examples, groups, (splits.train, splits.train + splits.dev), splits.seed
    )


def carve_from_train(
    train: Sequence[Labelled], groups: Sequence[str] | None, splits: Splits, missing: set[str]
) -> list[int]:
    """The split of each of `train`'s examples when the `missing` sets ("dev", "test" or both)
    are carved from it, in proportion to `splits`' fractions: train 0.6 and dev 0.2 with only
    dev missing keep 3/4 of train as train."""
    share = {"train": splits.train}
    share |= {name: getattr(splits, name) for name in missing}
    total = sum(share.values())
    train_end = splits.train / total
    dev_end = train_end + share.get("dev", 0.0) / total
    return assign_by_bounds(train, groups, (train_end, dev_end), splits.seed)


def assign_by_bounds(
    examples: Sequence[Labelled],
    groups: Sequence[str] | None,
    bounds: tuple[float, float],
    seed: int,
) -> list[int]:
    """The split of each example: the first `bounds[0]` of each label (or of the groups) to
    train, up to `bounds[1]` to dev, the rest to test."""
    rng = random.Random(seed)
    if groups is None:
        return _stratified(examples, bounds, rng)
    merged = _merge_groups_sharing_inputs(examples, groups)
    assignment = _grouped(merged, bounds, rng)
    _move_missing_labels_into_train(examples, merged, assignment)
    return assignment


def _stratified(
    examples: Sequence[Labelled], bounds: tuple[float, float], rng: random.Random
) -> list[int]:
    unit_of = list(range(len(examples)))
    for indices in identical_inputs(examples):
        for index in indices:
            unit_of[index] = indices[0]
    by_label: dict[str, list[list[int]]] = {}
    units: dict[int, list[int]] = {}
    for index, example in enumerate(examples):
        if unit_of[index] not in units:
            units[unit_of[index]] = []
            by_label.setdefault(example.label, []).append(units[unit_of[index]])
        units[unit_of[index]].append(index)
    assignment = [TRAIN] * len(examples)
    for label in sorted(by_label):
        label_units = by_label[label]
        rng.shuffle(label_units)
        size = sum(len(unit) for unit in label_units)
        cut_train = max(1, round(size * bounds[0]))  # every label is taught at least once
        cut_dev = round(size * bounds[1])
        placed = 0
        for unit in label_units:
            split = TRAIN if placed < cut_train else DEV if placed < cut_dev else TEST
            for index in unit:
                assignment[index] = split
            placed += len(unit)
    return assignment


def _merge_groups_sharing_inputs(examples: Sequence[Labelled], groups: Sequence[str]) -> list[str]:
    """Each example's group, where groups that share an input text become the group of the
    smallest name among them."""
    parent = {group: group for group in groups}

    def root(group: str) -> str:
        while parent[group] != group:
            group = parent[group]
        return group

    for indices in identical_inputs(examples):
        roots = sorted({root(groups[i]) for i in indices})
        for other in roots[1:]:
            parent[other] = roots[0]
    return [root(group) for group in groups]


def _grouped(groups: Sequence[str], bounds: tuple[float, float], rng: random.Random) -> list[int]:
    """Whole groups dealt out in a seeded order until each split has its share."""
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    order = sorted(members)
    rng.shuffle(order)
    assignment = [TRAIN] * len(groups)
    placed = 0
    for group in order:
        position = placed / len(groups)
        split = TRAIN if position < bounds[0] else DEV if position < bounds[1] else TEST
        for index in members[group]:
            assignment[index] = split
        placed += len(members[group])
    return assignment


def _move_missing_labels_into_train(
    examples: Sequence[Labelled], groups: Sequence[str], assignment: list[int]
) -> None:
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    for label in sorted({example.label for example in examples}):
        indices = range(len(examples))
        if any(assignment[i] == TRAIN and examples[i].label == label for i in indices):
            continue
        holders = sorted(
            (len(group_members), group)
            for group, group_members in members.items()
            if any(examples[i].label == label for i in group_members)
        )
        for size, group in holders:
            split = assignment[members[group][0]]
            if assignment.count(split) > size:  # its split keeps other examples
                for index in members[group]:
                    assignment[index] = TRAIN
                break
