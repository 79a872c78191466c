"""The compiled artifact's records: every pydantic model whose fields end up in its JSON.

The stages import these records and fill them; this package imports no stage, so changing the
artifact's format is a change here, next to `SCHEMA_VERSION` (in `_artifact.py`). Loading,
migrating old versions and checking hashes is `pldc.artifact`'s job.

    CompiledPrompt                                                   (_artifact.py)
     ├── task: TaskRecord          prompt: PromptRecord        rules: [Rule]
     ├── calibration: Calibration  teacher, student: ModelIdentity
     ├── scores: ArtifactScores    (shipped, zero-shot and few-shot Scores, with intervals;
     │                             _scores.py)
     ├── provenance: Provenance    how the prompt came to be: TeacherTrace, candidate Rule
     │                             (with its RuleVerification), ResolutionRecord, TrialRecord
     │                             (_provenance.py)
     ├── gate: GateRecord          the searched prompt against the baselines (_scores.py)
     └── pareto_front: [ParetoPoint]

Fields added after schema version 2 are left out of the JSON while unset
(`NewerFieldsOmitted`, in `_base.py`), so older artifacts keep their exact JSON.
"""

# ModelIdentity is defined beside the backends that fill it; it is re-exported here.
from pldc.backends.base import ModelIdentity
from pldc.records._artifact import (
    SCHEMA_VERSION,
    CompiledPrompt,
    ParetoPoint,
    PromptRecord,
    TaskRecord,
    content_digest,
    first_non_finite,
)
from pldc.records._provenance import (
    CandidateKind,
    Fate,
    Provenance,
    ResolutionRecord,
    ResolutionRound,
    Revision,
    Rule,
    RuleVerification,
    TeacherTrace,
    TrialRecord,
)
from pldc.records._scores import (
    ArtifactScores,
    Calibration,
    CalibrationMethod,
    Estimate,
    GateRecord,
    Interval,
    Scores,
)

__all__ = [
    "SCHEMA_VERSION",
    "ArtifactScores",
    "Calibration",
    "CalibrationMethod",
    "CandidateKind",
    "CompiledPrompt",
    "Estimate",
    "Fate",
    "GateRecord",
    "Interval",
    "ModelIdentity",
    "ParetoPoint",
    "PromptRecord",
    "Provenance",
    "ResolutionRecord",
    "ResolutionRound",
    "Revision",
    "Rule",
    "RuleVerification",
    "Scores",
    "TaskRecord",
    "TeacherTrace",
    "TrialRecord",
    "content_digest",
    "first_non_finite",
]
