"""Stage 7, the final gate (`pldc.gate`): the searched prompt against zero-shot and few-shot on
the selection examples held out of the search (`Candidates.gate_examples`), by mean gold-label
log-probability; the artifact ships the searched prompt only if it wins clearly.

Not stored whole: every label score goes through the run's student-score store.
"""

from __future__ import annotations

from dataclasses import dataclass

from pldc.gate import Scored, gate
from pldc.records import GateRecord, Rule
from pldc.search import fit_to_budget
from pldc.stages.candidates import Candidates
from pldc.stages.workspace import Workspace


@dataclass(frozen=True)
class ShippedPrompt:
    """The prompt the artifact holds: the searched one, or the baseline the gate chose."""

    candidates: list[Rule]
    """Pinned rules first, then the kept rules and demonstrations, in prompt order."""
    system_prompt: str
    tokens: int
    gate: GateRecord


def run(workspace: Workspace, candidates: Candidates, searched: list[Rule]) -> ShippedPrompt:
    """`searched` is the search's best prompt's candidates, pinned rules first."""
    schema, settings, evaluator = workspace.schema, workspace.settings, workspace.evaluator
    fit = _fitter(workspace)
    prompts = {"searched": fit(searched[len(workspace.pinned) :])}
    prompts["zero-shot"] = fit([])
    if candidates.demonstrations:
        prompts["few-shot"] = fit(candidates.demonstrations)
    selection = candidates.judged_by_gate
    scored = {}
    total = len(prompts) * len(selection)
    with workspace.progress.stage("final gate", total=total) as stage:
        for name, fitted in prompts.items():
            scored[name] = Scored(
                *evaluator.gold_log_probabilities(
                    settings.calibration, fitted.system_prompt, selection, stage
                )
            )
    searched_ids = [rule.id for rule in prompts["searched"].rules]
    same = [n for n, f in prompts.items() if n != "searched" and _ids(f) == searched_ids]
    record = gate(
        [example.label for example in selection],
        schema.labels,
        scored["searched"],
        {name: s for name, s in scored.items() if name != "searched"},
        searched_is=same[0] if same else None,
        enabled=settings.gate,
        seed=settings.seed,
        held_out=bool(candidates.gate_examples),
    )
    shipped = prompts[record.shipped]
    return ShippedPrompt(shipped.rules, shipped.system_prompt, shipped.tokens, record)


def _fitter(workspace: Workspace):
    def fit(ranked: list[Rule]):
        return fit_to_budget(
            workspace.schema,
            ranked,
            workspace.student.count_tokens,
            workspace.settings.token_budget,
            workspace.pinned,
        )

    return fit


def _ids(fitted) -> list[str]:
    return [rule.id for rule in fitted.rules]
