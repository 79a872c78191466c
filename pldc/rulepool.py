"""The rule pool: teacher rules with near-duplicates merged, each keeping its provenance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from pldc.extract import TeacherTrace


class Rule(BaseModel):
    id: str
    text: str
    labels: list[str]
    """The gold labels of the examples this rule was written for."""
    source_example_ids: list[str]
    support: int
    merged_texts: list[str] = []
    """The other teacher rules folded into this one as near-duplicates."""
    copied_specifics: list[str] = []
    """Details of its source case the rule names (see TeacherTrace.copied_specifics)."""


def build_rule_pool(traces: Sequence[TeacherTrace], similarity: float = 0.75) -> list[Rule]:
    """Merge rules for the same label whose TF-IDF cosine similarity reaches `similarity`.

    The pool is ordered by support (how many examples back a rule), then by first appearance.
    """
    usable = [t for t in traces if t.rule]
    if not usable:
        return []
    texts = [t.rule for t in usable]
    vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(
        [_normalise(t) for t in texts]
    )
    sims = cosine_similarity(vectors)

    parent = list(range(len(usable)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(usable)):
        for j in range(i + 1, len(usable)):
            if usable[i].label == usable[j].label and sims[i, j] >= similarity:
                parent[root(j)] = root(i)

    groups: dict[int, list[int]] = {}
    for i in range(len(usable)):
        groups.setdefault(root(i), []).append(i)

    merged = []
    for members in groups.values():
        within = sims[np.ix_(members, members)].sum(axis=1)
        # The medoid speaks for the group; on a tie the earliest member does.
        representative = members[int(np.argmax(within))]
        merged.append((members, representative))
    merged.sort(key=lambda group: (-len(group[0]), group[0][0]))

    pool = []
    for number, (members, representative) in enumerate(merged, start=1):
        pool.append(
            Rule(
                id=f"rule-{number:02d}",
                text=texts[representative],
                labels=sorted({usable[i].label for i in members}),
                source_example_ids=[usable[i].example_id for i in members],
                support=len(members),
                merged_texts=[texts[i] for i in members if i != representative],
                copied_specifics=usable[representative].copied_specifics,
            )
        )
    return pool


def _normalise(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())
