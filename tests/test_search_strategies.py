"""Each strategy's own behaviour, how settings name them, and the search's use of Optuna."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import optuna
import pytest
from test_search_pruning import _pool
from test_search_strategy_conformance import DEV, PINNED, TASK, evaluator, search, tokens_of

from pldc import SettingsError
from pldc.backends import FunctionBackend
from pldc.compiler import CompileSettings
from pldc.data import load_task_data
from pldc.demonstrations import demonstration_candidates
from pldc.presets import load_preset, settings_with
from pldc.records import Estimate, RuleVerification
from pldc.search import (
    PRUNERS,
    STRATEGIES,
    EvidenceSearch,
    GreedySearch,
    NoPruning,
    PrunerName,
    RandomSearch,
    RuleSpace,
    SamplerName,
    SearchSettings,
    TeacherOrderSearch,
    TPESearch,
    open_study,
    ranked_by_evidence,
    search_rules,
    strategy_for,
)

ROOT = Path(__file__).resolve().parent.parent


def test_every_sampler_setting_names_a_strategy_and_every_pruner_setting_a_pruning():
    assert set(STRATEGIES) == set(get_args(SamplerName))
    assert set(PRUNERS) == set(get_args(PrunerName))


def test_an_unknown_strategy_name_is_refused_naming_the_setting():
    with pytest.raises(SettingsError, match="sampler = 'annealing'") as error:
        strategy_for(SearchSettings(token_budget=400, sampler="annealing"))
    assert error.value.setting == "sampler"


def test_the_default_search_is_tpe_starting_from_zero_shot_then_the_teacher_order():
    default = search(None, pinned=PINNED)
    assert default.sampler == "TPESampler(seed=0, n_startup_trials=3)"
    assert default.trials[0].rule_ids == [rule.id for rule in PINNED]
    assert default.trials[1].rule_ids == [rule.id for rule in [*PINNED, *_pool()]]
    explicit = search(TPESearch.from_settings(SearchSettings(400, trials=8)), pinned=PINNED)
    assert explicit == default


@pytest.mark.parametrize("strategy", [TPESearch, RandomSearch], ids=["tpe", "random"])
def test_a_sampled_search_opens_with_zero_shot_few_shot_the_rules_alone_then_everything(strategy):
    train = load_task_data(TASK, "toy").train
    demonstrations = demonstration_candidates(TASK.schema, train, 3, seed=0)
    pool = [*_pool(), *demonstrations]

    result = search(strategy(seed=0), pool, pinned=PINNED)

    pinned = [rule.id for rule in PINNED]
    assert [trial.rule_ids for trial in result.trials[:4]] == [
        pinned,
        pinned + [demo.id for demo in demonstrations],
        pinned + [rule.id for rule in _pool()],
        pinned + [candidate.id for candidate in pool],
    ]


def test_no_opener_repeats_a_prompt_when_the_rules_alone_fill_the_budget():
    # Seen on the demo without clustering: 13 rules filled the 512 tokens, so "every
    # candidate" trimmed to the rules alone and scored the same prompt twice.
    train = load_task_data(TASK, "toy").train
    demonstrations = demonstration_candidates(TASK.schema, train, 3, seed=0)
    rules = _pool()
    space = RuleSpace(
        TASK.schema, [*rules, *demonstrations], (), tokens_of(rules), FunctionBackend().count_tokens
    )

    opening = TPESearch(seed=0).opening_trials(space)

    kept = [
        [
            name.removeprefix("use:")
            for name, keep in trial.items()
            if name.startswith("use:") and keep
        ]
        for trial in opening
    ]
    assert kept == [[], [demo.id for demo in demonstrations], [rule.id for rule in rules]]


@pytest.mark.parametrize("strategy", [TPESearch, RandomSearch], ids=["tpe", "random"])
def test_a_sampled_search_over_no_candidates_scores_the_one_prompt_once(strategy):
    # Seen on Davidson: verification kept no rule, and 8 trials scored the zero-shot prompt.
    result = search(strategy(seed=0), [], pinned=PINNED, trials=8)
    assert [trial.rule_ids for trial in result.trials] == [[rule.id for rule in PINNED]]


def test_a_pool_of_demonstrations_alone_opens_with_zero_shot_then_few_shot_only():
    train = load_task_data(TASK, "toy").train
    demonstrations = demonstration_candidates(TASK.schema, train, 3, seed=0)

    opening = TPESearch(seed=0).opening_trials(
        RuleSpace(TASK.schema, demonstrations, (), 400, FunctionBackend().count_tokens)
    )

    kept = [
        [name for name, keep in trial.items() if name.startswith("use:") and keep]
        for trial in opening
    ]
    assert kept == [[], [f"use:{demo.id}" for demo in demonstrations]]


def test_teacher_order_scores_one_prompt_every_rule_in_the_teachers_order():
    budget = tokens_of([*PINNED, *_pool()[:4]])
    result = search(TeacherOrderSearch(), pinned=PINNED, budget=budget)
    assert len(result.trials) == 1
    assert result.rule_ids == [rule.id for rule in [*PINNED, *_pool()[:4]]]


def test_greedy_adds_the_best_rule_while_the_objective_rises_then_stops():
    result = search(GreedySearch(), trials=100)
    scores = {tuple(t.rule_ids): t.gold_log_prob for t in result.trials}  # the objective
    assert result.trials[0].rule_ids == []  # it starts from no candidate rule
    # The path greedy took: the prompt each round kept (on a tie, the first).
    chosen: list[str] = []
    while True:
        round_ids = [tuple(t.rule_ids) for t in result.trials if t.rule_ids[:-1] == chosen]
        best = max(round_ids, key=lambda ids: scores[ids], default=None)
        if best is None or scores[best] <= scores[tuple(chosen)]:
            break
        chosen = list(best)
    assert scores[tuple(result.rule_ids)] == max(scores.values())
    for size in range(1, len(chosen) + 1):
        kept, before = tuple(chosen[:size]), tuple(chosen[: size - 1])
        assert scores[kept] > scores[before]
        rivals = [ids for ids in scores if len(ids) == size and ids[:-1] == before]
        assert scores[kept] == max(scores[ids] for ids in rivals)
    last_round = [ids for ids in scores if ids[:-1] == tuple(chosen)]
    assert last_round and all(scores[ids] <= scores[tuple(chosen)] for ids in last_round)
    assert len(result.trials) < 100  # it stopped by itself


def test_greedy_never_scores_the_same_prompt_twice_even_when_the_budget_trims():
    budget = tokens_of(_pool()[:2])
    result = search(GreedySearch(), budget=budget, trials=100)
    prompts = [tuple(t.rule_ids) for t in result.trials]
    assert len(set(prompts)) == len(prompts)
    assert all(t.tokens <= budget for t in result.trials)


def test_no_pruning_reports_nothing_so_a_pareto_study_accepts_it():
    study = optuna.create_study(directions=["maximize", "minimize"])
    trial = study.ask()
    assert NoPruning().prunes(trial, 0.5, 10) is False
    assert study.trials[0].intermediate_values == {}


@pytest.mark.parametrize("sampler", ["greedy", "teacher_order"])
def test_a_compile_runs_the_strategy_its_settings_name(tmp_path, teacher, student, sampler):
    from test_compile import compile_toy

    settings = CompileSettings(token_budget=160, trials=6, teacher_examples=9, sampler=sampler)
    artifact = compile_toy(tmp_path, teacher, student, settings)
    assert artifact.provenance.sampler == strategy_for(settings.search_settings()).describe()
    assert 1 <= len(artifact.provenance.trials) <= 6


def test_the_greedy_preset_selects_greedy_forward_selection():
    settings = settings_with(load_preset(ROOT / "optimizers" / "greedy.toml"))
    assert isinstance(strategy_for(settings.search_settings()), GreedySearch)


def test_opening_a_study_leaves_optunas_log_level_alone():
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        open_study(SearchSettings(token_budget=400), None, "quiet", len(DEV))
        search_rules(TASK.schema, [], evaluator(), DEV, SearchSettings(400, trials=1))
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(before)


def test_the_search_package_touches_no_private_optuna_state():
    private = re.compile(r"\._storage|\._trial_id|\._study_id|optuna\._|from optuna\.\w+\._")
    for module in sorted((ROOT / "pldc" / "search").glob("*.py")):
        assert not private.search(module.read_text()), module.name


def _verified(rules, gains):
    """`rules` with verification gains (nats) as pldc.verify records them; None: unmeasured."""
    out = []
    for rule, gain in zip(rules, gains, strict=True):
        change = None if gain is None else Estimate(mean=gain, low=gain - 0.1, high=gain + 0.1)
        verification = RuleVerification(
            rule_id=rule.id,
            example_ids=[],
            gold_logprob_change=change,
            accuracy_change=None,
            support=0,
            support_correct=0,
            kept=True,
        )
        out.append(rule.model_copy(update={"verification": verification}))
    return out


def test_evidence_ranks_rules_by_their_verification_gain_unmeasured_last():
    rules = _verified(_pool()[:4], [0.1, None, 0.3, -0.2])
    assert [r.id for r in ranked_by_evidence(rules)] == ["rule-02", "rule-00", "rule-03", "rule-01"]


def test_evidence_tries_growing_prefixes_of_the_ranked_rules():
    pool = _verified(_pool(), [0.01 * i for i in range(len(_pool()))])  # the last is best
    ranked = [r.id for r in ranked_by_evidence(pool)]
    result = search(EvidenceSearch(), pool, trials=8)

    tried = [t.rule_ids for t in result.trials]
    assert len(pool) == 7
    sizes = [2, 4, len(pool), 1, 3, 6]
    assert tried == [[], *[ranked[:k] for k in sizes]]


def test_evidence_adds_the_demonstrations_after_the_best_prefix():
    pool = _verified(_pool()[:6], [0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    examples = load_task_data(TASK, "toy").train
    demonstrations = demonstration_candidates(TASK.schema, examples, 2, seed=0)
    result = search(EvidenceSearch(), [*pool, *demonstrations], trials=20)

    tried = [tuple(t.rule_ids) for t in result.trials]
    demo_ids = tuple(d.id for d in demonstrations)
    assert tried[:2] == [(), demo_ids]  # zero-shot, few-shot
    scores = {tuple(t.rule_ids): t.gold_log_prob for t in result.trials}  # the objective
    prefixes = [tuple(r.id for r in pool[:k]) for k in (2, 4, 6)]
    assert tried[2:5] == prefixes
    best = max(prefixes, key=lambda ids: (scores[ids], -len(ids)))
    assert tried[5] == (*best, *demo_ids)
    assert len(set(tried)) == len(tried)  # no prompt twice
    assert len(tried) < 20  # it stops when the plan is done


def test_a_gold_log_prob_search_ranks_trials_by_it_and_records_both_metrics():
    settings = SearchSettings(token_budget=400, trials=6, seed=0, objective="gold_log_prob")
    result = search_rules(TASK.schema, _pool(), evaluator(), DEV, settings)

    assert all(t.gold_log_prob is not None and t.gold_log_prob <= 0 for t in result.trials)
    best = next(t for t in result.trials if t.number == result.best_trial)
    assert best.gold_log_prob == max(t.gold_log_prob for t in result.trials)


def test_a_macro_f1_search_breaks_ties_by_gold_log_prob():
    settings = SearchSettings(token_budget=400, trials=8, seed=0, objective="macro_f1")
    result = search_rules(TASK.schema, _pool(), evaluator(), DEV, settings)

    best = next(t for t in result.trials if t.number == result.best_trial)
    tied = [t for t in result.trials if t.dev_macro_f1 == best.dev_macro_f1]
    assert best.gold_log_prob == max(t.gold_log_prob for t in tied)
