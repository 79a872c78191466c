"""pyproject.toml declares every third-party package pldc imports, with the bounds pldc needs."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, Requirement]:
    """The runtime requirements, core and optional extras (not `dev`), by normalised name."""
    lines = list(PYPROJECT["dependencies"])
    for extra, requirements in PYPROJECT["optional-dependencies"].items():
        if extra != "dev":
            lines += requirements
    return {normalised(r.name): r for r in map(Requirement, lines)}


def third_party_imports() -> dict[str, list[str]]:
    """Each top-level module pldc's code imports outside the standard library and pldc, with
    the files that import it."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "pldc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("pldc", "__future__"):
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_in_pldc_is_a_declared_dependency():
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for module, files in third_party_imports().items():
        names = {normalised(d) for d in distributions.get(module, [module])}
        if not names & declared().keys():
            undeclared[module] = sorted(set(files))
    assert undeclared == {}


def test_the_imports_found_include_the_ones_pldc_is_built_on():
    assert {"dspy", "optuna", "litellm", "llama_cpp", "sklearn", "scipy"} <= (
        third_party_imports().keys()
    )


@pytest.mark.parametrize(
    ("package", "oldest"),
    [
        # dspy.LM engines, dspy.lm15 requests and responses: the 3.4 API.
        ("dspy", "3.4.1"),
        # llama_model_params.use_extra_bufts and llama_context_params.kv_unified first appear
        # in llama-cpp-python 0.3.15's bindings (0.3.14's sdist has neither); an older ctypes
        # structure would accept the assignment silently and leave weight repacking on.
        ("llama-cpp-python", "0.3.15"),
        # dspy 3.4.1 requires litellm only below Python 3.15, and from 1.65.8 on.
        ("litellm", "1.65.8"),
        # stats.bootstrap(paired=True, method="percentile", random_state=Generator) is in SciPy
        # 1.7 (checked in 1.9.2's wheel); 1.9.2 is the first with Python 3.11 wheels.
        ("scipy", "1.9.2"),
    ],
)
def test_lower_bounds_are_the_oldest_release_with_the_apis_used(package, oldest):
    specifier = declared()[package].specifier
    assert [spec.version for spec in specifier if spec.operator == ">="] == [oldest]


def test_the_installed_packages_satisfy_the_declared_bounds():
    for name, requirement in declared().items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional extra that is not installed here
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
