"""Run the student on a split under a given system prompt, and score its predictions."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import confusion_matrix, f1_score

from pldc.backends.base import Backend, ModelIdentity
from pldc.calibration import decide, fit_calibration, gold_log_probability
from pldc.data import Example
from pldc.progress import StageProgress
from pldc.records import Calibration, CalibrationMethod, Scores
from pldc.render import render_messages
from pldc.stats import macro_f1_interval
from pldc.store import JsonlStore, content_key
from pldc.task import TaskSchema

SCORING_REVISION = 6
"""Raised when a student's scores for the same messages change, so stored scores, studies and
stages computed from the old ones are not reused. 2: block-aligned llama.cpp evaluation.
3: blocks stop where the last message begins, which runs in one batch. 4: multi-token labels
continue inside that batch, one KV sequence per label. 5: local models score each label as the
complete reply, its end of turn included (decoding "reply_logprob"). 6: local models load
without llama.cpp's weight repacking on every machine (`pldc.backends._cpu`), and a prefix's
last block is never shorter than 8 tokens unless it is the only one (`_sequences`)."""


def scorer_key(student: ModelIdentity) -> dict:
    """The student's identity as it enters cache keys: the model and how its scores are made."""
    return {**student.model_dump(), "scoring_revision": SCORING_REVISION}


def score_predictions(
    gold: Sequence[str],
    predicted: Sequence[str | None],
    labels: Sequence[str],
    *,
    interval: bool = False,
) -> Scores:
    """Macro-F1, accuracy, per-class F1 and the confusion matrix; with `interval`, also the
    Macro-F1's 95% bootstrap interval (`pldc.stats`, about 30 ms for 200 examples).

    A prediction that is no label (None: the reply named none) is a wrong answer, in no column
    of the confusion matrix, and counted in `off_label`.
    """
    labels = list(labels)
    off_label = sum(p not in labels for p in predicted)
    # A stand-in no label can equal (it is longer than all of them), for scikit-learn.
    no_label = "\0" * (1 + max(map(len, labels), default=0))
    predicted = [p if p in labels else no_label for p in predicted]
    per_class = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    matrix = confusion_matrix(gold, predicted, labels=labels)
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return Scores(
        n=len(gold),
        macro_f1=round(float(per_class.mean()), 6),
        accuracy=round(correct / len(gold), 6) if gold else 0.0,
        per_class_f1={
            label: round(float(f), 6) for label, f in zip(labels, per_class, strict=True)
        },
        labels=labels,
        confusion=matrix.tolist(),
        macro_f1_interval=macro_f1_interval(gold, predicted, labels) if interval and gold else None,
        off_label=off_label,
    )


