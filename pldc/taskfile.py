"""Find the one `pldc.Task` a task file declares."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path

from pldc._litellm import keep_litellm_offline
from pldc.errors import PLDError, TaskFileError
from pldc.task import Task


def load_task_file(path: str | Path) -> Task:
    path = Path(path)
    if not path.is_file():
        raise TaskFileError(f"{path}: no such task file; give the path to a .py task file.")
    if path.suffix != ".py":
        raise TaskFileError(f"{path}: a task file is Python source; give a .py file.")
    module_name = "pldc_task_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    # pydantic (inside dspy.Signature) resolves string annotations through sys.modules.
    sys.modules[module_name] = module
    # Task files may import helpers that sit beside them (e.g. a data generator).
    sys.path.insert(0, str(path.parent.resolve()))
    keep_litellm_offline()  # task files import dspy
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise TaskFileError(
            f"{path}:{exc.lineno}: syntax error: {exc.msg}; fix the task file."
        ) from None
    except PLDError as exc:
        exc.args = (f"{path}: {exc}",)
        raise exc from None
    except Exception as exc:
        raise TaskFileError(
            f"{path}{_line_in(path, exc)}: running the task file raised "
            f"{type(exc).__name__}: {exc}; fix the file."
        ) from None
    finally:
        sys.path.remove(str(path.parent.resolve()))

    tasks = []
    for value in vars(module).values():
        if isinstance(value, Task) and all(value is not t for t in tasks):
            tasks.append(value)
    if not tasks:
        raise TaskFileError(
            f"{path}: declares no pldc.Task; add `task = pldc.Task(signature=MySignature, "
            "data=...)` at module level."
        )
    if len(tasks) > 1:
        names = ", ".join(t.display_name for t in tasks)
        raise TaskFileError(
            f"{path}: declares {len(tasks)} pldc.Tasks ({names}); keep one per file."
        )
    task = tasks[0]
    try:
        task.check_field_names()  # validates the signature now, with the file named
    except TaskFileError as exc:
        raise TaskFileError(f"{path}: {exc}") from None
    return task


def _line_in(path: Path, exc: BaseException) -> str:
    """ ":<line>" of the task file's last line the exception passed through, or "" if none."""
    line = ""
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if Path(frame.f_code.co_filename).resolve() == path.resolve():
            line = f":{lineno}"
    return line
