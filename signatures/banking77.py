"""BANKING77 (train.csv): which of 77 banking intents does a customer query express?

The label set is read from categories.json and typed as a Literal of all 77 intent names. The
prompt carries the label inventory without help from this file: pldc's rendered student system
prompt ends with "Answer with exactly one of these labels and nothing else: ..." listing every
label (pldc.render.render_answer_format). The 4 duplicated query texts are kept once, and a
seeded sample of PER_INTENT queries per intent (the split is stratified by label) keeps compiles
within a CPU budget. train.csv is imbalanced (35-187 per intent); the sample is not.

Data: ../shared/data/banking77/ by default; set BANKING77_DIR to a folder holding another copy
of train.csv and categories.json. To use a Hugging Face `datasets` copy instead, write e.g.
`pldc.Task(signature=BankingIntent, data="<hf name>", columns={"query": "text",
"intent": "<label column>"})`, with the labels as intent names, not integers.
"""

import csv
import json
import os
import random
from pathlib import Path
from typing import Literal

import dspy

import pldc

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared/data/banking77"
PER_INTENT = 10


def read_categories(folder: Path) -> tuple[str, ...]:
    path = folder / "categories.json"
    if not path.exists():
        raise pldc.DataError(
            f"BANKING77 file {path} is missing; put categories.json and train.csv there or set "
            "BANKING77_DIR to their folder."
        )
    return tuple(json.loads(path.read_text()))


DATA_DIR = Path(os.environ.get("BANKING77_DIR", DEFAULT_DIR))
CATEGORIES = read_categories(DATA_DIR)


class BankingIntent(dspy.Signature):
    """Read a customer's message to a bank's support chat and name the one intent it expresses.
    Intents are fine-grained: tell apart, for example, a card that has not arrived, a question
    about when a card will be delivered, and a card that arrived but does not work."""

    query: str = dspy.InputField(desc="the customer's message")
    intent: Literal[CATEGORIES] = dspy.OutputField()


def query_records(folder: Path, per_intent: int, seed: int = 0) -> list[dict[str, str]]:
    path = folder / "train.csv"
    if not path.exists():
        raise pldc.DataError(
            f"BANKING77 file {path} is missing; put train.csv and categories.json there or set "
            "BANKING77_DIR to their folder."
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_intent: dict[str, list[int]] = {}
    seen: set[str] = set()
    for index, row in enumerate(rows):
        key = row["text"].strip().lower()
        if key not in seen:
            seen.add(key)
            by_intent.setdefault(row["category"], []).append(index)
    rng = random.Random(seed)
    chosen = []
    for intent in sorted(by_intent):
        indices = by_intent[intent]
        chosen.extend(rng.sample(indices, min(per_intent, len(indices))))
    return [
        {"id": f"row{index:05d}", "query": rows[index]["text"], "intent": rows[index]["category"]}
        for index in sorted(chosen)
    ]


task = pldc.Task(
    signature=BankingIntent,
    data=query_records(DATA_DIR, PER_INTENT),
    splits=pldc.Splits(train=0.5, dev=0.2, test=0.3, seed=0),
    name="banking77",
)
