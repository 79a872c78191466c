"""Any pldc backend as a DSPy engine, so DSPy programs and optimizers run on local models.

    lm = dspy.LM("pldc/qwen2.5-coder-0.5b", engine=BackendEngine(backend), cache=False)

Each response reports its prompt and completion tokens under the model's own tokenizer.
"""

from __future__ import annotations

import threading

from pldc._litellm import keep_litellm_offline
from pldc.backends.base import Backend
from pldc.errors import ContextLengthError
from pldc.render import Message


class BackendEngine:
    """`complete(Request) -> Response` over `Backend.generate`, greedy, one call at a time."""

    def __init__(self, backend: Backend, *, max_tokens: int = 512) -> None:
        keep_litellm_offline()  # complete() and stream() import dspy, which imports litellm
        self.backend = backend
        self.max_tokens = max_tokens
        # llama.cpp contexts are not thread-safe; DSPy optimizers evaluate in threads.
        self._lock = threading.Lock()

    def complete(self, request):
        from dspy.clients.engines.base import validate_request
        from dspy.lm15 import Message as LMMessage
        from dspy.lm15 import Response, TextPart
        from dspy.lm15 import Usage as LMUsage

        validate_request(request)
        messages = _chat_messages(request)
        max_tokens = min(request.config.max_tokens or self.max_tokens, self.max_tokens)
        with self._lock:
            try:
                reply = self.backend.generate(messages, max_tokens=max_tokens)
            except ContextLengthError as error:
                from dspy.lm15 import ContextLengthError as DSPyContextLengthError

                # DSPy reports this as ContextWindowExceededError, which programs such as ReAct
                # catch to shorten their input; InferRules looks for that name in the message.
                raise DSPyContextLengthError(f"ContextWindowExceededError: {error}") from error
            prompt_tokens = sum(self.backend.count_tokens(m["content"]) for m in messages)
            completion_tokens = self.backend.count_tokens(reply)
        return Response(
            id=None,
            model=self.backend.identity.name,
            message=LMMessage.assistant([TextPart(reply)]),
            finish_reason="stop",
            usage=LMUsage(
                input_tokens=prompt_tokens,
                output_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )

    def stream(self, request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


def _chat_messages(request) -> list[Message]:
    messages = []
    if request.system is not None:
        system = request.system
        if not isinstance(system, str):
            system = "".join(getattr(part, "text", "") or "" for part in system)
        messages.append({"role": "system", "content": system})
    messages.extend({"role": m.role, "content": m.text or ""} for m in request.messages)
    return messages
