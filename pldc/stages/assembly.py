"""The last step: the stages' records put together into the frozen, hashed `CompiledPrompt`.

A new artifact field is declared in `pldc.records` and filled here.
"""

from __future__ import annotations

from pldc.artifact import installed_versions
from pldc.data import Example
from pldc.records import (
    CompiledPrompt,
    ParetoPoint,
    PromptRecord,
    Provenance,
    Rule,
    TaskRecord,
)
from pldc.search import SearchResult
from pldc.stages.candidates import Candidates
from pldc.stages.extraction import Extraction
from pldc.stages.final_evaluation import FinalEvaluation
from pldc.stages.gate import ShippedPrompt
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace
from pldc.verify import Verification


def compiled_prompt(
    workspace: Workspace,
    extraction: Extraction,
    pool: RulePool,
    verification: Verification | None,
    candidates: Candidates,
    result: SearchResult,
    shipped: ShippedPrompt,
    evaluation: FinalEvaluation,
    rules: list[Rule],
    front: list[ParetoPoint] | None,
) -> CompiledPrompt:
    """The artifact, with its content hash. `pool` is the resolved pool, before verification;
    `rules` the shipped prompt's candidates."""
    schema, data, settings = workspace.schema, workspace.data, workspace.settings
    return CompiledPrompt(
        task=TaskRecord(
            name=workspace.task.display_name,
            signature=schema.signature_name,
            instruction=schema.instruction,
            data_fingerprint=data.fingerprint,
            split_sizes={"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        ),
        prompt=PromptRecord(
            system=shipped.system_prompt,
            user_template=workspace.user_template,
            input_fields=list(schema.input_names),
            output_field=schema.output_field,
            labels=list(schema.labels),
        ),
        rules=rules,
        calibration=evaluation.calibration,
        teacher=workspace.teacher.identity,
        student=workspace.student.identity,
        token_count=shipped.tokens,
        baseline_token_count=evaluation.baseline_tokens,
        token_budget=settings.token_budget,
        seed=settings.seed,
        scores=evaluation.scores,
        provenance=_provenance(workspace, extraction, pool, verification, candidates, result),
        gate=shipped.gate,
        pareto_front=front,
        versions=installed_versions(),
    ).with_hash()


def _provenance(
    workspace: Workspace,
    extraction: Extraction,
    pool: RulePool,
    verification: Verification | None,
    candidates: Candidates,
    result: SearchResult,
) -> Provenance:
    clustering = workspace.settings.cluster_settings()
    return Provenance(
        sampler=result.sampler,
        trials=result.trials,
        best_trial=result.best_trial,
        teacher_examples=len(extraction.examples),
        teacher_traces=extraction.traces,
        embedder=workspace.embedder.name,
        cluster_eps=clustering.eps,
        cluster_min_samples=clustering.min_samples,
        candidate_rules=_every_candidate(workspace, pool, verification, candidates),
        resolution=pool.resolution,
        verification_example_ids=verification.example_ids if verification else None,
        selection_example_ids=_ids(candidates.selection),
        study_name=result.study_name,
        gate_example_ids=_ids(candidates.gate_examples) or None,
        calibration_example_ids=_ids(candidates.calibration),
    )


def _ids(examples: list[Example]) -> list[str]:
    return [example.id for example in examples]


def _every_candidate(
    workspace: Workspace,
    pool: RulePool,
    verification: Verification | None,
    candidates: Candidates,
) -> list[Rule]:
    """Pinned rules, every resolved rule (with its verification, kept or dropped), then the
    demonstrations: all the search could have chosen, and what verification took away."""
    rules = verification.rules if verification is not None else pool.rules
    return workspace.candidate_rules([*rules, *candidates.demonstrations])
