"""Rule verification: each candidate rule is tried alone on training data before the search.

After Hypotheses-to-Theories (Zhu et al., "Large Language Models can Learn Rules", 2023): rules
induced from a few examples are hypotheses, and only those that hold up on other examples are
kept. Here each candidate is added, alone, to the prompt without candidates (the task's pinned
rules only), and the student runs on a fixed, seeded, label-stratified sample of training
examples, less the examples the rule was written from. A rule is dropped before the search when
it copies its source cases' specifics, when too few examples are left to measure it, or when it
does not help (see `verify_rules`). Every rule keeps its numbers and its fate.

Cost: one student score per (rule, measured example), plus one per sampled example for the
shared baseline. Each rule's examples run consecutively under its prompt, so the prompt's prefix
stays in the student's KV cache, and every score goes through the evaluator's cache.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import special, stats

from pldc.calibration import PROBABILITY_FLOOR, decide, fit_calibration
from pldc.data import Example, round_robin_sample
from pldc.evaluate import StudentEvaluator, scorer_key
from pldc.extract import copied_specifics
from pldc.progress import NullProgress, Progress, StageProgress
from pldc.records import Calibration, Estimate, Rule, RuleVerification
from pldc.render import render_system_prompt, student_scaffold
from pldc.settings import VerifySettings
from pldc.store import content_key
from pldc.task import TaskSchema

__all__ = ["Verification", "verification_key", "verification_sample", "verify_rules"]

CONFIDENCE = 0.95
MIN_EXAMPLES = 2
"""A t-interval needs two differences; a rule measured on fewer is dropped."""
COPIES_SPECIFICS = "copies case specifics"


class Verification(BaseModel):
    """What verification found: every candidate, in pool order, with `verification` set."""

    model_config = ConfigDict(frozen=True)

    example_ids: list[str]
    """The training sample, in the order it was scored; each rule is measured on it less its
    own source examples."""
    rules: list[Rule]

    @property
    def kept(self) -> list[Rule]:
        """The rules that go on to the search, in pool order."""
        return [rule for rule in self.rules if rule.verification.kept]

    @property
    def dropped(self) -> list[Rule]:
        return [rule for rule in self.rules if not rule.verification.kept]


def verification_sample(train: Sequence[Example], settings: VerifySettings) -> list[Example]:
    """Up to `settings.examples` training examples, dealt round-robin across labels."""
    # A stream of its own: Random(seed) would deal the teacher's examples (the rules' sources)
    # first, leaving the fewest examples any rule was not written from.
    return round_robin_sample(train, settings.examples, random.Random(f"verify:{settings.seed}"))


def verification_key(
    schema: TaskSchema,
    pool: Sequence[Rule],
    train: Sequence[Example],
    evaluator: StudentEvaluator,
    settings: VerifySettings,
    pinned: Sequence[Rule] = (),
) -> str:
    """The content hash of everything `verify_rules` with these arguments depends on.

    The student's scorer key; the scaffold (`pldc.render.student_scaffold`: the instruction,
    the pinned rules, the answer format and labels in order, and the user template, with the
    evaluator's own user template); the candidate
    rules' records (texts and source ids); the examples read (the sample and the rules'
    sources, ids with content); and the settings. A stored result under this key can stand in
    for a rerun.
    """
    by_id = {example.id: example for example in train}
    sample = verification_sample(train, settings)
    source_ids = sorted({i for rule in pool for i in rule.source_example_ids if i in by_id})
    read = [*sample, *(by_id[i] for i in source_ids)]
    return content_key(
        "verify",
        scorer_key(evaluator.student.identity),
        student_scaffold(schema, [rule.text for rule in pinned]),
        evaluator.user_template,
        [rule.model_dump(mode="json") for rule in pool],
        [(example.id, example.inputs, example.label) for example in read],
        asdict(settings),
    )


def verify_rules(
    schema: TaskSchema,
    pool: Sequence[Rule],
    train: Sequence[Example],
    evaluator: StudentEvaluator,
    settings: VerifySettings,
    progress: Progress | None = None,
    pinned: Sequence[Rule] = (),
) -> Verification:
    """Measure each candidate rule alone on training examples it was not written from.

    `pool` holds the candidates, `pinned` the task's pinned rules, which every prompt here
    includes and which are not verified. Per rule, over the sample less its sources (n >= 2):

    - `gold_logprob_change`: the gold label's log-probability (nats) with the rule minus
      without it. Calibrated, with offsets fitted (`settings.calibration`) per prompt on the
      same examples' inputs, and normalised over the labels: that is the quantity the deployed
      student decides by, so a rule that only shifts the student's label prior, which
      calibration largely undoes, earns little, and a shift common to all labels earns
      nothing. Probabilities are floored at `PROBABILITY_FLOOR`, as in calibration.
    - `accuracy_change`: per example, 1 if the decision became the gold label, -1 if it
      stopped being it, else 0. Both with a 95% t-interval of the mean (`scipy.stats.t`).
    - `support`: examples whose decision changes; `support_correct`: those now decided right.

    A rule does not help, and is dropped, when its mean gold log-prob change is at most
    `settings.min_gain`, or when it turns more decisions wrong than right (accuracy change
    below 0). With `settings.drop_specifics`, a rule naming a source example's entities,
    figures or dates (`pldc.extract.copied_specifics`) is dropped with the reason "copies case
    specifics", whatever its numbers. Source ids missing from `train` are not checked.

    Returns `Verification` whose `rules` are `pool`'s rules, in order, each a copy with
    `verification` set, and whose `kept` are those that go on to the search. Raises what
    `evaluator` raises (DataError for an example missing an input field).
    """
    progress = progress or NullProgress()
    sample = verification_sample(train, settings)
    by_id = {example.id: example for example in train}
    measured = [_outside(sample, rule.source_example_ids) for rule in pool]
    total = len(sample) + sum(len(m) for m in measured if len(m) >= MIN_EXAMPLES)
    verified = []
    with progress.stage("rule verification", total=total) as stage:
        rows = evaluator.label_scores(_system_prompt(schema, pinned), sample, stage)
        baseline = {ex.id: row for ex, row in zip(sample, rows, strict=True)}
        for rule, examples in zip(pool, measured, strict=True):
            stage.update(status=rule.id)
            sources = [by_id[i] for i in rule.source_example_ids if i in by_id]
            if len(examples) >= MIN_EXAMPLES:
                prompt = _system_prompt(schema, [*pinned, rule])
                found = _measure(rule, examples, baseline, prompt, evaluator, settings, stage)
            else:
                found = _unmeasured(rule, examples)
            found = _judge(found, rule, sources, settings)
            verified.append(rule.model_copy(update={"verification": found}))
    return Verification(example_ids=[ex.id for ex in sample], rules=verified)


def _outside(sample: Sequence[Example], source_ids: Sequence[str]) -> list[Example]:
    sources = set(source_ids)
    return [example for example in sample if example.id not in sources]


def _system_prompt(schema: TaskSchema, rules: Sequence[Rule]) -> str:
    return render_system_prompt(schema, [rule.text for rule in rules])


def _measure(
    rule: Rule,
    examples: Sequence[Example],
    baseline: dict[str, dict[str, float]],
    system_prompt: str,
    evaluator: StudentEvaluator,
    settings: VerifySettings,
    stage: StageProgress,
) -> RuleVerification:
    labels = evaluator.schema.labels
    gold = [ex.label for ex in examples]
    without = [baseline[ex.id] for ex in examples]
    with_rule = evaluator.label_scores(system_prompt, examples, stage)
    without_calibration = fit_calibration(settings.calibration, without, labels)
    with_calibration = fit_calibration(settings.calibration, with_rule, labels)
    before = [decide(row, labels, without_calibration) for row in without]
    after = [decide(row, labels, with_calibration) for row in with_rule]
    logprob_change = _gold_logprobs(with_rule, gold, labels, with_calibration) - _gold_logprobs(
        without, gold, labels, without_calibration
    )
    accuracy_change = np.array(
        [int(a == g) - int(b == g) for a, b, g in zip(after, before, gold, strict=True)],
        dtype=np.float64,
    )
    changed = [(a, g) for a, b, g in zip(after, before, gold, strict=True) if a != b]
    return RuleVerification(
        rule_id=rule.id,
        example_ids=[ex.id for ex in examples],
        gold_logprob_change=_estimate(logprob_change),
        accuracy_change=_estimate(accuracy_change),
        support=len(changed),
        support_correct=sum(a == g for a, g in changed),
        kept=True,
    )


def _unmeasured(rule: Rule, examples: Sequence[Example]) -> RuleVerification:
    return RuleVerification(
        rule_id=rule.id,
        example_ids=[ex.id for ex in examples],
        gold_logprob_change=None,
        accuracy_change=None,
        support=0,
        support_correct=0,
        kept=False,
        reason=f"fewer than {MIN_EXAMPLES} sampled training examples besides its own sources",
    )


def _judge(
    found: RuleVerification, rule: Rule, sources: Sequence[Example], settings: VerifySettings
) -> RuleVerification:
    """`found` with the rule's copied specifics, and its verdict: kept, or dropped and why."""
    specifics = []
    for source in sources:
        case_text = " ".join(source.inputs.values())
        specifics += [s for s in copied_specifics(rule.text, case_text) if s not in specifics]
    reason = found.reason
    gain, accuracy = found.gold_logprob_change, found.accuracy_change
    if specifics and settings.drop_specifics:
        reason = COPIES_SPECIFICS
    elif reason is None and gain.mean <= settings.min_gain:
        reason = (
            f"mean gold log-prob change {gain.mean:+.3f} nats (95% CI {gain.low:+.3f} to "
            f"{gain.high:+.3f}) is not above {settings.min_gain:+.3f}"
        )
    elif reason is None and accuracy.mean < 0:
        reason = (
            f"turns {found.support - found.support_correct} decisions away from the gold label "
            f"and {found.support_correct} to it (accuracy change {accuracy.mean:+.3f})"
        )
    return found.model_copy(
        update={"copied_specifics": specifics, "kept": reason is None, "reason": reason}
    )


