"""The compile pipeline: task data → teacher traces → rule pool → search → CompiledPrompt.

Each stage persists its work in the run directory as it goes (teacher traces in a JSONL store,
trials in an Optuna SQLite study), so a killed compile rerun with the same inputs resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

from pldc._litellm import keep_litellm_offline
from pldc.artifact import installed_versions
from pldc.backends import open_recorded_model
from pldc.backends.base import Backend, ModelIdentity
from pldc.data import TaskData, load_task_data
from pldc.embed import Embedder, StoredEmbedder, open_embedder
from pldc.evaluate import StudentEvaluator, scorer_key
from pldc.evidence import leave_one_out
from pldc.extract import (
    StoredTeacher,
    extract_rules,
    nearest_contrasts,
    select_teacher_examples,
)
from pldc.progress import NullProgress, Progress
from pldc.records import (
    ArtifactScores,
    CompiledPrompt,
    ParetoPoint,
    PromptRecord,
    Provenance,
    ResolutionRecord,
    Rule,
    TaskRecord,
)
from pldc.render import render_candidates, render_system_prompt, render_user_template
from pldc.resolve import resolve_conflicts
from pldc.rulepool import build_rule_pool, pinned_rules
from pldc.search import SearchResult, fit_to_budget, search_rules
from pldc.settings import CompileSettings
from pldc.store import JsonlStore, content_key
from pldc.task import Task, TaskSchema

DEFAULT_RUN_ROOT = Path(".pldc")


def stored_teacher_in(run_dir: Path, teacher: Backend) -> StoredTeacher:
    """The teacher, with every call it finishes stored in the run directory."""
    return StoredTeacher(teacher, JsonlStore(run_dir / "teacher_traces.jsonl"))


def stored_evaluator_in(run_dir: Path, student: Backend, schema: TaskSchema) -> StudentEvaluator:
    """A student evaluator whose every label score is stored in the run directory."""
    store = JsonlStore(run_dir / "student_scores.jsonl")
    return StudentEvaluator(student, schema, render_user_template(schema), store)


def reopened_evaluator_in(
    run_dir: Path, student: ModelIdentity, schema: TaskSchema
) -> StudentEvaluator:
    """A search worker's evaluator: the recorded student, reopened in the worker's process."""
    backend = open_recorded_model(student)
    return stored_evaluator_in(run_dir, backend, schema)


def compile_task(
    task: Task,
    *,
    teacher: Backend,
    student: Backend,
    settings: CompileSettings | None = None,
    run_dir: Path | None = None,
    source: str = "task",
    base_dir: Path | None = None,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    storage: str | None = None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None = None,
) -> CompiledPrompt:
    """Compile `task` into a frozen prompt for `student`, distilled from `teacher`.

    `source` names the task file in error messages; `base_dir` resolves its relative data paths.
    `storage` is an Optuna storage URL for the search study (default: SQLite in the run
    directory). Search workers beyond the first reopen the student recorded in its identity,
    unless `open_worker_evaluator` (a picklable factory) gives them one.
    """
    keep_litellm_offline()  # for a remote embedder, and search workers that reopen the student
    settings = settings or CompileSettings()
    progress = progress or NullProgress()
    run_dir = run_dir or DEFAULT_RUN_ROOT / task.display_name
    schema = task.schema
    run_dir.mkdir(parents=True, exist_ok=True)
    data = load_task_data(task, source, base_dir)
    user_template = render_user_template(schema)
    pinned = pinned_rules(task.pinned_rules)
    # Refuse an impossible budget before any model time is spent.
    fit_to_budget(schema, [], student.count_tokens, settings.token_budget, pinned)

    teacher_examples = select_teacher_examples(data.train, settings.teacher_examples, settings.seed)
    stored_teacher = stored_teacher_in(run_dir, teacher)
    embedder = StoredEmbedder(embedder or open_embedder(), JsonlStore(run_dir / "embeddings.jsonl"))
    contrasts = (
        nearest_contrasts(teacher_examples, data.train, embedder)
        if settings.extraction_contrast
        else None
    )
    traces = extract_rules(schema, teacher_examples, stored_teacher, progress, contrasts)
    cluster_settings = settings.cluster_settings()
    stages = JsonlStore(run_dir / "stages.jsonl")
    pool = _stored_stage(
        stages,
        (
            "rule-pool",
            [t.model_dump() for t in traces],
            teacher.identity.model_dump(),
            embedder.name,
            asdict(cluster_settings),
            schema.instruction,
            schema.labels,
        ),
        lambda: (
            build_rule_pool(schema, traces, embedder, stored_teacher, cluster_settings, progress),
            None,
        ),
    )[0]

    evaluator = stored_evaluator_in(run_dir, student, schema)
    resolution = None
    if settings.resolve_rounds > 0:
        resolve_settings = settings.resolve_settings()
        pool, resolution = _stored_stage(
            stages,
            (
                "resolution",
                [r.model_dump() for r in pool],
                teacher.identity.model_dump(),
                scorer_key(student.identity),
                data.fingerprint,
                asdict(resolve_settings),
                user_template,
                task.pinned_rules,
            ),
            lambda: resolve_conflicts(
                schema,
                pool,
                evaluator,
                data.train,
                data.dev,
                stored_teacher,
                resolve_settings,
                progress,
                pinned,
            ),
        )

    search_settings = settings.search_settings()
    study_name = content_key(
        "search",
        [r.model_dump() for r in [*pinned, *pool]],
        scorer_key(student.identity),
        data.fingerprint,
        asdict(replace(search_settings, workers=1)),  # more workers resume the same study
        user_template,
    )[:24]
    result = search_rules(
        schema,
        pool,
        evaluator,
        data.dev,
        search_settings,
        pinned=pinned,
        storage=storage or f"sqlite:///{(run_dir / 'study.db').resolve()}",
        study_name=study_name,
        progress=progress,
        open_worker_evaluator=open_worker_evaluator
        or partial(reopened_evaluator_in, run_dir, student.identity, schema),
    )

    baseline_prompt = render_system_prompt(schema, [])
    total = 2 * len(data.dev) + 2 * len(data.test)
    with progress.stage("final evaluation", total=total) as stage:
        # Each prompt is calibrated on the dev inputs, then frozen for the test split.
        dev, calibration = evaluator.calibrated(
            settings.calibration, result.system_prompt, data.dev, stage
        )
        baseline_dev, baseline_calibration = evaluator.calibrated(
            settings.calibration, baseline_prompt, data.dev, stage
        )
        scores = ArtifactScores(
            dev=dev,
            baseline_dev=baseline_dev,
            test=evaluator.evaluate(result.system_prompt, data.test, calibration, stage),
            baseline_test=evaluator.evaluate(
                baseline_prompt, data.test, baseline_calibration, stage
            ),
            baseline_calibration=baseline_calibration,
        )

    candidates = [*pinned, *pool]
    by_id = {rule.id: rule for rule in candidates}
    kept = [by_id[rule_id] for rule_id in result.rule_ids]
    if settings.rule_evidence:
        kept = leave_one_out(schema, kept, evaluator, data.dev, settings.calibration, progress)
    front = _pareto_points(result, schema, by_id, evaluator, data, settings, progress)
    return CompiledPrompt(
        task=TaskRecord(
            name=task.display_name,
            signature=schema.signature_name,
            instruction=schema.instruction,
            data_fingerprint=data.fingerprint,
            split_sizes={"train": len(data.train), "dev": len(data.dev), "test": len(data.test)},
        ),
        prompt=PromptRecord(
            system=result.system_prompt,
            user_template=user_template,
            input_fields=list(schema.input_names),
            output_field=schema.output_field,
            labels=list(schema.labels),
        ),
        rules=kept,
        calibration=calibration,
        teacher=teacher.identity,
        student=student.identity,
        token_count=result.token_count,
        baseline_token_count=student.count_tokens(baseline_prompt),
        token_budget=settings.token_budget,
        seed=settings.seed,
        scores=scores,
        provenance=Provenance(
            sampler=result.sampler,
            trials=result.trials,
            best_trial=result.best_trial,
            teacher_examples=len(teacher_examples),
            teacher_traces=traces,
            embedder=embedder.name,
            cluster_eps=cluster_settings.eps,
            cluster_min_samples=cluster_settings.min_samples,
            candidate_rules=candidates,
            resolution=resolution,
        ),
        pareto_front=front,
        versions=installed_versions(),
    ).with_hash()


def _pareto_points(
    result: SearchResult,
    schema: TaskSchema,
    by_id: dict[str, Rule],
    evaluator: StudentEvaluator,
    data: TaskData,
    settings: CompileSettings,
    progress: Progress,
) -> list[ParetoPoint] | None:
    """Each front prompt, calibrated on dev and scored on test, so users can pick one later."""
    if result.pareto_front is None:
        return None
    points = []
    total = len(result.pareto_front) * (len(data.dev) + len(data.test))
    with progress.stage("Pareto front evaluation", total=total) as stage:
        for point in result.pareto_front:
            prompt = render_candidates(schema, [by_id[i] for i in point.rule_ids])
            dev, calibration = evaluator.calibrated(settings.calibration, prompt, data.dev, stage)
            test = evaluator.evaluate(prompt, data.test, calibration, stage)
            points.append(
                ParetoPoint(
                    trial=point.trial,
                    rule_ids=point.rule_ids,
                    system_prompt=prompt,
                    tokens=point.tokens,
                    calibration=calibration,
                    dev=dev,
                    test=test,
                )
            )
    return points


def _stored_stage(
    stages: JsonlStore,
    inputs: tuple,
    run: Callable[[], tuple[list[Rule], ResolutionRecord | None]],
) -> tuple[list[Rule], ResolutionRecord | None]:
    """A stage's rules (and resolution log), from the store when its inputs were seen before.

    The key hashes everything the stage depends on, so a rerun with the same inputs skips it,
    and a changed input recomputes it and, through the rules, every stage after it.
    """
    key = content_key(*inputs)
    if (stored := stages.get(key)) is not None:
        record = stored["record"]
        rules = [Rule.model_validate(rule) for rule in stored["rules"]]
        return rules, ResolutionRecord.model_validate(record) if record else None
    rules, record = run()
    stages.put(
        key,
        {
            "rules": [rule.model_dump() for rule in rules],
            "record": record.model_dump() if record else None,
        },
    )
    return rules, record
