"""Shared fixtures: a toy ticket-triage task and fake teacher / student built on FunctionBackend.

The fake student follows the numbered rules in its system prompt ("If the ticket mentions K,
the answer is L."), so which rules the search keeps really changes its Macro-F1.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Literal

# The tests run offline; litellm would otherwise try to fetch its model cost map on import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import pytest

import pldc
from pldc.backends import FunctionBackend

KEYWORDS = {"refund": ["refund", "money back"], "bug": ["crash", "error message"]}


class TicketTriage(dspy.Signature):
    """Route a customer support ticket to the right queue."""

    ticket: str = dspy.InputField()
    queue: Literal["refund", "bug", "other"] = dspy.OutputField()


def ticket_records(n: int = 60, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    filler = ["my order #{n} arrived", "I use the mobile app", "hello team", "since Tuesday"]
    records = []
    for i in range(n):
        queue = ("refund", "bug", "other")[i % 3]
        phrase = rng.choice(KEYWORDS[queue]) if queue != "other" else "a question about hours"
        text = f"{rng.choice(filler).format(n=i)}, {phrase}, thanks (ref {i})"
        records.append({"id": f"t{i:03d}", "ticket": text, "queue": queue})
    return records


def toy_task(**overrides) -> pldc.Task:
    return pldc.Task(
        signature=TicketTriage,
        data=ticket_records(),
        splits=pldc.Splits(train=0.5, dev=0.25, test=0.25, seed=0),
        name="ticket_triage",
        **overrides,
    )


def fake_teacher_reply(messages) -> str:
    user = messages[-1]["content"]
    if "Each of these rules was written" in user:  # synthesis: keep the first member rule
        return re.search(r"^1\. (.+)$", user, re.MULTILINE).group(1)
    if "decided this case wrongly" in user:  # resolution: add a rule for the failed case
        case = user.split("decided this case wrongly:\n")[1].split("\n")[0]
        label = re.search(r"Correct answer: (\w+)", user).group(1)
        for keyword in KEYWORDS.get(label, []):
            if keyword in case:
                return f"ADD: If the ticket mentions {keyword}, the answer is {label}."
        return "I am not sure."
    label = re.search(r"Correct label(?: of every case)?: (\w+)", user).group(1)
    for keyword in KEYWORDS.get(label, []):
        if keyword in user:
            return f"If the ticket mentions {keyword}, the answer is {label}."
    return f"If the ticket mentions hours, the answer is {label}."


def fake_student_scores(messages, labels) -> dict[str, float]:
    system, user = messages[0]["content"], messages[1]["content"]
    rules = re.findall(r"If the ticket mentions (.+?), the answer is (\w+)\.", system)
    for keyword, label in rules:
        if keyword in user:
            return {lab: (0.0 if lab == label else -5.0) for lab in labels}
    return {lab: (-1.0 if lab == "other" else -2.0) for lab in labels}


def slow_toy_evaluator(seconds_per_call: float):
    """A fake-student evaluator for the toy task that a spawned search worker can open."""
    import time

    from pldc.evaluate import StudentEvaluator
    from pldc.render import render_user_template

    def slow_scores(messages, labels):
        time.sleep(seconds_per_call)
        return fake_student_scores(messages, labels)

    schema = toy_task().schema
    student = FunctionBackend(score=slow_scores, name="fake-student")
    return StudentEvaluator(student, schema, render_user_template(schema))


@pytest.fixture
def teacher() -> FunctionBackend:
    return FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")


@pytest.fixture
def student() -> FunctionBackend:
    return FunctionBackend(score=fake_student_scores, name="fake-student")


@pytest.fixture(scope="session")
def served_student(tmp_path_factory):
    """The default student behind llama-cpp-python's OpenAI-compatible server on loopback,
    started once per test run: yields the server (its `api_base`, `ALIAS`)."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    from llama_server import LlamaServer

    from pldc.models import DEFAULT_STUDENT, resolve_gguf

    path, _ = resolve_gguf(DEFAULT_STUDENT)
    server = LlamaServer(path, log=tmp_path_factory.mktemp("llama-server") / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server on loopback, started once per test run (Debian's `postgresql`,
    which .ci/run installs); yields its SQLAlchemy URL."""
    from postgres_server import PostgresServer, available

    if not available():
        if os.environ.get("PLDC_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL's initdb and pg_ctl are missing: apt-get install postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # Not under pytest's tmp folder, which only root may enter: the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="pldc-postgres-"))
    server = PostgresServer(folder).start()
    yield server.url
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
