"""A backend that wraps plain functions: the fake LM for unit tests, like httpx's MockTransport."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pldc.backends.base import Backend, ModelIdentity
from pldc.render import Message

GenerateFn = Callable[[Sequence[Message]], str]
ScoreFn = Callable[[Sequence[Message], Sequence[str]], dict[str, float]]


class FunctionBackend(Backend):
    """`generate` and `score` are whatever functions you hand in; tokens are words and marks."""

    def __init__(
        self,
        generate: GenerateFn | None = None,
        score: ScoreFn | None = None,
        *,
        name: str = "function",
    ) -> None:
        self._generate = generate
        self._score = score
        self.calls: list[tuple[str, list[Message]]] = []
        self.identity = ModelIdentity(
            kind="function", name=name, decoding="label_logprob", tokenizer="words"
        )

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        if self._generate is None:
            raise NotImplementedError("this FunctionBackend was given no generate function")
        self.calls.append(("generate", [dict(m) for m in messages]))
        return self._generate(messages)

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        if self._score is None:
            raise NotImplementedError("this FunctionBackend was given no score function")
        self.calls.append(("score", [dict(m) for m in messages]))
        return self._score(messages, labels)

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))
