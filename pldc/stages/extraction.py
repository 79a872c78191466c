"""Stage 1, teacher traces: the teacher writes one rule per selected training example.

Not stored whole: each teacher call is stored as it finishes, under `pldc.extract
.teacher_call_key` (the teacher's identity and the exact messages), so a killed extraction
resumes at the first example it had not finished.
"""

from __future__ import annotations

from dataclasses import dataclass

from pldc.data import Example
from pldc.extract import extract_rules, nearest_contrasts, nearest_peers, select_teacher_examples
from pldc.records import TeacherTrace
from pldc.stages.workspace import Workspace


@dataclass(frozen=True)
class Extraction:
    examples: list[Example]
    """The training examples the teacher saw, dealt round-robin across labels."""
    traces: list[TeacherTrace]
    """One per example, in the same order, each with its rule or why it has none."""

    @property
    def seen_ids(self) -> set[str]:
        """Every training example the teacher saw: its examples and their peers."""
        return {example.id for example in self.examples} | {
            peer for trace in self.traces for peer in trace.peer_example_ids
        }


def run(workspace: Workspace) -> Extraction:
    """Traces for `teacher_examples` training examples; with `extraction_contrast`, each
    example is shown beside its most similar training example of another label, with
    `induction_peers`, beside that many similar ones of its own label."""
    settings, train = workspace.settings, workspace.data.train
    examples = select_teacher_examples(train, settings.teacher_examples, settings.seed)
    contrasts = (
        nearest_contrasts(examples, train, workspace.embedder)
        if settings.extraction_contrast
        else None
    )
    peers = (
        nearest_peers(examples, train, workspace.embedder, settings.induction_peers)
        if settings.induction_peers
        else None
    )
    traces = extract_rules(
        workspace.schema, examples, workspace.teacher, workspace.progress, contrasts, peers
    )
    return Extraction(examples, traces)
