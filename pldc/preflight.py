"""What a compile checks before its teacher runs, so no fault costs model time.

`pldc compile` checks in this order:

1. before any model loads: the task file (`load_task_file`), the settings (`settings_with`),
   the data (`load_task_data`), then the storage URL, the artifact path and the run directory
   (`check_before_models`);
2. after the student loads and before the teacher loads, what needs the student's tokenizer
   (`fit_to_student`): the prompt scaffold and pinned rules within the token budget, and every
   example within the student's context at that budget. Fields `Task(truncate=...)` names are
   cut to fit; an example that still does not fit is refused, by id, split and field.

`compile_task` runs step 2 again when it opens its workspace, so the Python API checks the same.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from pldc.backends.base import Backend
from pldc.data import Example, TaskData
from pldc.datachecks import listed
from pldc.errors import BudgetError, DataError, DataWarning, ModelError, SettingsError
from pldc.lock import journal_file
from pldc.models import CATALOGUE
from pldc.render import render_messages, render_user_template
from pldc.rulepool import pinned_rules
from pldc.search import fit_to_budget
from pldc.task import Task

TRUNCATION_MARK = "…"
SPLITS = ("train", "dev", "test")


def check_before_models(
    *, output: Path, run_dir: Path, storage: str | None, models: Mapping[str, str] | None = None
) -> None:
    """Refuse an artifact path, run directory or storage URL the compile could not use, which
    it would otherwise find only after its models ran, and a model name (`models`: its flag ->
    the name) that names no model. Raises `SettingsError`, or `ModelError` for a model."""
    for flag, name in (models or {}).items():
        check_model_name(name, flag)
    if output.is_dir():
        raise SettingsError(f"-o {output}: is a folder; give the artifact's file path.", "output")
    _check_creatable(output.parent, f"-o {output}", "output")
    if run_dir.exists() and not run_dir.is_dir():
        raise SettingsError(
            f"--run-dir {run_dir}: is a file, not a folder; give a folder for the run's work.",
            "run_dir",
        )
    _check_creatable(run_dir, f"--run-dir {run_dir}", "run_dir")
    if storage is not None:
        check_storage_url(storage)


def check_model_name(name: str, flag: str) -> None:
    """Refuse a model name `open_model` would refuse, before another model loads: one neither
    in the catalogue, nor a `.gguf` file that exists, nor a `provider/model` string."""
    if name in CATALOGUE or ("/" in name and not name.endswith(".gguf")):
        return
    if name.endswith(".gguf"):
        if not Path(name).expanduser().is_file():
            raise ModelError(f"{flag} {name}: no such model file; give the path of a .gguf file.")
        return
    raise ModelError(
        f"{flag} {name}: unknown model; use a local model ({', '.join(sorted(CATALOGUE))}), a "
        "path to a .gguf file, or a dspy/litellm model string such as 'openai/gpt-4o-mini'."
    )


def check_served_model(role: str, name: str, api_base: str | None, tokenizer: str | None) -> None:
    """Refuse a served model without its own tokenizer, or a tokenizer with no server, before
    any model loads (`open_model` would refuse the first after loading the other model)."""
    if api_base is not None and (name in CATALOGUE or name.endswith(".gguf")):
        raise ModelError(
            f"--{role} {name} is a local model, which runs in-process, so --{role}-api-base "
            f"{api_base} would be ignored; to reach it on your server, give --{role} "
            f"openai/<its name on the server> and --{role}-tokenizer {name}."
        )
    if api_base is not None and tokenizer is None:
        raise ModelError(
            f"--{role} {name} at --{role}-api-base {api_base}: pldc counts a served model's "
            "prompt budget with its own tokenizer and never another's; give "
            f"--{role}-tokenizer: its .gguf file, a local model name, or its tokenizer.json."
        )
    if tokenizer is not None and api_base is None:
        raise ModelError(
            f"--{role}-tokenizer {tokenizer} is for a model on your own server; give "
            f"--{role}-api-base too, or drop --{role}-tokenizer."
        )


def _check_creatable(folder: Path, what: str, setting: str) -> None:
    """`folder` exists or can be made, and can be written to."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SettingsError(f"{what}: {existing} is a file, not a folder; fix the path.", setting)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SettingsError(f"{what}: cannot write in {existing}; choose another path.", setting)


