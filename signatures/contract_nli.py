"""ContractNLI: does a non-disclosure agreement entail, contradict, or not mention a hypothesis?

Each contract is paired with the same 17 hypotheses, one example per pair. The premise is not
the gold evidence (it is empty exactly for NotMentioned, so its length alone gives the label
away) nor the whole contract (thousands of tokens). Instead the contract's spans are ranked
against the hypothesis by Okapi BM25 (k1=1.5, b=0.75, IDF computed within that one contract,
lowercase word tokens), and the top EXCERPT_SPANS spans are shown in document order, one per
line. The retrieval never sees the label, so every example carries the same number of excerpts.
It is lossy: in the default sample the top 4 hold no gold evidence span for about a third of
the Entailment pairs and half of the Contradiction pairs.

Both dev.json (61 contracts) and the unofficial train_truncated.json (50) are read; a seeded
sample of DOCUMENTS contracts keeps compiles within a CPU budget, and splits are grouped by
`document` so no contract crosses train, dev and test. With 12 contracts that is 204 pairs:
102 train, 34 dev and 68 test. A pair's input is about 250 tokens (median), so every student
or teacher call costs several times one on a StereoSet sentence. The oracle evidence premise
is kept in an `evidence` column for analysis only; it is not an input field.

Data: ../shared/data/contract-nli/ by default; set CONTRACT_NLI_DIR to a folder holding another
copy of dev.json and train_truncated.json. To use a Hugging Face `datasets` copy that already
has premises, write e.g. `pldc.Task(signature=ContractEntailment, data="<hf name>",
columns={"hypothesis": "<column>", "excerpts": "<premise column>", "label": "<column>"})`,
mapping its labels to the three below.
"""

import json
import math
import os
import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import dspy

import pldc

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared/data/contract-nli"
FILES = ("dev.json", "train_truncated.json")
DOCUMENTS = 12
EXCERPT_SPANS = 4
BM25_K1 = 1.5
BM25_B = 0.75


class ContractEntailment(dspy.Signature):
    """Read excerpts from a non-disclosure agreement and decide whether the contract entails the
    hypothesis (it commits to it), contradicts it (it states the opposite), or does not mention
    it. The excerpts are the passages most similar to the hypothesis, so if none of them
    addresses the hypothesis, the contract most likely does not mention it."""

    hypothesis: str = dspy.InputField(desc="a statement about the contract's obligations")
    excerpts: str = dspy.InputField(desc="contract passages retrieved for it, in document order")
    label: Literal["Entailment", "Contradiction", "NotMentioned"] = dspy.OutputField()


def tokenize(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


class SpanIndex:
    """Okapi BM25 over one contract's spans; IDF is taken over these spans only."""

    def __init__(self, spans: Sequence[str]) -> None:
        self.span_counts = [Counter(tokenize(span)) for span in spans]
        lengths = [counts.total() for counts in self.span_counts if counts]
        self.average_length = sum(lengths) / len(lengths) if lengths else 1.0
        frequency = Counter(term for counts in self.span_counts for term in counts)
        self.idf = {
            term: math.log(1 + (len(lengths) - df + 0.5) / (df + 0.5))
            for term, df in frequency.items()
        }

    def scores(self, query: str) -> list[float]:
        terms = set(tokenize(query)) & self.idf.keys()
        scores = []
        for counts in self.span_counts:
            norm = BM25_K1 * (1 - BM25_B + BM25_B * counts.total() / self.average_length)
            scores.append(
                sum(
                    self.idf[term] * counts[term] * (BM25_K1 + 1) / (counts[term] + norm)
                    for term in terms
                    if term in counts
                )
            )
        return scores

    def top(self, query: str, k: int = EXCERPT_SPANS) -> list[int]:
        """Indices of the k best-scoring spans that hold words, in document order."""
        scores = self.scores(query)
        candidates = [i for i, counts in enumerate(self.span_counts) if counts]
        # Ties go to the earlier span, so the choice is deterministic.
        ranked = sorted(candidates, key=lambda i: (-scores[i], i))
        return sorted(ranked[:k])


def pair_records(folder: Path, documents: int, seed: int = 0) -> list[dict[str, str]]:
    paths = [folder / name for name in FILES]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise pldc.DataError(
            f"ContractNLI file(s) {', '.join(missing)} missing; put dev.json and "
            "train_truncated.json there or set CONTRACT_NLI_DIR to their folder."
        )
    contracts, hypotheses = [], {}
    for path in paths:
        release = json.loads(path.read_text())
        contracts.extend(release["documents"])
        hypotheses.update({key: entry["hypothesis"] for key, entry in release["labels"].items()})
    contracts.sort(key=lambda contract: contract["id"])
    sample = random.Random(seed).sample(contracts, min(documents, len(contracts)))
    records = []
    for contract in sorted(sample, key=lambda contract: contract["id"]):
        spans = [contract["text"][start:end] for start, end in contract["spans"]]
        index = SpanIndex(spans)
        annotations = contract["annotation_sets"][0]["annotations"]
        for key in sorted(annotations, key=lambda key: int(key.split("-")[1])):
            hypothesis = hypotheses[key]
            chosen = index.top(hypothesis)
            records.append(
                {
                    "id": f"doc{contract['id']:03d}-{key}",
                    "hypothesis": hypothesis,
                    "excerpts": "\n".join(" ".join(spans[i].split()) for i in chosen),
                    "label": annotations[key]["choice"],
                    "document": str(contract["id"]),
                    "evidence": " ".join(spans[i] for i in annotations[key]["spans"]),
                }
            )
    return records


task = pldc.Task(
    signature=ContractEntailment,
    data=pair_records(Path(os.environ.get("CONTRACT_NLI_DIR", DEFAULT_DIR)), DOCUMENTS),
    splits=pldc.Splits(train=0.5, dev=0.15, test=0.35, seed=0, group_by="document"),
    name="contract_nli",
)
