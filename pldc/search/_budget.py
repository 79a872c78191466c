"""The token budget: a ranked list of rules, trimmed from the end until its prompt fits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pldc.errors import BudgetError
from pldc.records import Rule
from pldc.render import render_candidates
from pldc.task import TaskSchema


@dataclass(frozen=True)
class FittedPrompt:
    rules: list[Rule]
    """The pinned rules, then the kept prefix of the ranked ones."""
    system_prompt: str
    tokens: int
    """Of `system_prompt`, counted with the student's tokenizer."""


def fit_to_budget(
    schema: TaskSchema,
    ranked_rules: Sequence[Rule],
    count_tokens: Callable[[str], int],
    token_budget: int,
    pinned: Sequence[Rule] = (),
) -> FittedPrompt:
    """The pinned rules plus the longest prefix of `ranked_rules` whose prompt fits the budget.

    Raises `BudgetError` when even the pinned rules alone (or the bare scaffold) exceed
    `token_budget`, naming the least budget that would do.
    """
    kept = list(ranked_rules)
    while True:
        rules = [*pinned, *kept]
        prompt = render_candidates(schema, rules)
        tokens = count_tokens(prompt)
        if tokens <= token_budget:
            return FittedPrompt(rules, prompt, tokens)
        if not kept:
            if pinned:
                raise BudgetError(
                    f"--budget {token_budget} tokens cannot hold the prompt scaffold with the "
                    f"task file's pinned_rules ({tokens} tokens, counted with the student's "
                    f"tokenizer); raise the budget to at least {tokens} or shorten pinned_rules."
                )
            raise BudgetError(
                f"--budget {token_budget} tokens cannot hold the prompt scaffold alone "
                f"({tokens} tokens of instruction and answer format, counted with the student's "
                f"tokenizer); raise the budget to at least {tokens}."
            )
        kept.pop()
