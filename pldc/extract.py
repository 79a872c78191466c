"""Teacher traces: PLD's supervised extraction, one general rule per labelled training example."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence

from pldc.backends.base import Backend, ModelIdentity
from pldc.data import Example, round_robin_sample
from pldc.embed import Embedder
from pldc.progress import NullProgress, Progress
from pldc.records import TeacherTrace
from pldc.render import (
    Message,
    parse_rule,
    render_extraction_messages,
    render_generalize_messages,
)
from pldc.store import JsonlStore, content_key
from pldc.task import TaskSchema

RULE_MAX_TOKENS = 96

Ask = Callable[[list[Message]], str]
"""A call to the teacher: chat messages in, its reply out. `StoredTeacher` is one."""


def nearest_contrasts(
    examples: Sequence[Example], pool: Sequence[Example], embedder: Embedder
) -> dict[str, Example]:
    """For each example, the pool example worded most like it that has another label."""
    if not examples or not pool:
        return {}
    vectors = embedder.embed([_case_text(e) for e in [*examples, *pool]])
    similarity = vectors[: len(examples)] @ vectors[len(examples) :].T
    contrasts = {}
    for row, example in zip(similarity, examples, strict=True):
        others = [i for i, candidate in enumerate(pool) if candidate.label != example.label]
        if others:
            # The first of equally similar candidates, so the choice is deterministic.
            contrasts[example.id] = pool[max(others, key=lambda i: (row[i], -i))]
    return contrasts


def nearest_peers(
    examples: Sequence[Example], pool: Sequence[Example], embedder: Embedder, count: int
) -> dict[str, list[Example]]:
    """For each example, the `count` pool examples worded most like it that have its label
    (itself and the other `examples` excluded), most similar first."""
    if not examples or not pool or count < 1:
        return {}
    taken = {example.id for example in examples}
    candidates = [example for example in pool if example.id not in taken]
    if not candidates:
        return {}
    vectors = embedder.embed([_case_text(e) for e in [*examples, *candidates]])
    similarity = vectors[: len(examples)] @ vectors[len(examples) :].T
    peers = {}
    for row, example in zip(similarity, examples, strict=True):
        same = [i for i, c in enumerate(candidates) if c.label == example.label]
        # Ties go to the earlier candidate, so the choice is deterministic.
        ranked = sorted(same, key=lambda i: (-row[i], i))[:count]
        peers[example.id] = [candidates[i] for i in ranked]
    return peers


def select_teacher_examples(train: Sequence[Example], limit: int, seed: int) -> list[Example]:
    """Up to `limit` training examples, dealt round-robin across labels in a seeded order."""
    return round_robin_sample(train, limit, random.Random(seed))


def teacher_call_key(teacher: ModelIdentity, messages: list[Message]) -> str:
    """A teacher call's key in the run's store: everything its reply depends on."""
    return content_key("teacher", teacher.model_dump(), messages, RULE_MAX_TOKENS)


class StoredTeacher:
    """Teacher calls through the run's store: each reply is saved as soon as it exists, and a
    call made before (same teacher, same messages) is answered from the store."""

    def __init__(self, teacher: Backend, store: JsonlStore) -> None:
        self.teacher = teacher
        self.store = store
        self.reused = 0

    @property
    def identity(self) -> ModelIdentity:
        return self.teacher.identity

    def __call__(self, messages: list[Message]) -> str:
        key = teacher_call_key(self.teacher.identity, messages)
        stored = self.store.get(key)
        if stored is not None:
            self.reused += 1
            return stored["reply"]
        reply = self.teacher.generate(messages, max_tokens=RULE_MAX_TOKENS)
        self.store.put(key, {"reply": reply})
        return reply


def extract_rules(
    schema: TaskSchema,
    examples: Sequence[Example],
    teacher: StoredTeacher,
    progress: Progress | None = None,
    contrasts: Mapping[str, Example] | None = None,
    peers: Mapping[str, Sequence[Example]] | None = None,
) -> list[TeacherTrace]:
    """One teacher call per example, plus one more when the rule copies case specifics.

    `contrasts` (see `nearest_contrasts`) shows the teacher a near twin beside each example;
    `peers` (see `nearest_peers`) shows it similar cases of the same label instead, for the
    rule they share. Every example's draft is asked for before any retry, so consecutive
    teacher calls share their system prompt, which stays in the teacher's KV cache.
    """
    progress = progress or NullProgress()
    contrasts = contrasts or {}
    peers = peers or {}
    contrast_of = [contrasts.get(example.id) for example in examples]
    peers_of = [list(peers.get(example.id, ())) for example in examples]
    shown = list(zip(examples, contrast_of, peers_of, strict=True))
    with progress.stage("teacher extraction", total=len(examples)) as stage:
        drafts = []
        for example, contrast, similar in shown:
            drafts.append(teacher(_extraction_messages(schema, example, contrast, similar)))
            stage.advance(status=f"{teacher.reused} calls reused" if teacher.reused else "")
    with progress.stage("generalising rules that name case details", total=len(examples)) as stage:
        traces = []
        for (example, contrast, similar), draft in zip(shown, drafts, strict=True):
            trace = _rule_from(example, teacher, draft, [e for e in (contrast, *similar) if e])
            traces.append(
                trace.model_copy(
                    update={
                        "contrast_example_id": contrast.id if contrast else None,
                        "peer_example_ids": tuple(peer.id for peer in similar),
                    }
                )
            )
            stage.advance()
    return traces


def _extraction_messages(
    schema: TaskSchema, example: Example, contrast: Example | None, peers: Sequence[Example]
) -> list[Message]:
    # Built per example: identical cases share stored replies, never an example id.
    shown = (contrast.inputs, contrast.label) if contrast else None
    return render_extraction_messages(
        schema, example.inputs, example.label, shown, [peer.inputs for peer in peers]
    )


def _rule_from(example: Example, ask, reply: str, others: Sequence[Example]) -> TeacherTrace:
    rule = parse_rule(reply)
    if rule is None:
        return TeacherTrace(
            example_id=example.id,
            label=example.label,
            rule=None,
            reply=reply,
            dropped_reason="the teacher's reply held no rule",
        )
    # The contrast case's and the peers' details are case specifics too.
    case_text = " ".join(_case_text(e) for e in (example, *others))
    specifics = copied_specifics(rule, case_text)
    if not specifics:
        return TeacherTrace(example_id=example.id, label=example.label, rule=rule, reply=reply)
    retry = ask(render_generalize_messages(rule, specifics, example.label))
    general = parse_rule(retry)
    if general is not None and not copied_specifics(general, case_text):
        return TeacherTrace(
            example_id=example.id, label=example.label, rule=general, reply=retry, draft=rule
        )
    # A specific rule still carries policy (it scored better kept than dropped on held-out
    # claims), so it stays a candidate with its specifics on record; the search decides.
    return TeacherTrace(
        example_id=example.id,
        label=example.label,
        rule=rule,
        reply=reply,
        copied_specifics=specifics,
    )


def _case_text(example: Example) -> str:
    return " ".join(example.inputs.values())


_TOKEN = re.compile(r"[\w$£€][\w$£€.,'&/-]*[\w$£€]|[\w$£€]")


def copied_specifics(rule: str, case_text: str) -> list[str]:
    """Entity-like tokens of `rule` (names, codes, figures) that appear verbatim in the case.

    A threshold the rule states in its own words ("more than $1,000") is fine; the case's own
    figure ("$1,145.87", "48 days") or name ("Toronto", "PRJ-5967") is not.
    """
    copied = []
    for position, match in enumerate(_TOKEN.finditer(rule)):
        token = match.group()
        has_digit = any(ch.isdigit() for ch in token)
        named = token[0].isupper() and len(token) > 1 and position > 0
        if not (has_digit or named) or token in copied:
            continue
        for found in re.finditer(rf"(?<![\w$£€]){re.escape(token)}(?![\w])", case_text):
            before = case_text[: found.start()].rstrip()
            # A capitalised word is a name only where the case uses it mid-sentence.
            if has_digit or (before and before[-1] not in ".!?:;\"'"):
                copied.append(token)
                break
    return copied
