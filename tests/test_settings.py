"""One declaration per setting: CompileSettings declares each setting's default, minimum, help
and flag, and the stages' settings, the presets and the command line are derived from it."""

from __future__ import annotations

from dataclasses import asdict, fields

import pytest

from pldc import SettingsError, cli
from pldc.settings import (
    ClusterSettings,
    CompileSettings,
    ResolveSettings,
    SearchSettings,
    declared_settings,
)

STAGE_SETTINGS = [SearchSettings, ResolveSettings, ClusterSettings]
DECLARED = {declared.name: declared for declared in declared_settings()}


def test_each_stage_setting_defaults_to_the_compile_setting_it_comes_from():
    defaults = CompileSettings(token_budget=100)

    assert SearchSettings(token_budget=100) == defaults.search_settings()
    assert ResolveSettings(token_budget=100) == defaults.resolve_settings()
    assert ClusterSettings() == defaults.cluster_settings()


def test_stage_settings_follow_the_compile_settings_they_come_from():
    settings = CompileSettings(
        token_budget=300, trials=5, sampler="random", resolve_rounds=3, cluster_eps=0.4
    )

    assert settings.search_settings().trials == 5
    assert settings.search_settings().sampler == "random"
    assert settings.resolve_settings().max_rounds == 3
    assert settings.resolve_settings().token_budget == 300
    assert settings.cluster_settings().eps == 0.4


def test_stage_settings_keep_the_fields_their_stored_stages_are_keyed_by():
    # The stages' key functions (pldc.stages) hash these dicts into the keys of stored stages
    # and the study's name, so renaming a field would make every existing run directory start
    # over.
    settings = CompileSettings()

    assert asdict(settings.cluster_settings()) == {"eps": 0.25, "min_samples": 2}
    assert asdict(settings.resolve_settings()) == {
        "token_budget": 512,
        "max_rounds": 1,
        "examples": 16,
        "edits_per_round": 3,
        "successes_shown": 2,
        "seed": 0,
        "calibration": "batch",
    }
    assert asdict(settings.search_settings()) == {
        "token_budget": 512,
        "trials": 8,
        "seed": 0,
        "calibration": "batch",
        "pruner": "none",
        "dev_slices": (1.0,),
        "objective": "gold_log_prob",
        "workers": 1,
        "sampler": "tpe",
    }


@pytest.mark.parametrize("stage", STAGE_SETTINGS, ids=lambda s: s.__name__)
def test_every_stage_field_names_a_declared_setting_or_is_a_stage_constant(stage):
    sources = {f.name: f.metadata.get("setting") for f in fields(stage)}

    assert {source for source in sources.values() if source} <= set(DECLARED)
    assert [name for name, source in sources.items() if source is None] == (
        ["successes_shown"] if stage is ResolveSettings else []
    )


def test_every_setting_has_help_text():
    assert [name for name, declared in DECLARED.items() if not declared.help] == []


@pytest.mark.parametrize("name", [name for name, d in DECLARED.items() if d.minimum is not None])
def test_a_value_below_the_declared_minimum_is_refused_naming_the_setting(name):
    below = DECLARED[name].minimum - 1

    with pytest.raises(SettingsError, match=f"{name} = {below} is too small") as error:
        CompileSettings(**{name: below})

    assert error.value.setting == name


@pytest.mark.parametrize("name", [name for name, d in DECLARED.items() if d.flag is not None])
def test_each_declared_flag_sets_its_setting_on_the_command_line(name):
    declared = DECLARED[name]
    value = ["3"] if declared.type is not bool else []

    args = cli._parser().parse_args(["compile", "task.py", declared.flag, *value])

    assert getattr(args, name) == (True if declared.type is bool else 3)


def test_a_pareto_search_that_prunes_is_refused_before_any_model_runs():
    with pytest.raises(SettingsError, match="cannot prune"):
        CompileSettings(objective="pareto", pruner="median")
