"""Teacher extraction: one general rule per example, never the case's own specifics."""

from __future__ import annotations

from conftest import TicketTriage

from pldc.backends import FunctionBackend
from pldc.data import Example
from pldc.embed import TfidfEmbedder
from pldc.extract import (
    StoredTeacher,
    copied_specifics,
    extract_rules,
    nearest_contrasts,
    nearest_peers,
    select_teacher_examples,
)
from pldc.store import JsonlStore
from pldc.task import TaskSchema

SCHEMA = TaskSchema.from_signature(TicketTriage)
CASE = "Order PRJ-5967 from Toronto crashed twice (Grand Central app), refund $1145.87 please"
EXAMPLE = Example("t1", {"ticket": CASE}, "refund")


def extract_one(teacher: FunctionBackend, store_path):
    return extract_rules(SCHEMA, [EXAMPLE], StoredTeacher(teacher, JsonlStore(store_path)))


def teacher_replying(*replies: str) -> FunctionBackend:
    queue = list(replies)
    return FunctionBackend(generate=lambda messages: queue.pop(0))


def test_names_codes_and_figures_copied_from_the_case_are_flagged():
    rule = "If the ticket from Toronto asks for $1145.87 on PRJ-5967, the answer is refund."
    assert copied_specifics(rule, CASE) == ["Toronto", "$1145.87", "PRJ-5967"]


def test_thresholds_in_the_rules_own_words_are_not_flagged():
    assert copied_specifics("If a refund above $1,000 is asked, the answer is refund.", CASE) == []


def test_a_capitalised_word_is_a_name_only_where_the_case_uses_it_mid_sentence():
    assert copied_specifics("If the Order is late, the answer is refund.", CASE) == []
    assert copied_specifics("If it is the Grand Central app, the answer is bug.", CASE) == [
        "Grand",
        "Central",
    ]


def test_a_rule_with_specifics_is_rewritten_and_keeps_its_draft(tmp_path):
    teacher = teacher_replying(
        "If the ticket is from Toronto, the answer is refund.",
        "If the customer asks for money back, the answer is refund.",
    )
    (trace,) = extract_rules(
        SCHEMA, [EXAMPLE], StoredTeacher(teacher, JsonlStore(tmp_path / "t.jsonl"))
    )
    assert trace.rule == "If the customer asks for money back, the answer is refund."
    assert trace.draft == "If the ticket is from Toronto, the answer is refund."
    assert "Toronto" in teacher.calls[1][1][-1]["content"]
    assert CASE not in teacher.calls[1][1][-1]["content"]


def test_a_rule_still_specific_after_the_rewrite_stays_with_its_specifics_on_record(tmp_path):
    teacher = teacher_replying(
        "If the ticket is from Toronto, the answer is refund.",
        "If the ticket mentions PRJ-5967, the answer is refund.",
    )
    (trace,) = extract_rules(
        SCHEMA, [EXAMPLE], StoredTeacher(teacher, JsonlStore(tmp_path / "t.jsonl"))
    )
    assert trace.rule == "If the ticket is from Toronto, the answer is refund."
    assert trace.copied_specifics == ["Toronto"]


def test_a_reply_with_no_rule_is_kept_as_a_dropped_trace(tmp_path):
    (trace,) = extract_rules(
        SCHEMA, [EXAMPLE], StoredTeacher(teacher_replying("OK."), JsonlStore(tmp_path / "t"))
    )
    assert trace.rule is None and trace.dropped_reason == "the teacher's reply held no rule"


def test_rewrites_are_stored_too_so_a_rerun_calls_the_teacher_zero_times(tmp_path):
    replies = ("If the ticket is from Toronto, the answer is refund.", "If money is owed, refund.")
    extract_rules(
        SCHEMA, [EXAMPLE], StoredTeacher(teacher_replying(*replies), JsonlStore(tmp_path / "t"))
    )
    rerun_teacher = teacher_replying()
    (trace,) = extract_rules(
        SCHEMA, [EXAMPLE], StoredTeacher(rerun_teacher, JsonlStore(tmp_path / "t"))
    )
    assert rerun_teacher.calls == [] and trace.rule == "If money is owed, refund."


def test_teacher_examples_are_dealt_round_robin_across_labels():
    train = [
        Example(f"{label}{i}", {"ticket": "x"}, label)
        for label in ("refund", "bug", "other")
        for i in range(5)
    ]
    chosen = select_teacher_examples(train, 6, seed=0)
    assert sorted(ex.label for ex in chosen) == ["bug", "bug", "other", "other", "refund", "refund"]
    assert chosen == select_teacher_examples(train, 6, seed=0)


POOL = [
    Example("p1", {"ticket": "Order crashed twice, refund please"}, "refund"),
    Example("p2", {"ticket": "Order crashed twice, the app needs a fix"}, "bug"),
    Example("p3", {"ticket": "Where is the office?"}, "other"),
]


