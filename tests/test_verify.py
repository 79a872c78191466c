"""Rule verification on the fake ticket task: each candidate rule, alone, on training examples it
was not written from; kept only if it helps, and never if it copies its source case."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, replace

import pytest

from pldc.backends import FunctionBackend
from pldc.data import Example, load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.records import Rule
from pldc.render import render_system_prompt, render_user_template
from pldc.settings import CompileSettings, VerifySettings
from pldc.verify import (
    COPIES_SPECIFICS,
    verification_key,
    verification_sample,
    verify_rules,
)
from tests.conftest import fake_student_scores, toy_task

HELPS = "If the ticket mentions refund, the answer is refund."
HURTS = "If the ticket mentions money back, the answer is bug."
DOES_NOTHING = "If the ticket mentions pineapple, the answer is bug."
# With calibration "none" the fake student's decisions are plain: "other" unless a rule fires.
PLAIN = VerifySettings(examples=12, calibration="none")


class CountingStudent:
    """The fake student, remembering every (system prompt, user message) it scored."""

    def __init__(self, scores=fake_student_scores) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._scores = scores

    def __call__(self, messages, labels):
        self.calls[(messages[0]["content"], messages[1]["content"])] += 1
        return self._scores(messages, labels)


@pytest.fixture(scope="module")
def toy():
    task = toy_task()
    return task.schema, load_task_data(task, "toy").train


def _evaluator(schema, scores=fake_student_scores, name="fake-student"):
    student = CountingStudent(scores)
    backend = FunctionBackend(score=student, name=name)
    return StudentEvaluator(backend, schema, render_user_template(schema)), student


def _rule(rule_id: str, text: str, sources: list[str] | None = None) -> Rule:
    sources = ["t999"] if sources is None else sources
    return Rule(id=rule_id, text=text, labels=[], source_example_ids=sources, support=len(sources))


def _verify(toy, pool, settings=PLAIN, scores=fake_student_scores, **kwargs):
    schema, train = toy
    evaluator, _ = _evaluator(schema, scores)
    return verify_rules(schema, pool, train, evaluator, settings, **kwargs)


def _user(schema, example: Example) -> str:
    return render_user_template(schema).format_map(example.inputs)


def test_a_rule_that_helps_is_kept_with_positive_numbers(toy):
    (rule,) = _verify(toy, [_rule("r1", HELPS)]).rules
    found = rule.verification

    assert found.kept and found.reason is None
    assert found.gold_logprob_change.mean > 0
    assert found.accuracy_change.mean > 0
    assert found.support == found.support_correct > 0


def test_a_rule_that_hurts_is_dropped_with_its_numbers_on_record(toy):
    (rule,) = _verify(toy, [_rule("r1", HURTS)]).rules
    found = rule.verification

    assert not found.kept
    assert "gold log-prob change" in found.reason
    assert found.gold_logprob_change.mean < 0
    assert found.support > 0 and found.support_correct == 0


def test_a_rule_that_changes_nothing_is_dropped(toy):
    (rule,) = _verify(toy, [_rule("r1", DOES_NOTHING)]).rules
    found = rule.verification

    assert not found.kept and found.reason
    assert found.gold_logprob_change.mean == found.accuracy_change.mean == 0.0
    assert found.support == 0


def _keyword_student(with_rule_marker: str):
    """A student that leans weakly to the right queue; the marked rule makes it sure of refund
    and bug tickets, but tips "other" tickets narrowly to bug."""

    def scores(messages, labels):
        system, user = messages[0]["content"], messages[1]["content"]
        gold = next((q for q, words in _KEYWORDS.items() if any(w in user for w in words)), "other")
        if with_rule_marker not in system:
            return {label: -1.0 if label == gold else -1.1 for label in labels}
        if gold != "other":
            return {label: 0.0 if label == gold else -5.0 for label in labels}
        return {"refund": -1.1, "bug": -0.95, "other": -1.0}

    return scores


_KEYWORDS = {"refund": ["refund", "money back"], "bug": ["crash", "error message"]}


def test_a_rule_that_raises_the_gold_logprob_but_turns_decisions_wrong_is_dropped(toy):
    text = "If the ticket names a queue's keyword, trust the keyword."
    scores = _keyword_student(with_rule_marker=text)

    (rule,) = _verify(toy, [_rule("r1", text)], scores=scores).rules
    found = rule.verification

    assert found.gold_logprob_change.mean > 0
    assert found.accuracy_change.mean < 0
    assert not found.kept and "decisions away from the gold label" in found.reason


def test_a_rule_is_never_measured_on_its_own_source_examples(toy):
    schema, train = toy
    sample = verification_sample(train, PLAIN)
    sources = [sample[0].id, sample[3].id]
    evaluator, student = _evaluator(schema)

    (rule,) = verify_rules(schema, [_rule("r1", HELPS, sources)], train, evaluator, PLAIN).rules

    assert set(rule.verification.example_ids) == {ex.id for ex in sample} - set(sources)
    prompt = render_system_prompt(schema, [HELPS])
    seen = {user for system, user in student.calls if system == prompt}
    assert seen.isdisjoint(_user(schema, ex) for ex in sample if ex.id in sources)


def _specific_rule(train) -> tuple[Rule, str]:
    """A helpful rule that also names its source ticket's own reference number."""
    source = next(ex for ex in train if "refund" in ex.inputs["ticket"])
    number = re.search(r"\(ref (\d+)\)", source.inputs["ticket"]).group(1)
    text = f"{HELPS} Ticket {number} is one such case."
    return _rule("r1", text, [source.id]), number


