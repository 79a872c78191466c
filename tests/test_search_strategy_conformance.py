"""What every search strategy guarantees, whatever it proposes: one suite, run by each of them.

A new strategy joins by adding a factory to STRATEGIES below; the last test fails until it does.
"""

from __future__ import annotations

import optuna
import pytest
from conftest import fake_student_scores, toy_task
from test_search_pruning import _pool

import pldc.search
from pldc import BudgetError
from pldc.backends import FunctionBackend
from pldc.data import load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.render import render_user_template
from pldc.rulepool import pinned_rules
from pldc.search import (
    EvidenceSearch,
    GreedySearch,
    ParetoSearch,
    RandomSearch,
    SearchSettings,
    SearchStrategy,
    TeacherOrderSearch,
    TPESearch,
    fit_to_budget,
    open_study,
    search_rules,
)

STRATEGIES = {
    "tpe": lambda seed: TPESearch(seed=seed),
    "random": lambda seed: RandomSearch(seed=seed),
    "greedy": lambda seed: GreedySearch(seed=seed),
    "teacher_order": lambda seed: TeacherOrderSearch(seed=seed),
    "evidence": lambda seed: EvidenceSearch(seed=seed),
    "pareto_tpe": lambda seed: ParetoSearch(TPESearch(seed=seed)),
    "pareto_greedy": lambda seed: ParetoSearch(GreedySearch(seed=seed)),
}
TRIALS = 8
TASK = toy_task()
DEV = load_task_data(TASK, "toy").dev
PINNED = pinned_rules(["Send every ticket that mentions a chargeback to the refund queue."])


@pytest.fixture(params=sorted(STRATEGIES))
def make_strategy(request):
    return STRATEGIES[request.param]


def evaluator() -> StudentEvaluator:
    student = FunctionBackend(score=fake_student_scores, name="fake-student")
    return StudentEvaluator(student, TASK.schema, render_user_template(TASK.schema))


def search(strategy, pool=None, *, pinned=(), budget=400, trials=TRIALS, **settings_and_kwargs):
    """`search_rules` on the toy task; `pruner` and `dev_slices` go to the settings."""
    settings = SearchSettings(
        token_budget=budget,
        trials=trials,
        seed=0,
        pruner=settings_and_kwargs.pop("pruner", "none"),
        dev_slices=settings_and_kwargs.pop("dev_slices", (1.0,)),
    )
    return search_rules(
        TASK.schema,
        _pool() if pool is None else pool,
        settings_and_kwargs.pop("evaluator", None) or evaluator(),
        DEV,
        settings,
        pinned=pinned,
        strategy=strategy,
        **settings_and_kwargs,
    )


def tokens_of(rules) -> int:
    count = FunctionBackend().count_tokens
    return fit_to_budget(TASK.schema, rules, count, 10_000).tokens


def test_every_trial_and_the_result_fit_the_token_budget(make_strategy):
    budget = tokens_of([*PINNED, *_pool()[:3]])  # room for about three of the seven rules
    result = search(make_strategy(0), pinned=PINNED, budget=budget)
    assert all(trial.tokens <= budget for trial in result.trials)
    assert result.token_count == tokens_of(_rules(result.rule_ids)) <= budget


def test_pinned_rules_lead_every_trial_and_the_result(make_strategy):
    result = search(make_strategy(0), pinned=PINNED)
    assert all(trial.rule_ids[0] == PINNED[0].id for trial in result.trials)
    assert result.rule_ids[0] == PINNED[0].id
    assert result.system_prompt.count(PINNED[0].text) == 1


def test_the_same_seed_reproduces_the_trials_and_the_result(make_strategy):
    first = search(make_strategy(3), pinned=PINNED)
    again = search(make_strategy(3), pinned=PINNED)
    assert again == first


def test_trial_records_come_back_once_each_within_the_trials_asked_for(make_strategy):
    result = search(make_strategy(0))
    numbers = [trial.number for trial in result.trials]
    assert 1 <= len(numbers) <= TRIALS and len(set(numbers)) == len(numbers)
    assert all(trial.dev_examples == len(DEV) and not trial.pruned for trial in result.trials)


def test_the_result_is_the_best_scored_trial(make_strategy):
    result = search(make_strategy(0))
    best = next(trial for trial in result.trials if trial.number == result.best_trial)
    assert best.dev_macro_f1 == max(trial.dev_macro_f1 for trial in result.trials)
    assert best.rule_ids == result.rule_ids and best.tokens == result.token_count