def test_the_contrast_is_the_most_similar_example_with_another_label():
    contrasts = nearest_contrasts([POOL[0]], POOL, TfidfEmbedder())
    assert contrasts == {"p1": POOL[1]}  # never itself, never a same-label example


def test_the_teacher_sees_the_contrast_and_its_label_and_the_trace_records_it(tmp_path):
    teacher = teacher_replying("If the customer asks for money back, the answer is refund.")
    (trace,) = extract_rules(
        SCHEMA,
        [EXAMPLE],
        StoredTeacher(teacher, JsonlStore(tmp_path / "t.jsonl")),
        contrasts={EXAMPLE.id: POOL[1]},
    )
    prompt = teacher.calls[0][1][-1]["content"]
    assert prompt.index(CASE) < prompt.index(POOL[1].inputs["ticket"])
    assert prompt.endswith("Its label: bug")
    assert trace.contrast_example_id == "p2"


def test_details_copied_from_the_contrast_case_count_as_specifics(tmp_path):
    other = Example("p9", {"ticket": "Ticket from Lisbon about a crash"}, "bug")
    teacher = teacher_replying(
        "If the ticket is not from Lisbon, the answer is refund.",
        "If the customer asks for money back, the answer is refund.",
    )
    (trace,) = extract_rules(
        SCHEMA,
        [EXAMPLE],
        StoredTeacher(teacher, JsonlStore(tmp_path / "t.jsonl")),
        contrasts={EXAMPLE.id: other},
    )
    assert trace.draft == "If the ticket is not from Lisbon, the answer is refund."
    assert trace.rule == "If the customer asks for money back, the answer is refund."


# Induction from several same-label examples (`induction_peers`)

PEERS = [
    Example("q1", {"ticket": "Order crashed twice, refund please"}, "refund"),
    Example("q2", {"ticket": "Order crashed, I want my money back"}, "refund"),
    Example("q3", {"ticket": "Order crashed twice, the app needs a fix"}, "bug"),
    Example("q4", {"ticket": "Where is the office? refund"}, "refund"),
]


def test_peers_are_the_most_similar_examples_with_the_same_label_most_similar_first():
    peers = nearest_peers([PEERS[0]], PEERS, TfidfEmbedder(), 2)
    assert [peer.id for peer in peers["q1"]] == ["q2", "q4"]  # never itself, never a bug
    assert nearest_peers([PEERS[0]], PEERS, TfidfEmbedder(), 1)["q1"] == [PEERS[1]]


def test_teacher_examples_are_never_each_others_peers():
    peers = nearest_peers([PEERS[0], PEERS[1]], PEERS, TfidfEmbedder(), 3)
    assert [peer.id for peer in peers["q1"]] == ["q4"]
    assert [peer.id for peer in peers["q2"]] == ["q4"]


def test_the_teacher_sees_every_case_with_the_one_label_and_the_trace_records_the_peers(tmp_path):
    teacher = teacher_replying("If the customer asks for money back, the answer is refund.")
    (trace,) = extract_rules(
        SCHEMA,
        [EXAMPLE],
        StoredTeacher(teacher, JsonlStore(tmp_path / "t.jsonl")),
        peers={EXAMPLE.id: [PEERS[0], PEERS[1]]},
    )
    prompt = teacher.calls[0][1][-1]["content"]
    assert "You will see 3 cases that all have the same correct label" in prompt
    assert prompt.index("Case 1:\nTicket: " + CASE) < prompt.index("Case 2:\nTicket: Order crashed")
    assert "Case 3:\nTicket: Order crashed, I want my money back" in prompt
    assert prompt.endswith("Correct label of every case: refund")
    assert trace.peer_example_ids == ("q1", "q2")
    assert trace.rule == "If the customer asks for money back, the answer is refund."


def test_details_copied_from_a_peer_count_as_specifics(tmp_path):
    peer = Example("q9", {"ticket": "Refund from Lisbon please"}, "refund")
    teacher = teacher_replying(
        "If the ticket comes from Lisbon, the answer is refund.",
        "If the customer asks for money back, the answer is refund.",
    )
    (trace,) = extract_rules(
        SCHEMA,
        [EXAMPLE],
        StoredTeacher(teacher, JsonlStore(tmp_path / "t.jsonl")),
        peers={EXAMPLE.id: [peer]},
    )
    assert trace.draft == "If the ticket comes from Lisbon, the answer is refund."
    assert trace.rule == "If the customer asks for money back, the answer is refund."


def test_a_trace_without_peers_keeps_its_exact_json(tmp_path):
    teacher = teacher_replying("If the customer asks for money back, the answer is refund.")
    (trace,) = extract_one(teacher, tmp_path / "t.jsonl")
    assert "peer_example_ids" not in trace.model_dump()
