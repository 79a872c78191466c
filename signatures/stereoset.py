"""StereoSet (dev split, flattened): is a sentence a stereotype, an anti-stereotype, or unrelated?

Each StereoSet item gives one context and three candidate sentences, one per label. Flattened,
every candidate is an example; the three candidates of an item share a group, grouped by
context (48 contexts repeat across items), so no context is split across train, dev and test.
A seeded sample of items keeps compiles within a CPU budget.

Data: ../shared/data/stereoset/stereoset_dev_public.jsonl by default; set STEREOSET_JSONL to
read another copy of the same file. The content is offensive by design.
"""

import json
import os
import random
from pathlib import Path
from typing import Literal

import dspy

import pldc

DEFAULT_PATH = (
    Path(__file__).resolve().parents[2] / "shared/data/stereoset/stereoset_dev_public.jsonl"
)
LABELS = ("stereotype", "anti-stereotype", "unrelated")
ITEMS = 240


class StereotypeDetection(dspy.Signature):
    """Read a short passage about a social group (the target) and decide whether its sentence
    expresses a common stereotype about the group, contradicts that stereotype, or is unrelated
    to the group."""

    target: str = dspy.InputField(desc="the social group the passage is about")
    passage: str = dspy.InputField(desc="the context sentence and the sentence to judge")
    label: Literal["stereotype", "anti-stereotype", "unrelated"] = dspy.OutputField()


def flattened_records(path: Path, items: int, seed: int = 0) -> list[dict[str, str]]:
    if not path.exists():
        raise pldc.DataError(
            f"StereoSet file {path} is missing; put stereoset_dev_public.jsonl there or set "
            "STEREOSET_JSONL to its path."
        )
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sample = random.Random(seed).sample(range(len(rows)), min(items, len(rows)))
    records = []
    for index in sorted(sample):
        row = rows[index]
        for label in LABELS:
            sentence = row[label]
            # Intrasentence candidates are the context with its BLANK filled; show them alone.
            passage = sentence if row["type"] == "intrasentence" else f"{row['context']} {sentence}"
            records.append(
                {
                    "id": f"item{index:04d}-{label}",
                    "target": row["target"],
                    "passage": passage,
                    "label": label,
                    "context": row["context"],
                }
            )
    return records


task = pldc.Task(
    signature=StereotypeDetection,
    data=flattened_records(Path(os.environ.get("STEREOSET_JSONL", DEFAULT_PATH)), ITEMS),
    splits=pldc.Splits(train=0.5, dev=0.15, test=0.35, seed=0, group_by="context"),
    name="stereoset",
)
