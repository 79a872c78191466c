"""pldc as a DSPy optimizer: `PLD` compiles a `dspy.Predict` over a classification signature
into `CompiledProgram`, a DSPy module that renders the compiled messages and decides exactly as
`pldc.load(...).predict` does.

    lm = dspy.LM("pldc/qwen-0.5b", engine=BackendEngine(pldc.open_model(...)), cache=False)
    dspy.configure(lm=lm)
    program = pldc.PLD(token_budget=512).compile(dspy.Predict(Routing), trainset=train)
    program(request="...").queue        # also .probabilities
    program.save("compiled/routing.json")  # the artifact; pldc.load(path).as_dspy() reopens it
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dspy

from pldc.backends import Backend, open_model
from pldc.calibration import calibrated_probabilities, decide
from pldc.errors import SettingsError, TaskFileError
from pldc.models import DEFAULT_TEACHER
from pldc.records import CompiledPrompt
from pldc.runtime import CompiledClassifier


class PLD(dspy.teleprompt.Teleprompter):
    """Prompt-Level Distillation (Badhe & Shah, arXiv 2602.21103) with pldc's search and gate.

    `teacher` writes the rules: a model name for `pldc.open_model`, a pldc `Backend`, or a
    `dspy.LM` (default: pldc's default local teacher). `token_budget` caps the student's system
    prompt in its own tokens; `preset` is an optimizers/*.toml file; `settings` override any
    `CompileSettings` field (e.g. `trials=8`, `rules_only=True`). `student_tokenizer` is needed
    only for a student `dspy.LM` on your own server (`api_base`): its .gguf, a local model name
    or its tokenizer.json. Resumable work is kept in `run_dir` (default: .pldc/<task name>).
    """

    def __init__(
        self,
        *,
        teacher: str | Backend | dspy.LM | None = None,
        token_budget: int = 512,
        preset: str | Path | None = None,
        run_dir: str | Path | None = None,
        student_tokenizer: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        from pldc.presets import load_preset, setting_names, settings_with

        unknown = sorted(set(settings) - set(setting_names()))
        if unknown:
            raise SettingsError(
                f"PLD(...) got unknown settings {unknown}; the settings are the fields of "
                f"pldc.CompileSettings: {', '.join(setting_names())}.",
                unknown[0],
            )
        values = {**(load_preset(preset) if preset else {}), **settings}
        values["token_budget"] = token_budget
        self.settings = settings_with(values, source="PLD(...)")
        self.teacher = teacher
        self.run_dir = Path(run_dir) if run_dir else None
        self.student_tokenizer = student_tokenizer

    def compile(
        self,
        student: dspy.Module,
        *,
        trainset: Sequence[dspy.Example],
        teacher: dspy.Module | None = None,
        valset: Sequence[dspy.Example] | None = None,
        **kwargs: Any,
    ) -> CompiledProgram:
        """A new `CompiledProgram`; `student` is not changed.

        `student` is a `dspy.Predict` (or a module with exactly one predictor) over a signature
        whose one output field is a `Literal` of the labels; its LM is the predictor's own or
        `dspy.settings.lm`. `trainset` and `valset` are `dspy.Example`s with every field; with
        no `valset`, dev (what the search selects on) and a test split are carved from
        `trainset` by `pldc.Splits`. DSPy's `teacher` program is not used: the teacher is a
        model, given to the constructor. Raises `TaskFileError` for an unusable student or
        signature, `DataError` for the examples, `ModelError` or `PLDError` from the compile.
        """
        from pldc.compiler import compile_task
        from pldc.task import Task

        if teacher is not None:
            raise SettingsError(
                "PLD.compile(teacher=...): pldc's teacher is a model that writes rules, not a "
                "DSPy program; give it as PLD(teacher=...).",
                "teacher",
            )
        if kwargs:
            raise SettingsError(f"PLD.compile got unknown arguments {sorted(kwargs)}.", "compile")
        from pldc.data import load_task_data

        predictor = _single_predictor(student)
        signature = predictor.signature
        lm = predictor.lm or dspy.settings.lm
        task = Task(
            signature=signature,
            train=list(trainset),
            dev=list(valset) if valset else None,
        )
        # Everything that needs no model first, then the student, then the teacher (the
        # largest model): a mistake in the data or the student stops before it loads.
        data = load_task_data(task, "PLD.compile")
        student_model = _backend(lm, "student", self.student_tokenizer)
        teacher_model = _backend(self.teacher, "teacher", None) if self.teacher else None
        artifact = compile_task(
            task,
            teacher=teacher_model or _default_teacher(),
            student=student_model,
            settings=self.settings,
            run_dir=self.run_dir,
            source="PLD.compile",
            data=data,
        )
        return CompiledProgram(artifact, student=student_model)


class CompiledProgram(dspy.Module):
    """A compiled pldc artifact as a DSPy module: `forward(**inputs)` returns a
    `dspy.Prediction` with the label under the output field's name and `probabilities` (per
    label, calibrated), deciding exactly as `pldc.load(path).predict` does.

    `student` is the backend the artifact's student is reached with (default: the recorded
    one, opened on first use). `save(path)` writes the artifact (strict JSON, hash-checked),
    not DSPy's own state file.
    """

    def __init__(self, artifact: CompiledPrompt, student: Backend | None = None) -> None:
        super().__init__()
        self.classifier = CompiledClassifier(artifact, student)

    @property
    def artifact(self) -> CompiledPrompt:
        return self.classifier.artifact

    def forward(self, **inputs: Any) -> dspy.Prediction:
        fields = self.artifact.prompt.input_fields
        given = {name: inputs[name] for name in fields if name in inputs}
        scores = self.classifier.scores(**given)
        labels, calibration = self.classifier.labels, self.artifact.calibration
        label = decide(scores, labels, calibration)
        probabilities = calibrated_probabilities(scores, labels, calibration)
        return dspy.Prediction(
            **{self.artifact.prompt.output_field: label}, probabilities=probabilities
        )

    def messages(self, **inputs: Any) -> list[dict[str, str]]:
        """The exact chat messages the student is sent for `inputs`."""
        return self.classifier.messages(**inputs)

    def save(self, path: str | Path, **_: Any) -> Path:  # type: ignore[override]
        """Write the artifact to `path` (a .json file); returns the path written."""
        return self.artifact.save(path)

    def load(self, path: str | Path, **_: Any) -> CompiledProgram:  # type: ignore[override]
        """Replace this module's artifact with the one at `path` (checked as `pldc.load`
        checks it), keeping its student; returns the module."""
        from pldc.artifact import load_artifact

        self.classifier = CompiledClassifier(load_artifact(path), self.classifier._student)
        return self

    def dump_state(self, **_: Any) -> dict[str, Any]:
        """The artifact as JSON data, so a program holding this module saves it too."""
        return {"pldc_artifact": self.artifact.model_dump(mode="json")}

    def load_state(self, state: dict[str, Any], **_: Any) -> CompiledProgram:
        """The inverse of `dump_state`: the artifact is validated and its hash checked."""
        from pldc.errors import ArtifactError

        artifact = CompiledPrompt.model_validate(state["pldc_artifact"])
        if artifact.with_hash().content_hash != artifact.content_hash:
            raise ArtifactError("the saved pldc artifact was modified after compiling; recompile.")
        self.classifier = CompiledClassifier(artifact, self.classifier._student)
        return self

    def __deepcopy__(self, memo: dict) -> CompiledProgram:
        # The artifact is frozen and the student is a loaded model: copies share both, as a
        # DSPy program's copies share their LM.
        copy = CompiledProgram(self.artifact)
        copy.classifier = self.classifier
        return copy

    def named_predictors(self) -> list:
        return []  # nothing for another DSPy optimizer to tune: the prompt is compiled


def as_dspy(classifier: CompiledClassifier) -> CompiledProgram:
    """The loaded artifact as a `CompiledProgram`, sharing its student."""
    program = CompiledProgram(classifier.artifact)
    program.classifier = classifier
    return program


def _single_predictor(student: Any) -> Any:
    if not isinstance(student, dspy.Module):
        raise TaskFileError(
            f"PLD.compile(student={type(student).__name__}): give a dspy.Predict over the "
            "classification signature, or a module holding exactly one predictor."
        )
    predictors = student.predictors()
    if len(predictors) != 1:
        raise TaskFileError(
            f"PLD.compile: the student module holds {len(predictors)} predictors; pldc "
            "compiles one classification predictor (a dspy.Predict over a signature whose "
            "output is a Literal of the labels)."
        )
    outputs = list(predictors[0].signature.output_fields)
    if len(outputs) != 1:
        raise TaskFileError(
            f"PLD.compile: the student's predictor writes {', '.join(outputs)}; pldc's student "
            "answers directly, with no reasoning field: give dspy.Predict(YourSignature), not "
            "dspy.ChainOfThought."
        )
    return predictors[0]


def _backend(model: Any, role: str, tokenizer: str | None) -> Backend:
    """A pldc backend for a model given as a name, a Backend or a dspy.LM."""
    if isinstance(model, Backend):
        return model
    if isinstance(model, str):
        return open_model(model)
    if isinstance(model, dspy.LM):
        engine = getattr(model, "engine", None)
        if isinstance(getattr(engine, "backend", None), Backend):
            return engine.backend  # a pldc model plugged into DSPy (BackendEngine)
        api_base = model.kwargs.get("api_base")
        if api_base and not tokenizer:
            raise SettingsError(
                f"PLD: the {role} dspy.LM {model.model!r} is served at {api_base}; pldc counts "
                "its budget with its own tokenizer: give PLD(student_tokenizer=...), its .gguf "
                "file, a local model name or its tokenizer.json.",
                "student_tokenizer",
            )
        return open_model(
            model.model,
            api_base=api_base,
            api_key=model.kwargs.get("api_key"),
            tokenizer=tokenizer if api_base else None,
        )
    raise SettingsError(
        f"PLD: no {role} model: configure one (dspy.configure(lm=...)) or give the predictor "
        "an lm; a local pldc model plugs in as dspy.LM(..., engine=BackendEngine(backend)).",
        role,
    )


def _default_teacher() -> Backend:
    return open_model(DEFAULT_TEACHER)
