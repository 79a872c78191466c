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

from pldc.calibration import decide
from pldc.data import Example, round_robin_sample
from pldc.evaluate import StudentEvaluator
from pldc.extract import Ask, copied_specifics
from pldc.progress import NullProgress, Progress
from pldc.records import ResolutionRecord, ResolutionRound, Revision, Rule
from pldc.render import Edit, parse_edit, render_resolution_messages
from pldc.search import fit_to_budget
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
    edits.
    """
    progress = progress or NullProgress()
    rng = random.Random(settings.seed)
    sample = round_robin_sample(train, settings.examples, rng)
    count_tokens = evaluator.student.count_tokens

    def fit(rules: Sequence[Rule]):
        return fit_to_budget(schema, rules, count_tokens, settings.token_budget, pinned)

    current = fit(pool).rules[len(pinned) :]
    overflow = [rule for rule in pool if rule not in current]
    rounds: list[ResolutionRound] = []
    stopped = f"reached the cap of {settings.max_rounds} rounds"
    with progress.stage("conflict resolution", total=settings.max_rounds) as stage:
        for number in range(1, settings.max_rounds + 1):
            prompt = fit(current)
            dev_before, calibration = evaluator.calibrated(
                settings.calibration, prompt.system_prompt, dev
            )
            rows = evaluator.label_scores(prompt.system_prompt, sample)
            predicted = [decide(row, schema.labels, calibration) for row in rows]
            failures = [(ex, p) for ex, p in zip(sample, predicted, strict=True) if p != ex.label]
            successes = [ex for ex, p in zip(sample, predicted, strict=True) if p == ex.label]
            if not failures:
                stopped = "the student made no mistake on the resolution examples"
                break
            shown = rng.sample(successes, min(settings.successes_shown, len(successes)))
            candidate, revisions = _one_round(
                schema, number, current, _pick_failures(failures, settings, rng), shown, ask_teacher
            )
            fitted = fit(candidate)
            resolved = fitted.rules[len(pinned) :]
            dev_after, _ = evaluator.calibrated(settings.calibration, fitted.system_prompt, dev)
            accepted = dev_after.macro_f1 > dev_before.macro_f1
            rounds.append(
                ResolutionRound(
                    round=number,
                    rule_ids_before=[rule.id for rule in current],
                    rule_ids_after=[rule.id for rule in resolved],
                    train_failures=len(failures),
                    train_examples=len(sample),
                    dev_macro_f1_before=dev_before.macro_f1,
                    dev_macro_f1_after=dev_after.macro_f1,
                    accepted=accepted,
                    revisions=revisions,
                )
            )
            stage.advance(
                status=f"dev macro-F1 {dev_before.macro_f1:.3f} → {dev_after.macro_f1:.3f}"
            )
            if not accepted:
                stopped = f"round {number}'s edits did not raise dev Macro-F1"
                break
            # Rules the edits pushed past the budget stay candidates for the search.
            overflow = [rule for rule in candidate if rule not in resolved] + overflow
            current = resolved
    record = ResolutionRecord(
        example_ids=[ex.id for ex in sample], rounds=rounds, stopped_because=stopped
    )
    return [*current, *overflow], record


def _one_round(
    schema: TaskSchema,
    number: int,
    rules: list[Rule],
    failures: list[tuple[Example, str]],
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
        edit = parse_edit(reply, len(rules))
        if edit is None:
            revision.skipped_reason = "the reply held no edit in the required form"
            continue
        revision.action = edit.action
        revision.after = edit.texts
        target = rules[edit.rule_number - 1] if edit.rule_number else None
        if target is not None:
            revision.rule_id = target.id
            revision.before = target.text
        case_text = " ".join(example.inputs.values())
        specifics = sorted({w for text in edit.texts for w in copied_specifics(text, case_text)})
        if specifics:
            revision.skipped_reason = (
                f"the new rule names details of the case: {', '.join(specifics)}"
            )
            continue
        if target is not None and target.id in replaced:
            revision.skipped_reason = "another failure already edited this rule this round"
            continue
        new_rules = []
        for text in edit.texts:
            created += 1
            new_rules.append(
                _edited_rule(f"rule-r{number}-{created:02d}", text, edit, target, example)
            )
        revision.new_rule_ids = [rule.id for rule in new_rules]
        if target is None:
            added.extend(new_rules)
        else:
            replaced[target.id] = new_rules
    result = [new for rule in rules for new in replaced.get(rule.id, [rule])]
    return [*result, *added], revisions


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
    failures: list[tuple[Example, str]], settings: ResolveSettings, rng: random.Random
) -> list[tuple[Example, str]]:
    """Up to `edits_per_round` failures, gold labels taking turns."""
    chosen = round_robin_sample([ex for ex, _ in failures], settings.edits_per_round, rng)
    predicted = {ex.id: p for ex, p in failures}
    return [(ex, predicted[ex.id]) for ex in chosen]
