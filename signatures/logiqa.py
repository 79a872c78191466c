"""LogiQA v1 (English, Eval.txt): 4-way multiple-choice logical reasoning. The metric is accuracy.

Eval.txt holds 651 blocks of 8 lines: a blank line, the gold letter (lowercase), the context,
the question and four options. Options are read by position (lines 5-8), never by their letter:
14 blocks carry malformed prefixes ("A " or "A?" for "A.", a lowercase "d.", or the letter moved
inside the text as in "In the B.NEC fast chess game"), so each option's own letter is stripped
from its start or, failing that, from inside its text. Options are shown as "A. ...", one per
line. 31 contexts are shared by two or three questions, so splits are grouped by context.
On this file "D" is gold 41% of the time; watch for a student that always answers D.

Data: ../shared/data/logiqa/Eval.txt by default; set LOGIQA_TXT to read another copy of a file
in the same format (e.g. Test.txt). To use a Hugging Face `datasets` copy instead, write e.g.
`pldc.Task(signature=LogicalReasoning, data="<hf name>", columns={"context": "<column>", ...})`
with the options pre-joined into one text column and the answer as a letter A-D.
"""

import os
import re
from pathlib import Path
from typing import Literal

import dspy

import pldc

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared/data/logiqa/Eval.txt"
LETTERS = ("A", "B", "C", "D")
BLOCK_LINES = 8


class LogicalReasoning(dspy.Signature):
    """Read the passage and the question, work out what the passage states or implies (what
    follows from it, strengthens or weakens its argument, or is assumed by it), and choose the
    one option that best answers the question."""

    context: str = dspy.InputField(desc="the passage")
    question: str = dspy.InputField()
    options: str = dspy.InputField(desc="four options, one per line, lettered A to D")
    answer: Literal["A", "B", "C", "D"] = dspy.OutputField()


def clean_option(text: str, letter: str) -> str:
    """The option text without its letter, wherever the source left it."""
    text = text.strip()
    leading = re.match(rf"{letter}[.?\s]\s*", text, re.IGNORECASE)
    if leading:
        return text[leading.end() :].strip()
    # "In the B.NEC fast chess game": the prefix slid into the text; drop its first occurrence.
    return re.sub(rf"(?<![A-Za-z]){letter}\.\s*(?=\S)", "", text, count=1)


def question_records(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise pldc.DataError(
            f"LogiQA file {path} is missing; put Eval.txt there or set LOGIQA_TXT to its path."
        )
    lines = path.read_text(encoding="utf-8").split("\n")
    if len(lines) % BLOCK_LINES:
        raise pldc.DataError(
            f"LogiQA file {path} has {len(lines)} lines, not a multiple of {BLOCK_LINES}; "
            "each question is a blank line, the answer, context, question and four options."
        )
    records = []
    for start in range(0, len(lines), BLOCK_LINES):
        _, answer, context, question, *options = lines[start : start + BLOCK_LINES]
        records.append(
            {
                "id": f"logiqa{start // BLOCK_LINES:03d}",
                "context": context.strip(),
                "question": question.strip(),
                "options": "\n".join(
                    f"{letter}. {clean_option(option, letter)}"
                    for letter, option in zip(LETTERS, options, strict=True)
                ),
                "answer": answer.strip().upper(),
            }
        )
    return records


task = pldc.Task(
    signature=LogicalReasoning,
    data=question_records(Path(os.environ.get("LOGIQA_TXT", DEFAULT_PATH))),
    splits=pldc.Splits(train=0.5, dev=0.15, test=0.35, seed=0, group_by="context"),
    name="logiqa",
)
