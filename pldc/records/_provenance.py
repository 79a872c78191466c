"""How a prompt came to be: teacher traces, candidate rules and their fates, conflict
resolution and the search's trials."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pldc.records._base import NewerFieldsOmitted
from pldc.records._scores import Estimate
from pldc.render import EditAction

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


class Rule(NewerFieldsOmitted):
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
    merged_texts: list[str] = Field(default_factory=list)
    """The teacher rules folded into this one."""
    copied_specifics: list[str] = Field(default_factory=list)
    """Details of a source case the rule names (see TeacherTrace.copied_specifics)."""
    previous_texts: list[str] = Field(default_factory=list)
    """Earlier wordings, oldest first, when conflict resolution revised or split the rule."""
    leave_one_out_delta: float | None = None
    """Dev Macro-F1 of the compiled prompt minus that without this rule; None if not measured."""
    verification: RuleVerification | None = None
    """How the rule fared on training data before the search; None (and absent from the JSON,
    so artifacts compiled before verification keep their exact JSON) if it was not verified."""

    newer_fields = ("kind", "verification")


class TeacherTrace(NewerFieldsOmitted):
    """What the teacher wrote for one labelled training example (see pldc.extract)."""

    example_id: str
    label: str
    rule: str | None
    """None when no usable rule came out; `dropped_reason` says why, and the trace is kept."""
    reply: str
    draft: str | None = None
    """The first rule, when it copied case specifics and the teacher was asked to generalise."""
    copied_specifics: list[str] = Field(default_factory=list)
    """Case details the rule still names after the rewrite; shown to auditors, not hidden."""
    dropped_reason: str | None = None
    contrast_example_id: str | None = None
    """The similar, differently labelled training example the teacher saw beside this one."""
    peer_example_ids: tuple[str, ...] = ()
    """The similar training examples of the same label the teacher saw beside this one, to
    write the rule they share (`induction_peers`); the rule's sources with this one."""

    newer_fields = ("peer_example_ids",)


class TrialRecord(NewerFieldsOmitted):
    """One finished search trial: the prompt's rules in order and its scores on the selection
    examples (all of dev, then unused training examples)."""

    number: int
    rule_ids: list[str]
    tokens: int
    dev_macro_f1: float
    """Macro-F1 on the selection examples; for a pruned trial, on the slice it was stopped
    after. (Named before the selection examples grew beyond dev.)"""
    dev_examples: int | None = None
    pruned: bool = False
    gold_log_prob: float | None = None
    """Mean calibrated gold-label log-probability (nats) on the same examples; None for a
    pruned trial and in artifacts made before it was recorded."""

    newer_fields = ("gold_log_prob",)


class Revision(BaseModel):
    """One resolver call: the failure that caused it, its reply, and what it changed."""

    round: int
    example_id: str
    gold: str
    predicted: str | None
    """None when the student's reply named no label."""
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


class Provenance(NewerFieldsOmitted):
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
    """The examples every trial was scored on: dev, then unused training ones (and the gate's
    too when `gate_example_ids` is None)."""
    study_name: str | None = None
    """The search's Optuna study, e.g. "legal_intake-3f9c0a1b2d4e", to find it in storage."""
    gate_example_ids: list[str] | None = None
    """The selection examples held out of the search, on which the gate alone decided; None
    when the gate reused the search's examples."""
    calibration_example_ids: list[str] | None = None
    """Whose inputs the shipped prompt's and its baselines' calibration offsets were fitted on:
    dev, then training examples (`calibration_examples`). None in artifacts made before it,
    whose offsets were fitted on the selection examples'."""

    newer_fields = (
        "verification_example_ids",
        "selection_example_ids",
        "study_name",
        "gate_example_ids",
        "calibration_example_ids",
    )
