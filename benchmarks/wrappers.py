"""Wrappers the benchmarks and scripts measure pldc with, kept out of pldc itself.

Like httpx's MockTransport, each wraps a production object instead of adding a switch to it:

- `CountingBackend` counts the calls and tokens that go through a backend;
- `ColdCacheBackend` makes every call start from an empty KV cache (the naive baseline);
- `MemolessEvaluator` scores every example every time, remembering no score.

Import them with `benchmarks/` on `sys.path`: `benchmarks/run.py` and `rows.py` have it there
as their own folder; scripts and tests insert it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pldc.backends import Backend
from pldc.data import Example
from pldc.evaluate import StudentEvaluator
from pldc.progress import StageProgress
from pldc.render import Message


class CountingBackend(Backend):
    """A backend that counts what goes through it: calls, prompt and completion tokens."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        reply = self.inner.generate(messages, max_tokens=max_tokens)
        self._count(messages, reply)
        return reply

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        scores = self.inner.score(messages, labels)
        self._count(messages, "")
        return scores

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def forget_cache(self) -> None:
        self.inner.forget_cache()

    def snapshot(self) -> tuple[int, int, int]:
        """(calls, prompt tokens, completion tokens) so far, tokens under the inner tokenizer."""
        return self.calls, self.prompt_tokens, self.completion_tokens

    def _count(self, messages: Sequence[Message], reply: str) -> None:
        self.calls += 1
        self.prompt_tokens += sum(self.inner.count_tokens(m["content"]) for m in messages)
        self.completion_tokens += self.inner.count_tokens(reply) if reply else 0


class ColdCacheBackend(Backend):
    """`inner`, forgetting its KV cache before every call: each prompt is evaluated whole.

    Scores equal `inner`'s exactly (pldc evaluates prompts in fixed blocks); only the work
    differs, which `inner`'s own counters (such as `tokens_evaluated`) show.
    """

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.identity = inner.identity

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        self.inner.forget_cache()
        return self.inner.generate(messages, max_tokens=max_tokens)

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        self.inner.forget_cache()
        return self.inner.score(messages, labels)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class MemolessEvaluator(StudentEvaluator):
    """A `StudentEvaluator` that remembers no score in memory: every example it is asked for
    costs a student call (or a read of its `store`), however often the prompt was seen."""

    def label_scores(
        self,
        system_prompt: str,
        examples: Sequence[Example],
        progress: StageProgress | None = None,
    ) -> list[dict[str, float]]:
        rows = []
        for example in examples:
            rows += super().label_scores(system_prompt, [example], progress)
            self.forget()
        return rows
