"""Pareto mode: Macro-F1 against prompt tokens, the front kept in the artifact, picked later."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import fake_student_scores, fake_teacher_reply
from test_compile import compile_toy

import pldc
import pldc.cli
from pldc import ArtifactError, SettingsError
from pldc.backends import FunctionBackend
from pldc.presets import load_preset, settings_with
from pldc.render import render_messages
from pldc.settings import CompileSettings

PARETO = CompileSettings(
    token_budget=160, trials=12, seed=0, teacher_examples=9, objective="pareto"
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """One Pareto compile for the module's tests, which only read it."""
    teacher = FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")
    student = FunctionBackend(score=fake_student_scores, name="fake-student")
    return compile_toy(tmp_path_factory.mktemp("pareto"), teacher, student, PARETO)


@pytest.fixture
def artifact(tmp_path, compiled):
    compiled.save(tmp_path / "pareto.json")
    return compiled


def test_front_is_shortest_first_and_no_point_dominates_another(artifact):
    front = artifact.pareto_front
    assert len(front) >= 2
    tokens = [p.tokens for p in front]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)
    # Along a front, more tokens must buy strictly more dev Macro-F1.
    f1 = [p.dev.macro_f1 for p in front]
    assert all(a < b for a, b in itertools.pairwise(f1))
    for trial in artifact.provenance.trials:
        assert not any(
            p.dev.macro_f1 < trial.dev_macro_f1 and p.tokens >= trial.tokens for p in front
        ), f"trial {trial.number} dominates a front point"


def test_the_artifact_holds_the_most_accurate_front_point_calibrated_and_scored_alike(artifact):
    best = max(artifact.pareto_front, key=lambda p: (p.dev.macro_f1, -p.tokens))
    assert artifact.gate.shipped == "searched"
    assert artifact.prompt.system == best.system_prompt
    assert artifact.calibration == best.calibration  # both fitted on the selection examples
    assert (artifact.scores.dev, artifact.scores.test) == (best.dev, best.test)


def test_every_front_point_has_its_scores_95_percent_intervals(artifact):
    for point in artifact.pareto_front:
        for scores in (point.dev, point.test):
            interval = scores.macro_f1_interval
            assert interval is not None and interval.estimate == scores.macro_f1
            assert interval.low <= interval.estimate <= interval.high


def test_picking_another_prompt_drops_what_was_measured_of_the_compiled_one_only(artifact):
    shortest = artifact.pareto_front[0]
    assert artifact.scores.selection and artifact.scores.test_gain_over_baseline
    assert artifact.gate is not None

    picked = artifact.at_budget(shortest.tokens)

    assert picked.scores.selection is None and picked.gate is None
    assert picked.scores.test_gain_over_baseline is picked.scores.test_gain_over_few_shot is None
    assert (picked.scores.baseline_test, picked.scores.few_shot_test) == (
        artifact.scores.baseline_test,
        artifact.scores.few_shot_test,
    )


def test_picking_the_compiled_prompt_keeps_the_artifact_but_its_budget(artifact):
    picked = artifact.at_budget(artifact.token_budget + 100)

    assert picked.token_budget == artifact.token_budget + 100
    assert picked.model_copy(update={"token_budget": artifact.token_budget}).with_hash() == (
        artifact.with_hash()
    )


def test_picking_a_budget_needs_no_search_and_reproduces_that_prompt(tmp_path, artifact):
    shortest, *_ = artifact.pareto_front
    picked = artifact.at_budget(shortest.tokens)
    assert picked.prompt.system == shortest.system_prompt
    assert picked.token_count == shortest.tokens <= picked.token_budget == shortest.tokens
    assert [r.id for r in picked.rules] == shortest.rule_ids
    assert picked.scores.test == shortest.test
    assert picked.calibration == shortest.calibration

    loaded = pldc.load(tmp_path / "pareto.json", budget=shortest.tokens)
    messages = loaded.messages(ticket="hello, a crash, thanks")
    assert messages == render_messages(
        shortest.system_prompt, artifact.prompt.user_template, {"ticket": "hello, a crash, thanks"}
    )
    with pytest.raises(ArtifactError, match=f"at least {shortest.tokens}"):
        artifact.at_budget(shortest.tokens - 1)


def test_show_prints_the_front_and_pick_writes_a_loadable_artifact(tmp_path, artifact, capsys):
    assert pldc.cli.main(["show", str(tmp_path / "pareto.json")]) == 0
    output = capsys.readouterr().out
    assert "Pareto front" in output
    for point in artifact.pareto_front:
        assert f"{point.dev.macro_f1:.3f}" in output and str(point.tokens) in output

    shortest = artifact.pareto_front[0]
    out = tmp_path / "small.json"
    assert (
        pldc.cli.main(
            [
                "pick",
                str(tmp_path / "pareto.json"),
                "--budget",
                str(shortest.tokens),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert pldc.load_artifact(out).prompt.system == shortest.system_prompt


def test_an_artifact_without_a_front_says_how_to_get_one(tmp_path, teacher, student):
    plain = compile_toy(
        tmp_path, teacher, student, CompileSettings(token_budget=160, trials=2, teacher_examples=9)
    )
    with pytest.raises(ArtifactError, match=r"optimizers/pareto\.toml"):
        plain.at_budget(500)


def test_pareto_with_a_pruner_is_refused_naming_the_setting(tmp_path, teacher, student):
    preset = Path(__file__).resolve().parent.parent / "optimizers" / "pareto.toml"
    with pytest.raises(SettingsError, match="pruner"):
        compile_toy(
            tmp_path, teacher, student, settings_with({**load_preset(preset), "pruner": "median"})
        )
    assert not teacher.calls  # refused before any model time is spent
