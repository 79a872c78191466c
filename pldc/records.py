"""The compiled artifact's records: every pydantic model whose fields end up in its JSON.

The stages import these records and fill them; this module imports no stage, so changing the
artifact's format is a change here, next to `SCHEMA_VERSION`. Loading, migrating old versions
and checking hashes is `pldc.artifact`'s job.

    CompiledPrompt
     ├── task: TaskRecord          prompt: PromptRecord        rules: [Rule]
     ├── calibration: Calibration  teacher, student: ModelIdentity
     ├── scores: ArtifactScores    (dev, test and their no-rules baselines, as Scores)
     ├── provenance: Provenance    how the prompt came to be: TeacherTrace, candidate Rule
     │                             (with its RuleVerification), ResolutionRecord, TrialRecord
     └── pareto_front: [ParetoPoint]
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

# ModelIdentity is defined beside the backends that fill it; it is re-exported here.
from pldc.backends.base import ModelIdentity
from pldc.errors import ArtifactError
from pldc.render import EditAction

SCHEMA_VERSION = 3
"""1: the provenance was stored under the key "search". 2: it is stored under "provenance".
3: candidates may be demonstrations (Rule.kind), rules carry their verification, and the
artifact holds its selection examples, its gate decision and 95% intervals of its scores."""

__all__ = [
    "SCHEMA_VERSION",
    "ArtifactScores",
    "Calibration",
    "CalibrationMethod",
    "CompiledPrompt",
    "Estimate",
    "Fate",
    "GateRecord",
    "Interval",
    "ModelIdentity",
    "ParetoPoint",
    "PromptRecord",
    "Provenance",
    "ResolutionRecord",
    "ResolutionRound",
    "Revision",
    "Rule",
    "RuleVerification",
    "Scores",
    "TaskRecord",
    "TeacherTrace",
    "TrialRecord",
    "content_digest",
]

CalibrationMethod = Literal["none", "batch"]
Fate = Literal[
    "synthesized",
    "singleton",
    "unsynthesized",
    "revised",
    "split",
    "added",
    "pinned",
    "demonstration",
]
CandidateKind = Literal["rule", "demonstration"]


class Calibration(BaseModel):
    """Per-label offsets added to the student's label log-likelihoods (see pldc.calibration)."""

    method: CalibrationMethod
    label_offsets: dict[str, float]


class Interval(BaseModel):
    """A point estimate and its percentile bootstrap interval (see `pldc.stats`), e.g. a
    Macro-F1 of 0.41 [0.33, 0.49], or a paired difference of +0.05 [-0.02, +0.12]."""

    estimate: float
    low: float
    high: float
    confidence: float = 0.95
    resamples: int = 2000

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


class Estimate(BaseModel):
    """The mean of paired per-example differences, with its 95% t-interval (low <= mean <= high).

    The interval is the mean itself when every difference is the same.
    """

    mean: float
    low: float
    high: float


class RuleVerification(BaseModel):
    """One candidate rule, added alone to the prompt without candidates and run on sampled
    training examples it was not written from (see pldc.verify)."""

    rule_id: str
    example_ids: list[str]
    """The examples measured: the verification sample minus the rule's source examples."""
    gold_logprob_change: Estimate | None
    """Change in the gold label's calibrated log-probability over the labels, in nats; None
    when too few examples were left to measure."""
    accuracy_change: Estimate | None
    """Change in whether the student's decision is the gold label (per example -1, 0 or 1)."""
    support: int
    """Measured examples whose decision the rule changes."""
    support_correct: int
    """Of those, the examples now decided as their gold label."""
    copied_specifics: list[str] = []
    """Details of a source example the rule names (pldc.extract.copied_specifics)."""
    kept: bool
    reason: str | None = None
    """Why the rule was dropped before the search; None when it was kept."""


