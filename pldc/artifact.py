"""The compiled prompt: a frozen, versioned JSON artifact, validated by pydantic on load.

The content hash is the sha256 of the artifact's canonical JSON without the hash itself; a file
whose content does not match its hash is refused. Loading never runs code.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from pldc.backends.base import ModelIdentity
from pldc.calibration import Calibration
from pldc.errors import ArtifactError
from pldc.evaluate import Scores
from pldc.extract import TeacherTrace
from pldc.resolve import ResolutionRecord
from pldc.rulepool import Rule
from pldc.search import TrialRecord

SCHEMA_VERSION = 1
TRACKED_PACKAGES = ("pldc", "dspy", "llama-cpp-python", "optuna", "scikit-learn", "pydantic")


class PromptRecord(BaseModel):
    system: str
    user_template: str
    input_fields: list[str]
    output_field: str
    labels: list[str]


class TaskRecord(BaseModel):
    name: str
    signature: str
    instruction: str
    data_fingerprint: str
    split_sizes: dict[str, int]


class ArtifactScores(BaseModel):
    dev: Scores
    test: Scores
    baseline_dev: Scores
    """The same student and scaffold with no rules."""
    baseline_test: Scores
    baseline_calibration: Calibration


class SearchRecord(BaseModel):
    sampler: str
    trials: list[TrialRecord]
    best_trial: int
    teacher_examples: int
    teacher_traces: list[TeacherTrace]
    """Every teacher rule, with what became of it (rewritten, dropped and why)."""
    embedder: str
    cluster_eps: float
    cluster_min_samples: int
    candidate_rules: list[Rule]
    """The whole rule pool the search chose from, kept or not."""
    resolution: ResolutionRecord | None = None
    """Every conflict-resolution round and edit; None when resolution was off."""


class ParetoPoint(BaseModel):
    """One prompt on the Pareto front of a multi-objective search, ready to deploy."""

    trial: int
    rule_ids: list[str]
    system_prompt: str
    tokens: int
    calibration: Calibration
    dev: Scores
    test: Scores


class CompiledPrompt(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    task: TaskRecord
    prompt: PromptRecord
    rules: list[Rule]
    """The rules in the system prompt, in prompt order."""
    calibration: Calibration
    """Per-label offsets added to the student's label log-likelihoods when deciding."""
    teacher: ModelIdentity
    student: ModelIdentity
    token_count: int
    baseline_token_count: int
    """Tokens of the same scaffold with no rules: what the rules cost."""
    token_budget: int
    seed: int
    scores: ArtifactScores
    search: SearchRecord
    versions: dict[str, str]
    pareto_front: list[ParetoPoint] | None = None
    """Shortest first, from a search with objective "pareto"; see `at_budget`."""
    content_hash: str = ""

    def with_hash(self) -> CompiledPrompt:
        return self.model_copy(update={"content_hash": _digest(self)})

    def at_budget(self, token_budget: int) -> CompiledPrompt:
        """This artifact with the front's best dev Macro-F1 prompt that fits `token_budget`.

        No search reruns: the front's prompts were calibrated and scored when compiled.
        """
        if not self.pareto_front:
            raise ArtifactError(
                f"{self.task.name}: this artifact has no Pareto front; compile with "
                "--optimizer optimizers/pareto.toml to choose a budget afterwards."
            )
        fitting = [p for p in self.pareto_front if p.tokens <= token_budget]
        if not fitting:
            shortest = min(p.tokens for p in self.pareto_front)
            raise ArtifactError(
                f"--budget {token_budget}: the shortest prompt on the Pareto front has {shortest} "
                f"tokens; give a budget of at least {shortest}."
            )
        point = max(fitting, key=lambda p: (p.dev.macro_f1, -p.tokens))
        by_id = {rule.id: rule for rule in self.search.candidate_rules}
        return self.model_copy(
            update={
                "prompt": self.prompt.model_copy(update={"system": point.system_prompt}),
                "rules": [by_id[rule_id] for rule_id in point.rule_ids],
                "calibration": point.calibration,
                "token_count": point.tokens,
                "token_budget": token_budget,
                "scores": self.scores.model_copy(update={"dev": point.dev, "test": point.test}),
                "search": self.search.model_copy(update={"best_trial": point.trial}),
            }
        ).with_hash()

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.with_hash().to_json())
        return path


def installed_versions() -> dict[str, str]:
    versions = {}
    for package in TRACKED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def load_artifact(path: str | Path) -> CompiledPrompt:
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(
            f"{path}: no such artifact; run `pldc compile TASK.py` first."
        ) from None
    except OSError as exc:
        raise ArtifactError(
            f"{path}: cannot read it ({exc.strerror}); give the path of an artifact file."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc}); recompile it.") from None
    if not isinstance(raw, dict):
        raise ArtifactError(f"{path}: not a pldc artifact (top level is not an object).")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: field schema_version is {version!r}; this pldc reads version "
            f"{SCHEMA_VERSION}. Recompile the task or install a matching pldc."
        )
    try:
        artifact = CompiledPrompt.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(
            f"{path}: field {where}: {first['msg']} ({exc.error_count()} problem(s)); the file "
            "is corrupt or hand-edited. Recompile it."
        ) from None
    # Hash the file's own content, so fields added to the schema later don't change old hashes.
    expected = _canonical_digest({k: v for k, v in raw.items() if k != "content_hash"})
    if artifact.content_hash != expected:
        raise ArtifactError(
            f"{path}: field content_hash is {artifact.content_hash[:16]}… but the content hashes "
            f"to {expected[:16]}…; the file was modified after compiling. Recompile it."
        )
    _warn_on_version_drift(path, artifact.versions)
    return artifact


def _digest(artifact: CompiledPrompt) -> str:
    return _canonical_digest(artifact.model_dump(mode="json", exclude={"content_hash"}))


def _canonical_digest(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _warn_on_version_drift(path: Path, recorded: dict[str, str]) -> None:
    current = installed_versions()
    drift = [
        f"{name} {recorded[name]} -> {current[name]}"
        for name in ("llama-cpp-python", "dspy")
        if name in recorded and recorded[name] != current.get(name)
    ]
    if drift:
        warnings.warn(
            f"{path}: compiled with other versions ({'; '.join(drift)}); predictions may differ "
            "slightly from the scores recorded in it.",
            stacklevel=3,
        )
