"""Every error pldc raises on purpose, under one root.

    PLDError
     ├── TaskFileError      a task file is missing, malformed, or declares no / several tasks
     ├── DataError          data cannot be loaded, labels are outside the label set, empty split
     ├── BudgetError        the token budget cannot hold even the prompt scaffold
     ├── SettingsError      a compile setting or search preset is unknown or out of range
     ├── ArtifactError      a compiled artifact is corrupt, tampered with, or of an unknown schema
     ├── ModelError         a model cannot be found, assembled, verified or called
     │    └── ContextLengthError  a prompt does not fit the model's context window
     ├── BusyError          another compile is using the run directory or the study storage
     └── MissingExtraError  an optional dependency is not installed (carries the pip command)

Each message names the file or field at fault and says how to fix it, so the CLI can print it
as one line instead of a traceback.

What pldc reports without stopping is a warning under one root too:

    PLDWarning
     └── DataWarning        the data is usable but suspect: duplicate inputs, rare labels,
                            shortened fields
"""

from __future__ import annotations


class PLDError(Exception):
    """Root of every error pldc raises on purpose."""


class TaskFileError(PLDError):
    pass


class DataError(PLDError):
    pass


class BudgetError(PLDError):
    pass


class SettingsError(PLDError):
    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class ArtifactError(PLDError):
    pass


class ModelError(PLDError):
    pass


class ContextLengthError(ModelError):
    """A prompt longer than the model's context window."""


class BusyError(PLDError):
    """Another process holds what a compile needs to itself (see `pldc.lock`)."""


class MissingExtraError(PLDError):
    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs the optional dependencies: pip install 'pldc[{extra}]'")


class PLDWarning(UserWarning):
    """Root of every warning pldc issues; `pldc compile` prints each as one `warning:` line."""


class DataWarning(PLDWarning):
    pass