def _gold_logprobs(
    rows: Sequence[dict[str, float]],
    gold: Sequence[str],
    labels: Sequence[str],
    calibration: Calibration,
) -> np.ndarray:
    """Per row, log p(gold) under the calibrated scores, normalised over `labels`, floored at
    `PROBABILITY_FLOOR`. A row that names no label (an off-label reply) gives the floor."""
    offsets = np.array([calibration.label_offsets[label] for label in labels])
    scores = np.array([[row[label] for label in labels] for row in rows]) + offsets
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    named = np.isfinite(scores).any(axis=1)
    scores[~named] = 0.0  # any finite row; its result is replaced by the floor below
    log_probabilities = special.log_softmax(scores, axis=1)
    picked = log_probabilities[np.arange(len(rows)), [labels.index(g) for g in gold]]
    floor = np.log(PROBABILITY_FLOOR)
    return np.where(named, np.maximum(picked, floor), floor)


def _estimate(differences: np.ndarray) -> Estimate:
    """The mean of `differences` (at least two) with its 95% t-interval."""
    mean = float(differences.mean())
    if np.ptp(differences) == 0:  # no spread: scipy's interval would be (nan, nan)
        low = high = mean
    else:
        scale = stats.sem(differences)
        low, high = stats.t.interval(CONFIDENCE, len(differences) - 1, loc=mean, scale=scale)
    return Estimate(mean=round(mean, 6), low=round(float(low), 6), high=round(float(high), 6))
