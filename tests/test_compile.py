"""The compile pipeline end to end on fake backends: fast, and every stage real but the LM."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from conftest import toy_task

import pldc
from pldc.compiler import compile_task
from pldc.data import load_task_data
from pldc.embed import TfidfEmbedder
from pldc.evaluate import StudentEvaluator, score_predictions
from pldc.progress import NullProgress
from pldc.render import render_candidates
from pldc.settings import CompileSettings
from pldc.store import JsonlStore

SETTINGS = CompileSettings(token_budget=120, trials=8, seed=0, teacher_examples=9)


def compile_toy(tmp_path, teacher, student, settings=SETTINGS, run="run"):
    return compile_task(
        toy_task(),
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=tmp_path / run,
        embedder=TfidfEmbedder(),
    )


def test_compiled_prompt_beats_the_same_student_without_rules(tmp_path, teacher, student):
    artifact = compile_toy(tmp_path, teacher, student)
    assert artifact.rules
    assert artifact.scores.test.macro_f1 > artifact.scores.baseline_test.macro_f1 + 0.3


def test_loaded_artifact_reproduces_the_search_messages_byte_for_byte(tmp_path, teacher, student):
    artifact = compile_toy(tmp_path, teacher, student)
    seen_in_search = {
        messages[1]["content"]: messages
        for kind, messages in student.calls
        if kind == "score" and messages[0]["content"] == artifact.prompt.system
    }
    assert seen_in_search
    classifier = pldc.load(artifact.save(tmp_path / "a.json"), student=student)
    for user_text, messages in seen_in_search.items():
        ticket = user_text.removeprefix("Ticket: ")
        assert json.dumps(classifier.messages(ticket=ticket)) == json.dumps(messages)


def test_the_shipped_prompt_is_calibrated_on_dev_then_training_inputs(tmp_path, teacher, student):
    settings = dataclasses.replace(SETTINGS, calibration_examples=30)
    artifact = compile_toy(tmp_path, teacher, student, settings)
    data = load_task_data(toy_task(), "toy")
    ids = artifact.provenance.calibration_example_ids
    assert ids[: len(data.dev)] == [example.id for example in data.dev]
    assert len(ids) == 30 and set(ids[len(data.dev) :]) <= {e.id for e in data.train}
    by_id = {example.id: example for example in [*data.train, *data.dev]}
    evaluator = StudentEvaluator(student, toy_task().schema, artifact.prompt.user_template)
    pool = [by_id[i] for i in ids]
    _, shipped = evaluator.predictions("batch", artifact.prompt.system, pool)
    assert artifact.calibration == shipped
    zero_shot = render_candidates(toy_task().schema, [])
    assert (
        artifact.scores.baseline_calibration == evaluator.predictions("batch", zero_shot, pool)[1]
    )
    # Not the search's own fit on its selection examples: more inputs, other offsets.
    selection = [by_id[i] for i in artifact.provenance.selection_example_ids]
    assert set(ids) != set(artifact.provenance.selection_example_ids)
    assert evaluator.predictions("batch", artifact.prompt.system, selection)[1] != shipped


def test_without_calibration_no_calibration_input_is_scored(tmp_path, teacher, student):
    settings = dataclasses.replace(SETTINGS, calibration="none")
    artifact = compile_toy(tmp_path, teacher, student, settings)
    assert artifact.provenance.calibration_example_ids == []
    assert set(artifact.calibration.label_offsets.values()) == {0.0}
    data = load_task_data(toy_task(), "toy")
    by_id = {example.id: example for example in [*data.train, *data.dev, *data.test]}
    provenance = artifact.provenance
    evaluated = {*provenance.selection_example_ids, *(provenance.gate_example_ids or [])}
    evaluated |= {example.id for example in [*data.dev, *data.test]}
    texts = {f"Ticket: {by_id[i].inputs['ticket']}" for i in evaluated}
    shipped = {
        messages[1]["content"]
        for kind, messages in student.calls
        if kind == "score" and messages[0]["content"] == artifact.prompt.system
    }
    assert artifact.rules and shipped and shipped <= texts


def test_same_seed_data_and_models_give_an_identical_artifact(tmp_path, teacher, student):
    first = compile_toy(tmp_path, teacher, student, run="a")
    second = compile_toy(tmp_path, teacher, student, run="b")
    assert first.to_json() == second.to_json()


def test_no_trial_and_no_artifact_exceeds_the_token_budget(tmp_path, teacher, student):
    settings = CompileSettings(token_budget=45, trials=8, seed=0, teacher_examples=9)
    artifact = compile_toy(tmp_path, teacher, student, settings)
    assert artifact.token_count <= 45
    assert student.count_tokens(artifact.prompt.system) == artifact.token_count
    assert all(trial.tokens <= 45 for trial in artifact.provenance.trials)
    assert len(artifact.rules) < len(artifact.provenance.candidate_rules)


def test_impossible_budget_is_refused_before_the_teacher_runs(tmp_path, teacher, student):
    settings = CompileSettings(token_budget=5, trials=2, seed=0, teacher_examples=3)
    with pytest.raises(pldc.BudgetError, match="raise the budget to at least"):
        compile_toy(tmp_path, teacher, student, settings)
    assert teacher.calls == []


def test_rerun_reuses_every_finished_teacher_call(tmp_path, teacher, student):
    compile_toy(tmp_path, teacher, student)
    calls_first_run = len(teacher.calls)
    compile_toy(tmp_path, teacher, student)
    assert calls_first_run >= SETTINGS.teacher_examples  # extraction, then synthesis
    assert len(teacher.calls) == calls_first_run


def test_a_stopped_search_resumes_its_study_instead_of_starting_over(tmp_path, teacher, student):
    short = CompileSettings(token_budget=120, trials=3, seed=0, teacher_examples=9)
    compile_toy(tmp_path, teacher, student, short)
    artifact = compile_toy(tmp_path, teacher, student)
    assert [t.number for t in artifact.provenance.trials] == list(range(SETTINGS.trials))


def test_every_kept_rule_names_the_training_examples_it_came_from(tmp_path, teacher, student):
    artifact = compile_toy(tmp_path, teacher, student)
    train_ids = {f"t{i:03d}" for i in range(60)}
    for rule in artifact.rules:
        assert rule.source_example_ids
        assert set(rule.source_example_ids) <= train_ids
        assert rule.support == len(rule.source_example_ids)


def test_loaded_artifact_predicts_exactly_what_compile_scored(tmp_path, teacher, student):
    artifact = compile_toy(tmp_path, teacher, student)
    classifier = pldc.load(artifact.save(tmp_path / "a.json"), student=student)
    test = load_task_data(toy_task(), "toy").test
    predicted = [classifier.predict(**example.inputs) for example in test]
    gold = [ex.label for ex in test]
    rescored = score_predictions(gold, predicted, classifier.labels, interval=True)
    assert rescored == artifact.scores.test


def test_every_student_score_is_stored_so_a_rerun_pays_for_none(tmp_path, teacher, student):
    compile_toy(tmp_path, teacher, student)
    calls_before = len(student.calls)
    compile_toy(tmp_path, teacher, student)
    assert len(student.calls) == calls_before


def test_resolution_is_logged_in_the_artifact_with_its_causes(tmp_path, teacher, student):
    artifact = compile_toy(tmp_path, teacher, student)
    record = artifact.provenance.resolution
    assert record is not None and record.rounds and record.stopped_because
    train_ids = {f"t{i:03d}" for i in range(60)}
    assert set(record.example_ids) <= train_ids
    for round_ in record.rounds:
        for revision in round_.revisions:
            assert revision.example_id in record.example_ids


def test_resolution_can_be_turned_off(tmp_path, teacher, student):
    settings = CompileSettings(token_budget=120, trials=3, teacher_examples=9, resolve_rounds=0)
    artifact = compile_toy(tmp_path, teacher, student, settings)
    assert artifact.provenance.resolution is None


def test_rule_evidence_is_what_the_shipped_prompt_loses_without_each_candidate(
    tmp_path, teacher, student
):
    # Few training examples for resolution and verification, so the selection examples the
    # evidence's prompts are calibrated on (as the search's trials are) hold training examples
    # beside dev.
    settings = dataclasses.replace(
        SETTINGS,
        rule_evidence=True,
        resolve_examples=8,
        verify_examples=8,
        demonstrations=4,
        sampler="teacher_order",  # every rule, then the demonstrations
        gate=False,
    )
    artifact = compile_toy(tmp_path, teacher, student, settings)
    data = load_task_data(toy_task(), "toy")
    by_id = {example.id: example for example in [*data.train, *data.dev]}
    selection = [by_id[i] for i in artifact.provenance.selection_example_ids]
    evaluator = StudentEvaluator(student, toy_task().schema, artifact.prompt.user_template)
    assert len(selection) > len(data.dev)
    assert {c.kind for c in artifact.rules} == {"rule", "demonstration"}

    def dev_macro_f1(rules):
        prompt = render_candidates(toy_task().schema, rules)
        _, calibration = evaluator.predictions("batch", prompt, selection)
        return evaluator.evaluate(prompt, data.dev, calibration).macro_f1

    full = dev_macro_f1(artifact.rules)
    for position, candidate in enumerate(artifact.rules):
        without = dev_macro_f1(artifact.rules[:position] + artifact.rules[position + 1 :])
        assert candidate.leave_one_out_delta == round(full - without, 6)
    # The fake student reads rules, not demonstrations: those change nothing, rules do.
    deltas = {c.kind: [] for c in artifact.rules}
    for candidate in artifact.rules:
        deltas[candidate.kind].append(candidate.leave_one_out_delta)
    assert set(deltas["demonstration"]) == {0.0}
    # The search keeps a prompt for its gold log-probability on the selection examples, so one
    # of its rules may cost a dev decision (the evidence says so); some rule must help.
    assert any(delta > 0 for delta in deltas["rule"])


class CountingEmbedder(TfidfEmbedder):
    def __init__(self) -> None:
        self.batches = 0

    def embed(self, texts):
        self.batches += 1
        return super().embed(texts)


def test_a_rerun_repeats_no_stage_and_a_changed_setting_redoes_only_what_depends_on_it(
    tmp_path, teacher, student
):
    def run(settings, embedder):
        return compile_task(
            toy_task(),
            teacher=teacher,
            student=student,
            settings=settings,
            run_dir=tmp_path / "run",
            embedder=embedder,
        )

    def stored_stages():
        return len(JsonlStore(tmp_path / "run" / "stages.jsonl"))

    first_embedder = CountingEmbedder()
    first = run(SETTINGS, first_embedder)
    assert first_embedder.batches > 0 and stored_stages() == 3  # pool, resolution, verification
    calls = len(teacher.calls)

    again = CountingEmbedder()
    assert run(SETTINGS, again).content_hash == first.content_hash
    assert again.batches == 0 and len(teacher.calls) == calls and stored_stages() == 3

    # New clustering settings: the pool is redone from the stored embeddings, and no teacher
    # extraction call is repeated. Resolution is keyed by the pool's content, and verification
    # by the resolved pool's, so both are redone only if the new pool differs.
    changed = CountingEmbedder()
    wider = CompileSettings(**{**SETTINGS.__dict__, "cluster_eps": 0.9})
    rerun = run(wider, changed)
    assert rerun.provenance.cluster_eps == 0.9 and changed.batches == 0
    first_pool = [r.text for r in first.provenance.candidate_rules]
    same_pool = first_pool == [r.text for r in rerun.provenance.candidate_rules]
    assert stored_stages() == (4 if same_pool else 6)
    extraction = [
        json.dumps(messages)
        for kind, messages in teacher.calls
        if kind == "generate" and "Correct label:" in messages[-1]["content"]
    ]
    assert len(extraction) == len(set(extraction))


def test_contrastive_extraction_shows_each_case_a_differently_labelled_twin(
    tmp_path, teacher, student
):
    settings = dataclasses.replace(SETTINGS, extraction_contrast=True)
    artifact = compile_toy(tmp_path, teacher, student, settings)
    extraction = [
        m for kind, m in teacher.calls if kind == "generate" and "Similar case" in m[-1]["content"]
    ]
    assert len(extraction) == settings.teacher_examples
    assert artifact.rules


class NotingProgress(NullProgress):
    """Records the compile's notes and stages, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def note(self, text):
        self.events.append(f"note: {text}")

    def stage(self, description, total=None):
        self.events.append(f"stage: {description}")
        return super().stage(description, total)


