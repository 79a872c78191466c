"""A table of malformed inputs (issue 20): task files, data files, budgets and settings, storage
URLs and artifacts. Each is refused with its exact error class and a phrase that names the fix;
through the command line each ends in exit code 2 and one `error:` line, never a traceback; and
nothing is written, in `compiled/` or anywhere else.

No model may load, except a fake student (it counts words and marks as tokens) where a case
needs the student's tokenizer; the teacher never loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pldc import (
    ArtifactError,
    BudgetError,
    DataError,
    ModelError,
    PLDError,
    SettingsError,
    TaskFileError,
    cli,
)
from pldc.backends import FunctionBackend
from pldc.models import DEFAULT_STUDENT

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = json.loads((ROOT / "compiled" / "legal_intake.json").read_text())


def records(count: int = 20, **changes: dict) -> list[dict]:
    """`count` valid claims; `changes` maps an id to the fields that replace that record's."""
    rows = [
        {"id": f"c{i:02d}", "claim": f"taxi ride {i}", "decision": ("approve", "reject")[i % 2]}
        for i in range(count)
    ]
    return [{**row, **changes.get(row["id"], {})} for row in rows]


def task_source(
    *,
    data: str | None = repr(records()),
    labels: str = '"approve", "reject"',
    output: str = "Literal[{labels}]",
    doc: str = '"""Decide whether to approve the claim."""',
    fields: str = "claim: str = dspy.InputField()",
    task_args: str = "",
    tail: str = "",
) -> str:
    """A task file; every argument left out is valid."""
    data_arg = "" if data is None else f", data={data}"
    return f"""
from typing import Literal

import dspy
import pldc


class ClaimReview(dspy.Signature):
    {doc}

    {fields}
    decision: {output.format(labels=labels)} = dspy.OutputField()


task = pldc.Task(ClaimReview{data_arg}{task_args})
{tail}"""


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def csv_text(rows: list[dict], header: str = "id,claim,decision") -> str:
    return header + "\n" + "".join(f"{r['id']},{r['claim']},{r['decision']}\n" for r in rows)


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    error: type[PLDError]
    phrase: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    student_context: int | None = 0
    """0: no model may load. Otherwise the student loads, a fake that counts words and marks
    as tokens, with this context window (None: unknown, so inputs are not checked)."""


def compile_case(
    id_: str,
    error: type[PLDError],
    phrase: str,
    source: str | None = None,
    *flags: str,
    files: dict[str, str | bytes] | None = None,
    student_context: int | None = 0,
) -> Case:
    """`pldc compile task.py FLAGS`, task.py holding `source` (a valid task by default)."""
    written = {"task.py": task_source() if source is None else source, **(files or {})}
    return Case(id_, ("compile", "task.py", *flags), error, phrase, written, student_context)


def data_case(
    id_: str, phrase: str, name: str, content: str | bytes | None, task_args: str = ""
) -> Case:
    """A compile of a valid task whose data is the file `name` holding `content` (None: no
    such file)."""
    source = task_source(data=repr(name), task_args=task_args)
    files = {} if content is None else {name: content}
    return compile_case(id_, DataError, phrase, source, files=files)


def records_case(id_: str, phrase: str, rows: list[dict], task_args: str = "") -> Case:
    """A compile of a valid task whose data is `rows`, in a JSON Lines file."""
    return data_case(id_, phrase, "claims.jsonl", jsonl(rows), task_args)


def artifact_case(id_: str, phrase: str, content: str | bytes | None, *command: str) -> Case:
    """`pldc show bad.json` (or `command` with it), bad.json holding `content`."""
    files = {} if content is None else {"bad.json": content}
    argv = tuple(part.replace("ARTIFACT", "bad.json") for part in command or ("show", "ARTIFACT"))
    return Case(id_, argv, ArtifactError, phrase, {"task.py": task_source(), **files})


def artifact_with(**changes) -> str:
    return json.dumps({**ARTIFACT, **changes})


