"""Demonstrations as search candidates: labelled training examples the prompt may show.

A small student often learns more from a few labelled examples than from rules, so the search
chooses rules and demonstrations together, under the one token budget. Its first trials are
the prompt with neither and the plain few-shot prompt (see `pldc.search.SampledSearch`), so a
compiled prompt is never worse on the selection data than few-shot for want of trying it.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from pldc.data import Example, round_robin_sample
from pldc.records import Rule
from pldc.render import render_demonstration
from pldc.task import TaskSchema


def demonstration_candidates(
    schema: TaskSchema,
    train: Sequence[Example],
    count: int,
    *,
    seed: int,
    exclude_ids: Collection[str] = (),
) -> list[Rule]:
    """Up to `count` training examples, dealt round-robin by label in a seeded order, as
    candidates of kind "demonstration" with ids "demo-01", "demo-02", ...

    `exclude_ids` keeps examples out, e.g. those the search scores prompts on.
    """
    pool = [example for example in train if example.id not in exclude_ids]
    picked = round_robin_sample(pool, count, random.Random(seed))
    return [
        Rule(
            id=f"demo-{number:02d}",
            kind="demonstration",
            text=render_demonstration(schema, example.inputs, example.label),
            labels=[example.label],
            source_example_ids=[example.id],
            support=1,
            fate="demonstration",
        )
        for number, example in enumerate(picked, start=1)
    ]
