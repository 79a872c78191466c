"""What every model backend guarantees, whatever model it reaches: one suite, run by each.

FunctionBackend runs on plain functions; RemoteBackend goes through dspy and litellm to a fake
OpenAI-compatible server on loopback; LlamaCppBackend runs the real 0.5B student (`real_model`);
ServedBackend reaches the same student behind llama-cpp-python's real server on loopback.
A new backend joins by adding a factory to BACKENDS; the last test fails until it does.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator

import pytest
from test_remote_backend import FakeOpenAI

from pldc.backends import Backend, FunctionBackend, ModelIdentity
from pldc.models import DEFAULT_STUDENT

LABELS = ["approve", "reject", "escalate"]
MESSAGES = [
    {
        "role": "system",
        "content": "Decide what happens to an expense claim. Answer with exactly one of these "
        "labels and nothing else: approve, reject, escalate.",
    },
    {"role": "user", "content": "Claim: taxi to the airport, $40, receipt attached."},
]
TEXT = "Reject any claim above $75 that has no itemised receipt attached."


def fake_log_probabilities(messages, labels) -> dict[str, float]:
    """A proper distribution over the labels: shorter labels likelier."""
    weights = {label: math.exp(-len(label)) for label in labels}
    total = sum(weights.values()) * 1.25  # leave some mass for replies that name no label
    return {label: math.log(weight / total) for label, weight in weights.items()}


def function_backend(_server: FakeOpenAI) -> Backend:
    return FunctionBackend(generate=lambda m: "approve", score=fake_log_probabilities)


def remote_backend(server: FakeOpenAI) -> Backend:
    from pldc.backends._remote import RemoteBackend

    return RemoteBackend("openai/test-model", api_base=server.api_base, api_key="sk-test")


def local_backend(_server: FakeOpenAI) -> Backend:
    from pldc.backends import open_model

    return open_model(DEFAULT_STUDENT)


def served_backend(server) -> Backend:
    from llama_server import ALIAS

    from pldc.backends import open_model

    return open_model(f"openai/{ALIAS}", api_base=server.api_base, tokenizer=DEFAULT_STUDENT)


BACKENDS: dict[str, Callable[[FakeOpenAI], Backend]] = {
    "function": function_backend,
    "remote": remote_backend,
    "local": local_backend,
    "served": served_backend,
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI("approve")
    yield fake
    fake.close()


@pytest.fixture(
    scope="module",
    params=[
        "function",
        "remote",
        pytest.param("local", marks=pytest.mark.real_model),
        pytest.param("served", marks=pytest.mark.real_model),
    ],
)
def make_backend(request, server) -> Callable[[], Backend]:
    if request.param == "local":
        pytest.importorskip("llama_cpp")
    if request.param == "served":
        real = request.getfixturevalue("served_student")
        return lambda: BACKENDS["served"](real)
    return lambda: BACKENDS[request.param](server)


@pytest.fixture(scope="module")
def backend(make_backend) -> Iterator[Backend]:
    opened = make_backend()
    yield opened
    opened.close()


def test_generate_returns_the_reply_as_text(backend):
    reply = backend.generate(MESSAGES, max_tokens=8)

    assert isinstance(reply, str) and reply.strip()


def test_score_gives_one_log_probability_per_label_in_label_order(backend):
    scores = backend.score(MESSAGES, LABELS)

    assert list(scores) == LABELS
    assert all(isinstance(v, float) and not math.isnan(v) and v <= 1e-9 for v in scores.values())


def test_label_scores_are_finite_and_their_probabilities_sum_to_at_most_one(backend):
    scores = backend.score(MESSAGES, LABELS)

    if backend.identity.decoding in ("reply_logprob", "label_logprob"):
        assert all(math.isfinite(v) for v in scores.values())
        assert sum(math.exp(v) for v in scores.values()) <= 1.0 + 1e-6
    else:  # generate_parse: the label the reply names is certain, the others impossible
        assert sorted(scores.values()) == [-math.inf, -math.inf, 0.0]


def test_score_takes_a_single_label(backend):
    assert list(backend.score(MESSAGES, ["approve"])) == ["approve"]


def test_the_same_prompt_scores_the_same_with_or_without_the_cache(backend):
    first = backend.score(MESSAGES, LABELS)
    again = backend.score(MESSAGES, LABELS)
    backend.forget_cache()

    assert again == first == backend.score(MESSAGES, LABELS)


def test_calls_leave_the_callers_messages_untouched(backend):
    messages = copy.deepcopy(MESSAGES)

    backend.generate(messages, max_tokens=4)
    backend.score(messages, LABELS)

    assert messages == MESSAGES


def test_tokens_are_counted_positively_and_consistently(backend):
    count = backend.count_tokens(TEXT)

    assert isinstance(count, int) and count > 0
    assert backend.count_tokens(TEXT) == count
    assert backend.count_tokens(f"{TEXT} {TEXT}") > count
    assert backend.count_tokens("") == 0


def test_identity_names_the_model_its_decoding_and_its_tokenizer(backend):
    identity = backend.identity

    assert isinstance(identity, ModelIdentity)
    assert identity.name and identity.tokenizer
    assert identity.kind in ("local", "remote", "function")
    assert identity.decoding in ("reply_logprob", "label_logprob", "generate_parse")
    assert identity.sha256 is None or len(identity.sha256) == 64
    assert ModelIdentity.model_validate(identity.model_dump()) == identity


def test_close_can_be_called_twice(make_backend):
    backend = make_backend()
    backend.score(MESSAGES, LABELS)

    backend.close()
    backend.close()


def test_every_backend_in_the_package_runs_this_suite():
    pytest.importorskip("llama_cpp")
    import pldc.backends._llama
    import pldc.backends._remote
    import pldc.backends._served  # noqa: F401 - defines RemoteBackend, ServedBackend

    def concrete(cls):
        for sub in cls.__subclasses__():
            yield from concrete(sub)
            if not getattr(sub, "__abstractmethods__", None):
                yield sub

    package = {cls.__name__ for cls in concrete(Backend) if cls.__module__.startswith("pldc.")}
    assert package == {"FunctionBackend", "RemoteBackend", "LlamaCppBackend", "ServedBackend"}, (
        f"add a factory for {package} to BACKENDS"
    )