TASK_FILES = [
    Case("task file missing", ("compile", "nowhere.py"), TaskFileError, "no such task file"),
    Case(
        "task file not python",
        ("compile", "task.txt"),
        TaskFileError,
        "give a .py file",
        {"task.txt": task_source()},
    ),
    compile_case(
        "syntax error", TaskFileError, "task.py:3: syntax error", "import pldc\n\nx = (\n"
    ),
    compile_case(
        "task file raises",
        TaskFileError,
        "task.py:1: running the task file raised",
        "raise RuntimeError('the data folder is missing')\n",
    ),
    compile_case("no task", TaskFileError, "declares no pldc.Task", "import pldc\n"),
    compile_case(
        "two tasks",
        TaskFileError,
        "keep one per file",
        task_source(tail="other = pldc.Task(ClaimReview, data=[], name='other')\n"),
    ),
    compile_case(
        "task without data", TaskFileError, "has no data: give data=", task_source(data=None)
    ),
    compile_case(
        "output not a Literal",
        TaskFileError,
        "type it Literal[...] of the labels",
        task_source(output="str"),
    ),
    compile_case(
        "labels not strings", TaskFileError, "labels must be strings", task_source(labels="1, 2")
    ),
    compile_case("one label", TaskFileError, "at least two distinct", task_source(labels='"yes"')),
    compile_case(
        "labels differing in case",
        TaskFileError,
        "'Spam' and 'spam' differ only",
        task_source(labels='"Spam", "spam"'),
    ),
    compile_case(
        "labels differing in whitespace",
        TaskFileError,
        "'no spam' and 'no  spam' differ only",
        task_source(labels='"no spam", "no  spam"'),
    ),
    compile_case(
        "labels differing in normalization",
        TaskFileError,
        "Unicode normalization",
        task_source(labels='"caf\\u00e9", "cafe\\u0301"'),
    ),
    compile_case(
        "empty label",
        TaskFileError,
        "label '' is empty",
        task_source(labels='"", "routine", "spam"'),
    ),
    compile_case(
        "label holding the list separator",
        TaskFileError,
        "holds a comma",
        task_source(labels='"urgent, escalate", "routine"'),
    ),
    compile_case(
        "label with a trailing space",
        TaskFileError,
        "leading or trailing whitespace",
        task_source(labels='"approve ", "reject"'),
    ),
    compile_case(
        "no docstring", TaskFileError, "the docstring is the task instruction", task_source(doc="")
    ),
    compile_case(
        "two output fields",
        TaskFileError,
        "2 output fields",
        task_source(fields="claim: str = dspy.InputField()\n    why: str = dspy.OutputField()"),
    ),
    compile_case(
        "splits not summing to one",
        TaskFileError,
        "they must sum to 1",
        task_source(task_args=", splits=pldc.Splits(0.5, 0.5, 0.5)"),
    ),
    compile_case(
        "pinned rules as one string",
        TaskFileError,
        "a list of non-empty rule texts",
        task_source(task_args=", pinned_rules='Escalate big claims.'"),
    ),
    compile_case(
        "columns keyed by no field",
        TaskFileError,
        "maps 'text', which is not a field",
        task_source(task_args=", columns={'text': 'claim'}"),
    ),
    compile_case(
        "splits given as a tuple",
        TaskFileError,
        "give a pldc.Splits",
        task_source(task_args=", splits=(0.6, 0.2, 0.2)"),
    ),
    compile_case(
        "split fraction given as text",
        TaskFileError,
        "give each fraction as a number",
        task_source(task_args=", splits=pldc.Splits(train='0.6', dev=0.2, test=0.2)"),
    ),
    compile_case(
        "columns given as a list",
        TaskFileError,
        "give a dict of signature field -> data column",
        task_source(task_args=", columns=['claim']"),
    ),
    compile_case(
        "task file naming an unknown student",
        ModelError,
        "task.py: Task(student=...) tiny-model: unknown model",
        task_source(task_args=", student='tiny-model'"),
    ),
    compile_case(
        "truncate naming no input field",
        TaskFileError,
        "not an input field",
        task_source(task_args=", truncate=['decision']"),
    ),
]

