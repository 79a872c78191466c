"""The benchmark's rows: each builds a prompt for the task its own way and returns a predictor.

A row sees the same `Bench`: task, splits, teacher and student (wrapped to count calls and
tokens), token budget and seed. Rows that use pldc's scaffold score the label set by
log-likelihood; DSPy rows generate text through the student and parse it, as DSPy does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dspy
from wrappers import CountingBackend, MemolessEvaluator

from pldc.backends import Backend
from pldc.backends.dspy_engine import BackendEngine
from pldc.calibration import decide
from pldc.compiler import compile_task
from pldc.data import Example
from pldc.demonstrations import demonstration_candidates
from pldc.presets import load_preset, settings_with
from pldc.records import Calibration
from pldc.render import (
    render_messages,
    render_system_prompt,
    render_user_template,
)
from pldc.runtime import CompiledClassifier
from pldc.task import Task, TaskSchema

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Bench:
    task: Task
    task_path: Path
    train: list[Example]
    """The labelled training examples every compiler may learn from (PLD's teacher sample)."""
    dev: list[Example]
    """The selection split: what optimizers score candidate prompts on."""
    test: list[Example]
    calibration: list[Example]
    """Whose inputs the scaffold rows' batch calibration is fitted on: the ones a default
    compile fits its shipped prompt on (`pldc.calibration.calibration_examples`), so a row and
    a compile that ships the same prompt decide alike."""
    teacher: CountingBackend
    student: CountingBackend
    budget: int
    seed: int
    run_dir: Path
    """Resumable work, kept out of the repository."""
    kept_dir: Path
    """Outputs committed beside the results: PLD's compiled artifact, whose rules and scores the
    README quotes."""

    @property
    def schema(self) -> TaskSchema:
        return self.task.schema


@dataclass
class Compiled:
    predict: Callable[[Mapping[str, str]], str | None]
    """The label for one example's inputs, or None when the reply named no label."""
    prompt_tokens: int
    """Tokens of everything the model is sent for an example, less the example's own inputs."""
    answered_by: str
    decoding: str
    notes: list[str] = field(default_factory=list)
    calibration: Calibration | None = None
    """The batch-calibration offsets it decides with, when it scores labels."""


# pldc's scaffold, label log-likelihood ------------------------------------------------------


def _scaffold(b: Bench, model: Backend, system_prompt: str, notes: list[str]) -> Compiled:
    """A system prompt scored by label log-likelihood, calibrated as pldc calibrates the prompt
    it ships (on `Bench.calibration`)."""
    template = render_user_template(b.schema)
    labels = b.schema.labels
    evaluator = MemolessEvaluator(model, b.schema, template)
    _, calibration = evaluator.predictions("batch", system_prompt, b.calibration)

    def predict(inputs: Mapping[str, str]) -> str:
        return decide(
            model.score(render_messages(system_prompt, template, inputs), labels),
            labels,
            calibration,
        )

    empty = render_messages(system_prompt, template, {name: "" for name in b.schema.input_names})
    return Compiled(
        predict,
        prompt_tokens=_message_tokens(model, empty),
        answered_by=model.identity.name,
        decoding="label log-likelihood, calibrated on dev and training inputs",
        notes=notes,
        calibration=calibration,
    )


def student_zero_shot(b: Bench) -> Compiled:
    system = render_system_prompt(b.schema, [])
    return _scaffold(b, b.student, system, ["pldc's scaffold with no rules"])


def teacher_zero_shot(b: Bench) -> Compiled:
    system = render_system_prompt(b.schema, [])
    return _scaffold(b, b.teacher, system, ["pldc's scaffold with no rules"])


def student_few_shot(b: Bench) -> Compiled:
    """As many labelled demonstrations as fit the token budget, dealt round-robin by label,
    where pldc's scaffold puts its rules: the demonstrations a compile offers, all at once."""
    demos = demonstration_candidates(
        b.schema,
        b.train,
        len(b.train),
        seed=b.seed,
        count_tokens=b.student.count_tokens,
        token_budget=b.budget,
    )
    system = render_system_prompt(b.schema, [], demonstrations=[demo.text for demo in demos])
    return _scaffold(
        b, b.student, system, [f"k={len(demos)} demonstrations within {b.budget} tokens"]
    )


# pldc's PLD ------------------------------------------------------------------------------------


def pld(b: Bench) -> Compiled:
    """pldc's default compile: rules and demonstrations searched under the budget, gated."""
    return _pld(b, "default", "rules and demonstrations")


def pld_rules_only(b: Bench) -> Compiled:
    """pldc's rules-only compile (optimizers/rules_only.toml): no demonstrations in the prompt."""
    return _pld(b, "rules_only", "rules only")


def pld_unclustered(b: Bench) -> Compiled:
    """The default compile without clustering (optimizers/unclustered.toml)."""
    return _pld(b, "unclustered", "rules and demonstrations, no clustering")


def pld_rules_only_unclustered(b: Bench) -> Compiled:
    """The rules-only compile without clustering (optimizers/rules_only_unclustered.toml)."""
    return _pld(b, "rules_only_unclustered", "rules only, no clustering")


def _pld(b: Bench, preset_name: str, what: str) -> Compiled:
    preset = ROOT / "optimizers" / f"{preset_name}.toml"
    settings = settings_with(
        {
            **load_preset(preset),
            "token_budget": b.budget,
            "seed": b.seed,
            "calibration_examples": len(b.calibration),
        },
        source=str(preset),
    )
    suffix = "" if preset_name == "default" else f"-{preset_name}"
    artifact = compile_task(
        b.task,
        teacher=b.teacher,
        student=b.student,
        settings=settings,
        run_dir=b.run_dir / f"pld{suffix}",
        source=str(b.task_path),
        base_dir=b.task_path.parent,
    )
    artifact.save(b.kept_dir / f"{b.task.display_name}{suffix}.json")
    classifier = CompiledClassifier(artifact, b.student)
    empty = classifier.messages(**{name: "" for name in b.schema.input_names})
    shipped = artifact.gate.shipped if artifact.gate else "searched"
    return Compiled(
        lambda inputs: classifier.predict(**inputs),
        prompt_tokens=_message_tokens(b.student, empty),
        answered_by=b.student.identity.name,
        decoding="label log-likelihood, calibrated on dev and training inputs",
        calibration=artifact.calibration,
        notes=[
            f"{preset_name} preset ({what}); the gate shipped {shipped} with "
            f"{len(artifact.rules)} candidates; compile cost includes pldc's own scoring of "
            "its baselines and of the full test split"
        ],
    )


# DSPy programs and optimizers ------------------------------------------------------------------


def dspy_lm(model: Backend, max_tokens: int) -> dspy.LM:
    return dspy.LM(
        f"pldc/{model.identity.name}",
        engine=BackendEngine(model, max_tokens=max_tokens),
        cache=False,
        temperature=0.0,
        max_tokens=max_tokens,
        num_retries=0,
    )


def _examples(b: Bench, examples: Sequence[Example]) -> list[dspy.Example]:
    output = b.schema.output_field
    return [
        dspy.Example(**ex.inputs, **{output: ex.label}).with_inputs(*b.schema.input_names)
        for ex in examples
    ]


def _metric(b: Bench):
    output = b.schema.output_field

    def metric(example, prediction, trace=None, *args) -> float:
        return float(getattr(prediction, output, None) == example[output])

    return metric


def _program_row(
    b: Bench, program: dspy.Module, model: Backend, lm: dspy.LM, notes: list[str]
) -> Compiled:
    output = b.schema.output_field
    labels = set(b.schema.labels)

    def predict(inputs: Mapping[str, str]) -> str | None:
        try:
            with dspy.context(lm=lm):
                answer = getattr(program(**inputs), output, None)
        except Exception:  # a reply DSPy's adapters could not parse counts as no answer
            return None
        return answer if answer in labels else None

    return Compiled(
        predict,
        prompt_tokens=_program_tokens(b, program, model),
        answered_by=model.identity.name,
        decoding="generate + parse (DSPy ChatAdapter)",
        notes=notes,
    )


def _program_tokens(b: Bench, program: dspy.Module, model: Backend) -> int:
    adapter = dspy.ChatAdapter()
    empty = {name: "" for name in b.schema.input_names}
    total = 0
    for predictor in program.predictors():
        messages = adapter.format(predictor.signature, predictor.demos, empty)
        total += _message_tokens(model, messages)
    return total


def student_predict(b: Bench) -> Compiled:
    lm = dspy_lm(b.student, 64)
    return _program_row(b, dspy.Predict(b.task.signature), b.student, lm, ["dspy.Predict"])


def student_cot(b: Bench) -> Compiled:
    lm = dspy_lm(b.student, 384)
    program = dspy.ChainOfThought(b.task.signature)
    return _program_row(b, program, b.student, lm, ["dspy.ChainOfThought"])


def teacher_cot(b: Bench) -> Compiled:
    lm = dspy_lm(b.teacher, 384)
    program = dspy.ChainOfThought(b.task.signature)
    return _program_row(b, program, b.teacher, lm, ["dspy.ChainOfThought"])


def _optimized(b: Bench, optimizer, student_lm: dspy.LM, notes: list[str], **options) -> Compiled:
    """A DSPy optimizer's program for the student: learns from train, selects on dev."""
    with dspy.context(lm=student_lm):
        program = optimizer.compile(
            dspy.Predict(b.task.signature),
            trainset=_examples(b, b.train),
            valset=_examples(b, b.dev),
            **options,
        )
    return _program_row(b, program, b.student, student_lm, notes)


def _mipro(b: Bench, demos: int) -> Compiled:
    student_lm, teacher_lm = dspy_lm(b.student, 64), dspy_lm(b.teacher, 512)
    optimizer = dspy.MIPROv2(
        metric=_metric(b),
        prompt_model=teacher_lm,
        task_model=student_lm,
        teacher_settings={"lm": teacher_lm},
        max_bootstrapped_demos=demos,
        max_labeled_demos=demos,
        auto="light",
        num_threads=1,
        seed=b.seed,
    )
    notes = [f"auto=light, {demos} bootstrapped + {demos} labelled demos at most"]
    return _optimized(b, optimizer, student_lm, notes, requires_permission_to_run=False)


def mipro_instructions(b: Bench) -> Compiled:
    return _mipro(b, demos=0)


def mipro_with_demos(b: Bench) -> Compiled:
    return _mipro(b, demos=2)


COPRO_BREADTH, COPRO_DEPTH = 4, 2


def copro(b: Bench) -> Compiled:
    student_lm, teacher_lm = dspy_lm(b.student, 64), dspy_lm(b.teacher, 512)
    optimizer = dspy.COPRO(
        prompt_model=teacher_lm, metric=_metric(b), breadth=COPRO_BREADTH, depth=COPRO_DEPTH
    )
    with dspy.context(lm=student_lm):
        program = optimizer.compile(
            dspy.Predict(b.task.signature),
            trainset=_examples(b, b.dev),
            eval_kwargs={"num_threads": 1, "display_progress": False},
        )
    notes = [f"breadth {COPRO_BREADTH}, depth {COPRO_DEPTH}, candidates scored on dev"]
    return _program_row(b, program, b.student, student_lm, notes)


INFER_RULES_CANDIDATES = 3


def infer_rules(b: Bench) -> Compiled:
    student_lm, teacher_lm = dspy_lm(b.student, 64), dspy_lm(b.teacher, 512)
    optimizer = dspy.InferRules(
        num_candidates=INFER_RULES_CANDIDATES,
        num_rules=10,
        num_threads=1,
        teacher_settings={"lm": teacher_lm},
        metric=_metric(b),
        max_bootstrapped_demos=0,
        max_labeled_demos=0,
    )
    notes = [f"{INFER_RULES_CANDIDATES} rule sets from the teacher, no demos, chosen on dev"]
    return _optimized(b, optimizer, student_lm, notes)


GEPA_METRIC_CALLS = 150


def gepa(b: Bench) -> Compiled:
    student_lm, teacher_lm = dspy_lm(b.student, 64), dspy_lm(b.teacher, 1024)
    output = b.schema.output_field

    def metric(gold, prediction, trace=None, pred_name=None, pred_trace=None):
        answer = getattr(prediction, output, None)
        right = answer == gold[output]
        feedback = (
            f"Correct: the answer is {gold[output]}."
            if right
            else f"Wrong: answered {answer!r}, but the correct answer is {gold[output]}."
        )
        return dspy.Prediction(score=float(right), feedback=feedback)

    optimizer = dspy.GEPA(
        metric=metric,
        max_metric_calls=GEPA_METRIC_CALLS,
        reflection_lm=teacher_lm,
        num_threads=1,
        seed=b.seed,
    )
    notes = [f"max_metric_calls={GEPA_METRIC_CALLS}, teacher reflects"]
    return _optimized(b, optimizer, student_lm, notes)


def _message_tokens(model: Backend, messages: Sequence[Mapping[str, str]]) -> int:
    return sum(model.count_tokens(m["content"]) for m in messages)


# Cheapest first, so a short run still yields the rows that matter most.
ROWS: dict[str, Callable[[Bench], Compiled]] = {
    "student zero-shot": student_zero_shot,
    "student few-shot": student_few_shot,
    "pldc PLD": pld,
    "pldc rules-only": pld_rules_only,
    "pldc unclustered": pld_unclustered,
    "pldc rules-only unclustered": pld_rules_only_unclustered,
    "student zero-shot (dspy.Predict)": student_predict,
    "student chain of thought": student_cot,
    "teacher zero-shot": teacher_zero_shot,
    "DSPy MIPROv2 (0 demos)": mipro_instructions,
    "DSPy COPRO": copro,
    "DSPy InferRules": infer_rules,
    "DSPy GEPA": gepa,
    "DSPy MIPROv2 (with demos)": mipro_with_demos,
    "teacher chain of thought": teacher_cot,
}
