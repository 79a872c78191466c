"""Specification tests for pldc/render.py: the one place prompts are rendered and replies parsed."""

from __future__ import annotations

import string

import pytest

from pldc import DataError
from pldc.render import (
    parse_label,
    parse_rule,
    render_demonstration,
    render_messages,
    render_system_prompt,
    render_user_template,
)
from pldc.task import InputFieldSpec, TaskSchema

LABELS = ("approve", "reject", "escalate")
ANSWER_FORMAT = (
    "Answer with exactly one of these labels and nothing else: approve, reject, escalate."
)


def claim_schema(*fields: tuple[str, str]) -> TaskSchema:
    fields = fields or (("claim", "Claim"), ("amount", "Amount"))
    return TaskSchema(
        signature_name="ClaimReview",
        instruction="Decide what happens to an expense claim.",
        input_fields=tuple(InputFieldSpec(name, title, "") for name, title in fields),
        output_field="decision",
        labels=LABELS,
    )


# System prompt


def test_system_prompt_starts_with_the_instruction():
    prompt = render_system_prompt(claim_schema(), ["If the claim is late, reject it."])

    assert prompt.startswith("Decide what happens to an expense claim.\n\n")


def test_system_prompt_numbers_the_rules_from_one_under_decision_rules():
    rules = ["If the claim is late, reject it.", "If alcohol is claimed, reject it."]

    prompt = render_system_prompt(claim_schema(), rules)

    assert (
        "\n\nDecision rules:\n"
        "1. If the claim is late, reject it.\n"
        "2. If alcohol is claimed, reject it.\n\n"
    ) in prompt


def test_system_prompt_has_no_rules_section_without_rules():
    prompt = render_system_prompt(claim_schema(), [])

    assert prompt == f"Decide what happens to an expense claim.\n\n{ANSWER_FORMAT}"


def test_demonstrations_sit_where_rules_would_under_examples():
    demos = [
        render_demonstration(claim_schema(), {"claim": "Taxi", "amount": "$40"}, "approve"),
        render_demonstration(claim_schema(), {"claim": "Wine", "amount": "$90"}, "reject"),
    ]

    prompt = render_system_prompt(claim_schema(), [], demonstrations=demos)

    # The few-shot benchmark row's layout, byte for byte, as it was before it used this module.
    assert prompt == (
        "Decide what happens to an expense claim.\n\n"
        "Examples:\n\n"
        "Claim: Taxi\nAmount: $40\nAnswer: approve\n\n"
        "Claim: Wine\nAmount: $90\nAnswer: reject\n\n"
        f"{ANSWER_FORMAT}"
    )


def test_no_demonstrations_render_exactly_as_before_they_existed():
    rules = ["If the claim is late, reject it."]
    assert render_system_prompt(claim_schema(), rules, demonstrations=[]) == (
        render_system_prompt(claim_schema(), rules)
    )


def test_system_prompt_ends_with_the_answer_format_listing_labels_in_order():
    prompt = render_system_prompt(claim_schema(), ["If the claim is late, reject it."])

    assert prompt.endswith(f"\n\n{ANSWER_FORMAT}")


# User template and messages


def test_user_template_has_one_slot_per_input_field_in_order():
    template = render_user_template(claim_schema())

    slots = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    assert slots == ["claim", "amount"]
    assert template == "Claim: {claim}\nAmount: {amount}"


def test_braces_in_a_field_title_render_literally():
    template = render_user_template(claim_schema(("cost", "Cost {USD}")))

    messages = render_messages("system", template, {"cost": "12"})

    assert messages[1]["content"] == "Cost {USD}: 12"


def test_render_messages_gives_the_system_prompt_then_the_filled_user_message():
    template = render_user_template(claim_schema())

    messages = render_messages("the system prompt", template, {"claim": "taxi", "amount": "$30"})

    assert messages == [
        {"role": "system", "content": "the system prompt"},
        {"role": "user", "content": "Claim: taxi\nAmount: $30"},
    ]