BOOLEAN_LABEL = records(c03={"decision": True})
NULL_LABEL = records(c04={"decision": None})
EMPTY_INPUT = records(c02={"claim": ""}, c07={"claim": "  \t"})
RATINGS = [{**row, "decision": "12"[i % 2]} for i, row in enumerate(records())]
RATINGS[1]["decision"] = 1.0

DATA = [
    data_case(
        "data file missing", "claims.jsonl does not exist; fix the path", "claims.jsonl", None
    ),
    data_case("data file of another format", "use .json, .jsonl or .csv", "claims.txt", "taxi"),
    data_case(
        "broken JSON Lines line",
        "line 3 is not valid JSON",
        "claims.jsonl",
        jsonl(records()[:2]) + '{"id": "c02" "claim": "x"}\n',
    ),
    data_case("JSON Lines saved as .json", "name it .jsonl", "claims.json", jsonl(records())),
    data_case(
        "JSON list of strings",
        "item 0 of the list is a JSON string",
        "claims.json",
        json.dumps(["taxi", "spa"]),
    ),
    data_case(
        "CSV row wider than its header",
        "line 3 has 4 values but the header has 3",
        "claims.csv",
        "id,claim,decision\nc00,taxi,approve\nc01,taxi, spa,reject\n",
    ),
    data_case(
        "CSV header naming a column twice",
        "names column 'claim' twice",
        "claims.csv",
        "id,claim,claim,decision\n",
    ),
    data_case(
        "data file not UTF-8",
        "line 2 is not UTF-8",
        "claims.csv",
        "id,claim,decision\nc00,caf\u00e9,approve\n".encode("latin-1"),
    ),
    data_case(
        "column name with a space",
        "column ' claim' differs from it only",
        "claims.csv",
        csv_text(records(), header="id, claim,decision"),
    ),
    records_case("JSON true as a label", "true (a boolean, not a label)", BOOLEAN_LABEL),
    records_case("JSON null as a label", "null (a missing label)", NULL_LABEL),
    compile_case(
        "JSON 1.0 where the Literal has '1'",
        DataError,
        "number 1.0 (where the Literal has '1')",
        task_source(labels='"1", "2"', data="'ratings.jsonl'"),
        files={"ratings.jsonl": jsonl(RATINGS)},
    ),
    records_case(
        "label in another case",
        "'Approve' (differs from 'approve' only in case",
        records(c05={"decision": "Approve"}),
    ),
    records_case(
        "label outside the set",
        "'maybe' ×1 (first: example 'c06')",
        records(c06={"decision": "maybe"}),
    ),
    records_case(
        "empty and blank inputs",
        "empty or whitespace-only in 2 example(s): 'c02', 'c07'",
        EMPTY_INPUT,
    ),
    records_case(
        "identical inputs, different labels",
        "'c00' (approve), 'c01' (reject)",
        records(c01={"claim": "taxi ride 0"}),
    ),
    records_case("duplicate ids", "example id 'c00' appears twice", records(c01={"id": "c00"})),
    records_case(
        "input value missing",
        "example 'c04' has no value for input field 'claim'",
        records(c04={"claim": None}),
    ),
    data_case("no records", "holds no records", "claims.jsonl", "\n"),
    records_case("a split left empty", "the dev split is empty", records(2)),
    records_case(
        "group_by naming no column",
        "Splits.group_by names column 'case'",
        records(),
        task_args=", splits=pldc.Splits(group_by='case')",
    ),
    records_case(
        "id_column naming no column",
        "Task.id_column names column 'uid'",
        records(),
        task_args=", id_column='uid'",
    ),
    compile_case(
        "data of an unusable type", DataError, "Task.data is a int", task_source(data="42")
    ),
]

