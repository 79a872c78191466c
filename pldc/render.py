"""The one place prompts are rendered.

Search, evaluation, the compiled artifact and the runtime all call these functions, so the
messages a student sees while rules are searched are, byte for byte, the ones it sees in
deployment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from pldc.errors import DataError
from pldc.task import TaskSchema

Message = dict[str, str]
EditAction = Literal["revise", "add", "remove", "split"]

FIELDS_HEADING = "Fields:"
RULES_HEADING = "Decision rules:"
EXAMPLES_HEADING = "Examples:"
NO_LABEL_SHOWN = "(none of the labels)"
"""The resolver's view of a reply that named no label."""
# The teacher's role in all three of its prompts: the task itself comes in the user message, so
# one wording fits moderation, finance and law alike (it used to be a "senior compliance analyst").
TEACHER_ROLE = "You are an expert at the task described below."


def render_system_prompt(
    schema: TaskSchema, rules: Sequence[str], *, demonstrations: Sequence[str] = ()
) -> str:
    """Task instruction, the fields' descriptions (if the signature gives any), the numbered
    rules (if any), the demonstrations (if any, each from `render_demonstration`), and the
    answer format, separated by blank lines.

    Compiled prompts show demonstrations when the search chose some (`render_candidates`);
    the few-shot baseline of benchmarks/rows.py shares this layout.
    """
    sections = [schema.instruction]
    fields = render_field_descriptions(schema)
    if fields:
        sections.append(fields)
    if rules:
        numbered = "\n".join(f"{i}. {rule}" for i, rule in enumerate(rules, start=1))
        sections.append(f"{RULES_HEADING}\n{numbered}")
    if demonstrations:
        sections.append(f"{EXAMPLES_HEADING}\n\n" + "\n\n".join(demonstrations))
    sections.append(render_answer_format(schema.labels))
    return "\n\n".join(sections)


class Candidate(Protocol):
    """What the prompt needs of a candidate (`pldc.records.Rule`): its kind and text."""

    kind: str
    text: str


def render_candidates(schema: TaskSchema, candidates: Sequence[Candidate]) -> str:
    """The system prompt holding `candidates`: the rules numbered in their order, then the
    demonstrations in theirs."""
    rules = [c.text for c in candidates if c.kind == "rule"]
    demonstrations = [c.text for c in candidates if c.kind == "demonstration"]
    return render_system_prompt(schema, rules, demonstrations=demonstrations)


def render_demonstration(schema: TaskSchema, inputs: Mapping[str, str], label: str) -> str:
    """One labelled example for a prompt's demonstrations: a `Title: value` line per input
    field, then `Answer: label`. Raises `KeyError` for a missing input field."""
    return f"{_case_block(schema, inputs)}\nAnswer: {label}"


def render_field_descriptions(schema: TaskSchema) -> str:
    """The signature's field descriptions (`desc`), one `- Title: description` line per field
    that has one, the output field's as `- Answer: ...`; "" when no field has one."""
    lines = [
        f"- {spec.title}: {spec.description}" for spec in schema.input_fields if spec.description
    ]
    if schema.output_description:
        lines.append(f"- Answer: {schema.output_description}")
    return f"{FIELDS_HEADING}\n" + "\n".join(lines) if lines else ""


def _task_lines(schema: TaskSchema) -> str:
    """How each teacher prompt opens: the instruction, the field descriptions, the labels."""
    fields = render_field_descriptions(schema)
    return (
        f"Task: {schema.instruction}\n"
        + (f"{fields}\n" if fields else "")
        + f"Possible labels: {', '.join(schema.labels)}\n\n"
    )


def render_answer_format(labels: Sequence[str]) -> str:
    return "Answer with exactly one of these labels and nothing else: " + ", ".join(labels) + "."


