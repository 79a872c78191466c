"""Search: which rules a student's prompt keeps, and in what order, under a token budget.

A strategy (`SearchStrategy`) proposes each trial's rules, best first. The trial's prompt is
the task's pinned rules, then the proposed ones; if the rendered system prompt exceeds the
budget, the last rules are dropped until it fits, so no trial ever exceeds the budget and no
pinned rule is dropped. The objective is the student's Macro-F1 or its mean calibrated
gold-label log-probability on the selection examples (the other one breaks ties), or, with
`ParetoSearch`, Macro-F1 against prompt tokens.

Strategies, one module each: `TPESearch` (the teacher-order trial, then TPE), `RandomSearch`,
`GreedySearch` (forward selection), `TeacherOrderSearch` (one prompt, no search),
`EvidenceSearch` (the top k rules by verification evidence, with and without the
demonstrations) and `ParetoSearch` (any of them against prompt length). Settings name them by the
strings in `STRATEGIES`; `strategy_for` turns settings into one.

Trials live in Optuna storage. Several processes (`workers`) can share one study; each trial
first claims one of the `trials` slots, so together they run at most that many.
"""

from pldc.search._base import (
    SEARCH_REVISION,
    RuleSpace,
    SampledSearch,
    SearchStrategy,
    prompt_scores,
)
from pldc.search._budget import FittedPrompt, fit_to_budget
from pldc.search._evidence import EvidenceSearch, ranked_by_evidence
from pldc.search._greedy import GreedySearch
from pldc.search._pareto import ParetoSearch, pareto_front
from pldc.search._pruning import NoPruning, OptunaPruning, Pruning
from pldc.search._random import RandomSearch
from pldc.search._records import (
    FrontPoint,
    PrunerName,
    SamplerName,
    SearchObjective,
    SearchResult,
    SearchSettings,
    TrialRecord,
)
from pldc.search._registry import PRUNERS, STRATEGIES, pruning_for, strategy_for
from pldc.search._runner import open_study, search_rules
from pldc.search._study import NothingToRun, run_trials
from pldc.search._teacher_order import TeacherOrderSearch
from pldc.search._tpe import TPESearch

__all__ = [
    "PRUNERS",
    "SEARCH_REVISION",
    "STRATEGIES",
    "EvidenceSearch",
    "FittedPrompt",
    "FrontPoint",
    "GreedySearch",
    "NoPruning",
    "NothingToRun",
    "OptunaPruning",
    "ParetoSearch",
    "PrunerName",
    "Pruning",
    "RandomSearch",
    "RuleSpace",
    "SampledSearch",
    "SamplerName",
    "SearchObjective",
    "SearchResult",
    "SearchSettings",
    "SearchStrategy",
    "TPESearch",
    "TeacherOrderSearch",
    "TrialRecord",
    "fit_to_budget",
    "open_study",
    "pareto_front",
    "prompt_scores",
    "pruning_for",
    "ranked_by_evidence",
    "run_trials",
    "search_rules",
    "strategy_for",
]
