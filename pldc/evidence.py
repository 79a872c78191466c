"""Per-rule evidence: how much dev Macro-F1 the compiled prompt loses without each rule.

Optional, since it costs one dev pass of the student per kept rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from pldc.data import Example
from pldc.evaluate import StudentEvaluator
from pldc.progress import NullProgress, Progress
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
) -> list[Rule]:
    """`rules` with `leave_one_out_delta` set: dev Macro-F1 with all of them minus without one.

    Each reduced prompt is recalibrated on the dev inputs, as the search calibrates its trials.
    Dropping a rule only shortens the prompt, so every reduced prompt fits the budget.
    """
    progress = progress or NullProgress()
    full, _ = evaluator.calibrated(method, render_candidates(schema, rules), dev)
    measured = []
    with progress.stage("leave-one-out evidence", total=len(rules) * len(dev)) as stage:
        for position, rule in enumerate(rules):
            others = [r for i, r in enumerate(rules) if i != position]
            without, _ = evaluator.calibrated(method, render_candidates(schema, others), dev, stage)
            delta = round(full.macro_f1 - without.macro_f1, 6)
            measured.append(rule.model_copy(update={"leave_one_out_delta": delta}))
    return measured
