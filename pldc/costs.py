"""What a compile will cost before it runs (`pldc compile --dry-run`): per stage, the teacher
and student calls and their tokens, and for a provider-hosted model the price from litellm's
cost map. No model is called; token counts use each model's own tokenizer (a GGUF's
vocabulary loaded without its weights) where there is one.

Every figure is an upper bound from the settings: a stage may stop early (verification drops
rules, the resolution loop ends when nothing conflicts, the budget trims prompts, scores seen
before are reused). A student call scores one example on every label; a served student
sends one request per label-token prefix for it. Student tokens are what a provider would
bill, each call's whole prompt; a local student reuses the KV cache of the shared system
prompt and evaluates far fewer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import fmean

from pldc.data import TaskData
from pldc.extract import RULE_MAX_TOKENS
from pldc.render import render_extraction_messages, render_messages, render_user_template
from pldc.settings import CompileSettings
from pldc.stages.candidates import MIN_SEARCH_EXAMPLES
from pldc.task import TaskSchema

TEACHER_REPLY_TOKENS = 256
"""Most tokens a teacher call other than extraction writes (a backend's default)."""


@dataclass(frozen=True)
class StageCost:
    stage: str
    teacher_calls: int
    teacher_tokens: int
    """Prompt tokens, counted with the teacher's tokenizer."""
    teacher_reply_tokens: int
    """The most tokens the teacher may write."""
    student_calls: int
    student_tokens: int
    """Prompt tokens of every scoring call, counted with the student's tokenizer."""


def estimate(
    schema: TaskSchema,
    data: TaskData,
    settings: CompileSettings,
    *,
    count_teacher: Callable[[str], int],
    count_student: Callable[[str], int],
) -> list[StageCost]:
    """The stages of one compile with `settings`, each as at most this many calls and tokens."""
    template = render_user_template(schema)
    teacher_n = min(settings.teacher_examples, len(data.train))
    case = fmean(_case_tokens(example, template, count_student) for example in data.train)
    prompt = settings.token_budget + case
    stages = _teacher_stages(schema, data, settings, teacher_n, prompt, count_teacher)
    with_one_rule = min(settings.token_budget, _scaffold(schema, count_student) + RULE) + case
    return stages + _student_stages(data, settings, teacher_n, prompt, with_one_rule)


RULE = 40
"""Tokens of one written rule, about."""


def _teacher_stages(
    schema: TaskSchema,
    data: TaskData,
    settings: CompileSettings,
    teacher_n: int,
    prompt: float,
    count_teacher: Callable[[str], int],
) -> list[StageCost]:
    """Extraction, generalising and merging (one rule per teacher example, before merging),
    and conflict resolution."""
    peers = 1 + settings.induction_peers + (1 if settings.extraction_contrast else 0)
    shown = list(data.train[:teacher_n])
    extraction_prompt = (
        fmean(
            sum(
                count_teacher(m["content"])
                for m in render_extraction_messages(schema, example.inputs, example.label)
            )
            for example in shown
        )
        if shown
        else 0.0
    )
    rounds, edits = settings.resolve_rounds, settings.resolve_edits
    return [
        StageCost(
            "teacher extraction",
            teacher_n,
            round(teacher_n * peers * extraction_prompt),
            teacher_n * RULE_MAX_TOKENS,
            0,
            0,
        ),
        StageCost(
            "generalising and merging rules",
            2 * teacher_n,
            2 * teacher_n * 3 * RULE,
            2 * teacher_n * TEACHER_REPLY_TOKENS,
            0,
            0,
        ),
        StageCost(
            "conflict resolution",
            rounds * edits,
            round(rounds * edits * prompt),
            rounds * edits * TEACHER_REPLY_TOKENS,
            rounds * settings.resolve_examples,
            round(rounds * settings.resolve_examples * prompt),
        ),
    ]


def _student_stages(
    data: TaskData, settings: CompileSettings, rules: int, prompt: float, with_one_rule: float
) -> list[StageCost]:
    """Verification, the search, the gate, the final evaluation, and what settings add."""
    verify_n = min(settings.verify_examples, len(data.train)) if settings.verify else 0
    used = rules + verify_n + settings.resolve_rounds * settings.resolve_examples
    spare = max(0, len(data.train) - used)
    selection = min(max(settings.selection_examples, len(data.dev)), len(data.dev) + spare)
    held = max(0, min(settings.gate_examples, selection - MIN_SEARCH_EXAMPLES))
    searched_on = selection - held
    baselines = 1 if settings.rules_only or not settings.demonstrations else 2
    # The calibration inputs (dev first, then train) and the selection examples (dev, then
    # train) share dev and perhaps some train; a score already stored is reused.
    pool = 0 if settings.calibration == "none" else settings.calibration_examples
    unique = max(pool, len(data.dev)) + max(0, searched_on - len(data.dev))
    evaluated = min(len(data.dev) + len(data.train), unique) + len(data.test)
    stages = []
    if settings.verify:
        stages.append(_student("rule verification", (rules + 1) * verify_n, with_one_rule))
    stages.append(_student("search", settings.trials * searched_on, prompt))
    stages.append(_student("final gate", (baselines + 1) * (held or searched_on), prompt))
    stages.append(_student("final evaluation", (baselines + 1) * evaluated, prompt))
    if settings.rule_evidence:
        # Each shipped rule or demonstration left out once, calibrated as the search's trials.
        demonstrations = 0 if settings.rules_only else min(settings.demonstrations, len(data.train))
        left_out = (rules + demonstrations) * (searched_on + len(data.dev))
        stages.append(_student("rule evidence", left_out, prompt))
    if settings.objective == "pareto":
        stages.append(_student("Pareto front evaluation", settings.trials * evaluated, prompt))
    return stages


def _student(stage: str, calls: int, tokens_per_call: float) -> StageCost:
    return StageCost(stage, 0, 0, 0, calls, round(calls * tokens_per_call))


def _case_tokens(example, template: str, count: Callable[[str], int]) -> int:
    return count(render_messages("", template, example.inputs)[-1]["content"])


def _scaffold(schema: TaskSchema, count: Callable[[str], int]) -> int:
    from pldc.render import render_candidates

    return count(render_candidates(schema, []))


def price(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """US dollars for a provider-hosted `model` from litellm's cost map (offline copy); None
    when the map does not list it (a local or self-served model costs no API fee)."""
    from pldc._litellm import keep_litellm_offline

    keep_litellm_offline()
    import litellm

    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises a bare Exception for a model it has no price for
        return None
    return float(prompt_cost) + float(completion_cost)


def totals(stages: Sequence[StageCost]) -> StageCost:
    return StageCost(
        "total",
        sum(s.teacher_calls for s in stages),
        sum(s.teacher_tokens for s in stages),
        sum(s.teacher_reply_tokens for s in stages),
        sum(s.student_calls for s in stages),
        sum(s.student_tokens for s in stages),
    )


def token_counter(name: str, api_base: str | None, tokenizer: str | None) -> tuple[Callable, str]:
    """A model's own token counter, loaded without its weights, and how to describe it.

    Raises `ModelError` for a served model's missing tokenizer (`open_tokenizer`).
    """
    from pldc.models import is_local_model_name

    if is_local_model_name(name) or api_base is not None:
        from pldc.backends._chat_tokenizer import open_tokenizer

        chat = open_tokenizer(name if is_local_model_name(name) else tokenizer or "")
        return chat.count_tokens, f"its own ({chat.source})"
    from pldc._litellm import keep_litellm_offline

    keep_litellm_offline()
    import litellm

    return (lambda text: int(litellm.token_counter(model=name, text=text))), "litellm's"


def print_costs(
    console,
    stages: Sequence[StageCost],
    models: dict[str, tuple[str, str, bool]],
) -> None:
    """The per-stage table and, for provider-hosted models, the price. `models` maps "teacher"
    and "student" to (model name, how its tokens were counted, whether a provider hosts it)."""
    from rich.table import Table

    table = Table(title="pldc compile --dry-run: at most, per stage (no model was called)")
    for column in ("stage", "teacher calls", "teacher tokens in / out", "student calls",
                   "student prompt tokens"):  # fmt: skip
        table.add_column(column, justify="left" if column == "stage" else "right")
    for s in [*stages, totals(stages)]:
        table.add_row(
            s.stage,
            f"{s.teacher_calls:,}",
            f"{s.teacher_tokens:,} / {s.teacher_reply_tokens:,}",
            f"{s.student_calls:,}",
            f"{s.student_tokens:,}",
        )
    console.print(table)
    total = totals(stages)
    for role, (name, counted, hosted) in models.items():
        console.print(f"{role}: {name}, tokens counted with {counted} tokenizer")
        if not hosted:
            console.print(f"  no API fee: {role} runs locally or on your own server")
            continue
        if role == "teacher":
            cost = price(name, total.teacher_tokens, total.teacher_reply_tokens)
        else:  # a hosted student generates a short reply per call (generate-and-parse)
            cost = price(name, total.student_tokens, 16 * total.student_calls)
        console.print(
            f"  about ${cost:,.2f} at litellm's listed price"
            if cost is not None
            else "  price unknown: litellm's cost map does not list this model"
        )
