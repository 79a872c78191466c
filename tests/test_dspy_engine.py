"""pldc backends as DSPy engines: DSPy programs run on a function backend and on the real
local student."""

from __future__ import annotations

import os
from typing import Literal

import dspy
import pytest

import pldc
from pldc.backends import FunctionBackend, open_model
from pldc.backends.dspy_engine import BackendEngine
from pldc.models import DEFAULT_STUDENT

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class Sentiment(dspy.Signature):
    """Classify the sentiment of a product review."""

    review: str = dspy.InputField()
    sentiment: Literal["positive", "negative"] = dspy.OutputField()


def lm_over(backend, max_tokens: int = 64) -> dspy.LM:
    engine = BackendEngine(backend, max_tokens=max_tokens)
    return dspy.LM("pldc/test", engine=engine, cache=False, temperature=0.0, num_retries=0)


def test_a_dspy_program_sees_the_adapters_messages_and_parses_the_reply():
    def reply(messages):
        return "[[ ## sentiment ## ]]\nnegative\n\n[[ ## completed ## ]]"

    backend = FunctionBackend(generate=reply)
    with dspy.context(lm=lm_over(backend)):
        prediction = dspy.Predict(Sentiment)(review="It broke after a day.")
    assert prediction.sentiment == "negative"
    ((kind, messages),) = backend.calls
    expected = dspy.ChatAdapter().format(Sentiment, [], {"review": "It broke after a day."})
    assert kind == "generate"
    assert messages == [{"role": m["role"], "content": m["content"]} for m in expected]


def test_responses_report_tokens_under_the_backends_tokenizer():
    backend = FunctionBackend(generate=lambda messages: "[[ ## sentiment ## ]]\npositive")
    lm = lm_over(backend)
    with dspy.context(lm=lm):
        dspy.Predict(Sentiment)(review="Lovely.")
    usage = lm.history[-1]["usage"]
    prompt = sum(backend.count_tokens(m["content"]) for m in backend.calls[0][1])
    assert usage["prompt_tokens"] == prompt
    assert usage["completion_tokens"] == backend.count_tokens("[[ ## sentiment ## ]]\npositive")


def test_the_engine_caps_generation_at_its_own_max_tokens():
    seen = []

    class Recording(FunctionBackend):
        def generate(self, messages, *, max_tokens=256):
            seen.append(max_tokens)
            return "[[ ## sentiment ## ]]\npositive"

    with dspy.context(lm=lm_over(Recording(generate=lambda m: ""), max_tokens=16)):
        dspy.Predict(Sentiment)(review="Lovely.")
    assert seen == [16]


@pytest.mark.real_model
def test_dspy_predict_runs_on_the_real_local_student():
    lm = lm_over(open_model(DEFAULT_STUDENT), max_tokens=48)
    with dspy.context(lm=lm):
        loved = dspy.Predict(Sentiment)(review="Absolutely love it, works perfectly, five stars!")
    assert loved.sentiment == "positive"
    assert lm.history[-1]["usage"]["completion_tokens"] > 0


def test_a_prompt_too_long_for_the_model_reaches_dspy_as_a_context_window_error():
    def overflow(messages):
        raise pldc.ContextLengthError("the prompt needs 5906 tokens but the context holds 4096")

    lm = lm_over(FunctionBackend(generate=overflow))
    with dspy.context(lm=lm), pytest.raises(dspy.ContextWindowExceededError) as raised:
        dspy.Predict(Sentiment)(review="It broke after a day.")
    # dspy.InferRules drops examples and retries only when it finds this name in the message.
    assert "ContextWindowExceededError" in str(raised.value)
    assert "5906 tokens" in str(raised.value)