def render_user_template(schema: TaskSchema) -> str:
    """A `str.format` template with one `{field}` slot per input field."""
    lines = []
    for spec in schema.input_fields:
        title = spec.title.replace("{", "{{").replace("}", "}}")
        lines.append(f"{title}: {{{spec.name}}}")
    return "\n".join(lines)


def student_scaffold(schema: TaskSchema, pinned: Sequence[str] = ()) -> dict[str, Any]:
    """Everything the student is shown besides the candidates and the case, rendered in full.

    Cache keys of whatever runs the student hold it, so any change to the instruction, the
    field titles, the answer format, the label order, the pinned rules or the layout redoes
    that work; a placeholder rule and demonstration stand for the candidates.
    """
    case = _placeholder_case(schema)
    system = render_system_prompt(schema, [*pinned, "<rule>"], demonstrations=["<example>"])
    return {
        "messages": render_messages(system, render_user_template(schema), case),
        "demonstration": render_demonstration(schema, case, "<label>"),
        "labels": list(schema.labels),
    }


def teacher_scaffold(schema: TaskSchema) -> dict[str, Any]:
    """Each teacher prompt rendered around placeholder cases and rules, for cache keys: it
    changes with everything the teacher is shown of the task (instruction, labels in order,
    field titles) and with the prompts' wording."""
    case = _placeholder_case(schema)
    return {
        "extraction": render_extraction_messages(schema, case, "<label>"),
        "contrast": render_extraction_messages(schema, case, "<label>", (case, "<other>")),
        "induction": render_extraction_messages(schema, case, "<label>", peers=[case]),
        "synthesis": render_synthesis_messages(schema, ["<rule>"], "<label>"),
        "resolution": render_resolution_messages(
            schema, ["<rule>"], case, "<predicted>", "<gold>", [(case, "<label>")]
        ),
        "generalize": render_generalize_messages("<rule>", ["<detail>"], "<label>"),
    }


def _placeholder_case(schema: TaskSchema) -> dict[str, str]:
    return {spec.name: f"<{spec.name}>" for spec in schema.input_fields}


def render_messages(
    system_prompt: str, user_template: str, inputs: Mapping[str, str]
) -> list[Message]:
    try:
        user = user_template.format_map(dict(inputs))
    except KeyError as missing:
        raise DataError(
            f"missing input field {missing.args[0]!r}; pass every input field of the task."
        ) from None
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]


def parse_label(reply: str, labels: Sequence[str]) -> str | None:
    """The label a free-text reply gives: an exact answer, else the label it names first."""
    cleaned = reply.strip().strip("\"'`*.:; \n").lower()
    by_lower = {label.lower(): label for label in labels}
    if cleaned in by_lower:
        return by_lower[cleaned]
    lowered = reply.lower()
    positions = {}
    for label in labels:
        match = re.search(rf"(?<![\w-]){re.escape(label.lower())}(?![\w-])", lowered)
        if match:
            positions[label] = match.start()
    if not positions:
        return None
    # Longer labels first at equal positions, so "not_entailed" beats "not".
    return min(positions, key=lambda label: (positions[label], -len(label)))


