"""Teacher traces: PLD's supervised extraction, one general rule per labelled training example."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel

from pldc.backends.base import Backend
from pldc.data import Example
from pldc.progress import NullProgress, Progress
from pldc.render import parse_rule, render_extraction_messages
from pldc.store import JsonlStore, content_key
from pldc.task import TaskSchema

RULE_MAX_TOKENS = 96


class TeacherTrace(BaseModel):
    example_id: str
    label: str
    rule: str | None
    """None when the teacher's reply held no usable rule; the trace is kept so that shows."""
    reply: str


def select_teacher_examples(train: Sequence[Example], limit: int, seed: int) -> list[Example]:
    """Up to `limit` training examples, dealt round-robin across labels in a seeded order."""
    by_label: dict[str, list[Example]] = {}
    for example in train:
        by_label.setdefault(example.label, []).append(example)
    rng = random.Random(seed)
    queues = []
    for label in sorted(by_label):
        queue = sorted(by_label[label], key=lambda ex: ex.id)
        rng.shuffle(queue)
        queues.append(queue)
    chosen: list[Example] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen


def extract_rules(
    schema: TaskSchema,
    examples: Sequence[Example],
    teacher: Backend,
    store: JsonlStore,
    progress: Progress | None = None,
) -> list[TeacherTrace]:
    """One teacher call per example; each finished call is stored before the next starts."""
    progress = progress or NullProgress()
    traces = []
    reused = 0
    with progress.stage("teacher extraction", total=len(examples)) as stage:
        for example in examples:
            messages = render_extraction_messages(schema, example.inputs, example.label)
            key = content_key(
                "teacher-trace", teacher.identity.model_dump(), messages, RULE_MAX_TOKENS
            )
            stored = store.get(key)
            if stored is not None:
                reply = stored["reply"]
                reused += 1
            else:
                reply = teacher.generate(messages, max_tokens=RULE_MAX_TOKENS)
                store.put(key, {"reply": reply})
            # Built per example: identical cases share a stored reply, not an example id.
            trace = TeacherTrace(
                example_id=example.id, label=example.label, rule=parse_rule(reply), reply=reply
            )
            traces.append(trace)
            stage.advance(status=f"{reused} reused" if reused else "")
    return traces
