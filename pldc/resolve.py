"""Closed-loop conflict resolution: the teacher edits the rules wherever the student still fails.

Each round runs the student with the current prompt on a fixed sample of training examples.
For some of its failures the resolver (the teacher) sees the rules, a few cases the rules get
right, and the failed case with its correct label, and makes one edit: revise, split, add or
remove a rule. The edited rules are kept only if they raise dev Macro-F1; the loop stops when
they don't, when the student makes no mistake, or at the round cap. Every edit is logged with
its before and after texts and the examples that caused it.

Teacher calls and student scores go through their stores, so a rerun replays finished rounds
without paying for them again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from pldc.calibration import decide
from pldc.data import Example, round_robin_sample
from pldc.evaluate import StudentEvaluator
from pldc.extract import Ask, copied_specifics
from pldc.progress import NullProgress, Progress
from pldc.records import ResolutionRecord, ResolutionRound, Revision, Rule
from pldc.render import Edit, parse_edit, render_resolution_messages
from pldc.search import FittedPrompt, fit_to_budget
from pldc.settings import ResolveSettings
from pldc.task import TaskSchema


def resolve_conflicts(
    schema: TaskSchema,
    pool: Sequence[Rule],
    evaluator: StudentEvaluator,
    train: Sequence[Example],
    dev: Sequence[Example],
    ask_teacher: Ask,
    settings: ResolveSettings,
    progress: Progress | None = None,
    pinned: Sequence[Rule] = (),
) -> tuple[list[Rule], ResolutionRecord]:
    """The rule pool after resolution: the resolved prompt rules, then the rules that didn't fit.

    Resolution works on the rules that fit the budget, in pool order, since those are the ones
    the student sees. The student also sees the task's pinned rules, which the resolver never
    edits. Raises `BudgetError` when the pinned rules alone exceed `settings.token_budget`.
    """
    progress = progress or NullProgress()
    rng = random.Random(settings.seed)
    sample = round_robin_sample(train, settings.examples, rng)
    resolver = _Resolver(schema, evaluator, dev, sample, ask_teacher, settings, tuple(pinned), rng)
    current = resolver.fit(pool).rules[len(pinned) :]
    overflow = [rule for rule in pool if rule not in current]
    rounds: list[ResolutionRound] = []
    stopped = f"reached the cap of {settings.max_rounds} rounds"
    with progress.stage("conflict resolution", total=settings.max_rounds) as stage:
        for number in range(1, settings.max_rounds + 1):
            outcome = resolver.run_round(number, current)
            if outcome is None:
                stopped = "the student made no mistake on the resolution examples"
                break
            rounds.append(outcome.record)
            before, after = outcome.record.dev_macro_f1_before, outcome.record.dev_macro_f1_after
            stage.advance(status=f"dev macro-F1 {before:.3f} → {after:.3f}")
            if not outcome.record.accepted:
                stopped = f"round {number}'s edits did not raise dev Macro-F1"
                break
            # Rules the edits pushed past the budget stay candidates for the search.
            overflow = outcome.overflow + overflow
            current = outcome.resolved
    record = ResolutionRecord(
        example_ids=[ex.id for ex in sample], rounds=rounds, stopped_because=stopped
    )
    return [*current, *overflow], record


@dataclass(frozen=True)
class _RoundOutcome:
    record: ResolutionRound
    resolved: list[Rule]
    """The edited rules that fit the budget, in prompt order (pinned rules left out)."""
    overflow: list[Rule]
    """The edited rules that did not fit."""


@dataclass(frozen=True)
class _Resolver:
    """What every round uses: the student, the sampled examples, the resolver and the budget."""

    schema: TaskSchema
    evaluator: StudentEvaluator
    dev: Sequence[Example]
    sample: list[Example]
    ask_teacher: Ask
    settings: ResolveSettings
    pinned: tuple[Rule, ...]
    rng: random.Random

    def fit(self, rules: Sequence[Rule]) -> FittedPrompt:
        count_tokens = self.evaluator.student.count_tokens
        budget = self.settings.token_budget
        return fit_to_budget(self.schema, rules, count_tokens, budget, self.pinned)

    def run_round(self, number: int, current: list[Rule]) -> _RoundOutcome | None:
        """Round `number` on the prompt rules `current`; None when the student made no mistake."""
        method = self.settings.calibration
        prompt = self.fit(current)
        dev_before, calibration = self.evaluator.calibrated(method, prompt.system_prompt, self.dev)
        rows = self.evaluator.label_scores(prompt.system_prompt, self.sample)
        predicted = [decide(row, self.schema.labels, calibration) for row in rows]
        pairs = list(zip(self.sample, predicted, strict=True))
        failures = [(ex, p) for ex, p in pairs if p != ex.label]
        if not failures:
            return None
        successes = [ex for ex, p in pairs if p == ex.label]
        shown = self.rng.sample(successes, min(self.settings.successes_shown, len(successes)))
        picked = _pick_failures(failures, self.settings, self.rng)
        candidate, revisions = _one_round(
            self.schema, number, current, picked, shown, self.ask_teacher
        )
        fitted = self.fit(candidate)
        resolved = fitted.rules[len(self.pinned) :]
        dev_after, _ = self.evaluator.calibrated(method, fitted.system_prompt, self.dev)
        record = ResolutionRound(
            round=number,
            rule_ids_before=[rule.id for rule in current],
            rule_ids_after=[rule.id for rule in resolved],
            train_failures=len(failures),
            train_examples=len(self.sample),
            dev_macro_f1_before=dev_before.macro_f1,
            dev_macro_f1_after=dev_after.macro_f1,
            accepted=dev_after.macro_f1 > dev_before.macro_f1,
            revisions=revisions,
        )
        return _RoundOutcome(record, resolved, [r for r in candidate if r not in resolved])


def _one_round(
    schema: TaskSchema,
    number: int,
    rules: list[Rule],
    failures: list[tuple[Example, str | None]],
    successes: list[Example],
    ask_teacher: Ask,
) -> tuple[list[Rule], list[Revision]]:
    """Every failure's edit, applied to the rules as the resolver saw them at the round's start."""
    texts = [rule.text for rule in rules]
    shown = [(ex.inputs, ex.label) for ex in successes]
    replaced: dict[str, list[Rule]] = {}  # rule id -> what stands in its place
    added: list[Rule] = []
    created = 0
    revisions = []
    for example, predicted in failures:
        reply = ask_teacher(
            render_resolution_messages(
                schema, texts, example.inputs, predicted, example.label, shown
            )
        )
        revision = Revision(
            round=number,
            example_id=example.id,
            gold=example.label,
            predicted=predicted,
            success_example_ids=[ex.id for ex in successes],
            reply=reply,
        )
        revisions.append(revision)
        edit = _usable_edit(revision, rules, example, replaced)
        if edit is None:
            continue
        target = rules[edit.rule_number - 1] if edit.rule_number else None
        new_rules = [
            _edited_rule(f"rule-r{number}-{created + i:02d}", text, edit, target, example)
            for i, text in enumerate(edit.texts, start=1)
        ]
        created += len(new_rules)
        revision.new_rule_ids = [rule.id for rule in new_rules]
        if target is None:
            added.extend(new_rules)
        else:
            replaced[target.id] = new_rules
    result = [new for rule in rules for new in replaced.get(rule.id, [rule])]
    return [*result, *added], revisions


def _usable_edit(
    revision: Revision, rules: list[Rule], example: Example, replaced: dict[str, list[Rule]]
) -> Edit | None:
    """The edit in `revision`'s reply, recorded on it; None, with the reason recorded, when
    the reply holds none, the new text names the case's details, or the rule was already
    edited this round."""
    edit = parse_edit(revision.reply, len(rules))
    if edit is None:
        revision.skipped_reason = "the reply held no edit in the required form"
        return None
    revision.action = edit.action
    revision.after = edit.texts
    target = rules[edit.rule_number - 1] if edit.rule_number else None
    if target is not None:
        revision.rule_id = target.id
        revision.before = target.text
    case_text = " ".join(example.inputs.values())
    specifics = sorted({w for text in edit.texts for w in copied_specifics(text, case_text)})
    if specifics:
        revision.skipped_reason = f"the new rule names details of the case: {', '.join(specifics)}"
        return None
    if target is not None and target.id in replaced:
        revision.skipped_reason = "another failure already edited this rule this round"
        return None
    return edit


def _edited_rule(
    rule_id: str, text: str, edit: Edit, target: Rule | None, example: Example
) -> Rule:
    fate = {"revise": "revised", "split": "split", "add": "added"}[edit.action]
    if target is None:
        return Rule(
            id=rule_id,
            text=text,
            labels=[example.label],
            source_example_ids=[example.id],
            support=1,
            fate=fate,
        )
    return Rule(
        id=rule_id,
        text=text,
        labels=sorted({*target.labels, example.label}),
        source_example_ids=[*target.source_example_ids, example.id],
        support=target.support + 1,
        fate=fate,
        merged_texts=target.merged_texts,
        previous_texts=[*target.previous_texts, target.text],
    )


def _pick_failures(
    failures: list[tuple[Example, str | None]], settings: ResolveSettings, rng: random.Random
) -> list[tuple[Example, str | None]]:
    """Up to `edits_per_round` failures, gold labels taking turns."""
    chosen = round_robin_sample([ex for ex, _ in failures], settings.edits_per_round, rng)
    predicted = {ex.id: p for ex, p in failures}
    return [(ex, predicted[ex.id]) for ex in chosen]
