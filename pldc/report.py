"""What `pldc compile`, `pldc show` and `pldc eval` print about an artifact, with rich.

Every score comes with its 95% bootstrap interval where the artifact holds one, and every
choice the compile made is shown with its reason: the gate's decision, each rule's verification
on training data, the demonstrations and the examples they came from.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pldc.records import CompiledPrompt, Interval, ModelIdentity, Rule, Scores


def print_summary(console: Console, artifact: CompiledPrompt) -> None:
    """The shipped prompt against its baselines on dev and test, and the gate's decision."""
    scores = artifact.scores
    table = Table(title=f"{artifact.task.name}: Macro-F1 [95% interval]")
    for column in ("prompt", "dev", "test", "tokens"):
        table.add_column(column, justify="left" if column == "prompt" else "right")
    table.add_row(
        "student zero-shot (no rules)",
        _score(scores.baseline_dev),
        _score(scores.baseline_test),
        str(artifact.baseline_token_count),
    )
    if scores.few_shot_test is not None and scores.few_shot_dev is not None:
        table.add_row(
            "student few-shot", _score(scores.few_shot_dev), _score(scores.few_shot_test), ""
        )
    table.add_row(
        f"shipped: {describe_prompt(artifact.rules)}",
        _score(scores.dev),
        _score(scores.test),
        str(artifact.token_count),
    )
    console.print(table)
    if artifact.gate is not None:
        console.print(f"gate: shipped {artifact.gate.shipped}; {artifact.gate.reason}")
    for name, gain in (
        ("zero-shot", scores.test_gain_over_baseline),
        ("few-shot", scores.test_gain_over_few_shot),
    ):
        if gain is not None:
            console.print(f"test gain over {name}: {_signed(gain)} (paired bootstrap)")
    print_scores(console, "shipped prompt on the test split", scores.test)
    print_shipped(console, artifact.rules)


def print_shipped(console: Console, candidates: list[Rule]) -> None:
    """What the artifact ships, in prompt order: each rule's text, each demonstration's
    source example and label (`pldc show` has their full provenance)."""
    if not candidates:
        console.print("shipped: no rules and no demonstrations (the instruction alone)")
        return
    console.print(f"shipped, in prompt order ({describe_prompt(candidates)}):")
    for position, candidate in enumerate(candidates, start=1):
        if candidate.kind == "demonstration":
            (source,) = candidate.source_example_ids
            line = f"demonstration {source} -> {candidate.labels[0]}"
        else:
            line = f"[{candidate.id}] {candidate.text}"
        console.print(Text(f"  {position}. {line}"), highlight=False)


def artifact_summary(artifact: CompiledPrompt) -> dict:
    """What `pldc show --json` prints: the task, models, budget, gate decision, the shipped
    candidates in prompt order, and the scores (the artifact file itself holds everything)."""
    return {
        "task": artifact.task.name,
        "labels": list(artifact.prompt.labels),
        "content_hash": artifact.content_hash,
        "teacher": artifact.teacher.model_dump(),
        "student": artifact.student.model_dump(),
        "token_budget": artifact.token_budget,
        "token_count": artifact.token_count,
        "gate": artifact.gate.model_dump() if artifact.gate else None,
        "shipped": [
            {"id": c.id, "kind": c.kind, "text": c.text, "source_example_ids": c.source_example_ids}
            for c in artifact.rules
        ],
        "scores": artifact.scores.model_dump(),
        "calibration": {
            **artifact.calibration.model_dump(),
            "fitted_on": _fitted_on(artifact),
            "example_ids": artifact.provenance.calibration_example_ids,
        },
    }


def describe_prompt(candidates: list[Rule]) -> str:
    rules = sum(1 for c in candidates if c.kind == "rule")
    demos = len(candidates) - rules
    return f"{rules} rules + {demos} demonstrations" if demos else f"{rules} rules"


