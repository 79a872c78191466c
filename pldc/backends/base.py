"""The small interface every model sits behind, and the identity recorded for it."""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from pydantic import ConfigDict

from pldc._newer_fields import NewerFieldsOmitted
from pldc.errors import ModelError
from pldc.render import Message, parse_label

Decoding = Literal["reply_logprob", "label_logprob", "generate_parse"]
"""How a student scores the labels. "reply_logprob": the log-likelihood of each label as the
complete reply, its tokens then the chat template's end of turn, so a label that is a token
prefix of another ("spam", "spam-likely") is not favoured for being short; local models since
issue 20. "label_logprob": the label's tokens alone, as artifacts compiled before recorded it.
"generate_parse": a generated reply parsed for a label (0 or -inf). A served student
(`pldc.backends.ServedBackend`) scores "label_logprob" from its server's token logprobs."""


class ModelIdentity(NewerFieldsOmitted):
    """Enough to tell, later, whether the same model is in use."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["local", "remote", "function"]
    name: str
    sha256: str | None = None
    decoding: Decoding
    tokenizer: str
    """Whose tokens count the budget: "gguf:<name>@<sha256[:16]>" (a GGUF's own vocabulary),
    "tokenizer.json:<path>@<sha256[:16]>", or "litellm:<model>" for a provider's hosted model."""
    api_base: str | None = None
    """The server a remote model was reached at (never a key), so `pldc.load`, `pldc eval` and
    search workers reach the same one; None for the provider's default endpoint."""

    newer_fields = ("api_base",)


class Backend(ABC):
    """A model pldc can prompt: generate text, score a fixed label set, count tokens."""

    identity: ModelIdentity
    context_window: int | None = None
    """Tokens the model's context holds, prompt and reply together; None when unknown (remote
    and test models), and then inputs are not checked against it before a compile."""

    @abstractmethod
    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        """The model's reply to a chat, decoded greedily."""

    @abstractmethod
    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        """Log-likelihood of each label as the whole assistant reply (higher is likelier).

        A backend that can only generate returns `parsed_label_scores` of its reply.
        """

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens in `text` under this model's own tokenizer."""

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the model reads for `messages`, its reply opened: by default their texts
        counted with `count_tokens`; a local model applies its chat template."""
        return sum(self.count_tokens(message["content"]) for message in messages)

    def forget_cache(self) -> None:  # noqa: B027 - optional hook, most backends keep nothing
        """Drop whatever is kept from earlier prompts (a KV cache), so the next call starts
        cold; what the model returns must not change."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        pass


def parsed_label_scores(reply: str, labels: Sequence[str]) -> dict[str, float]:
    """A generated reply as label scores: 0 for the label it gives (`parse_label`), -inf for
    the others; -inf for every label when it gives none, an off-label reply, which
    `pldc.calibration.decide` turns into no label and the scores count as a wrong answer."""
    answer = parse_label(reply, labels)
    return {label: 0.0 if label == answer else -math.inf for label in labels}


T = TypeVar("T")


def with_retries(
    call: Callable[[], T], *, what: str, attempts: int = 4, first_delay: float = 1.0
) -> T:
    """Retry a flaky remote call with exponential backoff, then report it as a ModelError."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts:
                raise ModelError(
                    f"{what} failed after {attempts} attempts: {type(exc).__name__}: {exc}"
                ) from exc
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
