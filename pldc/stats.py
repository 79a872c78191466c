"""Confidence intervals for Macro-F1, and the paired bootstrap that compares two prompts.

Both resample examples with replacement (Efron & Tibshirani, "An Introduction to the
Bootstrap", 1993, ch. 13, percentile intervals) through `scipy.stats.bootstrap`. Two prompts
are compared on the same examples, so each resample draws the same example indices for both
(`paired=True`): the interval is for the difference, and shared example difficulty cancels.
Macro-F1 here is the unweighted mean of per-class F1 over every declared label, a class with
no gold and no predicted example counting 0, exactly as `pldc.evaluate.score_predictions`.
A resample that draws none of a class's gold examples has no F1 for that class, so it
averages over the classes whose gold examples it holds, the same ones for both prompts of a
paired comparison. Counting such a class 0 pulled intervals below their estimates when
classes are many and rare: with 77 intents of 3 test examples each, each class is missed by
about 5% of resamples, and nearly every resample misses some class. A declared class with no
gold example in the whole sample has F1 0 in the estimate, and counts 0 in every resample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap

from pldc.records import Interval

RESAMPLES = 2000
CONFIDENCE = 0.95


def macro_f1_interval(
    gold: Sequence[str],
    predicted: Sequence[str | None],
    labels: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Interval:
    """Macro-F1 of `predicted` against `gold`, with its 95% percentile bootstrap interval.

    Raises:
        ValueError: `gold` and `predicted` differ in length or are empty.
    """
    g, p = _codes(gold, labels), _codes(predicted, labels)
    _check(g, p)
    k = len(labels)
    no_gold = _no_gold(g, k)

    def statistic(gold_codes, predicted_codes, axis=-1):
        return _macro_f1(gold_codes, predicted_codes, k, no_gold)

    return _interval(statistic, (g, p), _macro_f1(g, p, k, no_gold), seed, resamples)


def paired_difference(
    gold: Sequence[str],
    predicted_a: Sequence[str | None],
    predicted_b: Sequence[str | None],
    labels: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Interval:
    """Macro-F1(a) − Macro-F1(b) on the same examples, with its paired 95% bootstrap interval.

    Raises:
        ValueError: the three sequences differ in length or are empty.
    """
    return mean_paired_difference(
        gold, [(predicted_a, predicted_b)], labels, seed=seed, resamples=resamples
    )


def mean_paired_difference(
    gold: Sequence[str],
    pairs: Sequence[tuple[Sequence[str | None], Sequence[str | None]]],
    labels: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Interval:
    """The mean over `pairs` of Macro-F1(a) − Macro-F1(b), all on the same examples, with a
    95% bootstrap interval that resamples the examples once for every pair. For example, two
    compile settings each compiled at several seeds and scored on one held-out set: the interval
    covers the examples' noise, not the seeds' (with few seeds, read each pair too).

    Raises:
        ValueError: `pairs` is empty, or a sequence differs in length from `gold`.
    """
    if not pairs:
        raise ValueError("mean_paired_difference needs at least one pair")
    g = _codes(gold, labels)
    coded = [_codes(x, labels) for pair in pairs for x in pair]
    for predicted in coded:
        _check(g, predicted)
    k = len(labels)
    no_gold = _no_gold(g, k)

    def statistic(gold_codes, *predicted, axis=-1):
        differences = [
            _macro_f1(gold_codes, a, k, no_gold) - _macro_f1(gold_codes, b, k, no_gold)
            for a, b in zip(predicted[::2], predicted[1::2], strict=True)
        ]
        return np.mean(differences, axis=0)

    estimate = statistic(g, *coded)
    return _interval(statistic, (g, *coded), estimate, seed, resamples)


def mean_interval(
    values: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES
) -> Interval:
    """The mean of per-example `values` (e.g. 1.0 for a right answer: accuracy), with its 95%
    percentile bootstrap interval.

    Raises:
        ValueError: `values` is empty.
    """
    x = np.asarray(values, dtype=np.float64)
    _check(x, x)

    def statistic(sample, axis=-1):
        return np.mean(sample, axis=axis)

    return _interval(statistic, (x,), float(np.mean(x)), seed, resamples)


def paired_mean_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Interval:
    """mean(a) − mean(b) for per-example values of two prompts on the same examples (for
    example gold-label log-probabilities, in nats), with its paired 95% bootstrap interval.

    Raises:
        ValueError: `a` and `b` differ in length or are empty.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    _check(x, y)

    def statistic(first, second, axis=-1):
        return np.mean(first, axis=axis) - np.mean(second, axis=axis)

    return _interval(statistic, (x, y), float(np.mean(x) - np.mean(y)), seed, resamples)


def _interval(statistic, data, estimate, seed: int, resamples: int) -> Interval:
    if len(data[0]) < 2:
        # Every resample of one example is that example: the percentile interval is the point
        # (scipy refuses to compute it).
        low = high = estimate
    else:
        low, high = _bootstrap_bounds(statistic, data, seed, resamples)
    return Interval(
        estimate=round(float(estimate), 6),
        low=round(float(low), 6),
        high=round(float(high), 6),
        confidence=CONFIDENCE,
        resamples=resamples,
    )


def _bootstrap_bounds(statistic, data, seed: int, resamples: int) -> tuple[float, float]:
    result = bootstrap(
        data,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return float(low), float(high)


def _macro_f1(gold: np.ndarray, predicted: np.ndarray, k: int, no_gold: np.ndarray) -> np.ndarray:
    """Macro-F1 over the last axis, for label codes 0..k-1 (−1: no label): the mean F1 over
    the classes with a gold example along that axis, and the `no_gold` ones (shape (k,): no
    gold example in the whole sample), whose F1 is 0."""
    f1, counted = [], []
    for label in range(k):
        is_gold, is_pred = gold == label, predicted == label
        tp = np.sum(is_gold & is_pred, axis=-1)
        wrong = np.sum(is_gold != is_pred, axis=-1)
        denominator = 2 * tp + wrong
        f1.append(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0))
        counted.append(np.any(is_gold, axis=-1) | no_gold[label])
    return np.sum(f1, axis=0) / np.maximum(np.sum(counted, axis=0), 1)


def _no_gold(gold: np.ndarray, k: int) -> np.ndarray:
    """Per label code 0..k-1, whether no example has it as gold."""
    return np.array([not np.any(gold == label) for label in range(k)])


def _codes(values: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    """Each value's index in `labels`; -1 for a value that is no label (None: off-label)."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(v, -1) for v in values], dtype=np.int64)


def _check(gold: np.ndarray, predicted: np.ndarray) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not len(gold):
        raise ValueError("no examples to score")
