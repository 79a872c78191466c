"""Any dspy / litellm model string as a backend: OpenAI, Anthropic, Ollama, vLLM via api_base."""

from __future__ import annotations

from collections.abc import Sequence

from pldc._litellm import keep_litellm_offline
from pldc.backends.base import Backend, ModelIdentity, parsed_label_scores, with_retries
from pldc.render import Message


class RemoteBackend(Backend):
    """Remote models expose no label log-likelihoods here: the reply is generated and parsed."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_tokens: int = 512,
        attempts: int = 4,
        retry_delay: float = 1.0,
    ) -> None:
        keep_litellm_offline()  # before dspy imports litellm
        import dspy

        client_settings = {k: v for k, v in (("api_base", api_base), ("api_key", api_key)) if v}
        # pldc retries itself (with_retries) so failures are reported the same way everywhere.
        self._lm = dspy.LM(
            model,
            temperature=0.0,
            max_tokens=max_tokens,
            cache=False,
            num_retries=0,
            **client_settings,
        )
        self._model = model
        self._attempts = attempts
        self._retry_delay = retry_delay
        self.identity = ModelIdentity(
            kind="remote", name=model, decoding="generate_parse", tokenizer=f"litellm:{model}"
        )

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        from dspy import lm15

        request = lm15.request_from_openai_chat(
            {
                "model": self._model,
                "messages": [dict(m) for m in messages],
                "max_tokens": max_tokens,
                "temperature": 0.0,
            }
        )
        response = with_retries(
            lambda: self._lm(request),
            what=f"remote model {self._model}",
            attempts=self._attempts,
            first_delay=self._retry_delay,
        )
        return response.text or ""

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        return parsed_label_scores(self.generate(messages, max_tokens=16), labels)

    def count_tokens(self, text: str) -> int:
        import litellm

        return int(litellm.token_counter(model=self._model, text=text))
