"""Run the student on a split under a given system prompt, and score its predictions."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from sklearn.metrics import confusion_matrix, f1_score

from pldc.backends.base import Backend
from pldc.calibration import Calibration, CalibrationMethod, decide, fit_calibration
from pldc.data import Example
from pldc.progress import StageProgress
from pldc.render import render_messages
from pldc.task import TaskSchema


class Scores(BaseModel):
    """Macro-F1 with its parts. `confusion[i][j]` counts gold `labels[i]` predicted `labels[j]`."""

    n: int
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]


def score_predictions(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> Scores:
    labels = list(labels)
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
    )


class StudentEvaluator:
    """Scores examples' labels under a system prompt, remembering every score it computed.

    Label scores are keyed by (system prompt, example id), so a prompt seen before costs no
    student call. Examples are scored one after another under one system prompt, which keeps
    the prompt's prefix in the model's KV cache.
    """

    def __init__(self, student: Backend, schema: TaskSchema, user_template: str) -> None:
        self.student = student
        self.schema = schema
        self.user_template = user_template
        self._label_scores: dict[tuple[str, str], dict[str, float]] = {}

    def label_scores(
        self,
        system_prompt: str,
        examples: Sequence[Example],
        progress: StageProgress | None = None,
    ) -> list[dict[str, float]]:
        rows = []
        for example in examples:
            key = (system_prompt, example.id)
            if key not in self._label_scores:
                messages = render_messages(system_prompt, self.user_template, example.inputs)
                self._label_scores[key] = self.student.score(messages, self.schema.labels)
            rows.append(self._label_scores[key])
            if progress is not None:
                progress.advance()
        return rows

    def fit_calibration(
        self, method: CalibrationMethod, system_prompt: str, examples: Sequence[Example]
    ) -> Calibration:
        """Offsets for `system_prompt`, from the inputs of `examples` (never their labels)."""
        rows = self.label_scores(system_prompt, examples)
        return fit_calibration(method, rows, self.schema.labels)

    def evaluate(
        self,
        system_prompt: str,
        examples: Sequence[Example],
        calibration: Calibration,
        progress: StageProgress | None = None,
    ) -> Scores:
        rows = self.label_scores(system_prompt, examples, progress)
        labels = self.schema.labels
        predicted = [decide(row, labels, calibration) for row in rows]
        return score_predictions([ex.label for ex in examples], predicted, labels)
