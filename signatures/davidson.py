"""Davidson et al. 2017: is a tweet hate speech, offensive but not hateful, or neither?

The label is the `class` column, the annotators' majority: 0 = hate, 1 = offensive,
2 = neither. The file is very skewed (about 6% hate, 77% offensive), so a seeded sample of up to
PER_CLASS tweets per class is drawn: balanced here, 200 per class, which keeps compiles within
a CPU budget and gives each class equal weight, as Macro-F1 does. The split is stratified by
label. HTML entities in the raw tweets (&amp;, &lt;) are unescaped; "RT @user" and URLs stay.

The content is offensive by design: racist, sexist and homophobic slurs are the point of the
data. Its labels are known to carry a racial (AAE dialect) bias (Davidson et al. 2019).

Data: ../shared/data/davidson-hate-speech/labeled_data.csv by default; set DAVIDSON_CSV to read
another copy of the same file. To use a Hugging Face `datasets` copy instead, write e.g.
`pldc.Task(signature=HateSpeechDetection, data="<hf name>", columns={"tweet": "tweet",
"label": "<label column>"})`, with the labels mapped to the three names below.
"""

import csv
import html
import os
import random
from pathlib import Path
from typing import Literal

import dspy

import pldc

DEFAULT_PATH = (
    Path(__file__).resolve().parents[2] / "shared/data/davidson-hate-speech/labeled_data.csv"
)
LABELS = {"0": "hate", "1": "offensive", "2": "neither"}
PER_CLASS = 200


class HateSpeechDetection(dspy.Signature):
    """Read a tweet and decide whether it is hate speech (it expresses hatred towards, or aims
    to humiliate or degrade, a group because of race, ethnicity, religion, gender, sexual
    orientation or a similar trait), offensive (it uses offensive or vulgar language, slurs
    included, but does not amount to hate speech), or neither."""

    tweet: str = dspy.InputField()
    label: Literal["hate", "offensive", "neither"] = dspy.OutputField()


def tweet_records(path: Path, per_class: int, seed: int = 0) -> list[dict[str, str]]:
    if not path.exists():
        raise pldc.DataError(
            f"Davidson file {path} is missing; put labeled_data.csv there or set DAVIDSON_CSV "
            "to its path."
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_class: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_class.setdefault(row["class"], []).append(index)
    rng = random.Random(seed)
    chosen = []
    for label_code in sorted(by_class):
        indices = by_class[label_code]
        chosen.extend(rng.sample(indices, min(per_class, len(indices))))
    return [
        {
            # The CSV's unnamed first column is the tweet's row number in the original release.
            "id": f"tweet{int(rows[index]['']):05d}",
            "tweet": html.unescape(rows[index]["tweet"]),
            "label": LABELS.get(rows[index]["class"], rows[index]["class"]),
        }
        for index in sorted(chosen)
    ]


task = pldc.Task(
    signature=HateSpeechDetection,
    data=tweet_records(Path(os.environ.get("DAVIDSON_CSV", DEFAULT_PATH)), PER_CLASS),
    splits=pldc.Splits(train=0.5, dev=0.15, test=0.35, seed=0),
    name="davidson",
)