def test_the_study_name_is_said_before_the_teacher_runs_and_is_the_one_searched(
    tmp_path, teacher, student
):
    """Issue 21, item 6: printed at the start of the compile, recorded in the artifact."""
    progress = NotingProgress()
    artifact = compile_task(
        toy_task(),
        teacher=teacher,
        student=student,
        settings=SETTINGS,
        run_dir=tmp_path / "run",
        embedder=TfidfEmbedder(),
        progress=progress,
    )

    name = artifact.provenance.study_name
    storage = f"sqlite:///{(tmp_path / 'run' / 'study.db').resolve()}"
    assert progress.events[0] == f"note: search study {name} in {storage}"
    assert f"stage: search, study {name}" in progress.events


def test_a_gate_that_cannot_hold_out_its_examples_says_so(tmp_path, teacher, student):
    progress = NotingProgress()
    compile_task(
        toy_task(),
        teacher=teacher,
        student=student,
        settings=dataclasses.replace(SETTINGS, gate_examples=1000),
        run_dir=tmp_path / "run",
        embedder=TfidfEmbedder(),
        progress=progress,
    )

    notes = [e for e in progress.events if e.startswith("note: the final gate holds out")]
    assert len(notes) == 1 and "of the 1000 gate_examples asked" in notes[0]


