"""The last step: the stages' records put together into the frozen, hashed `CompiledPrompt`.

A new artifact field is declared in `pldc.records` and filled here.
"""

from __future__ import annotations

from pldc.artifact import installed_versions
from pldc.records import (
    CompiledPrompt,
    ParetoPoint,
    PromptRecord,
    Provenance,
    Rule,
    TaskRecord,
)
from pldc.search import SearchResult
from pldc.stages.extraction import Extraction
from pldc.stages.final_evaluation import FinalEvaluation
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace


def compiled_prompt(
    workspace: Workspace,
    extraction: Extraction,
    pool: RulePool,
    result: SearchResult,
    evaluation: FinalEvaluation,
    rules: list[Rule],
    front: list[ParetoPoint] | None,
) -> CompiledPrompt:
    """The artifact, with its content hash. `pool` is the pool the search ran on."""
    schema, data, settings = workspace.schema, workspace.data, workspace.settings
    cluster_settings = settings.cluster_settings()
    return CompiledPrompt(
        task=TaskRecord(
            name=workspace.task.display_name,
            signature=schema.signature_name,
            instruction=schema.instruction,
            data_fingerprint=data.fingerprint,
            split_sizes={"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        ),
        prompt=PromptRecord(
            system=result.system_prompt,
            user_template=workspace.user_template,
            input_fields=list(schema.input_names),
            output_field=schema.output_field,
            labels=list(schema.labels),
        ),
        rules=rules,
        calibration=evaluation.calibration,
        teacher=workspace.teacher.identity,
        student=workspace.student.identity,
        token_count=result.token_count,
        baseline_token_count=evaluation.baseline_tokens,
        token_budget=settings.token_budget,
        seed=settings.seed,
        scores=evaluation.scores,
        provenance=Provenance(
            sampler=result.sampler,
            trials=result.trials,
            best_trial=result.best_trial,
            teacher_examples=len(extraction.examples),
            teacher_traces=extraction.traces,
            embedder=workspace.embedder.name,
            cluster_eps=cluster_settings.eps,
            cluster_min_samples=cluster_settings.min_samples,
            candidate_rules=workspace.candidate_rules(pool.rules),
            resolution=pool.resolution,
        ),
        pareto_front=front,
        versions=installed_versions(),
    ).with_hash()
