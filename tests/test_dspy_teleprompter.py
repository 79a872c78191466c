"""`pldc.PLD`, a DSPy Teleprompter (issue 21, item 1): it compiles a dspy.Predict over a
classification signature from dspy.Examples into a module that decides as `pldc.load` does."""

from __future__ import annotations

from pathlib import Path

import dspy
import pytest
from conftest import TicketTriage, fake_student_scores, fake_teacher_reply, ticket_records

import pldc
from pldc.backends import FunctionBackend, open_model
from pldc.backends.dspy_engine import BackendEngine
from pldc.data import load_task_and_data
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"trials": 4, "teacher_examples": 6, "resolve_rounds": 0}


def examples(records) -> list[dspy.Example]:
    return [
        dspy.Example(ticket=r["ticket"], queue=r["queue"]).with_inputs("ticket") for r in records
    ]


def fake_lm() -> dspy.LM:
    student = FunctionBackend(generate=lambda m: "other", score=fake_student_scores)
    return dspy.LM("pldc/fake-student", engine=BackendEngine(student), cache=False)


@pytest.fixture
def teacher_backend() -> FunctionBackend:
    return FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")


def test_pld_is_a_dspy_teleprompter_that_returns_a_new_module_and_leaves_the_student_alone(
    tmp_path, teacher_backend
):
    records = ticket_records()
    student = dspy.Predict(TicketTriage)
    before = student.dump_state()
    optimizer = pldc.PLD(teacher=teacher_backend, token_budget=160, run_dir=tmp_path, **SMALL)

    with dspy.context(lm=fake_lm()):
        program = optimizer.compile(
            student, trainset=examples(records[:40]), valset=examples(records[40:])
        )

    assert isinstance(optimizer, dspy.teleprompt.Teleprompter)
    assert isinstance(program, dspy.Module) and program is not student
    assert student.dump_state() == before
    assert program.artifact.provenance.selection_example_ids[0].startswith("dev-")
    prediction = program(ticket="the app shows an error message and a crash")
    assert prediction.queue in ("refund", "bug", "other")
    assert set(prediction.probabilities) == {"refund", "bug", "other"}
    assert max(prediction.probabilities, key=prediction.probabilities.get) == prediction.queue


def test_the_saved_artifact_reopens_as_the_same_module_and_decides_as_pldc_load(
    tmp_path, teacher_backend
):
    records = ticket_records()
    optimizer = pldc.PLD(teacher=teacher_backend, token_budget=160, run_dir=tmp_path, **SMALL)
    with dspy.context(lm=fake_lm()):
        program = optimizer.compile(dspy.Predict(TicketTriage), trainset=examples(records))
    path = program.save(tmp_path / "triage.json")
    student = FunctionBackend(generate=lambda m: "other", score=fake_student_scores)

    loaded = pldc.load(path, student=student)
    reopened = loaded.as_dspy()

    for record in records:
        expected = loaded.predict(ticket=record["ticket"])
        assert reopened(ticket=record["ticket"]).queue == expected
        assert program(ticket=record["ticket"]).queue == expected
    assert reopened.messages(ticket="x") == loaded.messages(ticket="x")
    # DSPy's own idioms: copies share the artifact, state round-trips, load() reads a file.
    import copy

    assert copy.deepcopy(program).artifact == program.artifact
    state = program.dump_state()
    fresh = pldc.load(path, student=student).as_dspy()
    assert fresh.load_state(state).artifact == program.artifact
    assert fresh.load(path).artifact == loaded.artifact


def test_a_module_with_two_predictors_and_a_dspy_teacher_program_are_refused(tmp_path):
    class TwoSteps(dspy.Module):
        def __init__(self):
            super().__init__()
            self.first = dspy.Predict(TicketTriage)
            self.second = dspy.Predict(TicketTriage)

    optimizer = pldc.PLD(teacher=FunctionBackend(generate=fake_teacher_reply), run_dir=tmp_path)
    with pytest.raises(pldc.TaskFileError, match="holds 2 predictors"):
        optimizer.compile(TwoSteps(), trainset=examples(ticket_records()))
    with pytest.raises(pldc.SettingsError, match=r"give it as PLD\(teacher=...\)"):
        optimizer.compile(
            dspy.Predict(TicketTriage),
            trainset=examples(ticket_records()),
            teacher=dspy.Predict(TicketTriage),
        )


def test_unknown_settings_and_a_chain_of_thought_student_are_refused(tmp_path):
    with pytest.raises(pldc.SettingsError, match=r"unknown settings \['trails'\]"):
        pldc.PLD(trails=3)
    optimizer = pldc.PLD(teacher=FunctionBackend(generate=fake_teacher_reply), run_dir=tmp_path)
    with pytest.raises(pldc.TaskFileError, match=r"not dspy.ChainOfThought"):
        optimizer.compile(dspy.ChainOfThought(TicketTriage), trainset=examples(ticket_records()))


def test_no_student_lm_anywhere_is_a_clear_error(tmp_path):
    optimizer = pldc.PLD(teacher=FunctionBackend(generate=fake_teacher_reply), run_dir=tmp_path)
    with dspy.context(lm=None), pytest.raises(pldc.SettingsError, match="no student model"):
        optimizer.compile(dspy.Predict(TicketTriage), trainset=examples(ticket_records()))


@pytest.mark.real_model
def test_a_real_dspy_program_compiled_by_pld_on_the_demo_evaluates_as_pldc_load(tmp_path):
    """The real local teacher and student, a slice of the demo, dspy.Evaluate; every
    prediction equals pldc.load's on the saved artifact."""
    pytest.importorskip("llama_cpp")
    task, data = load_task_and_data(ROOT / "signatures" / "legal_intake.py")
    signature = task.signature
    field = task.schema.input_names[0]

    def as_examples(part):
        return [
            dspy.Example(**{field: e.inputs[field], "queue": e.label}).with_inputs(field)
            for e in part
        ]

    student = open_model(DEFAULT_STUDENT)
    lm = dspy.LM("pldc/qwen-0.5b", engine=BackendEngine(student), cache=False)
    optimizer = pldc.PLD(
        teacher=DEFAULT_TEACHER,
        token_budget=400,
        run_dir=tmp_path / "run",
        trials=2,
        teacher_examples=3,
        resolve_rounds=0,
        verify=False,
        selection_examples=16,
        calibration_examples=24,  # dev's 16 and 8 training inputs, for the suite's time
    )
    with dspy.context(lm=lm):
        program = optimizer.compile(
            dspy.Predict(signature),
            trainset=as_examples(data.train[:40]),
            valset=as_examples(data.dev[:16]),
        )
    devset = as_examples(data.test[:16])

    def exact(example, prediction, trace=None):
        return example.queue == prediction.queue

    result = dspy.Evaluate(devset=devset, metric=exact, num_threads=1)(program)
    path = program.save(tmp_path / "demo.json")
    loaded = pldc.load(path, student=student)

    by_program = [program(**example.inputs()).queue for example in devset]
    assert by_program == [loaded.predict(**example.inputs()) for example in devset]
    assert 0.0 <= float(result.score) <= 100.0
    correct = sum(p == e.queue for p, e in zip(by_program, devset, strict=True))
    assert float(result.score) == pytest.approx(100.0 * correct / len(devset))