def render_extraction_messages(
    schema: TaskSchema,
    inputs: Mapping[str, str],
    label: str,
    contrast: tuple[Mapping[str, str], str] | None = None,
    peers: Sequence[Mapping[str, str]] = (),
) -> list[Message]:
    """PLD's supervised extraction: the teacher sees a case with its gold label, writes the rule.

    With `contrast` (a similar case and its other label), the teacher also sees a near twin
    that was decided differently, which points it at the detail that decides. With `peers`
    (similar cases of the same label), it sees them all and writes the rule they share, so a
    detail only one of them has cannot be the condition (induction from several examples).
    Everything that doesn't depend on the case comes first, so consecutive calls share a long
    prefix in the teacher's KV cache.
    """
    system = (
        f"{TEACHER_ROLE} You write the general decision rules that explain "
        "why cases receive their labels, so that a junior reviewer can apply them to new cases."
    )
    if peers:
        return _induction_messages(schema, system, [inputs, *peers], label)
    shown = (
        "You will see one case and its correct label, and a similar case that got a different "
        "label. Write ONE general rule"
        if contrast
        else "You will see one case and its correct label. Write ONE general rule"
    )
    deciding = (
        " The rule's condition must hold for the first case and not for the similar case, so "
        "name the detail that differs between them."
        if contrast
        else ""
    )
    user = (
        _task_lines(schema) + f"{shown}, as a single "
        'sentence of the form "If <condition>, the answer is <label>.", that explains why cases '
        f"like this one get that label. State the deciding condition precisely.{deciding} Do not "
        "mention specific people, companies, places or dates from the case. Reply with the rule "
        "only.\n\n"
        f"Case:\n{_case_block(schema, inputs)}\n\n"
        f"Correct label: {label}"
    )
    if contrast:
        other_inputs, other_label = contrast
        similar = _case_block(schema, other_inputs)
        user += f"\n\nSimilar case:\n{similar}\n\nIts label: {other_label}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _induction_messages(
    schema: TaskSchema, system: str, cases: Sequence[Mapping[str, str]], label: str
) -> list[Message]:
    numbered = "\n\n".join(
        f"Case {i}:\n{_case_block(schema, inputs)}" for i, inputs in enumerate(cases, start=1)
    )
    user = (
        _task_lines(schema)
        + f"You will see {len(cases)} cases that all have the same correct label. Write ONE "
        'general rule, as a single sentence of the form "If <condition>, the answer is '
        '<label>.", that explains why cases like these get that label. The condition must hold '
        "for every one of them, so state what they have in common, not a detail only one of "
        "them has. Do not mention specific people, companies, places or dates from the cases. "
        "Reply with the rule only.\n\n"
        f"{numbered}\n\n"
        f"Correct label of every case: {label}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _case_block(schema: TaskSchema, inputs: Mapping[str, str]) -> str:
    return "\n".join(f"{spec.title}: {inputs[spec.name]}" for spec in schema.input_fields)


def parse_rule(reply: str, max_words: int = 60) -> str | None:
    """The first sentence-like line of a teacher reply, without list marks, labels or quotes."""
    for line in reply.splitlines():
        text = line.strip()
        previous = None
        while text != previous:  # markers nest: "1. **Rule:** ..."
            previous = text
            text = _RULE_MARKER.sub("", text).strip().strip(_QUOTES).strip()
        words = text.split()
        if len(words) >= 4:
            return " ".join(words[:max_words])
    return None


_RULE_MARKER = re.compile(r"^(?:[-*•]+|\d+[.)]|\*\*|rule\s*\d*\s*:(?:\*\*)?)\s*", re.IGNORECASE)
_QUOTES = "\"'`*“”‘’"


def render_generalize_messages(draft: str, specifics: Sequence[str], label: str) -> list[Message]:
    """Ask the teacher to restate a rule without the case details it copied.

    A fresh, single turn without the case: small teachers asked in a follow-up turn tend to
    repeat their first answer word for word.
    """
    return [
        {
            "role": "system",
            "content": "You rewrite decision rules so that they apply to every similar case, "
            "not to one case.",
        },
        {
            "role": "user",
            "content": (
                f"Rule: {draft}\n\n"
                f"These words name details of one particular case: {', '.join(specifics)}. "
                "Rewrite the rule without them, replacing each with the general kind of thing "
                "it stands for (a person or company becomes its role, a place becomes 'the "
                "destination', an exact amount or number of days becomes the threshold or "
                "condition that matters). Keep the label. Reply with the rewritten rule only, "
                f'in the form "If <condition>, the answer is {label}."'
            ),
        },
    ]


def render_synthesis_messages(
    schema: TaskSchema, member_rules: Sequence[str], label: str
) -> list[Message]:
    """PLD's synthesis: one general rule for a cluster of rules written for different cases."""
    numbered = "\n".join(f"{i}. {rule}" for i, rule in enumerate(member_rules, start=1))
    system = (
        f"{TEACHER_ROLE} You merge case-by-case decision rules into one "
        "general rule that a junior reviewer can apply to new cases."
    )
    user = (
        _task_lines(schema)
        + f"Each of these rules was written for a different case whose correct label is {label}:\n"
        f"{numbered}\n\n"
        "Write ONE general rule that states the deciding condition these cases share, as a "
        f'single sentence of the form "If <condition>, the answer is {label}." Leave out '
        "details that only one case has (people, companies, places, exact amounts or dates). "
        "Reply with the rule only."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def render_resolution_messages(
    schema: TaskSchema,
    rules: Sequence[str],
    failure: Mapping[str, str],
    predicted: str | None,
    gold: str,
    successes: Sequence[tuple[Mapping[str, str], str]],
) -> list[Message]:
    """PLD's conflict resolution: the teacher edits the rules where the student still fails.

    The rules and the kept-right cases come first, so one round's calls share a prefix in the
    teacher's KV cache.
    """
    numbered = "\n".join(f"{i}. {rule}" for i, rule in enumerate(rules, start=1)) or "(none yet)"
    kept_right = "\n".join(
        f"- {_case_line(schema, inputs)} -> {label}" for inputs, label in successes
    )
    system = (
        f"{TEACHER_ROLE} You maintain the numbered decision rules a junior "
        "reviewer follows, and you fix them where they lead the reviewer to a wrong decision."
    )
    user = (
        _task_lines(schema)
        + f"Current rules:\n{numbered}\n\n"
        + (
            f"These cases are decided correctly and must stay correct:\n{kept_right}\n\n"
            if successes
            else ""
        )
        + "Following the rules, the reviewer decided this case wrongly:\n"
        f"{_case_line(schema, failure)}\n"
        f"Reviewer's answer: {NO_LABEL_SHOWN if predicted is None else predicted}\n"
        f"Correct answer: {gold}\n\n"
        + "Fix the rules with ONE edit, written on one line in exactly one of these forms:\n"
        "REVISE <n>: <the new text of rule n>\n"
        "ADD: <a new rule>\n"
        "REMOVE <n>\n"
        "SPLIT <n>: <first new rule> || <second new rule>\n"
        'Each rule is one general sentence of the form "If <condition>, the answer is <label>.", '
        "with no people, companies, places or dates from the cases. Reply with the edit only."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _case_line(schema: TaskSchema, inputs: Mapping[str, str]) -> str:
    return " | ".join(f"{spec.title}: {inputs[spec.name]}" for spec in schema.input_fields)


class Edit(BaseModel):
    """One edit of the rules, as parsed from a resolver's reply (see render_resolution_messages)."""

    action: EditAction
    rule_number: int | None = None
    """1-based position in the rules the resolver saw (revise, remove, split)."""
    texts: list[str] = []


_EDIT_LINE = re.compile(
    r"^[\s*#>-]*(revise|add|remove|split)\b(?:\s+rule)?\s*#?(\d+)?[\s*]*:?\s*(.*)$", re.IGNORECASE
)


def parse_edit(reply: str, rule_count: int) -> Edit | None:
    """The first line of `reply` that is a well-formed edit of a rule that exists."""
    for line in reply.splitlines():
        match = _EDIT_LINE.match(line)
        if not match:
            continue
        action = match.group(1).lower()
        number = int(match.group(2)) if match.group(2) else None
        body = match.group(3).strip()
        if action != "add" and not (number and 1 <= number <= rule_count):
            continue
        if action == "remove":
            return Edit(action="remove", rule_number=number)
        parts = body.split("||") if action == "split" else [body]
        texts = [parse_rule(part) for part in parts]
        if any(text is None for text in texts) or (action == "split" and len(texts) != 2):
            continue
        return Edit(action=action, rule_number=number, texts=texts)
    return None