class Rule(BaseModel):
    """A candidate for the system prompt: a decision rule, or (`kind` "demonstration") one
    labelled training example, shown in the prompt's examples section."""

    id: str
    kind: CandidateKind = "rule"
    text: str
    labels: list[str]
    """The gold labels of the examples this rule was written for."""
    source_example_ids: list[str]
    support: int
    fate: Fate = "singleton"
    """synthesized: the teacher merged a cluster; unsynthesized: the teacher's synthesis held
    no rule, so the cluster's first rule speaks for it; singleton: a DBSCAN noise point;
    revised, split, added: written by conflict resolution (see pldc.resolve); pinned: stated
    by the task file, always in the prompt; demonstration: a training example shown as is."""
    merged_texts: list[str] = []
    """The teacher rules folded into this one."""
    copied_specifics: list[str] = []
    """Details of a source case the rule names (see TeacherTrace.copied_specifics)."""
    previous_texts: list[str] = []
    """Earlier wordings, oldest first, when conflict resolution revised or split the rule."""
    leave_one_out_delta: float | None = None
    """Dev Macro-F1 of the compiled prompt minus that without this rule; None if not measured."""
    verification: RuleVerification | None = None
    """How the rule fared on training data before the search; None (and absent from the JSON,
    so artifacts compiled before verification keep their exact JSON) if it was not verified."""

    @model_serializer(mode="wrap")
    def _omit_defaults_of_newer_fields(
        self, handler: SerializerFunctionWrapHandler
    ) -> dict[str, Any]:
        # Artifacts compiled before these fields existed keep their exact JSON.
        data = handler(self)
        if self.verification is None:
            data.pop("verification", None)
        if self.kind == "rule":
            data.pop("kind", None)
        return data


class TeacherTrace(BaseModel):
    """What the teacher wrote for one labelled training example (see pldc.extract)."""

    example_id: str
    label: str
    rule: str | None
    """None when no usable rule came out; `dropped_reason` says why, and the trace is kept."""
    reply: str
    draft: str | None = None
    """The first rule, when it copied case specifics and the teacher was asked to generalise."""
    copied_specifics: list[str] = []
    """Case details the rule still names after the rewrite; shown to auditors, not hidden."""
    dropped_reason: str | None = None
    contrast_example_id: str | None = None
    """The similar, differently labelled training example the teacher saw beside this one."""


