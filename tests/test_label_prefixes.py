"""A label that is a token prefix of another is scored fairly (issue 20 B5): the real student
scores each label as the complete reply, its end of turn included ("reply_logprob"), so
"spam" no longer wins over "spam-likely" just for stopping early. Artifacts that recorded the
older "label_logprob" decoding reopen with it, so they decide as they did when compiled."""

from __future__ import annotations

import math

import pytest

from pldc.backends import open_model, open_recorded_model
from pldc.models import DEFAULT_STUDENT

pytestmark = pytest.mark.real_model
pytest.importorskip("llama_cpp")

LABELS = ["spam", "spam-likely", "routine"]
SYSTEM = (
    "Classify the message. Answer with exactly one of these labels and nothing else: "
    + ", ".join(LABELS)
    + "."
)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


@pytest.fixture(scope="module")
def student():
    return open_model(DEFAULT_STUDENT)


@pytest.fixture(scope="module")
def label_only():
    return open_model(DEFAULT_STUDENT, decoding="label_logprob")


def test_the_labels_share_their_first_token(student):
    spam = student._llm.tokenize(b"spam", add_bos=False, special=False)
    likely = student._llm.tokenize(b"spam-likely", add_bos=False, special=False)
    assert likely[: len(spam)] == spam and len(likely) > len(spam)


def test_the_longer_label_wins_where_the_reply_would_be_the_longer_label(student, label_only):
    messages = chat("Reply with the label spam-likely.")
    greedy = student.generate(messages, max_tokens=8)
    assert greedy.startswith("spam-likely")

    complete = student.score(messages, LABELS)
    prefix_only = label_only.score(messages, LABELS)
    assert complete["spam-likely"] > complete["spam"]
    # What the label's tokens alone gave: the prefix wins, though the reply goes on.
    assert prefix_only["spam"] > prefix_only["spam-likely"]


def test_the_shorter_label_still_wins_where_the_reply_is_the_shorter_label(student):
    messages = chat("Reply with the label spam.")
    assert student.generate(messages, max_tokens=8).strip() == "spam"
    scores = student.score(messages, LABELS)
    assert scores["spam"] > scores["spam-likely"] > -math.inf


def test_a_complete_reply_is_the_label_then_the_end_of_turn(student, label_only):
    messages = chat("Is this spam? 'You won a prize, click here.'")
    complete = student.score(messages, LABELS)
    prefix_only = label_only.score(messages, LABELS)
    for label in LABELS:
        # log p(label, end) = log p(label) + log p(end | label) < log p(label)
        assert complete[label] < prefix_only[label]
        assert complete[label] > prefix_only[label] - 20
    assert sum(math.exp(v) for v in complete.values()) <= 1.0 + 1e-6
    assert student._reply_end == [student._llm.token_eos()]  # Qwen2.5: <|im_end|>


def test_artifacts_reopen_the_student_with_the_decoding_they_recorded(student, label_only):
    assert student.identity.decoding == "reply_logprob"
    assert label_only.identity.decoding == "label_logprob"
    reopened = open_recorded_model(label_only.identity)
    messages = chat("Reply with the label spam-likely.")
    assert reopened.identity == label_only.identity
    assert reopened.score(messages, LABELS) == pytest.approx(
        label_only.score(messages, LABELS), abs=1e-3
    )
