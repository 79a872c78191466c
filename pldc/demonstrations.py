"""Demonstrations as search candidates: labelled training examples the prompt may show.

A small student often learns more from a few labelled examples than from rules, so the search
chooses rules and demonstrations together, under the one token budget. Its first trials are
the prompt with neither and the plain few-shot prompt (see `pldc.search.SampledSearch`), so a
compiled prompt is never worse on the selection data than few-shot for want of trying it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence

from pldc.data import Example, round_robin_sample
from pldc.records import Rule
from pldc.render import render_demonstration, render_system_prompt
from pldc.task import TaskSchema


def demonstration_candidates(
    schema: TaskSchema,
    train: Sequence[Example],
    count: int,
    *,
    seed: int,
    exclude_ids: Collection[str] = (),
    count_tokens: Callable[[str], int] | None = None,
    token_budget: int | None = None,
    pinned: Sequence[str] = (),
) -> list[Rule]:
    """Up to `count` training examples, dealt round-robin by label in a seeded order, as
    candidates of kind "demonstration" with ids "demo-01", "demo-02", ...

    With `count_tokens` and `token_budget`, only examples that fit the budget together are
    offered (after the `pinned` rules): one that would overflow it is skipped and the next
    tried, so all of them at once make plain few-shot as benchmarks/rows.py builds it, the most
    labelled examples the budget holds. `exclude_ids` keeps examples out.
    """
    pool = [example for example in train if example.id not in exclude_ids]
    texts: list[str] = []
    picked: list[Example] = []
    for example in round_robin_sample(pool, len(pool), random.Random(seed)):
        if len(picked) == count:
            break
        text = render_demonstration(schema, example.inputs, example.label)
        if count_tokens is not None and token_budget is not None:
            prompt = render_system_prompt(schema, pinned, demonstrations=[*texts, text])
            if count_tokens(prompt) > token_budget:
                continue
        texts.append(text)
        picked.append(example)
    return [
        Rule(
            id=f"demo-{number:02d}",
            kind="demonstration",
            text=text,
            labels=[example.label],
            source_example_ids=[example.id],
            support=1,
            fate="demonstration",
        )
        for number, (example, text) in enumerate(zip(picked, texts, strict=True), start=1)
    ]
