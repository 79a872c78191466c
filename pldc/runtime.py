"""Run a compiled prompt in an app: no optimizer, no teacher, just the frozen prompt."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from pldc._litellm import keep_litellm_offline
from pldc.artifact import load_artifact
from pldc.backends import open_recorded_model
from pldc.backends.base import Backend
from pldc.calibration import calibrated_probabilities, decide
from pldc.errors import DataError
from pldc.records import CompiledPrompt
from pldc.render import Message, render_messages


class CompiledClassifier:
    """A loaded artifact. The student model opens on first use, not on load.

    Safe to call from several threads: a llama.cpp context is not, so calls to the student
    take turns under one lock (opening it included).
    """

    def __init__(self, artifact: CompiledPrompt, student: Backend | None = None) -> None:
        self.artifact = artifact
        self._student = student
        self._lock = threading.RLock()

    @property
    def labels(self) -> list[str]:
        return list(self.artifact.prompt.labels)

    @property
    def student(self) -> Backend:
        with self._lock:
            if self._student is None:
                keep_litellm_offline()  # a remote student imports dspy and litellm
                self._student = open_recorded_model(self.artifact.student)
            return self._student

    def messages(self, **inputs: str) -> list[Message]:
        """The exact chat messages the student sees, for apps that call their own client."""
        expected = self.artifact.prompt.input_fields
        unknown = sorted(set(inputs) - set(expected))
        missing = [name for name in expected if name not in inputs]
        if unknown or missing:
            raise DataError(
                f"this prompt takes the input fields {expected}; "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {unknown}" if unknown else "")
                + "."
            )
        return render_messages(
            self.artifact.prompt.system,
            self.artifact.prompt.user_template,
            {name: str(value) for name, value in inputs.items()},
        )

    def scores(self, **inputs: str) -> dict[str, float]:
        """Label log-likelihoods; an empty input is refused, as the compile refuses it
        (`messages` still renders one, e.g. to count the scaffold's tokens)."""
        messages = self.checked_messages(**inputs)
        with self._lock:
            return self.student.score(messages, self.labels)

    def checked_messages(self, **inputs: str) -> list[Message]:
        """`messages`, after refusing what the compile refuses too: an empty input field.

        Raises:
            DataError: a field is missing, unknown, or empty or whitespace-only.
        """
        messages = self.messages(**inputs)
        empty = [name for name, value in inputs.items() if not str(value).strip()]
        if empty:
            raise DataError(f"input field(s) {empty} are empty or whitespace-only; fill them in.")
        return messages

    def predict(self, **inputs: str) -> str | None:
        """The label the student gives, decoded exactly as during the search; None when its
        reply names no label (a generate-and-parse student's off-label reply)."""
        return decide(self.scores(**inputs), self.labels, self.artifact.calibration)

    def predict_proba(self, **inputs: str) -> dict[str, float]:
        """Calibrated probability of each label (summing to 1; all 0 for an off-label reply):
        the softmax of the label scores plus the artifact's calibration offsets, so the most
        probable label is `predict`'s."""
        return calibrated_probabilities(
            self.scores(**inputs), self.labels, self.artifact.calibration
        )

    def as_dspy(self):
        """This classifier as a DSPy module (`pldc.teleprompt.CompiledProgram`), sharing its
        student: `forward(**inputs)` returns a `dspy.Prediction` with the label and its
        `probabilities`, decided as `predict` decides."""
        from pldc.teleprompt import as_dspy

        return as_dspy(self)

    def predict_batch(self, batch: Sequence[Mapping[str, str]]) -> list[str | None]:
        """`predict` for each mapping of input fields, in order. The inputs are checked
        before the student runs, and consecutive calls share the system prompt's KV cache.

        Raises:
            DataError: an item misses a field, has an unknown or an empty one (naming it).
        """
        for position, inputs in enumerate(batch):
            try:
                self.checked_messages(**inputs)
            except DataError as error:
                raise DataError(f"batch item {position}: {error}") from None
        with self._lock:
            return [self.predict(**inputs) for inputs in batch]


def load(
    path: str | Path, *, student: Backend | None = None, budget: int | None = None
) -> CompiledClassifier:
    """Load and verify a compiled artifact (schema and content hash).

    `budget` picks, from an artifact compiled in Pareto mode, the front's best prompt within
    that many tokens.
    """
    artifact = load_artifact(path)
    if budget is not None:
        artifact = artifact.at_budget(budget)
    return CompiledClassifier(artifact, student)
