"""pldc: an optimizing prompt compiler (Prompt-Level Distillation under a token budget).

import pldc
clf = pldc.load("compiled/expense_claims.json")
clf.predict(claim="...")
"""

import os

# litellm (under dspy) otherwise fetches its model cost map from the network on import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from pldc.artifact import load_artifact
from pldc.backends import Backend, FunctionBackend, ModelIdentity, open_model
from pldc.compiler import CompileSettings, compile_task
from pldc.errors import (
    ArtifactError,
    BudgetError,
    ContextLengthError,
    DataError,
    MissingExtraError,
    ModelError,
    PLDError,
    SettingsError,
    TaskFileError,
)
from pldc.presets import load_preset
from pldc.records import CompiledPrompt
from pldc.runtime import CompiledClassifier, load
from pldc.task import Splits, Task
from pldc.taskfile import load_task_file

__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "Backend",
    "BudgetError",
    "CompileSettings",
    "CompiledClassifier",
    "CompiledPrompt",
    "ContextLengthError",
    "DataError",
    "FunctionBackend",
    "MissingExtraError",
    "ModelError",
    "ModelIdentity",
    "PLDError",
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
