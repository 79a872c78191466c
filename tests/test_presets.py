"""Search presets: the bundled files load, the command line overrides them, bad keys are named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pldc.errors import SettingsError
from pldc.presets import load_preset, settings_with
from pldc.settings import CompileSettings

OPTIMIZERS = Path(__file__).resolve().parent.parent / "optimizers"


@pytest.mark.parametrize("preset", sorted(OPTIMIZERS.glob("*.toml")), ids=lambda p: p.name)
def test_every_bundled_preset_loads(preset):
    settings_with(load_preset(preset), source=str(preset))


def test_default_preset_states_the_built_in_defaults():
    stated = settings_with(load_preset(OPTIMIZERS / "default.toml"))
    assert stated == CompileSettings()
    assert set(load_preset(OPTIMIZERS / "default.toml")) == {
        f.name for f in dataclasses.fields(CompileSettings)
    }


def test_command_line_beats_preset_beats_defaults():
    preset = load_preset(OPTIMIZERS / "quick.toml")
    settings = settings_with({**preset, "trials": 2})
    assert settings.trials == 2  # the command line
    assert settings.teacher_examples == 12  # the preset
    assert settings.cluster_eps == CompileSettings().cluster_eps  # the default
    assert settings.dev_slices == (0.25, 0.5, 1.0)


def test_unknown_key_is_named_with_the_file(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text("trials = 3\ntrails = 4\n")
    with pytest.raises(SettingsError, match=r"mine\.toml: unknown key 'trails'; use one of: "):
        load_preset(preset)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trials = 'many'", r"bad\.toml: trials = 'many' is invalid"),
        ("trials = -2", r"bad\.toml: trials = -2 is too small; use 1 or more"),
        ("verify_min_gain = nan", r"bad\.toml: verify_min_gain = nan is not a finite number"),
        ("token_budget = true", r"bad\.toml: token_budget = True is a true/false value"),
        ("dev_slices = [0.5, 2.0]", r"bad\.toml: dev_slices = \[0.5, 2.0\]: give fractions"),
        ("pruner = 'hyperband'", r"bad\.toml: pruner = 'hyperband' is invalid"),
        ("trials = ", r"bad\.toml: not valid TOML"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path, text, message):
    preset = tmp_path / "bad.toml"
    preset.write_text(text + "\n")
    with pytest.raises(SettingsError, match=message):
        load_preset(preset)