def print_scores(console: Console, title: str, scores: Scores) -> None:
    table = Table(
        title=f"{title}: Macro-F1 {_score(scores)}, accuracy {scores.accuracy:.3f}, n={scores.n}"
    )
    table.add_column("gold \\ predicted")
    for label in scores.labels:
        table.add_column(label, justify="right")
    table.add_column("F1", justify="right")
    for label, row in zip(scores.labels, scores.confusion, strict=True):
        table.add_row(label, *map(str, row), f"{scores.per_class_f1[label]:.3f}")
    console.print(table)


def show_artifact(console: Console, artifact: CompiledPrompt) -> None:
    """Everything `pldc show` prints: models, budget, the prompt's candidates with their
    evidence, the rules verification dropped, resolution, the Pareto front and the scores."""
    console.print(
        f"[bold]{artifact.task.name}[/] ({artifact.task.signature}), "
        f"labels: {', '.join(artifact.prompt.labels)}"
    )
    console.print(f"teacher: {_model_line(artifact.teacher)}")
    console.print(f"student: {_model_line(artifact.student)}")
    console.print(
        f"system prompt: {artifact.token_count} / {artifact.token_budget} tokens "
        f"({artifact.token_count / artifact.token_budget:.0%} of budget, "
        f"tokenizer {artifact.student.tokenizer})"
    )
    _print_candidates(console, artifact)
    provenance = artifact.provenance
    console.print(
        f"{len(artifact.rules)} of {len(provenance.candidate_rules)} candidates in the prompt; "
        f"best of {len(provenance.trials)} trials (trial {provenance.best_trial}, "
        f"{provenance.sampler}); seed {artifact.seed}"
    )
    console.print(_calibration_line(artifact), highlight=False)
    _print_dropped(console, artifact)
    _print_resolution(console, artifact)
    _print_front(console, artifact)
    print_summary(console, artifact)


def _calibration_line(artifact: CompiledPrompt) -> str:
    """The calibration the artifact decides with, and the inputs its offsets were fitted on."""
    calibration = artifact.calibration
    if calibration.method == "none":
        return "calibration: none"
    offsets = ", ".join(f"{label} {o:+.3f}" for label, o in calibration.label_offsets.items())
    return f"calibration: {calibration.method}, fitted on {_fitted_on(artifact)}; offsets {offsets}"


def _fitted_on(artifact: CompiledPrompt) -> str:
    """Whose inputs the offsets came from, by the artifact's age: dev and training inputs
    (`calibration_example_ids`), else the selection examples, else, before those, dev."""
    provenance = artifact.provenance
    if provenance.calibration_example_ids is not None:
        return f"{len(provenance.calibration_example_ids)} inputs (dev, then training)"
    if provenance.selection_example_ids is not None:
        return f"the {len(provenance.selection_example_ids)} selection examples' inputs"
    return "the dev inputs"


def _print_candidates(console: Console, artifact: CompiledPrompt) -> None:
    table = Table(title="the prompt's rules and demonstrations, in order")
    for column in ("#", "id", "rule or demonstration", "labels", "fate", "source examples"):
        table.add_column(column, justify="right" if column == "#" else "left")
    verified = any(rule.verification is not None for rule in artifact.rules)
    measured = any(rule.leave_one_out_delta is not None for rule in artifact.rules)
    if verified:
        table.add_column("train: gold log-prob change [95%], decisions changed (right)")
    if measured:
        table.add_column("dev F1 without it", justify="right")
    for number, rule in enumerate(artifact.rules, start=1):
        note = f" [names case details: {', '.join(rule.copied_specifics)}]"
        cells = [
            str(number),
            rule.id,
            Text(rule.text + (note if rule.copied_specifics else "")),
            ", ".join(rule.labels),
            rule.fate,
            ", ".join(rule.source_example_ids),
        ]
        if verified:
            cells.append(_verification_cell(rule))
        if measured:
            delta = rule.leave_one_out_delta
            cells.append("—" if delta is None else f"{-delta + 0.0:+.3f}")  # no "-0.000"
        table.add_row(*cells)
    console.print(table)