class StudentEvaluator:
    """Scores examples' labels under a system prompt, remembering every score it computed.

    Label scores are keyed by the student's identity and the exact messages, so a prompt seen
    before costs no student call; with a `store`, that holds across runs and after a kill.
    Examples are scored one after another under one system prompt, which keeps the prompt's
    prefix in the model's KV cache.
    """

    def __init__(
        self,
        student: Backend,
        schema: TaskSchema,
        user_template: str,
        store: JsonlStore | None = None,
    ) -> None:
        self.student = student
        self.schema = schema
        self.user_template = user_template
        self.store = store
        self.student_calls = 0
        """Label-scoring calls made to the student (a read-only metric)."""
        self._identity = scorer_key(student.identity)
        self._label_scores: dict[str, dict[str, float]] = {}

    def label_scores(
        self,
        system_prompt: str,
        examples: Sequence[Example],
        progress: StageProgress | None = None,
    ) -> list[dict[str, float]]:
        """Per example, in order, each label's log-likelihood under `system_prompt`.

        A student with `concurrency` above 1 (a served one) is asked that many examples at
        once; the scores are the same as one at a time. Raises `DataError` if an example lacks
        an input field, `ModelError` if the student cannot be called.
        """
        chats = [
            render_messages(system_prompt, self.user_template, example.inputs)
            for example in examples
        ]
        width = getattr(self.student, "concurrency", 1)
        if width <= 1:
            rows = []
            for messages in chats:
                rows.append(self._score(messages))
                if progress is not None:
                    progress.advance()
            return rows
        return self._score_concurrently(chats, width, progress)

    def _score_concurrently(
        self, chats: list[list[dict[str, str]]], width: int, progress: StageProgress | None
    ) -> list[dict[str, float]]:
        from concurrent.futures import ThreadPoolExecutor

        keys = [content_key("label-scores", self._identity, m, self.schema.labels) for m in chats]
        missing = [i for i, key in enumerate(keys) if self._known(key) is None]
        labels = self.schema.labels
        with ThreadPoolExecutor(max_workers=width) as pool:
            scored = pool.map(lambda i: self.student.score(chats[i], labels), missing)
            for i, scores in zip(missing, scored, strict=True):
                self._remember(keys[i], scores)
                if progress is not None:
                    progress.advance()
        if progress is not None:
            progress.advance(len(chats) - len(missing))
        return [self._label_scores[key] for key in keys]

    def _known(self, key: str) -> dict[str, float] | None:
        """Scores computed before, in memory or in the store (then kept in memory too)."""
        if key in self._label_scores:
            return self._label_scores[key]
        stored = self.store.get(key) if self.store is not None else None
        if stored is not None:
            self._label_scores[key] = stored
        return stored

    def _remember(self, key: str, scores: dict[str, float]) -> None:
        self.student_calls += 1
        if self.store is not None:
            self.store.put(key, scores)
        self._label_scores[key] = scores

    def _score(self, messages: list[dict[str, str]]) -> dict[str, float]:
        key = content_key("label-scores", self._identity, messages, self.schema.labels)
        known = self._known(key)
        if known is None:
            known = self.student.score(messages, self.schema.labels)
            self._remember(key, known)
        return known

    def forget(self) -> None:
        """Drop the label scores remembered in memory; a `store` keeps its own."""
        self._label_scores.clear()

    def calibrated(
        self,
        method: CalibrationMethod,
        system_prompt: str,
        examples: Sequence[Example],
        progress: StageProgress | None = None,
    ) -> tuple[Scores, Calibration]:
        """Scores under `system_prompt` calibrated on the same examples' inputs, as in search.

        Each example is scored once: the calibration reuses the scores it is fitted on.
        """
        rows = self.label_scores(system_prompt, examples, progress)
        calibration = fit_calibration(method, rows, self.schema.labels)
        return self._scores(rows, examples, calibration), calibration

    def predictions(
        self,
        method: CalibrationMethod,
        system_prompt: str,
        examples: Sequence[Example],
        progress: StageProgress | None = None,
    ) -> tuple[list[str | None], Calibration]:
        """The decided label per example under `system_prompt` (None for an off-label reply),
        calibrated on the examples' inputs as in `calibrated`, and that calibration."""
        rows = self.label_scores(system_prompt, examples, progress)
        calibration = fit_calibration(method, rows, self.schema.labels)
        return [decide(row, self.schema.labels, calibration) for row in rows], calibration

    def gold_log_probabilities(
        self,
        method: CalibrationMethod,
        system_prompt: str,
        examples: Sequence[Example],
        progress: StageProgress | None = None,
    ) -> tuple[list[str | None], list[float]]:
        """Per example, the decided label and the gold label's log-probability (nats, floored;
        `pldc.calibration.gold_log_probability`), calibrated on the examples' inputs as in
        `calibrated`."""
        rows = self.label_scores(system_prompt, examples, progress)
        labels = self.schema.labels
        calibration = fit_calibration(method, rows, labels)
        return (
            [decide(row, labels, calibration) for row in rows],
            [
                gold_log_probability(row, example.label, labels, calibration)
                for row, example in zip(rows, examples, strict=True)
            ],
        )

    def decided(
        self,
        system_prompt: str,
        examples: Sequence[Example],
        calibration: Calibration,
        progress: StageProgress | None = None,
    ) -> list[str | None]:
        """The label decided per example under `system_prompt` and a fixed `calibration`
        (None for an off-label reply)."""
        rows = self.label_scores(system_prompt, examples, progress)
        return [decide(row, self.schema.labels, calibration) for row in rows]

    def _scores(
        self,
        rows: Sequence[dict[str, float]],
        examples: Sequence[Example],
        calibration: Calibration,
        interval: bool = False,
    ) -> Scores:
        labels = self.schema.labels
        predicted = [decide(row, labels, calibration) for row in rows]
        gold = [ex.label for ex in examples]
        return score_predictions(gold, predicted, labels, interval=interval)

    def evaluate(
        self,
        system_prompt: str,
        examples: Sequence[Example],
        calibration: Calibration,
        progress: StageProgress | None = None,
        *,
        interval: bool = False,
    ) -> Scores:
        """Scores of `system_prompt` on `examples`; with `interval`, with the Macro-F1's 95%
        bootstrap interval."""
        rows = self.label_scores(system_prompt, examples, progress)
        return self._scores(rows, examples, calibration, interval)
