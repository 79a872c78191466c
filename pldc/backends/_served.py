"""A student or teacher behind an OpenAI-compatible server (llama.cpp's server, vLLM, Ollama,
LM Studio), scored by its token logprobs and counted with its own tokenizer.

Labels are scored by forcing: the chat prompt, rendered locally with the model's own template
(`ChatTokenizer`), is sent to `/v1/completions` followed by each label's first k tokens, and
the server's top logprobs for the next token give token k+1's log-probability. A label's score
is the sum over its tokens (decoding "label_logprob", as a local model scores with it); label
prefixes shared by several labels are asked once. A token outside the top `top_logprobs` gets
the smallest logprob shown, an upper bound. Echoed prompt logprobs are not used: llama-cpp-
python's server returns wrong ones.

A server that returns no logprobs is asked to generate, and the reply is parsed ("generate_
parse"); the identity records which decoding was used. Retries follow the `openai` client's own
policy: connection errors, timeouts, 408, 409, 429 and 5xx are retried with exponential
backoff; authentication and bad-request errors are not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from pldc.backends._chat_tokenizer import ChatTokenizer
from pldc.backends.base import Backend, ModelIdentity, parsed_label_scores
from pldc.errors import ModelError
from pldc.render import Message

OPENAI_COMPATIBLE = ("openai", "hosted_vllm", "llamacpp", "lm_studio", "ollama", "ollama_chat")
"""litellm provider prefixes of a model string that name an OpenAI-compatible server; the rest
of the string is the model's name on that server."""

PROBE_PROMPT = "The capital of France is"
"""A prompt whose next token is no end of text, so a server that can return logprobs does."""


class ServedBackend(Backend):
    """`model` on the OpenAI-compatible server at `api_base`, with `tokenizer` its own.

    `concurrency` is how many requests pldc keeps in flight (the evaluator scores that many
    examples at once); `max_retries` and `timeout` (seconds) go to the `openai` client;
    `api_key` defaults to OPENAI_API_KEY, and is never recorded. Raises
    `ModelError` when the server cannot be reached or refuses the model.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str,
        tokenizer: ChatTokenizer,
        api_key: str | None = None,
        concurrency: int = 4,
        max_retries: int = 4,
        timeout: float = 120.0,
        top_logprobs: int = 20,
    ) -> None:
        from openai import OpenAI

        if concurrency < 1:
            raise ModelError(f"concurrency {concurrency}: give 1 or more requests in flight.")
        self._client = OpenAI(
            base_url=api_base,
            # A local server wants no key, but the client insists on one.
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "no-key",
            max_retries=max_retries,
            timeout=timeout,
        )
        provider, _, rest = model.partition("/")
        self._served_name = rest if rest and provider in OPENAI_COMPATIBLE else model
        self._api_base = api_base
        self._tokenizer = tokenizer
        self._tokenizer_lock = threading.Lock()
        self._top_logprobs = top_logprobs
        self._label_pieces: dict[str, list[str]] = {}
        self.concurrency = concurrency
        decoding = "label_logprob" if self._returns_logprobs() else "generate_parse"
        self.identity = ModelIdentity(
            kind="remote",
            name=model,
            decoding=decoding,
            tokenizer=tokenizer.source,
            api_base=api_base,
        )

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        response = self._call(
            lambda: self._client.chat.completions.create(
                model=self._served_name,
                messages=[dict(m) for m in messages],
                max_tokens=max_tokens,
                temperature=0.0,
            )
        )
        return (response.choices[0].message.content or "").strip()

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        if self.identity.decoding == "generate_parse":
            return parsed_label_scores(self.generate(messages, max_tokens=16), labels)
        with self._tokenizer_lock:
            prompt = self._tokenizer.chat_text(messages)
            pieces = {label: self._pieces_of(label) for label in labels}
        tops: dict[tuple[str, ...], dict[str, float]] = {}
        for label_pieces in pieces.values():
            for k in range(len(label_pieces)):
                prefix = tuple(label_pieces[:k])
                if prefix not in tops:
                    tops[prefix] = self._next_token_logprobs(prompt + "".join(prefix))
        return {label: _forced(tops, label_pieces) for label, label_pieces in pieces.items()}

    def count_tokens(self, text: str) -> int:
        with self._tokenizer_lock:
            return self._tokenizer.count_tokens(text)

    def _pieces_of(self, label: str) -> list[str]:
        if label not in self._label_pieces:
            pieces = self._tokenizer.pieces(label)
            if not pieces:
                raise ModelError(f"label {label!r} tokenizes to nothing; use a non-empty label.")
            self._label_pieces[label] = pieces
        return self._label_pieces[label]

    def _next_token_logprobs(self, prompt: str) -> dict[str, float]:
        """The server's top logprobs for the token after `prompt`, by token text."""
        response = self._call(
            lambda: self._client.completions.create(
                model=self._served_name,
                prompt=prompt,
                max_tokens=1,
                temperature=0.0,
                logprobs=self._top_logprobs,
            )
        )
        logprobs = response.choices[0].logprobs
        tops = (logprobs.top_logprobs or []) if logprobs is not None else []
        if not tops or not tops[0]:
            # The server stopped at once (end of text) and reported nothing for that token.
            return {}
        return {str(token): float(value) for token, value in tops[0].items()}

    def _returns_logprobs(self) -> bool:
        """Whether the server answers a completion with top logprobs (vLLM, llama.cpp do)."""
        import openai

        try:
            tops = self._next_token_logprobs(PROBE_PROMPT)
        except ModelError as exc:
            if isinstance(exc.__cause__, openai.BadRequestError):
                return False  # e.g. a server without /v1/completions or logprobs
            raise
        return bool(tops)

    def _call(self, request):
        import openai

        try:
            return request()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelError(
                f"served model {self._served_name!r} at {self._api_base}: the server refused "
                f"the key ({exc.status_code}); set the api key it expects."
            ) from exc
        except (openai.NotFoundError, openai.BadRequestError) as exc:
            raise ModelError(
                f"served model {self._served_name!r} at {self._api_base}: the server refused "
                f"the request ({exc.status_code}: {exc.message}); check the model name and "
                "api_base (it usually ends in /v1)."
            ) from exc
        except openai.APIError as exc:
            raise ModelError(
                f"served model {self._served_name!r} at {self._api_base} failed after "
                f"{self._client.max_retries} retries ({type(exc).__name__}: {exc}); is the "
                "server running?"
            ) from exc


def _forced(tops: dict[tuple[str, ...], dict[str, float]], pieces: list[str]) -> float:
    """The sum of each piece's logprob after the ones before it; a piece the server did not
    list gets the least logprob it listed (an upper bound), or -inf if it listed none."""
    total = 0.0
    for k, piece in enumerate(pieces):
        top = tops[tuple(pieces[:k])]
        if piece in top:
            total += top[piece]
        else:
            total += min(top.values()) if top else float("-inf")
    return total
