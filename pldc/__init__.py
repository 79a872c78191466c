"""pldc: an optimizing prompt compiler (Prompt-Level Distillation under a token budget).

import pldc
clf = pldc.load("compiled/expense_claims.json")
clf.predict(claim="...")

Importing pldc loads only what running a compiled prompt needs; the compile pipeline
(`compile_task`, `CompileSettings`, `load_preset`, with Optuna and scikit-learn) is imported on
first use of one of those names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pldc.artifact import load_artifact
from pldc.backends import Backend, FunctionBackend, ModelIdentity, open_model
from pldc.errors import (
    ArtifactError,
    BudgetError,
    BusyError,
    ContextLengthError,
    DataError,
    DataWarning,
    MissingExtraError,
    ModelError,
    PLDError,
    PLDWarning,
    SettingsError,
    TaskFileError,
)
from pldc.records import CompiledPrompt
from pldc.runtime import CompiledClassifier, load
from pldc.task import Splits, Task
from pldc.taskfile import load_task_file

if TYPE_CHECKING:
    from pldc.compiler import compile_task
    from pldc.presets import load_preset
    from pldc.settings import CompileSettings
    from pldc.teleprompt import PLD, CompiledProgram

__version__ = "0.1.0"

_PIPELINE = {
    "CompileSettings": "pldc.settings",
    "compile_task": "pldc.compiler",
    "load_preset": "pldc.presets",
    "PLD": "pldc.teleprompt",
    "CompiledProgram": "pldc.teleprompt",
}
"""Public names whose modules import the whole pipeline, imported on first use (PEP 562)."""


def __getattr__(name: str) -> Any:
    if name not in _PIPELINE:
        raise AttributeError(f"module 'pldc' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PIPELINE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PIPELINE])


__all__ = [
    "PLD",
    "ArtifactError",
    "Backend",
    "BudgetError",
    "BusyError",
    "CompileSettings",
    "CompiledClassifier",
    "CompiledProgram",
    "CompiledPrompt",
    "ContextLengthError",
    "DataError",
    "DataWarning",
    "FunctionBackend",
    "MissingExtraError",
    "ModelError",
    "ModelIdentity",
    "PLDError",
    "PLDWarning",
    "SettingsError",
    "Splits",
    "Task",
    "TaskFileError",
    "compile_task",
    "load",
    "load_artifact",
    "load_preset",
    "load_task_file",
    "open_model",
]
