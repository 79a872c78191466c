"""Label calibration: per-label offsets added to the student's label log-likelihoods.

Small models carry a strong prior for some labels whatever the input (Qwen2.5-0.5B rarely says
"escalate", the 1.5B says little else). Batch calibration (Zhou et al., 2023) estimates that
prior as the student's mean label distribution over a batch of inputs under the same prompt, and
divides it out. It uses the inputs only, never their gold labels. Each search trial is
calibrated on the inputs of the examples it is scored on (cheap: their scores are at hand). The
shipped prompt's offsets are fitted once more, on more inputs (`calibration_examples`: dev
first, then training inputs, whose labels go unread), and frozen in the artifact, so deployment
decodes exactly as the artifact's scores were measured. With about 100 inputs the fit is noisy:
on StereoSet's zero-shot prompt, a fit on 100 random inputs decides a held-out set within
[-0.022, +0.012] Macro-F1 of a fit on 225 (docs/calibration-size-stereoset.md).

Only finite scores name a label. A generate-and-parse student (a remote model) scores the label
its reply gives 0 and the others -inf, and every label -inf when its reply names none (an
off-label reply): such a row carries no label prior, so calibration leaves it out, and
`decide` gives no label for it, which counts as a wrong answer. Offsets are finite for any
scores, NaN and infinities included.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from pldc.records import Calibration, CalibrationMethod

if TYPE_CHECKING:  # pldc.data loads the data libraries, which the runtime must not import
    from pldc.data import Example

PROBABILITY_FLOOR = 1e-6


def calibration_examples(
    dev: Sequence[Example], train: Sequence[Example], limit: int, seed: int
) -> list[Example]:
    """The examples whose inputs a shipped prompt's batch calibration is fitted on: dev first,
    then the training examples in a seeded order, the first `limit` of them in all
    (`calibration_examples`; a limit below dev takes part of dev). Gold labels are not read."""
    rest = sorted(train, key=lambda example: example.id)
    random.Random(f"calibration:{seed}").shuffle(rest)
    return [*dev, *rest][:limit]


def fit_calibration(
    method: CalibrationMethod, label_scores: Sequence[Mapping[str, float]], labels: Sequence[str]
) -> Calibration:
    """Offsets for `method` from the label scores of a batch of inputs; zero for "none", and
    when no row names a label."""
    rows = np.array([[row[label] for label in labels] for row in label_scores], dtype=np.float64)
    rows = rows[np.isfinite(rows).any(axis=1)] if len(rows) else rows
    if method == "none" or not len(rows):
        return Calibration(method=method, label_offsets={label: 0.0 for label in labels})
    mean_distribution = np.mean([_softmax(row) for row in rows], axis=0)
    offsets = -np.log(np.maximum(mean_distribution, PROBABILITY_FLOOR))
    return Calibration(
        method=method,
        label_offsets={label: round(float(o), 6) for label, o in zip(labels, offsets, strict=True)},
    )


def decide(
    label_scores: Mapping[str, float], labels: Sequence[str], calibration: Calibration
) -> str | None:
    """The label with the highest calibrated score; ties go to the label declared first.

    None when no label has a finite score: the reply named no label (an off-label reply).
    """
    offsets = calibration.label_offsets
    named = [label for label in labels if math.isfinite(label_scores[label] + offsets[label])]
    if not named:
        return None
    return max(
        named, key=lambda label: (label_scores[label] + offsets[label], -labels.index(label))
    )


def _softmax(row: np.ndarray) -> np.ndarray:
    """The distribution over labels of a row with at least one finite score."""
    finite = np.where(np.isfinite(row), row, -np.inf)
    with np.errstate(over="ignore"):  # a gap past the float range is probability 0, rightly
        shifted = np.exp(finite - finite.max())
    return shifted / shifted.sum()


def calibrated_probabilities(
    label_scores: Mapping[str, float], labels: Sequence[str], calibration: Calibration
) -> dict[str, float]:
    """P(label) for each of `labels`, the softmax of the calibrated scores; they sum to 1,
    except for an off-label reply (no label scored), where every probability is 0."""
    offsets = calibration.label_offsets
    row = np.array([label_scores[label] + offsets[label] for label in labels], dtype=np.float64)
    if not np.isfinite(row).any():
        return dict.fromkeys(labels, 0.0)
    return dict(zip(labels, map(float, _softmax(row)), strict=True))


def gold_log_probability(
    label_scores: Mapping[str, float], gold: str, labels: Sequence[str], calibration: Calibration
) -> float:
    """log P(gold) in nats under the calibrated distribution over `labels`, floored at
    log(PROBABILITY_FLOOR) (about −13.8), so one confidently wrong or off-label reply weighs
    at most that: the per-example statistic the gate compares prompts on (log loss, a proper
    scoring rule, so it is not raised by overconfidence).

    Raises:
        KeyError: `gold` is not in `labels`.
    """
    if gold not in labels:
        raise KeyError(f"gold label {gold!r} is not one of {list(labels)}")
    probability = calibrated_probabilities(label_scores, labels, calibration)[gold]
    return math.log(max(probability, PROBABILITY_FLOOR))
