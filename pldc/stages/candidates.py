"""Stage 5, the search's candidates and examples: the verified rules plus labelled
demonstrations, and the selection examples every prompt is scored on.

The selection examples are all of dev, then training examples no stage has used (not the
teacher's, nor resolution's, nor verification's, nor a demonstration), dealt round-robin
across labels, up to `selection_examples`: more examples to choose on than dev alone, so the
chosen prompt overfits less. The last `gate_examples` of them are held out of the search for
the final gate, which then judges the search's best on examples that did not choose it. The
shipped prompt is calibrated on still more inputs: dev first, then training examples, up to
`calibration_examples`. Cheap and deterministic, so not stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pldc.calibration import calibration_examples
from pldc.data import Example, round_robin_sample
from pldc.demonstrations import demonstration_candidates
from pldc.progress import note
from pldc.records import Rule
from pldc.stages.extraction import Extraction
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace
from pldc.verify import Verification


@dataclass(frozen=True)
class Candidates:
    rules: list[Rule]
    """What the search chooses from: kept rules in the teacher's order, then demonstrations."""
    demonstrations: list[Rule]
    """The demonstration candidates alone (empty with `rules_only`)."""
    selection: list[Example]
    """The examples every trial is scored and calibrated on, dev first."""
    gate_examples: list[Example]
    """Held out of the search: the final gate decides on these alone (`gate_examples`);
    empty when the gate reuses `selection`."""
    calibration: list[Example]
    """Whose inputs the shipped prompt's batch calibration is fitted on: dev first, then
    training examples (`pldc.calibration.calibration_examples`); none with `calibration`
    "none"."""

    @property
    def judged_by_gate(self) -> list[Example]:
        return self.gate_examples or self.selection


def run(
    workspace: Workspace,
    extraction: Extraction,
    pool: RulePool,
    verification: Verification | None,
) -> Candidates:
    settings, data = workspace.settings, workspace.data
    rules = verification.kept if verification is not None else pool.rules
    used = extraction.seen_ids
    if pool.resolution is not None:
        used |= set(pool.resolution.example_ids)
    if verification is not None:
        used |= set(verification.example_ids)
    demonstrations = []
    if not settings.rules_only and settings.demonstrations:
        demonstrations = demonstration_candidates(
            workspace.schema,
            data.train,
            settings.demonstrations,
            seed=settings.seed,
            count_tokens=workspace.student.count_tokens,
            token_budget=settings.token_budget,
            pinned=[rule.text for rule in workspace.pinned],
        )
        used |= {i for demo in demonstrations for i in demo.source_example_ids}
    spare = [example for example in data.train if example.id not in used]
    room = max(0, settings.selection_examples - len(data.dev))
    extra = round_robin_sample(spare, room, random.Random(f"selection:{settings.seed}"))
    selection = [*data.dev, *extra]
    held = _held_out(len(selection), settings.gate_examples)
    if settings.gate and held < settings.gate_examples:
        note(
            workspace.progress,
            f"the final gate holds out {held} of the {settings.gate_examples} gate_examples "
            f"asked: of the {len(selection)} selection examples, the search keeps at least "
            f"{MIN_SEARCH_EXAMPLES}"
            + ("" if held else ", so the gate judges on the examples the search chose on"),
        )
    return Candidates(
        [*rules, *demonstrations],
        demonstrations,
        selection[: len(selection) - held],
        selection[len(selection) - held :],
        []
        if settings.calibration == "none"
        else calibration_examples(
            data.dev, data.train, settings.calibration_examples, settings.seed
        ),
    )


MIN_SEARCH_EXAMPLES = 20
"""The fewest selection examples left to the search when the gate holds some out."""


def _held_out(selection: int, wanted: int) -> int:
    """How many of the last selection examples (unused training ones first, dealt round-robin
    by label) the gate keeps for itself: `wanted`, less whatever would leave the search
    fewer than `MIN_SEARCH_EXAMPLES`."""
    return max(0, min(wanted, selection - MIN_SEARCH_EXAMPLES))
