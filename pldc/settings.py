"""Every compile setting, declared once: its type, default, smallest value, help and flag.

`CompileSettings` is that declaration. Everything else is derived from it:

- the preset reader (`pldc.presets`) accepts exactly its fields and type-checks them;
- the command line (`pldc.cli`) adds a flag for each setting that declares one, with its help
  and default;
- each stage's settings (`SearchSettings`, `ResolveSettings`, `ClusterSettings`,
  `VerifySettings`) name the
  compile setting each of their fields comes from, and take its default from here.

A new setting is one `setting(...)` line in `CompileSettings`, plus a `from_setting(...)` line
in the stage that uses it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from pldc.errors import SettingsError
from pldc.records import CalibrationMethod

PrunerName = Literal["none", "successive_halving", "median"]
SearchObjective = Literal["macro_f1", "gold_log_prob", "pareto"]
SamplerName = Literal["tpe", "random", "greedy", "teacher_order", "evidence"]
"""Search strategies a setting or preset can name; `pldc.search.STRATEGIES` maps each to a class."""

__all__ = [
    "ClusterSettings",
    "CompileSettings",
    "DeclaredSetting",
    "ResolveSettings",
    "SearchSettings",
    "VerifySettings",
    "declared_settings",
]


def setting(
    default: Any, help: str, *, minimum: float | None = None, flag: str | None = None
) -> Any:
    """A `CompileSettings` field: its default, help text, smallest allowed value, and the
    `pldc compile` flag that sets it (None: presets only)."""
    return field(default=default, metadata={"help": help, "minimum": minimum, "flag": flag})


@dataclass(frozen=True)
class CompileSettings:
    """Everything a compile can be told, with the defaults `pldc compile TASK.py` uses.

    Raises SettingsError, naming the setting, for a value below its minimum, dev_slices that
    are not fractions of dev, a cluster_eps that is no cosine distance, or search settings that
    contradict each other.
    """

    token_budget: int = setting(
        512,
        "max system-prompt tokens, counted with the student's tokenizer",
        minimum=1,
        flag="--budget",
    )
    trials: int = setting(8, "Optuna trials, pruned ones included", minimum=1, flag="--trials")
    seed: int = setting(0, "seed for sampling, splits of the search and resolution", flag="--seed")
    teacher_examples: int = setting(
        24,
        "training examples (stratified by label) the teacher writes rules for",
        minimum=1,
        flag="--teacher-examples",
    )
    cluster_eps: float = setting(
        0.25, "DBSCAN radius in cosine distance, for MiniLM (docs/clustering-sweep.md)"
    )
    cluster_min_samples: int = setting(2, "DBSCAN's smallest cluster core", minimum=1)
    calibration: CalibrationMethod = setting(
        "batch",
        '"batch": per-label offsets fitted on unlabelled inputs (each trial on its selection '
        'examples\', the shipped prompt on `calibration_examples`); or "none"',
    )
    calibration_examples: int = setting(
        600,
        "most inputs the shipped prompt's batch calibration is fitted on: dev first, then "
        "training inputs (gold labels unused), so offsets are less noisy than the search's",
        minimum=1,
    )
    sampler: SamplerName = setting(
        "tpe",
        'search strategy: "tpe" (zero-shot, few-shot and teacher-order trials first, then TPE), '
        '"random", "greedy" (forward selection), "teacher_order" (every rule in the teacher\'s '
        'order, no search) or "evidence" (the top k rules by verification evidence, with and '
        "without the demonstrations)",
    )
    pruner: PrunerName = setting(
        "none", 'stop weak trials early: "successive_halving", "median" or "none"'
    )
    dev_slices: tuple[float, ...] = setting(
        (1.0,),
        "growing fractions of the selection examples each trial is scored on, e.g. "
        "(0.25, 0.5, 1.0)",
    )
    objective: SearchObjective = setting(
        "gold_log_prob",
        '"macro_f1" or "gold_log_prob" (mean calibrated gold-label log-probability) on the '
        'selection examples, the other one breaking ties; "pareto": maximize Macro-F1 and '
        "minimize prompt tokens; the artifact keeps the front",
    )
    workers: int = setting(
        1,
        "search processes sharing one Optuna study (reproducible only with 1)",
        minimum=1,
        flag="--workers",
    )
    resolve_rounds: int = setting(
        1, "cap on conflict-resolution rounds, 0 for none", minimum=0, flag="--resolve-rounds"
    )
    resolve_examples: int = setting(
        16, "training examples the student runs on each resolution round", minimum=1
    )
    resolve_edits: int = setting(3, "resolver calls (one edit each) per round", minimum=1)
    verify: bool = setting(
        True, "try each candidate rule alone on training examples and drop those that do not help"
    )
    verify_examples: int = setting(
        40,
        "training examples (stratified by label) each candidate rule is verified on before the "
        "search, less the examples it was written from",
        minimum=1,
    )
    verify_min_gain: float = setting(
        0.0,
        "keep a candidate only if, added alone, it raises the gold label's mean calibrated "
        "log-probability on those examples by more than this (nats) and costs no accuracy",
    )
    verify_drop_specifics: bool = setting(
        True, "drop candidates that name their source cases' own entities, figures or dates"
    )
    rule_evidence: bool = setting(
        False,
        "measure each kept rule's leave-one-out change in dev Macro-F1 (slower)",
        flag="--rule-evidence",
    )
    extraction_contrast: bool = setting(
        False,
        "show the teacher, beside each example, the most similar training example that has "
        "another label, and ask for the rule that separates them",
    )
    induction_peers: int = setting(
        0,
        "similar training examples of the same label the teacher sees beside each of its "
        "examples, to write the one rule they share (0: one case per rule, as in PLD)",
        minimum=0,
    )
    demonstrations: int = setting(
        64,
        "most labelled training examples offered to the search beside the rules: as many as "
        "fit the token budget together, up to this, so all of them make plain few-shot "
        "(ignored with rules_only)",
        minimum=0,
        flag="--demonstrations",
    )
    rules_only: bool = setting(
        False,
        "search rules only: the compiled prompt holds no examples (for auditors who want none)",
        flag="--rules-only",
    )
    selection_examples: int = setting(
        300,
        "most labelled examples prompts are chosen on: all of dev, then training examples no "
        "stage has used",
        minimum=1,
    )
    gate: bool = setting(
        True,
        "ship the searched prompt only if it beats every baseline (zero-shot, few-shot) on the "
        "gate's examples: mean gold-label log-probability by a paired bootstrap at 95%, and "
        "no lower Macro-F1; else ship the better baseline",
    )
    gate_examples: int = setting(
        100,
        "of the selection examples, how many the search never sees and the gate alone decides "
        "on, so the search's best is not judged on the examples that chose it; 0: the gate "
        "reuses the search's examples",
        minimum=0,
    )

    def __post_init__(self) -> None:
        for declared in declared_settings():
            value = getattr(self, declared.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise SettingsError(
                    f"{declared.name} = {value} is not a finite number; give one.", declared.name
                )
            least = declared.minimum
            if least is not None and isinstance(value, int | float) and value < least:
                raise SettingsError(
                    f"{declared.name} = {value} is too small; use {least} or more.", declared.name
                )
        if not self.dev_slices or not all(0.0 < f <= 1.0 for f in self.dev_slices):
            raise SettingsError(
                f"dev_slices = {list(self.dev_slices)}: give fractions of dev in (0, 1], "
                "e.g. [0.25, 0.5, 1.0].",
                "dev_slices",
            )
        if not 0.0 < self.cluster_eps < 2.0:
            raise SettingsError(
                f"cluster_eps = {self.cluster_eps} is no cosine distance; use a value in (0, 2).",
                "cluster_eps",
            )
        if self.induction_peers and self.extraction_contrast:
            raise SettingsError(
                "extraction_contrast and induction_peers both choose what the teacher sees "
                "beside each example; set one of them.",
                "induction_peers",
            )
        self.search_settings()  # refuse contradicting search settings before any model runs

    def search_settings(self) -> SearchSettings:
        return self._for_stage(SearchSettings)

    def resolve_settings(self) -> ResolveSettings:
        return self._for_stage(ResolveSettings)

    def cluster_settings(self) -> ClusterSettings:
        return self._for_stage(ClusterSettings)

    def verify_settings(self) -> VerifySettings:
        return self._for_stage(VerifySettings)

    def _for_stage(self, stage_settings: type[T]) -> T:
        """`stage_settings` with each field that names a compile setting taken from this one."""
        return stage_settings(
            **{
                f.name: getattr(self, f.metadata["setting"])
                for f in fields(stage_settings)
                if "setting" in f.metadata
            }
        )


T = TypeVar("T")


@dataclass(frozen=True)
class DeclaredSetting:
    name: str
    type: Any
    """The resolved annotation: int, float, bool, a Literal of choices, or tuple[float, ...]."""
    default: Any
    help: str
    minimum: float | None
    flag: str | None


@functools.cache
def declared_settings() -> tuple[DeclaredSetting, ...]:
    """Every compile setting, in declaration order."""
    hints = typing.get_type_hints(CompileSettings)
    return tuple(
        DeclaredSetting(name=f.name, type=hints[f.name], default=f.default, **f.metadata)
        for f in fields(CompileSettings)
    )


def from_setting(name: str, *, required: bool = False) -> Any:
    """A stage-settings field filled from the compile setting `name`, with that setting's
    default (none when `required`)."""
    declared = CompileSettings.__dataclass_fields__[name]
    default = dataclasses.MISSING if required else declared.default
    return field(default=default, metadata={"setting": name})


@dataclass(frozen=True)
class SearchSettings:
    """What the search (pldc.search) takes. Raises SettingsError for a Pareto search that
    prunes."""

    token_budget: int = from_setting("token_budget", required=True)
    trials: int = from_setting("trials")
    seed: int = from_setting("seed")
    calibration: CalibrationMethod = from_setting("calibration")
    pruner: PrunerName = from_setting("pruner")
    dev_slices: tuple[float, ...] = from_setting("dev_slices")
    objective: SearchObjective = from_setting("objective")
    workers: int = from_setting("workers")
    sampler: SamplerName = from_setting("sampler")

    def __post_init__(self) -> None:
        if self.objective == "pareto" and self.pruner != "none":
            raise SettingsError(
                f'objective = "pareto" cannot prune trials (pruner = "{self.pruner}"); Optuna '
                'prunes single-objective studies only. Use pruner = "none" with it.',
                "pruner",
            )


@dataclass(frozen=True)
class ResolveSettings:
    """What conflict resolution (pldc.resolve) takes."""

    token_budget: int = from_setting("token_budget", required=True)
    max_rounds: int = from_setting("resolve_rounds")
    examples: int = from_setting("resolve_examples")
    edits_per_round: int = from_setting("resolve_edits")
    successes_shown: int = 2
    """Cases the student gets right, shown to the resolver beside each failure (not a setting)."""
    seed: int = from_setting("seed")
    calibration: CalibrationMethod = from_setting("calibration")


@dataclass(frozen=True)
class ClusterSettings:
    """What rule clustering (pldc.rulepool) takes."""

    eps: float = from_setting("cluster_eps")
    min_samples: int = from_setting("cluster_min_samples")


@dataclass(frozen=True)
class VerifySettings:
    """What rule verification (pldc.verify) takes."""

    examples: int = from_setting("verify_examples")
    min_gain: float = from_setting("verify_min_gain")
    drop_specifics: bool = from_setting("verify_drop_specifics")
    seed: int = from_setting("seed")
    calibration: CalibrationMethod = from_setting("calibration")
