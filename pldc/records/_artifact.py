"""The artifact itself: `CompiledPrompt`, its schema version and its content hash."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pldc.backends.base import ModelIdentity
from pldc.errors import ArtifactError
from pldc.records._base import NewerFieldsOmitted
from pldc.records._provenance import Provenance, Rule
from pldc.records._scores import ArtifactScores, Calibration, GateRecord, Scores

SCHEMA_VERSION = 3
"""1: the provenance was stored under the key "search". 2: it is stored under "provenance".
3: candidates may be demonstrations (Rule.kind), rules carry their verification, and the
artifact holds its selection examples, its gate decision and 95% intervals of its scores."""


class PromptRecord(BaseModel):
    system: str
    user_template: str
    input_fields: list[str]
    output_field: str
    labels: list[str]


class TaskRecord(BaseModel):
    name: str
    signature: str
    instruction: str
    data_fingerprint: str
    split_sizes: dict[str, int]


class ParetoPoint(BaseModel):
    """One prompt on the Pareto front of a multi-objective search, ready to deploy."""

    trial: int
    rule_ids: list[str]
    system_prompt: str
    tokens: int
    calibration: Calibration
    dev: Scores
    test: Scores


class CompiledPrompt(NewerFieldsOmitted):
    """The frozen artifact. `content_hash` is the sha256 of its canonical JSON without the hash
    (see `content_digest`); `pldc.artifact.load_artifact` refuses a file that does not match."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[3] = SCHEMA_VERSION
    task: TaskRecord
    prompt: PromptRecord
    rules: list[Rule]
    """The system prompt's candidates, pinned rules first, in the order the search ranked them;
    the prompt numbers its rules, then shows its demonstrations, each kind in this order."""
    calibration: Calibration
    """Per-label offsets added to the student's label log-likelihoods when deciding."""
    teacher: ModelIdentity
    student: ModelIdentity
    token_count: int
    baseline_token_count: int
    """Tokens of the same scaffold with no rules: what the rules cost."""
    token_budget: int
    seed: int
    scores: ArtifactScores
    provenance: Provenance
    versions: dict[str, str]
    pareto_front: list[ParetoPoint] | None = None
    """Shortest first, from a search with objective "pareto"; see `at_budget`."""
    gate: GateRecord | None = None
    """Whether the searched prompt beat zero-shot and few-shot, or which of them shipped
    instead; None in artifacts made before the gate."""
    content_hash: str = ""

    newer_fields = ("gate",)

    def with_hash(self) -> CompiledPrompt:
        body = self.model_dump(mode="json", exclude={"content_hash"})
        return self.model_copy(update={"content_hash": content_digest(body)})

    def at_budget(self, token_budget: int) -> CompiledPrompt:
        """This artifact with the front's best dev Macro-F1 prompt that fits `token_budget`.

        No search reruns: the front's prompts were calibrated and scored when compiled. What
        was measured of the compiled prompt alone (its selection score, its paired test gains
        and the gate's decision) is dropped when another prompt is picked.
        Raises ArtifactError when the artifact has no front, or no front prompt fits.
        """
        if not self.pareto_front:
            raise ArtifactError(
                f"{self.task.name}: this artifact has no Pareto front; compile with "
                "--optimizer optimizers/pareto.toml to choose a budget afterwards."
            )
        fitting = [p for p in self.pareto_front if p.tokens <= token_budget]
        if not fitting:
            shortest = min(p.tokens for p in self.pareto_front)
            raise ArtifactError(
                f"--budget {token_budget}: the shortest prompt on the Pareto front has {shortest} "
                f"tokens; give a budget of at least {shortest}."
            )
        point = max(fitting, key=lambda p: (p.dev.macro_f1, -p.tokens))
        if point.system_prompt == self.prompt.system:
            return self.model_copy(update={"token_budget": token_budget}).with_hash()
        by_id = {rule.id: rule for rule in self.provenance.candidate_rules}
        scores = {"dev": point.dev, "test": point.test} | dict.fromkeys(_OF_THE_SHIPPED_PROMPT)
        return self.model_copy(
            update={
                "prompt": self.prompt.model_copy(update={"system": point.system_prompt}),
                "rules": [by_id[rule_id] for rule_id in point.rule_ids],
                "calibration": point.calibration,
                "token_count": point.tokens,
                "token_budget": token_budget,
                "scores": self.scores.model_copy(update=scores),
                "provenance": self.provenance.model_copy(update={"best_trial": point.trial}),
                "gate": None,
            }
        ).with_hash()

    def to_json(self) -> str:
        """The artifact as strict JSON. Raises ArtifactError, naming the field, for a NaN or
        infinite number, which strict JSON cannot hold."""
        # Checked on the Python values: pydantic's JSON mode would write them as null.
        if (found := first_non_finite(self.model_dump())) is not None:
            where, value = found
            raise ArtifactError(
                f"field {where} is {json.dumps(value)}, which strict JSON cannot hold, so the "
                "artifact is not written; the number was computed wrongly, please report it."
            )
        body = self.model_dump(mode="json")
        return json.dumps(body, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the hashed artifact as strict UTF-8 JSON, creating missing folders; returns
        `path`. Raises ArtifactError, writing nothing, if a number is NaN or infinite."""
        path = Path(path)
        try:
            text = self.with_hash().to_json()
        except ArtifactError as exc:
            raise ArtifactError(f"{path}: {exc}") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


_OF_THE_SHIPPED_PROMPT = ("selection", "test_gain_over_baseline", "test_gain_over_few_shot")
"""ArtifactScores measured of the compiled prompt only, not of the other front prompts."""


def first_non_finite(value: Any, where: str = "") -> tuple[str, float] | None:
    """The dotted path (list items by index) and value of the first NaN or infinite number in
    the JSON-like `value`, or None when every number is finite."""
    if isinstance(value, float) and not math.isfinite(value):
        return where, value
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if (found := first_non_finite(item, f"{where}.{key}" if where else str(key))) is not None:
            return found
    return None


def content_digest(body: dict[str, Any]) -> str:
    """The sha256 hex digest of `body` (an artifact's JSON object without its content_hash)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
