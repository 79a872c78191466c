"""Every row of benchmarks/rows.py, DSPy's real optimizers included, on the toy task with fake
models: each compiles, answers the test slice, and is charged the calls it made."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import KEYWORDS, fake_student_scores, fake_teacher_reply, toy_task

import pldc
from pldc.backends import FunctionBackend
from pldc.calibration import calibration_examples
from pldc.data import load_task_data
from pldc.render import render_demonstration, render_system_prompt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import rows as benchmark_rows
from wrappers import CountingBackend


def dspy_reply(messages) -> str:
    """A DSPy ChatAdapter reply: each requested output field, the task's label by keyword."""
    last = messages[-1]["content"]
    inputs, request = last[: last.rfind("Respond with")], last[last.rfind("Respond with") :]
    fields = [f for f in re.findall(r"\[\[ ## (\w+) ## \]\]", request) if f != "completed"]
    label = next(
        (queue for queue, words in KEYWORDS.items() if any(w in inputs for w in words)), "other"
    )
    if "money back" in inputs and "money back" not in messages[0]["content"]:
        label = "other"  # a phrase the student misses until its instructions name it
    values = {"queue": label}
    parts = [
        f"[[ ## {f} ## ]]\n{values.get(f, 'Route each ticket by its keywords.')}" for f in fields
    ]
    return "\n\n".join([*parts, "[[ ## completed ## ]]"])


def teacher_reply(messages) -> str:
    if "[[ ## " in messages[-1]["content"]:
        return dspy_reply(messages)
    if "```" in messages[-1]["content"]:  # GEPA's reflection asks for the instruction in a block
        return "```\nTickets asking for a refund or their money back go to refund.\n```"
    return fake_teacher_reply(messages)


# The fake student's label scores ignore everything but numbered rules.
SCAFFOLD_WITHOUT_RULES = {"student zero-shot", "teacher zero-shot", "student few-shot"}


@pytest.fixture(autouse=True)
def toy_signature_left_as_it_was():
    """DSPy's InferRules writes its rules into the instructions of the signature class it was
    given, in place (dspy/teleprompt/infer_rules.py), and that class is the toy task's, which
    later tests compile; its instructions are put back after each row."""
    signature = toy_task().signature
    instructions = signature.instructions
    yield
    signature.instructions = instructions


@pytest.fixture
def bench(tmp_path):
    task = toy_task()
    data = load_task_data(task, "task")
    return benchmark_rows.Bench(
        task=task,
        task_path=tmp_path / "task.py",
        train=list(data.train[:12]),
        dev=list(data.dev),
        test=list(data.test),
        calibration=calibration_examples(data.dev, data.train, 600, seed=0),
        teacher=CountingBackend(
            FunctionBackend(generate=teacher_reply, score=fake_student_scores, name="teacher")
        ),
        student=CountingBackend(
            FunctionBackend(generate=dspy_reply, score=fake_student_scores, name="student")
        ),
        budget=512,
        seed=0,
        run_dir=tmp_path / "run",
        kept_dir=tmp_path / "compiled",
    )


@pytest.mark.parametrize("name", list(benchmark_rows.ROWS))
def test_every_row_compiles_and_answers_the_test_slice(name, bench):
    compiled = benchmark_rows.ROWS[name](bench)
    answers = [compiled.predict(example.inputs) for example in bench.test]
    assert all(answer in (None, "refund", "bug", "other") for answer in answers)
    if name not in SCAFFOLD_WITHOUT_RULES:  # the fake student follows rules and reads tickets
        right = sum(a == ex.label for a, ex in zip(answers, bench.test, strict=True))
        assert right > len(answers) / 2
    assert compiled.prompt_tokens > 0
    assert compiled.answered_by in ("teacher", "student")
    if name == "pldc PLD":
        kept = pldc.load(bench.kept_dir / f"{bench.task.display_name}.json")
        assert len(kept.artifact.rules) > 0
    if name.startswith(("DSPy", "pldc")):
        assert bench.teacher.calls > 0  # the teacher writes or proposes the prompt
        assert bench.student.calls > 0  # and the student is scored on it


def test_few_shot_fits_as_many_demonstrations_as_the_budget_holds(bench):
    roomy = benchmark_rows.student_few_shot(bench)
    bench.budget = 60
    tight = benchmark_rows.student_few_shot(bench)
    assert int(re.search(r"k=(\d+)", roomy.notes[0])[1]) > int(
        re.search(r"k=(\d+)", tight.notes[0])[1]
    )


def test_few_shot_prompts_are_pldcs_scaffold_rendered_with_demonstrations(bench):
    compiled = benchmark_rows.student_few_shot(bench)
    compiled.predict(bench.test[0].inputs)
    system = bench.student.inner.calls[-1][1][0]["content"]  # what the student was sent

    body = system.split("Examples:\n\n", 1)[1].rsplit("\n\nAnswer with exactly", 1)[0]
    demos = body.split("\n\n")
    k = int(re.search(r"k=(\d+)", compiled.notes[0])[1])
    train = {render_demonstration(bench.schema, ex.inputs, ex.label) for ex in bench.train}
    assert len(demos) == k and set(demos) <= train
    assert system == render_system_prompt(bench.schema, [], demonstrations=demos)


def test_the_zero_shot_row_is_calibrated_as_a_compile_calibrates_its_zero_shot_baseline(bench):
    row = benchmark_rows.student_zero_shot(bench)
    benchmark_rows.pld_rules_only(bench)
    kept = pldc.load(bench.kept_dir / f"{bench.task.display_name}-rules_only.json").artifact
    assert kept.provenance.calibration_example_ids == [e.id for e in bench.calibration]
    assert row.calibration == kept.scores.baseline_calibration