class Scores(BaseModel):
    """Macro-F1 with its parts. `confusion[i][j]` counts gold `labels[i]` predicted `labels[j]`."""

    n: int
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]
    macro_f1_interval: Interval | None = None
    """95% percentile bootstrap interval of `macro_f1` over the examples; None (and absent
    from the JSON, as in artifacts made before intervals) if not made."""

    @model_serializer(mode="wrap")
    def _omit_missing_interval(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.macro_f1_interval is None:
            data.pop("macro_f1_interval", None)
        return data


class TrialRecord(BaseModel):
    """One finished search trial: the prompt's rules in order and its dev score."""

    number: int
    rule_ids: list[str]
    tokens: int
    dev_macro_f1: float
    """On the whole dev split; for a pruned trial, on the slice it was stopped after."""
    dev_examples: int | None = None
    pruned: bool = False


class Revision(BaseModel):
    """One resolver call: the failure that caused it, its reply, and what it changed."""

    round: int
    example_id: str
    gold: str
    predicted: str
    success_example_ids: list[str]
    reply: str
    action: EditAction | None = None
    rule_id: str | None = None
    """The rule edited; None for an addition or an unusable reply."""
    before: str | None = None
    after: list[str] = []
    new_rule_ids: list[str] = []
    skipped_reason: str | None = None
    """Why the edit was not applied; None when it was."""


class ResolutionRound(BaseModel):
    round: int
    rule_ids_before: list[str]
    rule_ids_after: list[str]
    train_failures: int
    train_examples: int
    dev_macro_f1_before: float
    dev_macro_f1_after: float
    accepted: bool
    revisions: list[Revision]


class ResolutionRecord(BaseModel):
    """The conflict-resolution log (see pldc.resolve)."""

    example_ids: list[str]
    """The training examples the student ran on each round."""
    rounds: list[ResolutionRound]
    stopped_because: str


class GateRecord(BaseModel):
    """The final gate (see `pldc.gate`): did the searched prompt beat the baselines?"""

    shipped: str
    """"searched", or the name of the baseline shipped instead ("zero-shot", "few-shot")."""
    examples: int
    """Selection examples the decision was made on."""
    searched_macro_f1: float
    baseline_macro_f1: dict[str, float]
    best_baseline: str
    difference: Interval | None
    """Macro-F1 of the searched prompt minus the best baseline's, paired over the examples;
    None when the searched prompt is that baseline."""
    reason: str


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


class ArtifactScores(BaseModel):
    """The shipped prompt's scores beside its baselines', each calibrated on the selection
    examples' inputs and frozen for dev and test."""

    dev: Scores
    test: Scores
    baseline_dev: Scores
    """The same student and scaffold with no rules (zero-shot)."""
    baseline_test: Scores
    baseline_calibration: Calibration
    selection: Scores | None = None
    """On the examples the search and the gate chose on (all of dev, then unused training
    examples); None in artifacts made before selection examples."""
    few_shot_dev: Scores | None = None
    """The demonstrations alone (few-shot); None when the search had none."""
    few_shot_test: Scores | None = None
    test_gain_over_baseline: Interval | None = None
    """Test Macro-F1 of the shipped prompt minus zero-shot's, paired over test examples."""
    test_gain_over_few_shot: Interval | None = None

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in _NEWER_SCORES:
            if getattr(self, name) is None:
                data.pop(name, None)
        return data


_NEWER_SCORES = (
    "selection",
    "few_shot_dev",
    "few_shot_test",
    "test_gain_over_baseline",
    "test_gain_over_few_shot",
)


class Provenance(BaseModel):
    """How the prompt came to be, stage by stage: the teacher's traces, the rule pool built
    from them, the conflict-resolution log, and the search that chose among the rules.

    Schema version 1 stored it under the key "search", as `SearchRecord`.
    """

    sampler: str
    trials: list[TrialRecord]
    best_trial: int
    teacher_examples: int
    teacher_traces: list[TeacherTrace]
    """Every teacher rule, with what became of it (rewritten, dropped and why)."""
    embedder: str
    cluster_eps: float
    cluster_min_samples: int
    candidate_rules: list[Rule]
    """The whole rule pool the search chose from, kept or not."""
    resolution: ResolutionRecord | None = None
    """Every conflict-resolution round and edit; None when resolution was off."""
    verification_example_ids: list[str] | None = None
    """The training examples rules were verified on (see Rule.verification); None if not."""
    selection_example_ids: list[str] | None = None
    """The examples every trial and the gate were scored on: dev, then unused training ones."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in ("verification_example_ids", "selection_example_ids"):
            if getattr(self, name) is None:
                data.pop(name, None)
        return data


class ParetoPoint(BaseModel):
    """One prompt on the Pareto front of a multi-objective search, ready to deploy."""

    trial: int
    rule_ids: list[str]
    system_prompt: str
    tokens: int
    calibration: Calibration
    dev: Scores
    test: Scores


class CompiledPrompt(BaseModel):
    """The frozen artifact. `content_hash` is the sha256 of its canonical JSON without the hash
    (see `content_digest`); `pldc.artifact.load_artifact` refuses a file that does not match."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[3] = SCHEMA_VERSION
    task: TaskRecord
    prompt: PromptRecord
    rules: list[Rule]
    """The rules in the system prompt, in prompt order."""
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

    def with_hash(self) -> CompiledPrompt:
        body = self.model_dump(mode="json", exclude={"content_hash"})
        return self.model_copy(update={"content_hash": content_digest(body)})

    def at_budget(self, token_budget: int) -> CompiledPrompt:
        """This artifact with the front's best dev Macro-F1 prompt that fits `token_budget`.

        No search reruns: the front's prompts were calibrated and scored when compiled.
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
        by_id = {rule.id: rule for rule in self.provenance.candidate_rules}
        return self.model_copy(
            update={
                "prompt": self.prompt.model_copy(update={"system": point.system_prompt}),
                "rules": [by_id[rule_id] for rule_id in point.rule_ids],
                "calibration": point.calibration,
                "token_count": point.tokens,
                "token_budget": token_budget,
                "scores": self.scores.model_copy(update={"dev": point.dev, "test": point.test}),
                "provenance": self.provenance.model_copy(update={"best_trial": point.trial}),
            }
        ).with_hash()

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the hashed artifact as UTF-8 JSON, creating missing folders; returns `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.with_hash().to_json())
        return path


def content_digest(body: dict[str, Any]) -> str:
    """The sha256 hex digest of `body` (an artifact's JSON object without its content_hash)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