LONG_CLAIM = records(c03={"claim": " ".join(["word"] * 400)})

BUDGETS_AND_SETTINGS = [
    compile_case("budget of zero", SettingsError, "--budget 0 is too small", None, "--budget", "0"),
    compile_case("no trials", SettingsError, "--trials 0 is too small", None, "--trials", "0"),
    compile_case(
        "budget below the scaffold",
        BudgetError,
        "cannot hold the prompt scaffold alone",
        None,
        "--budget",
        "5",
        student_context=None,
    ),
    compile_case(
        "pinned rules beyond the budget",
        BudgetError,
        "shorten pinned_rules",
        task_source(task_args=", pinned_rules=['" + "Escalate it. " * 40 + "']"),
        "--budget",
        "60",
        student_context=None,
    ),
    compile_case(
        "budget filling the context",
        BudgetError,
        "leaves no room for an example",
        None,
        "--budget",
        "100",
        student_context=100,
    ),
    compile_case(
        "example beyond the context",
        DataError,
        "Set Task(truncate=['claim']) to cut the field to fit",
        task_source(data=repr(LONG_CLAIM)),
        "--budget",
        "60",
        student_context=200,
    ),
    compile_case(
        "trials below zero", SettingsError, "--trials -1 is too small", None, "--trials", "-1"
    ),
    compile_case(
        "preset missing", SettingsError, "no such preset", None, "--optimizer", "fast.toml"
    ),
    compile_case(
        "preset with an unknown key",
        SettingsError,
        "unknown key 'trails'",
        None,
        "--optimizer",
        "fast.toml",
        files={"fast.toml": "trails = 3\n"},
    ),
    compile_case(
        "preset not TOML",
        SettingsError,
        "not valid TOML",
        None,
        "--optimizer",
        "fast.toml",
        files={"fast.toml": "trials = = 3\n"},
    ),
    compile_case(
        "preset of the wrong type",
        SettingsError,
        "trials = 'many' is invalid",
        None,
        "--optimizer",
        "fast.toml",
        files={"fast.toml": 'trials = "many"\n'},
    ),
    compile_case(
        "preset not UTF-8",
        SettingsError,
        "save the preset as UTF-8",
        None,
        "--optimizer",
        "fast.toml",
        files={"fast.toml": b"trials = 3 # \xff\n"},
    ),
    compile_case(
        "preset is a folder",
        SettingsError,
        "cannot read the preset",
        None,
        "--optimizer",
        "presets",
        files={"presets/keep": ""},
    ),
    compile_case(
        "artifact path is a folder",
        SettingsError,
        "is a folder; give the artifact's",
        None,
        "-o",
        "out",
        files={"out/keep": ""},
    ),
    compile_case(
        "run directory is a file",
        SettingsError,
        "--run-dir run: is a file",
        None,
        "--run-dir",
        "run",
        files={"run": ""},
    ),
]

MODELS = [
    compile_case(
        "teacher of an unknown name",
        ModelError,
        "--teacher nosuchmodel: unknown model",
        None,
        "--teacher",
        "nosuchmodel",
    ),
    compile_case(
        "student file missing",
        ModelError,
        "--student missing.gguf: no such model file",
        None,
        "--student",
        "missing.gguf",
    ),
]

STORAGE_URLS = [
    compile_case(
        "storage URL malformed", SettingsError, "not a database URL", None, "--storage", "study.db"
    ),
    compile_case("storage URL empty", SettingsError, "not a database URL", None, "--storage", ""),
    compile_case(
        "storage of an unknown database",
        SettingsError,
        "unknown database 'nosuchdb'",
        None,
        "--storage",
        "nosuchdb://host/pldc",
    ),
    compile_case(
        "storage without its driver",
        SettingsError,
        "driver is not installed",
        None,
        "--storage",
        "mysql://user@localhost/pldc",
    ),
    compile_case(
        "SQLite storage in a missing folder",
        SettingsError,
        "does not exist",
        None,
        "--storage",
        "sqlite:///no/such/folder/study.db",
    ),
]

