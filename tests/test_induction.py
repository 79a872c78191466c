"""Induction from several examples (`induction_peers`), through a whole compile on fake
backends: the teacher sees each example beside similar ones of its label, the rules count
them all as sources, and none of them is a verification or selection example."""

from __future__ import annotations

import optuna
import pytest
from conftest import fake_student_scores, fake_teacher_reply, toy_task

from pldc.backends import FunctionBackend
from pldc.compiler import compile_task
from pldc.embed import TfidfEmbedder
from pldc.errors import SettingsError
from pldc.settings import CompileSettings

SETTINGS = CompileSettings(
    token_budget=120,
    trials=3,
    teacher_examples=6,
    resolve_examples=8,
    verify_examples=8,
    demonstrations=2,
    induction_peers=2,
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    teacher = FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")
    artifact = compile_task(
        toy_task(),
        teacher=teacher,
        student=FunctionBackend(score=fake_student_scores, name="fake-student"),
        settings=SETTINGS,
        run_dir=tmp_path_factory.mktemp("induction") / "run",
        embedder=TfidfEmbedder(),
    )
    return artifact, teacher


def test_each_teacher_call_shows_its_example_and_two_peers_of_its_label(compiled):
    artifact, teacher = compiled
    traces = artifact.provenance.teacher_traces
    assert len(traces) == SETTINGS.teacher_examples
    extraction_prompts = [
        call[1][-1]["content"]
        for call in teacher.calls
        if "You will see 3 cases" in call[1][-1]["content"]
    ]
    assert len(extraction_prompts) == len(traces)
    for trace in traces:
        assert len(trace.peer_example_ids) == 2
        assert trace.example_id not in trace.peer_example_ids


def test_peers_are_sources_and_never_verification_or_selection_examples(compiled):
    artifact, _ = compiled
    seen = {
        i for t in artifact.provenance.teacher_traces for i in (t.example_id, *t.peer_example_ids)
    }
    assert len(seen) > SETTINGS.teacher_examples
    assert not seen & set(artifact.provenance.selection_example_ids)
    for rule in artifact.provenance.candidate_rules:
        if rule.kind == "rule" and rule.verification is not None:
            assert not set(rule.source_example_ids) & set(rule.verification.example_ids)
    by_example = {t.example_id: t for t in artifact.provenance.teacher_traces}
    for rule in artifact.provenance.candidate_rules:
        if rule.fate == "singleton":
            trace = by_example[rule.source_example_ids[0]]
            assert rule.source_example_ids == [trace.example_id, *trace.peer_example_ids]


def test_contrast_and_peers_together_are_refused():
    with pytest.raises(SettingsError) as error:
        CompileSettings(induction_peers=2, extraction_contrast=True)
    assert error.value.setting == "induction_peers"
