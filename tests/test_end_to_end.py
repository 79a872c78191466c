"""`pldc compile` with the real local teacher and student on a small slice of the demo task.

The student is wrapped so every message it scores during the compile is recorded; the loaded
artifact must reproduce those messages byte for byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import pldc
import pldc.cli
from pldc.backends import Backend, open_model
from pldc.models import DEFAULT_STUDENT

pytestmark = pytest.mark.real_model

SIGNATURES = Path(__file__).resolve().parent.parent / "signatures"

TASK_FILE = f"""
import sys
sys.path.insert(0, {str(SIGNATURES)!r})
from expense_claims import ExpenseClaimReview
from expense_claims_data import generate_claims
import pldc

task = pldc.Task(
    signature=ExpenseClaimReview,
    data=generate_claims(n=60, seed=7),
    splits=pldc.Splits(train=0.5, dev=0.2, test=0.3, seed=0),
    name="expense_claims_slice",
)
"""

# Fewer verification examples, resolution examples and edits, selection and calibration
# examples than the defaults, for the suite's time: the two compiles below are most of the
# end-to-end test's cost.
PRESET = """
verify_examples = 12
resolve_examples = 8
resolve_edits = 1
selection_examples = 12
calibration_examples = 20
"""


class RecordingBackend(Backend):
    def __init__(self, inner: Backend, log: list) -> None:
        self.inner, self.log, self.identity = inner, log, inner.identity

    def generate(self, messages, *, max_tokens=256):
        return self.inner.generate(messages, max_tokens=max_tokens)

    def score(self, messages, labels):
        self.log.append(json.dumps(list(messages)))
        return self.inner.score(messages, labels)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def compile_slice(tmp_path: Path, monkeypatch, run: str, log: list) -> Path:
    task_file = tmp_path / "slice_task.py"
    task_file.write_text(TASK_FILE)
    preset = tmp_path / "slice_preset.toml"
    preset.write_text(PRESET)

    def recording_open_model(name, **kwargs):
        backend = open_model(name, **kwargs)
        return RecordingBackend(backend, log) if name == DEFAULT_STUDENT else backend

    monkeypatch.setattr(pldc.cli, "open_model", recording_open_model)
    output = tmp_path / f"{run}.json"
    argv = [
        "compile",
        str(task_file),
        "--optimizer",
        str(preset),
        "--teacher-examples",
        "4",
        "--trials",
        "3",
        "--budget",
        "300",
        "--seed",
        "1",
        "--resolve-rounds",
        "1",
        "--rule-evidence",
        "-o",
        str(output),
        "--run-dir",
        str(tmp_path / run),
    ]
    assert pldc.cli.main(argv) == 0
    return output


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("e2e")
    monkeypatch = pytest.MonkeyPatch()
    first_log, second_log = [], []
    try:
        first = compile_slice(tmp_path, monkeypatch, "first", first_log)
        second = compile_slice(tmp_path, monkeypatch, "second", second_log)
    finally:
        monkeypatch.undo()
    return tmp_path, first, second, first_log


def test_compile_writes_an_artifact_that_loads_and_verifies(compiled):
    _, first, _, _ = compiled
    artifact = pldc.load_artifact(first)
    assert artifact.teacher.name == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert artifact.student.name == DEFAULT_STUDENT
    assert artifact.provenance.teacher_examples == 4 and len(artifact.provenance.trials) == 3
    assert all(rule.source_example_ids for rule in artifact.provenance.candidate_rules)
    assert all(rule.leave_one_out_delta is not None for rule in artifact.rules)
    resolution = artifact.provenance.resolution
    assert resolution is not None and len(resolution.rounds) <= 1 and resolution.stopped_because
    for round_ in resolution.rounds:
        assert round_.revisions and all(r.reply for r in round_.revisions)


def test_the_prompt_fits_the_budget_under_the_students_tokenizer(compiled):
    _, first, _, _ = compiled
    artifact = pldc.load_artifact(first)
    student = open_model(DEFAULT_STUDENT)
    assert artifact.token_count == student.count_tokens(artifact.prompt.system) <= 300
    assert all(trial.tokens <= 300 for trial in artifact.provenance.trials)


def test_loaded_artifact_reproduces_the_students_search_messages_byte_for_byte(compiled):
    _, first, _, log = compiled
    classifier = pldc.load(first)
    system = classifier.artifact.prompt.system
    seen = [json.loads(m) for m in log if json.loads(m)[0]["content"] == system]
    assert seen
    for messages in seen:
        claim = messages[1]["content"].removeprefix("Claim: ")
        assert json.dumps(classifier.messages(claim=claim)) == json.dumps(messages)


def test_loaded_artifact_predicts_with_the_recorded_student(compiled):
    _, first, _, _ = compiled
    classifier = pldc.load(first)
    label = classifier.predict(claim="Team dinner with wine for four, $180, receipt attached.")
    assert label in classifier.labels


def test_same_seed_data_and_models_give_the_same_artifact(compiled):
    _, first, second, _ = compiled
    assert pldc.load_artifact(first).content_hash == pldc.load_artifact(second).content_hash


def test_eval_and_show_work_on_the_compiled_artifact(compiled, capsys):
    tmp_path, first, _, _ = compiled
    assert pldc.cli.main(["eval", str(first), str(tmp_path / "slice_task.py")]) == 0
    assert pldc.cli.main(["show", str(first)]) == 0
    output = capsys.readouterr().out
    artifact = pldc.load_artifact(first)
    # Table headers wrap at the test's 80 columns, so look for content, not headers.
    assert "Macro-F1" in output and "resolution stopped:" in output
    # eval prints the Macro-F1 with its 95% interval (the title may wrap).
    assert re.search(
        r"test split: Macro-F1 \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", " ".join(output.split())
    )
    # Leave-one-out evidence is shown for shipped rules; the gate may ship a baseline instead.
    assert ("without" in output) == any(r.leave_one_out_delta is not None for r in artifact.rules)
    for rule in artifact.rules:
        assert all(example_id in output for example_id in rule.source_example_ids)