def _verification_cell(rule: Rule) -> str:
    found = rule.verification
    if found is None or found.gold_logprob_change is None:
        return "—"
    change = found.gold_logprob_change
    return (
        f"{change.mean:+.3f} [{change.low:+.3f}, {change.high:+.3f}], "
        f"{found.support} ({found.support_correct})"
    )


def _print_dropped(console: Console, artifact: CompiledPrompt) -> None:
    dropped = [
        rule
        for rule in artifact.provenance.candidate_rules
        if rule.verification is not None and not rule.verification.kept
    ]
    if not dropped:
        return
    table = Table(title="rules verification dropped before the search")
    for column in ("id", "rule", "why", "train evidence"):
        table.add_column(column)
    for rule in dropped:
        table.add_row(
            rule.id, Text(rule.text), rule.verification.reason or "", _verification_cell(rule)
        )
    console.print(table)


def _print_front(console: Console, artifact: CompiledPrompt) -> None:
    if not artifact.pareto_front:
        return
    table = Table(title="Pareto front: dev Macro-F1 against prompt tokens (pldc pick --budget N)")
    for column in ("tokens", "dev", "test", "trial", "rules"):
        table.add_column(column, justify="right" if column != "rules" else "left")
    for point in artifact.pareto_front:
        chosen = " (in this artifact)" if point.system_prompt == artifact.prompt.system else ""
        table.add_row(
            str(point.tokens),
            f"{point.dev.macro_f1:.3f}",
            f"{point.test.macro_f1:.3f}",
            str(point.trial),
            (", ".join(point.rule_ids) or "(none)") + chosen,
        )
    console.print(table)


def _print_resolution(console: Console, artifact: CompiledPrompt) -> None:
    record = artifact.provenance.resolution
    if record is None:
        console.print("conflict resolution: off")
        return
    table = Table(title="conflict resolution: every edit, and the failure that caused it")
    for column in ("round", "edit", "rule", "before", "after", "caused by", "outcome"):
        table.add_column(column)
    for round_ in record.rounds:
        verdict = "kept" if round_.accepted else "undone"
        for revision in round_.revisions:
            table.add_row(
                str(round_.round),
                revision.action or "—",
                revision.rule_id or "",
                Text(revision.before or ""),
                Text(
                    "\n".join(
                        f"{rule_id}: {text}"
                        for rule_id, text in zip(
                            revision.new_rule_ids, revision.after, strict=False
                        )
                    )
                    or ("(removed)" if revision.action == "remove" else "")
                ),
                f"{revision.example_id} (gold {revision.gold}, said {revision.predicted})",
                revision.skipped_reason or verdict,
            )
    console.print(table)
    for round_ in record.rounds:
        console.print(
            f"round {round_.round}: {round_.train_failures} of {round_.train_examples} training "
            f"examples wrong; dev Macro-F1 {round_.dev_macro_f1_before:.3f} → "
            f"{round_.dev_macro_f1_after:.3f}, {'kept' if round_.accepted else 'undone'}"
        )
    console.print(f"resolution stopped: {record.stopped_because}")


def _model_line(identity: ModelIdentity) -> str:
    digest = f", sha256 {identity.sha256[:12]}…" if identity.sha256 else ""
    return f"{identity.name} ({identity.kind}, {identity.decoding}{digest})"


def _score(scores: Scores) -> str:
    """Macro-F1, its interval if made, and the replies that named no label (counted wrong)."""
    interval = scores.macro_f1_interval
    shown = f"{scores.macro_f1:.3f}"
    if interval is not None:
        shown += f" [{interval.low:.3f}, {interval.high:.3f}]"
    if scores.off_label:
        shown += f", {scores.off_label} off-label"
    # A row counts its gold examples only when no reply was off-label (those are in no column).
    rows = zip(scores.labels, scores.confusion, strict=True)
    missing = [label for label, row in rows if sum(row) == 0]
    if missing and scores.n and not scores.off_label:
        named = ", ".join(repr(label) for label in missing)
        shown += f" (no gold {named} in this split: its F1 counts 0)"
    return shown


def _signed(interval: Interval) -> str:
    return f"{interval.estimate:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]"