def test_a_rule_that_copies_its_source_cases_specifics_is_dropped_whatever_its_numbers(toy):
    specific, number = _specific_rule(toy[1])

    (rule,) = _verify(toy, [specific]).rules
    found = rule.verification

    assert not found.kept and found.reason == COPIES_SPECIFICS
    assert found.copied_specifics == [number]
    assert found.gold_logprob_change.mean > 0  # measured all the same, for the record


def test_a_case_specific_rule_that_helps_is_kept_when_specifics_are_allowed(toy):
    specific, _ = _specific_rule(toy[1])

    (rule,) = _verify(toy, [specific], replace(PLAIN, drop_specifics=False)).rules

    assert rule.verification.kept and rule.verification.copied_specifics


def test_a_rule_with_too_few_examples_outside_its_sources_is_dropped_unmeasured(toy):
    schema, train = toy
    sample = verification_sample(train, PLAIN)
    evaluator, student = _evaluator(schema)
    sources = [ex.id for ex in sample[1:]]

    (rule,) = verify_rules(schema, [_rule("r1", HELPS, sources)], train, evaluator, PLAIN).rules

    assert not rule.verification.kept and "fewer than 2" in rule.verification.reason
    assert rule.verification.gold_logprob_change is None
    assert sum(student.calls.values()) == len(sample)  # the baseline only


def test_the_student_scores_each_rule_example_pair_once_and_the_baseline_once_per_example(toy):
    schema, train = toy
    sample = verification_sample(train, PLAIN)
    pool = [_rule("r1", HELPS, [sample[0].id]), _rule("r2", HURTS), _rule("r3", DOES_NOTHING)]
    evaluator, student = _evaluator(schema)

    verification = verify_rules(schema, pool, train, evaluator, PLAIN)

    assert set(student.calls.values()) == {1}
    per_prompt = Counter(system for system, _ in student.calls)
    assert per_prompt[render_system_prompt(schema, [])] == len(sample)
    for rule in verification.rules:
        prompt = render_system_prompt(schema, [rule.text])
        assert per_prompt[prompt] == len(rule.verification.example_ids)
    assert evaluator.student_calls == len(sample) + 11 + 12 + 12


def test_a_second_run_on_the_same_evaluator_costs_no_student_call(toy):
    schema, train = toy
    evaluator, student = _evaluator(schema)
    pool = [_rule("r1", HELPS), _rule("r2", HURTS)]
    first = verify_rules(schema, pool, train, evaluator, PLAIN)
    calls = sum(student.calls.values())

    assert verify_rules(schema, pool, train, evaluator, PLAIN) == first
    assert sum(student.calls.values()) == calls


def test_results_are_deterministic_for_a_seed(toy):
    pool = [_rule("r1", HELPS), _rule("r2", HURTS), _rule("r3", DOES_NOTHING)]

    first, again = _verify(toy, pool), _verify(toy, pool)
    other_seed = _verify(toy, pool, replace(PLAIN, seed=1))

    assert first == again
    assert other_seed.example_ids != first.example_ids


def test_the_sample_is_stratified_by_label(toy):
    schema, train = toy
    sample = verification_sample(train, PLAIN)

    assert Counter(ex.label for ex in sample) == {label: 4 for label in schema.labels}


def test_intervals_bracket_the_estimate(toy):
    pool = [_rule("r1", HELPS), _rule("r2", HURTS), _rule("r3", DOES_NOTHING)]

    for rule in _verify(toy, pool).rules:
        for estimate in (rule.verification.gold_logprob_change, rule.verification.accuracy_change):
            assert estimate.low <= estimate.mean <= estimate.high
    spread = _verify(toy, [_rule("r1", HELPS)]).rules[0].verification.gold_logprob_change
    assert spread.low < spread.mean < spread.high


