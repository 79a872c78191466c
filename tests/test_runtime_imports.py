"""The deployment path stays light: `import pldc.runtime` loads no compile stage, Optuna or
scikit-learn, and importing pldc changes no environment variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pldc
from pldc._litellm import keep_litellm_offline

ROOT = Path(__file__).resolve().parent.parent
PIPELINE_MODULES = [
    "pldc.compiler",
    "pldc.stages",
    "pldc.settings",
    "pldc.presets",
    "pldc.extract",
    "pldc.rulepool",
    "pldc.resolve",
    "pldc.search",
    "pldc.evaluate",
    "pldc.evidence",
    "pldc.verify",
    "pldc.stats",
    "pldc.gate",
    "pldc.demonstrations",
    "pldc.embed",
    "pldc.data",
    "pldc.store",
    "pldc.cli",
    "pldc.report",
    "pldc.backends._llama",
    "pldc.backends._remote",
    "pldc.backends.dspy_engine",
]
HEAVY_PACKAGES = ["optuna", "sklearn", "scipy", "dspy", "litellm", "llama_cpp", "sqlalchemy"]
OFFLINE = "LITELLM_LOCAL_MODEL_COST_MAP"


def run_python(code: str) -> dict:
    """Run `code` in a fresh interpreter without the litellm setting; it prints one JSON value."""
    env = {k: v for k, v in os.environ.items() if k != OFFLINE} | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_runtime_loads_no_stage_optuna_or_scikit_learn():
    loaded = run_python(
        """
        import json, sys
        import pldc.runtime
        print(json.dumps(sorted(sys.modules)))
        """
    )

    assert [m for m in PIPELINE_MODULES if m in loaded] == []
    assert [p for p in HEAVY_PACKAGES if p in loaded] == []


def test_importing_pldc_changes_no_environment_variable():
    changed = run_python(
        """
        import json, os
        before = dict(os.environ)
        import pldc, pldc.runtime
        print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))
        """
    )

    assert changed == []


def test_the_pipeline_names_load_on_first_use():
    from pldc.compiler import compile_task
    from pldc.presets import load_preset
    from pldc.settings import CompileSettings

    assert pldc.CompileSettings is CompileSettings
    assert pldc.compile_task is compile_task
    assert pldc.load_preset is load_preset
    assert {"CompileSettings", "compile_task", "load_preset"} <= set(dir(pldc))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'compile'"):
        pldc.compile  # noqa: B018


def test_loading_a_task_file_keeps_litellm_offline(tmp_path):
    task_file = tmp_path / "claims.py"
    task_file.write_text(
        textwrap.dedent(
            '''
            from typing import Literal
            import dspy
            import pldc

            class ClaimReview(dspy.Signature):
                """Decide whether to approve the claim."""
                claim: str = dspy.InputField()
                decision: Literal["approve", "reject"] = dspy.OutputField()

            task = pldc.Task(ClaimReview, data=[{"claim": "taxi", "decision": "approve"}])
            '''
        )
    )

    setting = run_python(
        f"""
        import json, os, pldc
        pldc.load_task_file({str(task_file)!r})
        print(json.dumps(os.environ.get({OFFLINE!r})))
        """
    )

    assert setting == "True"


def test_keeping_litellm_offline_keeps_a_value_the_user_set(monkeypatch):
    monkeypatch.setenv(OFFLINE, "False")

    keep_litellm_offline()

    assert os.environ[OFFLINE] == "False"


@pytest.mark.parametrize(
    "opening",
    [
        "from pldc.backends._remote import RemoteBackend; RemoteBackend('openai/m', api_key='k')",
        "from pldc.backends import FunctionBackend; from pldc.backends.dspy_engine import "
        "BackendEngine; BackendEngine(FunctionBackend())",
        "from pldc.embed import RemoteEmbedder; RemoteEmbedder('openai/text-embedding-3-small')",
    ],
    ids=["remote backend", "dspy engine", "remote embedder"],
)
def test_every_way_into_litellm_keeps_it_offline(opening):
    setting = run_python(
        f"""
        import json, os
        {opening}
        print(json.dumps(os.environ.get({OFFLINE!r})))
        """
    )

    assert setting == "True"
