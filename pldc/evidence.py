"""Per-candidate evidence: how much dev Macro-F1 the compiled prompt loses without each rule or
demonstration.

Optional, since it costs one pass of the student per kept candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

from pldc.data import Example
from pldc.evaluate import StudentEvaluator
from pldc.progress import NullProgress, Progress, StageProgress
from pldc.records import CalibrationMethod, Rule
from pldc.render import render_candidates
from pldc.task import TaskSchema


def leave_one_out(
    schema: TaskSchema,
    rules: Sequence[Rule],
    evaluator: StudentEvaluator,
    dev: Sequence[Example],
    method: CalibrationMethod,
    progress: Progress | None = None,
    *,
    calibrate_on: Sequence[Example] | None = None,
) -> list[Rule]:
    """`rules` with `leave_one_out_delta` set: dev Macro-F1 with all of them minus without one.

    Every prompt, the full one and each reduced one, is calibrated on the inputs of
    `calibrate_on` (default: `dev`; the compile passes its selection examples, as its search's
    trials are calibrated), then scored on `dev`. Dropping a candidate only shortens the prompt, so
    every reduced prompt fits the budget.
    """
    progress = progress or NullProgress()
    calibrate_on = dev if calibrate_on is None else calibrate_on
    full = _dev_macro_f1(schema, rules, evaluator, dev, method, calibrate_on)
    measured = []
    per_prompt = len(dev) if calibrate_on is dev else len(calibrate_on) + len(dev)
    with progress.stage("leave-one-out evidence", total=len(rules) * per_prompt) as stage:
        for position, rule in enumerate(rules):
            others = [r for i, r in enumerate(rules) if i != position]
            without = _dev_macro_f1(schema, others, evaluator, dev, method, calibrate_on, stage)
            delta = round(full - without, 6)
            measured.append(rule.model_copy(update={"leave_one_out_delta": delta}))
    return measured


def _dev_macro_f1(
    schema: TaskSchema,
    rules: Sequence[Rule],
    evaluator: StudentEvaluator,
    dev: Sequence[Example],
    method: CalibrationMethod,
    calibrate_on: Sequence[Example],
    stage: StageProgress | None = None,
) -> float:
    prompt = render_candidates(schema, rules)
    if calibrate_on is dev:
        return evaluator.calibrated(method, prompt, dev, stage)[0].macro_f1
    _, calibration = evaluator.predictions(method, prompt, calibrate_on, stage)
    return evaluator.evaluate(prompt, dev, calibration, stage).macro_f1