@pytest.mark.parametrize("claim", ["dinner costing {amount}", "odd }{ braces", "{", "{0}"])
def test_braces_inside_input_values_are_kept_verbatim(claim):
    template = render_user_template(claim_schema())

    messages = render_messages("system", template, {"claim": claim, "amount": "$30"})

    assert messages[1]["content"] == f"Claim: {claim}\nAmount: $30"


def test_a_missing_input_raises_data_error_naming_the_field():
    template = render_user_template(claim_schema())

    with pytest.raises(DataError, match="missing input field 'amount'"):
        render_messages("system", template, {"claim": "taxi"})


# Parsing a label from a reply


@pytest.mark.parametrize(
    "reply", ["reject", "Reject", "REJECT", " reject.\n", '"reject"', "**Reject**", "`reject`;"]
)
def test_an_exact_answer_parses_ignoring_case_and_punctuation(reply):
    assert parse_label(reply, LABELS) == "reject"


def test_the_label_returned_is_spelled_as_declared():
    assert parse_label("yes", ("Yes", "No")) == "Yes"


def test_free_text_gives_the_first_label_it_names():
    reply = "I would escalate this, although one could reject or approve it."

    assert parse_label(reply, LABELS) == "escalate"


def test_a_reply_naming_no_label_parses_to_none():
    assert parse_label("I cannot tell from this claim.", LABELS) is None


@pytest.mark.parametrize(
    "reply", ["The claim was approved.", "I disapprove.", "a pre-approve step"]
)
def test_a_label_inside_another_word_is_not_matched(reply):
    assert parse_label(reply, LABELS) is None


def test_yes_no_labels_do_not_match_inside_know_or_yesterday():
    assert parse_label("I don't know; it was filed yesterday.", ("yes", "no")) is None


def test_at_the_same_position_the_longer_label_wins():
    assert parse_label("No change is needed here.", ("no", "no change")) == "no change"


# Parsing a rule from a teacher reply


@pytest.mark.parametrize("marker", ["- ", "* ", "• ", "1. ", "2) ", "Rule: ", "rule 3: ", "RULE:"])
def test_parse_rule_strips_list_markers_and_rule_prefixes(marker):
    reply = f"{marker}If the claim is late, the answer is reject."

    assert parse_rule(reply) == "If the claim is late, the answer is reject."


@pytest.mark.parametrize("quote", ['"', "'", "`"])
def test_parse_rule_strips_surrounding_quotes(quote):
    reply = f"{quote}If the claim is late, the answer is reject.{quote}"

    assert parse_rule(reply) == "If the claim is late, the answer is reject."


@pytest.mark.parametrize("prefix", ["**Rule:** ", "1. Rule: ", "- Rule 2: "])
def test_parse_rule_strips_a_rule_prefix_behind_a_marker_or_bold(prefix):
    reply = f"{prefix}If the claim is late, the answer is reject."

    assert parse_rule(reply) == "If the claim is late, the answer is reject."


def test_parse_rule_strips_typographic_quotes():
    reply = "“If the claim is late, the answer is reject.”"

    assert parse_rule(reply) == "If the claim is late, the answer is reject."


def test_parse_rule_skips_lines_too_short_to_be_a_rule():
    reply = "Sure.\n\nRule:\nIf the claim is late, the answer is reject."

    assert parse_rule(reply) == "If the claim is late, the answer is reject."


def test_parse_rule_returns_none_when_no_line_is_long_enough():
    assert parse_rule("Sure.\nReject it.\n") is None


def test_parse_rule_caps_the_rule_at_max_words():
    reply = "If " + " ".join(f"w{i}" for i in range(100)) + ", the answer is reject."

    rule = parse_rule(reply, max_words=12)

    assert rule.split() == reply.split()[:12]


def test_parse_rule_caps_at_sixty_words_by_default():
    reply = " ".join(f"w{i}" for i in range(100))

    assert len(parse_rule(reply).split()) == 60
