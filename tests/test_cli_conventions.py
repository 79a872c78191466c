"""Command-line conventions (issue 22, item 5): `pldc --version`, `python -m pldc`, a help line
for every command, and the LICENSE and py.typed a package is expected to ship."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pldc
import pldc.cli

ROOT = Path(__file__).resolve().parent.parent


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        pldc.cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"pldc {pldc.__version__}"


def test_python_dash_m_pldc_is_the_pldc_command():
    done = subprocess.run(
        [sys.executable, "-m", "pldc", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout.strip() == f"pldc {pldc.__version__}"


def test_help_says_what_each_command_is_for(capsys):
    with pytest.raises(SystemExit):
        pldc.cli.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for command in ("compile", "eval", "show", "pick", "doctor"):
        assert f" {command} " in help_text
    assert "compile a task file into a prompt artifact" in help_text


def test_the_license_file_matches_pyproject_and_the_package_is_typed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == {"text": "Apache-2.0"}
    assert (
        "Apache License\n                           Version 2.0" in (ROOT / "LICENSE").read_text()
    )
    assert (ROOT / "pldc" / "py.typed").exists()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["pldc"]
