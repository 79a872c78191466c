"""The compile's stages, one module each, in the order `pldc.compiler.compile_task` runs them.

Each stage is a `run` function that takes the workspace and the record the stage before it
returned, and returns the next record:

    open_workspace(task, ...)           → Workspace        data split, budget checked, stores open
    extraction.run(workspace)           → Extraction       one teacher rule per training example
    rule_pool.run(workspace, ...)       → RulePool         rules clustered per label and merged
    resolution.run(workspace, pool)     → RulePool         edited where the student still fails
    verification.run(workspace, pool)   → Verification     rules tried alone on train, weak ones out
    candidates.run(workspace, …)        → Candidates       rules + demonstrations, selection set
    rule_search.run(workspace, …)       → SearchResult     the candidates the prompt keeps, in order
    gate.run(workspace, …)              → ShippedPrompt    searched, unless a baseline is as good
    final_evaluation.run(workspace, …)  → FinalEvaluation  scores with 95% intervals
    rule_evidence.run(workspace, …)     → list[Rule]       shipped candidates, leave-one-out deltas
    front_evaluation.run(workspace, …)  → [ParetoPoint]    each front prompt scored as shipped
    assembly.compiled_prompt(...)       → CompiledPrompt   the frozen, hashed artifact

A stage whose result is stored whole declares what it depends on in one `key` function beside
its `run`, and runs through `cached_stage`; the search's `key` names its Optuna study. A key
holds the scaffold the stage's models are shown from one place, the workspace's
`student_scaffold()` and `teacher_scaffold()`, so a changed task never reads a stale stage. The
other stages are cheap to rerun because every model call they make is stored.

A new stage is a new module here with its record, its `key` and its `run`, and one call in
`compile_task`. The algorithms the stages call (`pldc.extract`, `pldc.rulepool`,
`pldc.resolve`, `pldc.search`, `pldc.evaluate`, `pldc.evidence`) know nothing of run
directories and can be used alone.
"""

from pldc.stages import (
    assembly,
    candidates,
    extraction,
    final_evaluation,
    front_evaluation,
    gate,
    resolution,
    rule_evidence,
    rule_pool,
    rule_search,
    verification,
)
from pldc.stages._cached import cached_stage
from pldc.stages.extraction import Extraction
from pldc.stages.final_evaluation import FinalEvaluation
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import (
    Workspace,
    open_workspace,
    reopened_evaluator_in,
    stored_evaluator_in,
    stored_teacher_in,
)

__all__ = [
    "Extraction",
    "FinalEvaluation",
    "RulePool",
    "Workspace",
    "assembly",
    "cached_stage",
    "candidates",
    "extraction",
    "final_evaluation",
    "front_evaluation",
    "gate",
    "open_workspace",
    "reopened_evaluator_in",
    "resolution",
    "rule_evidence",
    "rule_pool",
    "rule_search",
    "stored_evaluator_in",
    "stored_teacher_in",
    "verification",
]
