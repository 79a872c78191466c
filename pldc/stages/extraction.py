"""Stage 1, teacher traces: the teacher writes one rule per selected training example.

Not stored whole: each teacher call is stored as it finishes, under `pldc.extract
.teacher_call_key` (the teacher's identity and the exact messages), so a killed extraction
resumes at the first example it had not finished.
"""

from __future__ import annotations

from dataclasses import dataclass

from pldc.data import Example
from pldc.extract import extract_rules, nearest_contrasts, select_teacher_examples
from pldc.records import TeacherTrace
from pldc.stages.workspace import Workspace


@dataclass(frozen=True)
class Extraction:
    examples: list[Example]
    """The training examples the teacher saw, dealt round-robin across labels."""
    traces: list[TeacherTrace]
    """One per example, in the same order, each with its rule or why it has none."""


def run(workspace: Workspace) -> Extraction:
    """Traces for `teacher_examples` training examples; with `extraction_contrast`, each
    example is shown beside its most similar training example of another label."""
    settings, train = workspace.settings, workspace.data.train
    examples = select_teacher_examples(train, settings.teacher_examples, settings.seed)
    contrasts = (
        nearest_contrasts(examples, train, workspace.embedder)
        if settings.extraction_contrast
        else None
    )
    traces = extract_rules(
        workspace.schema, examples, workspace.teacher, workspace.progress, contrasts
    )
    return Extraction(examples, traces)