ARTIFACTS = [
    artifact_case("artifact missing", "no such artifact", None),
    artifact_case("artifact not JSON", "not valid JSON", "{not json"),
    artifact_case("artifact not UTF-8", "not valid JSON", b"\xff\xfe{}"),
    artifact_case("artifact not an object", "top level is not an object", "[]"),
    artifact_case(
        "artifact of a future schema", "schema_version is 99", artifact_with(schema_version=99)
    ),
    artifact_case(
        "artifact missing a field",
        "field prompt: Field required",
        json.dumps({k: v for k, v in ARTIFACT.items() if k != "prompt"}),
    ),
    artifact_case(
        "artifact edited after compiling",
        "modified after compiling",
        artifact_with(token_budget=ARTIFACT["token_budget"] + 1),
    ),
    artifact_case(
        "pick on an artifact without a front",
        "has no Pareto front",
        artifact_with(),
        "pick",
        "ARTIFACT",
        "--budget",
        "300",
        "-o",
        "compiled/picked.json",
    ),
    artifact_case(
        "pick from a missing artifact",
        "no such artifact",
        None,
        "pick",
        "ARTIFACT",
        "--budget",
        "300",
        "-o",
        "compiled/picked.json",
    ),
    artifact_case(
        "eval of a corrupt artifact", "not valid JSON", "{", "eval", "ARTIFACT", "task.py"
    ),
    Case(
        "eval against a task of other labels",
        ("eval", "good.json", "task.py"),
        DataError,
        "differ from the artifact's",
        {"task.py": task_source(), "good.json": artifact_with()},
    ),
]

CASES = [*TASK_FILES, *DATA, *BUDGETS_AND_SETTINGS, *MODELS, *STORAGE_URLS, *ARTIFACTS]


def fake_student(context_window: int | None) -> FunctionBackend:
    student = FunctionBackend(score=lambda messages, labels: dict.fromkeys(labels, 0.0))
    student.context_window = context_window
    return student


@pytest.fixture
def models_for(monkeypatch):
    """Let `case`'s fake student load, and nothing else."""

    def install(case: Case) -> None:
        def open_model(name, **kwargs):
            if name == DEFAULT_STUDENT and case.student_context != 0:
                return fake_student(case.student_context)
            raise AssertionError(f"model {name!r} was opened before the error was reported")

        def open_recorded_model(*args, **kwargs):
            raise AssertionError("a model was opened before the error was reported")

        monkeypatch.setattr(cli, "open_model", open_model)
        monkeypatch.setattr(cli, "open_recorded_model", open_recorded_model)

    return install


def files_in(folder: Path) -> set[Path]:
    """Every file and folder under `folder`, but bytecode Python caches beside a task file."""
    return {path for path in folder.rglob("*") if "__pycache__" not in path.parts}


def test_the_table_holds_at_least_thirty_cases_of_every_kind():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)
    kinds = (TASK_FILES, DATA, BUDGETS_AND_SETTINGS, MODELS, STORAGE_URLS, ARTIFACTS)
    assert all(kinds)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_malformed_input_is_refused_with_its_class_one_message_and_nothing_written(
    case, tmp_path, monkeypatch, capsys, models_for
):
    monkeypatch.chdir(tmp_path)
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    models_for(case)
    before = files_in(tmp_path)

    args = cli._parser().parse_args(list(case.argv))
    with pytest.raises(PLDError) as raised:
        args.run(args)
    code = cli.main(list(case.argv))
    out, err = capsys.readouterr()

    assert type(raised.value) is case.error
    assert case.phrase in str(raised.value)
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and err.startswith("error: ")
    assert case.phrase in err.replace("\n", "")
    assert "Traceback" not in out + err
    assert not (tmp_path / "compiled").exists()
    assert files_in(tmp_path) == before