def test_a_study_of_that_name_over_other_candidates_is_left_alone(tmp_path, teacher, student):
    """Same task, models and settings, other candidate rules (a teacher that now answers
    otherwise): the search gets a study of its own, the old one keeps its trials."""
    import optuna

    first = compile_toy(tmp_path, teacher, student)
    storage = f"sqlite:///{tmp_path / 'run/study.db'}"
    old = optuna.load_study(study_name=first.provenance.study_name, storage=storage)
    old.set_user_attr("search_key", "0" * 24)
    trials = len(old.trials)
    (tmp_path / "run" / "stages.jsonl").unlink()  # the stages run again, the study is found

    again = compile_toy(tmp_path, teacher, student)

    assert again.provenance.study_name.startswith(first.provenance.study_name + "-")
    assert (
        len(optuna.load_study(study_name=first.provenance.study_name, storage=storage).trials)
        == trials
    )
    assert [r.text for r in again.rules] == [r.text for r in first.rules]


def test_the_study_is_named_by_task_and_carries_what_it_searches(tmp_path, teacher, student):
    """Issue 21, item 6: a study found in storage (optuna-dashboard) says what it is."""
    import optuna

    artifact = compile_toy(tmp_path, teacher, student)

    name = artifact.provenance.study_name
    assert re.fullmatch(rf"{toy_task().display_name}-[0-9a-f]{{12}}", name)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'run/study.db'}")
    assert study.metric_names == ["gold_log_prob"]
    assert study.user_attrs["task"] == toy_task().display_name
    assert study.user_attrs["token_budget"] == SETTINGS.token_budget
    assert study.user_attrs["teacher"] == teacher.identity.name
    assert study.user_attrs["student"] == student.identity.name
    assert study.user_attrs["pldc_version"] == pldc.__version__
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == SETTINGS.trials