def test_kept_rules_keep_the_pool_order_and_every_rule_keeps_its_record(toy):
    pool = [_rule("r1", HURTS), _rule("r2", "If the ticket mentions crash, the answer is bug.")]
    pool += [_rule("r3", DOES_NOTHING), _rule("r4", HELPS)]

    verification = _verify(toy, pool)

    assert [rule.id for rule in verification.kept] == ["r2", "r4"]
    assert [rule.id for rule in verification.dropped] == ["r1", "r3"]
    assert [rule.verification.rule_id for rule in verification.rules] == ["r1", "r2", "r3", "r4"]
    assert [rule.model_copy(update={"verification": None}) for rule in verification.rules] == pool


def test_with_batch_calibration_the_default_helpful_rules_are_kept_and_harmful_ones_dropped(toy):
    pool = [_rule("r1", HELPS), _rule("r2", HURTS), _rule("r3", DOES_NOTHING)]

    verification = _verify(toy, pool, VerifySettings())

    assert [rule.id for rule in verification.kept] == ["r1"]


def test_every_prompt_holds_the_pinned_rules_so_a_candidate_they_already_state_is_dropped(toy):
    schema, train = toy
    evaluator, student = _evaluator(schema)
    pinned = [Rule(id="pinned-1", text=HELPS, labels=[], source_example_ids=[], support=0)]

    verification = verify_rules(schema, [_rule("r1", HELPS)], train, evaluator, PLAIN, None, pinned)

    assert {system for system, _ in student.calls} == {
        render_system_prompt(schema, [HELPS]),
        render_system_prompt(schema, [HELPS, HELPS]),
    }
    assert verification.kept == []


class _RecordingProgress:
    def __init__(self) -> None:
        self.totals: list[int | None] = []
        self.advanced = 0

    @contextmanager
    def stage(self, description, total=None):
        self.totals.append(total)
        yield self

    def advance(self, steps=1, *, status=None):
        self.advanced += steps

    def update(self, *, completed=None, total=None, status=None):
        pass


def test_progress_counts_every_student_score(toy):
    progress = _RecordingProgress()

    _verify(toy, [_rule("r1", HELPS), _rule("r2", HURTS)], progress=progress)

    assert progress.totals == [progress.advanced] == [12 * 3]


def _key(toy, pool, settings=PLAIN, student_name="fake-student", pinned=(), train=None):
    schema, default_train = toy
    evaluator, _ = _evaluator(schema, name=student_name)
    return verification_key(schema, pool, train or default_train, evaluator, settings, pinned)


def test_the_cache_key_changes_with_each_input_it_declares_and_only_with_them(toy):
    pool = [_rule("r1", HELPS)]
    key = _key(toy, pool)
    first = toy[1][0]
    edited = [replace(first, inputs={"ticket": first.inputs["ticket"] + "!"}), *toy[1][1:]]
    pinned = [Rule(id="pinned-1", text=HURTS, labels=[], source_example_ids=[], support=0)]

    assert _key(toy, list(pool)) == key
    assert _key(toy, [_rule("r1", HURTS)]) != key
    assert _key(toy, [_rule("r1", HELPS, ["t001"])]) != key
    assert _key(toy, pool, replace(PLAIN, examples=13)) != key
    assert _key(toy, pool, replace(PLAIN, min_gain=0.1)) != key
    assert _key(toy, pool, student_name="another-student") != key
    assert _key(toy, pool, pinned=pinned) != key
    sampled = {ex.id for ex in verification_sample(toy[1], PLAIN)}
    assert (_key(toy, pool, train=edited) != key) == (first.id in sampled)


def test_verify_settings_come_from_the_compile_settings():
    settings = CompileSettings(verify_examples=12, verify_min_gain=0.1, seed=4, calibration="none")

    assert settings.verify_settings() == VerifySettings(
        examples=12, min_gain=0.1, seed=4, calibration="none"
    )
    assert asdict(CompileSettings().verify_settings()) == {
        "examples": 40,
        "min_gain": 0.0,
        "drop_specifics": True,
        "seed": 0,
        "calibration": "batch",
    }


def test_a_verified_rule_round_trips_and_an_unverified_one_has_no_verification_key(toy):
    (verified,) = _verify(toy, [_rule("r1", HELPS)]).rules

    assert Rule.model_validate_json(verified.model_dump_json()) == verified
    assert "verification" not in _rule("r1", HELPS).model_dump(mode="json")
