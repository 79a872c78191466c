"""Label calibration: per-label offsets added to the student's label log-likelihoods.

Small models carry a strong prior for some labels whatever the input (Qwen2.5-0.5B rarely says
"escalate", the 1.5B says little else). Batch calibration (Zhou et al., 2023) estimates that
prior as the student's mean label distribution over a batch of inputs under the same prompt, and
divides it out. It uses the inputs only, never their gold labels. The offsets are fitted once,
on the inputs of the selection examples the search chose on (dev, then unused training
examples), and frozen in the artifact, so deployment decodes exactly as the search did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pldc.records import Calibration, CalibrationMethod

PROBABILITY_FLOOR = 1e-6


def fit_calibration(
    method: CalibrationMethod, label_scores: Sequence[Mapping[str, float]], labels: Sequence[str]
) -> Calibration:
    if method == "none" or not label_scores:
        return Calibration(method=method, label_offsets={label: 0.0 for label in labels})
    rows = np.array([[row[label] for label in labels] for row in label_scores], dtype=np.float64)
    mean_distribution = np.mean([_softmax(row) for row in rows], axis=0)
    offsets = -np.log(np.maximum(mean_distribution, PROBABILITY_FLOOR))
    return Calibration(
        method=method,
        label_offsets={label: round(float(o), 6) for label, o in zip(labels, offsets, strict=True)},
    )


def decide(
    label_scores: Mapping[str, float], labels: Sequence[str], calibration: Calibration
) -> str:
    """The label with the highest calibrated score; ties go to the label declared first."""
    offsets = calibration.label_offsets
    return max(
        labels, key=lambda label: (label_scores[label] + offsets[label], -labels.index(label))
    )


def _softmax(row: np.ndarray) -> np.ndarray:
    finite = np.where(np.isfinite(row), row, -np.inf)
    shifted = np.exp(finite - finite.max())
    return shifted / shifted.sum()