def test_trials_hold_only_candidate_and_pinned_rules_each_at_most_once(make_strategy):
    result = search(make_strategy(0), pinned=PINNED)
    known = {rule.id for rule in [*PINNED, *_pool()]}
    for trial in result.trials:
        assert set(trial.rule_ids) <= known
        assert len(set(trial.rule_ids)) == len(trial.rule_ids)


def test_an_empty_pool_gives_the_pinned_rules_alone(make_strategy):
    result = search(make_strategy(0), [], pinned=PINNED)
    assert result.rule_ids == [PINNED[0].id]
    assert all(trial.rule_ids == [PINNED[0].id] for trial in result.trials)


def test_an_empty_pool_and_no_pinned_rules_give_the_bare_scaffold(make_strategy):
    result = search(make_strategy(0), [])
    assert result.rule_ids == [] and result.token_count == tokens_of([])


def test_a_single_candidate_is_kept_or_left_out(make_strategy):
    (rule,) = _pool()[:1]
    result = search(make_strategy(0), [rule])
    assert result.rule_ids in ([], [rule.id])
    assert all(trial.rule_ids in ([], [rule.id]) for trial in result.trials)


SINGLE_OBJECTIVE = sorted(name for name, make in STRATEGIES.items() if len(make(0).directions) == 1)
"""The strategies a pruner applies to: Optuna prunes single-objective studies only."""


@pytest.mark.parametrize("name", SINGLE_OBJECTIVE)
def test_a_pruned_search_returns_a_prompt_scored_on_the_whole_dev_split(name):
    strategy = STRATEGIES[name](0)
    result = search(strategy, pruner="successive_halving", dev_slices=(0.25, 0.5, 1.0))
    best = next(trial for trial in result.trials if trial.number == result.best_trial)
    assert not best.pruned and best.dev_examples == len(DEV)
    assert all(t.dev_examples < len(DEV) for t in result.trials if t.pruned)


def test_the_input_pool_is_left_as_it_was(make_strategy):
    pool = _pool()
    before = [rule.model_copy() for rule in pool]
    search(make_strategy(0), pool, pinned=PINNED)
    assert pool == before


def test_a_budget_the_pinned_rules_break_is_refused_before_any_student_call(make_strategy):
    scoring = evaluator()
    with pytest.raises(BudgetError, match="pinned_rules"):
        search(make_strategy(0), pinned=PINNED, budget=tokens_of(PINNED) - 1, evaluator=scoring)
    assert scoring.student_calls == 0


def test_a_rerun_on_the_same_storage_scores_nothing_new_and_returns_the_same_result(
    make_strategy, tmp_path
):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = search(make_strategy(0), pinned=PINNED, storage=storage)
    scoring = evaluator()
    again = search(make_strategy(0), pinned=PINNED, storage=storage, evaluator=scoring)
    assert scoring.student_calls == 0
    assert again == first


def test_a_trial_a_killed_run_left_running_is_failed_and_the_search_finishes(
    make_strategy, tmp_path
):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    strategy = make_strategy(0)
    settings = SearchSettings(token_budget=400, trials=TRIALS)
    abandoned = open_study(settings, storage, "pldc", len(DEV), strategy=strategy).ask()

    result = search(strategy, storage=storage)

    study = open_study(settings, storage, "pldc", len(DEV), strategy=strategy)
    state = study.trials[abandoned.number].state
    assert state == optuna.trial.TrialState.FAIL
    assert result.trials and abandoned.number not in [t.number for t in result.trials]


def test_every_strategy_in_the_package_runs_this_suite():
    def concrete(cls):
        for sub in cls.__subclasses__():
            yield from concrete(sub)
            if not getattr(sub, "__abstractmethods__", None):
                yield sub

    package = {cls for cls in concrete(SearchStrategy) if cls.__module__.startswith("pldc.")}
    covered = {type(make(0)) for make in STRATEGIES.values()}
    assert package <= covered, f"add {package - covered} to STRATEGIES"
    assert all(name in pldc.search.__all__ for name in (cls.__name__ for cls in package))


def _rules(rule_ids):
    by_id = {rule.id: rule for rule in [*PINNED, *_pool()]}
    return [by_id[rule_id] for rule_id in rule_ids]
