"""What is checked of a task's records before any model runs, beyond their columns.

- Labels: a record's label is matched to the signature's after Unicode NFC normalization; one
  that matches none is reported as its source spells it (a JSON file's `true`, `null`, `1.0`)
  with the likely cause.
- Inputs: empty or whitespace-only inputs are refused, naming the examples.
- Duplicates: identical inputs with different labels are refused, naming the examples; identical
  inputs with one label are reported, and `pldc.splitting` keeps them in one split.
- Rare labels: a label missing from a split is reported with its counts.
"""

from __future__ import annotations

import json
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pldc.errors import DataError, DataWarning
from pldc.task import label_key

MISSING = object()
"""A record without the label's column at all."""

SHOWN = 5
"""How many ids or groups a message lists before "and N more"."""


class Labelled(Protocol):
    id: str
    inputs: dict[str, str]
    label: str


class LabelReader:
    """Reads a record's label as one of the signature's `labels`.

    `from_file`: the records were read from a data file, so values are spelled as JSON there
    (`true`, `null`); otherwise as Python (`True`, `None`).
    """

    def __init__(self, labels: Sequence[str], *, from_file: bool) -> None:
        self.labels = tuple(labels)
        self._by_nfc = {unicodedata.normalize("NFC", label): label for label in labels}
        self._from_file = from_file

    def label(self, value: Any) -> str | None:
        """The declared label `value` names, or None. A whole number names the label spelled
        as that number ("1" for 1)."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return None
        return self._by_nfc.get(unicodedata.normalize("NFC", value))

    def describe(self, value: Any) -> str:
        """`value` as its source spells it, with why it is no label."""
        if value is MISSING:
            return "no value (the record lacks the column)"
        spelled = self.spelled(value)
        if value is None:
            return f"{spelled} (a missing label)"
        if isinstance(value, bool):
            return f"{spelled} (a boolean, not a label)"
        if isinstance(value, int | float):
            same = [label for label in self.labels if _same_number(label, value)]
            where = f"where the Literal has {same[0]!r}" if same else "not a label"
            return f"number {spelled} ({where})"
        if isinstance(value, str):
            return spelled + _near_miss(value, self.labels)
        return f"{spelled} (a {type(value).__name__}, not a label)"

    def spelled(self, value: Any) -> str:
        if isinstance(value, str) or not self._from_file:
            return repr(value)
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return repr(value)


def _near_miss(value: str, labels: Sequence[str]) -> str:
    key = label_key(value)
    for label in labels:
        if label_key(label) == key:
            return f" (differs from {label!r} only in case or whitespace)"
        if _same_number(label, value):
            return f" (the number of label {label!r}, written differently)"
    return ""


def _same_number(label: str, value: Any) -> bool:
    try:
        return float(label) == float(value)
    except (TypeError, ValueError):
        return False


def check_inputs_not_empty(examples: Sequence[Labelled], source: str) -> None:
    """Refuse empty or whitespace-only inputs, naming the field and the examples."""
    empty: dict[str, list[str]] = {}
    for example in examples:
        for name, text in example.inputs.items():
            if not text.strip():
                empty.setdefault(name, []).append(example.id)
    if empty:
        name, ids = next(iter(empty.items()))
        raise DataError(
            f"{source}: input field {name!r} is empty or whitespace-only in {len(ids)} "
            f"example(s): {listed(ids)}; fill it in or drop those records."
        )


def input_key(inputs: Mapping[str, str]) -> tuple[str, ...]:
    """What makes two inputs the same text: every field, NFC-normalized, whitespace collapsed."""
    return tuple(
        " ".join(unicodedata.normalize("NFC", inputs[name]).split()) for name in sorted(inputs)
    )


def identical_inputs(examples: Sequence[Labelled]) -> list[list[int]]:
    """The indices of examples whose inputs are the same text, for each text held twice or more."""
    by_key: dict[tuple[str, ...], list[int]] = {}
    for index, example in enumerate(examples):
        by_key.setdefault(input_key(example.inputs), []).append(index)
    return [indices for indices in by_key.values() if len(indices) > 1]


def check_duplicates(examples: Sequence[Labelled], source: str, *, split: bool = True) -> None:
    """Refuse identical inputs with different labels; report those with one label, which the
    split keeps together (`split`) or, in sets given already split, may sit in two of them."""
    duplicates = identical_inputs(examples)
    conflicting = [d for d in duplicates if len({examples[i].label for i in d}) > 1]
    if conflicting:
        shown = "; ".join(
            ", ".join(f"{examples[i].id!r} ({examples[i].label})" for i in indices[:SHOWN])
            + (f" and {len(indices) - SHOWN} more" if len(indices) > SHOWN else "")
            for indices in conflicting[:SHOWN]
        )
        more = f"; and {len(conflicting) - SHOWN} more" if len(conflicting) > SHOWN else ""
        raise DataError(
            f"{source}: {len(conflicting)} input text(s) appear with different labels: "
            f"{shown}{more}. Fix the labels or drop the duplicates."
        )
    if duplicates:
        copies = sum(len(d) for d in duplicates)
        first = ", ".join(repr(examples[i].id) for i in duplicates[0])
        kept = (
            "each is kept within one split, so no text is in two splits."
            if split
            else "a text given in two sets (train and test, say) makes the later set's "
            "scores overstate, so drop it from one; copies within one set stay together."
        )
        warnings.warn(
            f"{source}: {len(duplicates)} input text(s) occur more than once ({copies} "
            f"examples; first: {first}); {kept}",
            DataWarning,
            stacklevel=3,
        )


def report_rare_labels(
    labels: Sequence[str], parts: Sequence[Sequence[Labelled]], source: str
) -> None:
    """Warn, with counts, of each label missing from the train, dev or test split."""
    names = ("train", "dev", "test")
    rare = []
    for label in labels:
        counts = [sum(ex.label == label for ex in part) for part in parts]
        if min(counts) == 0:
            detail = ", ".join(f"{name} {n}" for name, n in zip(names, counts, strict=True))
            rare.append(f"{label!r} {sum(counts)} ({detail})")
    if rare:
        warnings.warn(
            f"{source}: too few examples for every label to appear in train, dev and test: "
            f"{'; '.join(rare)}. A split without a label cannot measure it; add examples of "
            "it or drop it from the Literal.",
            DataWarning,
            stacklevel=3,
        )


def listed(ids: Sequence[str]) -> str:
    """Up to `SHOWN` ids, quoted, then how many more."""
    shown = ", ".join(repr(i) for i in ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