def check_storage_url(storage: str) -> None:
    """Refuse an Optuna storage URL that is malformed, of an unknown database, without its
    driver, or a SQLite file in a missing folder. Raises `SettingsError` naming --storage."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    journal = journal_file(storage)
    if journal is not None:
        if not journal.name or journal.is_dir() or not journal.parent.is_dir():
            raise SettingsError(
                f"--storage {storage!r}: give a journal file in an existing folder, e.g. "
                "journal:study.log.",
                "storage",
            )
        return
    example = "such as sqlite:///study.db, journal:study.log or postgresql://user@host/db"
    try:
        url = make_url(storage)
        dialect = url.get_dialect()
    except NoSuchModuleError:  # an ArgumentError, so caught first
        raise SettingsError(
            f"--storage {storage!r}: unknown database {url.drivername!r}; give a URL {example}.",
            "storage",
        ) from None
    except ArgumentError:
        raise SettingsError(
            f"--storage {storage!r}: not a database URL; give one {example}.", "storage"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise SettingsError(
            f"--storage {storage!r}: the {url.drivername} driver is not installed ({exc}); "
            "install it, e.g. pip install 'pldc[postgres]' (psycopg) for postgresql://.",
            "storage",
        ) from None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise SettingsError(
                f"--storage {storage!r}: folder {folder} does not exist; create it or give "
                "another path.",
                "storage",
            )


@dataclass(frozen=True)
class _Overflow:
    example: Example
    split: str
    tokens: int
    field: str
    """The longest input field: the one to cut or fix."""


def fit_to_student(
    task: Task,
    data: TaskData,
    student: Backend,
    token_budget: int,
    source: str,
    *,
    user_template: str | None = None,
) -> TaskData:
    """`data` with every example fitting the student's context, checked with its tokenizer.

    An example fits when the student can score every label after its message, with a system
    prompt of `token_budget` tokens. Fields `task.truncate` names are cut (ending in "…") until
    it does; a `DataWarning` lists the examples cut. Raises `BudgetError` when the budget cannot
    hold the prompt scaffold and the pinned rules, `DataError` listing the examples that do not
    fit, with their split and field, and the fix. Students of unknown context are not checked.

    With `user_template` (an artifact's own), examples are rendered with it and the budget is
    the artifact's prompt length, so the task's scaffold is not rendered again: an artifact
    keeps the prompt it was compiled with, whatever pldc renders today.
    """
    schema = task.schema
    if user_template is None:
        pinned = pinned_rules(task.pinned_rules)
        fit_to_budget(schema, [], student.count_tokens, token_budget, pinned)
    if student.context_window is None:
        return data
    labels = sum(student.count_tokens(label) for label in schema.labels)
    room = student.context_window - token_budget - labels
    if room <= 0:
        raise BudgetError(
            f"--budget {token_budget} tokens leaves no room for an example in the student's "
            f"context of {student.context_window} tokens (the labels take {labels}); lower "
            "--budget."
        )
    user_template = user_template or render_user_template(schema)

    def needed(inputs: Mapping[str, str]) -> int:
        return student.prompt_tokens(render_messages("", user_template, inputs))

    parts: dict[str, list[Example]] = {}
    overflows: list[_Overflow] = []
    cut: list[str] = []
    for split in SPLITS:
        parts[split] = []
        for example in data.split(split):
            fitted = example
            if needed(example.inputs) > room:
                fitted = _truncated(example, task.truncate, lambda i: needed(i) <= room)
                if fitted is None:
                    overflows.append(_overflow(example, split, needed, student))
                    fitted = example
                else:
                    cut.append(example.id)
            parts[split].append(fitted)
    if overflows:
        raise _context_error(overflows, task, student.context_window, token_budget, source)
    if cut:
        _warn_truncated(cut, task.truncate, student.context_window, source)
    return TaskData(*(tuple(parts[split]) for split in SPLITS))


def _truncated(
    example: Example, fields: tuple[str, ...], fits: Callable[[Mapping[str, str]], bool]
) -> Example | None:
    """`example` with the longest of `fields` cut first, each to the longest beginning that
    fits; None if it does not fit even with all of them cut to the mark alone."""
    inputs = dict(example.inputs)
    for name in sorted(fields, key=lambda field: -len(inputs[field])):
        text = inputs[name]
        shortest, longest = 0, len(text)  # invariant: a cut at `shortest` fits, if any does
        if not fits({**inputs, name: TRUNCATION_MARK}):
            inputs[name] = TRUNCATION_MARK
            continue
        while shortest < longest:
            middle = (shortest + longest + 1) // 2
            if fits({**inputs, name: text[:middle] + TRUNCATION_MARK}):
                shortest = middle
            else:
                longest = middle - 1
        inputs[name] = text[:shortest] + TRUNCATION_MARK
        return replace(example, inputs=inputs)
    return None


def _overflow(
    example: Example, split: str, needed: Callable[[Mapping[str, str]], int], student: Backend
) -> _Overflow:
    lengths = {name: student.count_tokens(text) for name, text in example.inputs.items()}
    return _Overflow(example, split, needed(example.inputs), max(lengths, key=lengths.get))


def _context_error(
    overflows: list[_Overflow], task: Task, window: int, token_budget: int, source: str
) -> DataError:
    shown = "; ".join(
        f"{o.example.id!r} ({o.split}, field {o.field!r}, {o.tokens} tokens)" for o in overflows[:5]
    )
    more = f"; and {len(overflows) - 5} more" if len(overflows) > 5 else ""
    fields = sorted({o.field for o in overflows})
    if set(fields) <= set(task.truncate):
        fix = (
            f"Even with Task(truncate={list(task.truncate)!r}) cut to nothing they do not fit: "
            "shorten their other fields, drop these examples from the data, or lower --budget"
        )
    else:
        fix = (
            f"Set Task(truncate={fields!r}) to cut the field to fit, or drop these examples "
            "from the data"
        )
    return DataError(
        f"{source}: {len(overflows)} example(s) do not fit the student's context of {window} "
        f"tokens beside a {token_budget}-token system prompt (--budget) and the labels: "
        f"{shown}{more}. {fix}."
    )


def _warn_truncated(ids: list[str], fields: tuple[str, ...], window: int, source: str) -> None:
    warnings.warn(
        f"{source}: cut field(s) {', '.join(map(repr, fields))} of {len(ids)} example(s) to fit "
        f"the student's context of {window} tokens (Task(truncate=...)): {listed(ids)}.",
        DataWarning,
        stacklevel=3,
    )
