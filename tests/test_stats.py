"""Intervals from `pldc.stats` (scipy's percentile bootstrap) at the edges users reach."""

from __future__ import annotations

import random

import pytest

from pldc.stats import (
    macro_f1_interval,
    mean_interval,
    mean_paired_difference,
    paired_difference,
    paired_mean_difference,
)


def test_one_example_gives_its_own_score_as_the_interval_not_a_scipy_error():
    assert macro_f1_interval(["a"], ["a"], ["a", "b"]).low == 0.5
    assert macro_f1_interval(["a"], ["a"], ["a", "b"]).high == 0.5
    assert (mean_interval([0.3]).low, mean_interval([0.3]).high) == (0.3, 0.3)
    difference = paired_difference(["a"], ["a"], ["b"], ["a", "b"])
    assert difference.low == difference.estimate == difference.high
    assert paired_mean_difference([0.5], [0.2]).low == 0.3


def test_two_or_more_examples_get_a_bootstrap_interval_around_the_estimate():
    interval = macro_f1_interval(["a", "b", "a", "b"], ["a", "a", "a", "b"], ["a", "b"])
    assert interval.low <= interval.estimate <= interval.high
    assert interval.low < interval.high


def test_a_resample_that_misses_a_class_averages_over_the_classes_it_holds():
    """77 intents with 3 test examples each (BANKING77's test split): a resample misses a class
    about 5% of the time. Counting that class 0 pulled even a perfect prompt's interval below
    its estimate of 1.0."""
    labels = [f"intent_{i}" for i in range(77)]
    gold = [label for label in labels for _ in range(3)]
    perfect = macro_f1_interval(gold, gold, labels)
    assert perfect.low == perfect.estimate == perfect.high == 1.0
    halves = [label if k % 2 else labels[0] for k, label in enumerate(gold)]
    difference = paired_difference(gold, gold, halves, labels)
    assert difference.low <= difference.estimate <= difference.high


def test_a_declared_label_absent_from_the_sample_still_counts_zero_in_every_resample():
    # "c" has no gold and no predicted example: the estimate averages over all three labels.
    interval = macro_f1_interval(["a", "b"] * 10, ["a", "b"] * 10, ["a", "b", "c"])
    assert interval.estimate == interval.low == interval.high == round(2 / 3, 6)


def test_a_label_only_predicted_never_gold_counts_zero_in_every_resample():
    """A stray prediction of a label no example has as gold: resamples that miss it must not
    drop that label from the average, or the interval reaches 1.0."""
    gold = ["a", "b"] * 20
    stray = ["c", *gold[1:]]
    interval = macro_f1_interval(gold, stray, ["a", "b", "c"])
    assert interval.low <= interval.estimate <= interval.high < 0.7


def test_a_stray_label_and_an_off_label_reply_for_the_same_miss_are_level():
    """Both prompts of a paired comparison average over the same classes in each resample."""
    gold = ["a", "b"] * 20
    labels = ["a", "b", "c"]
    one, other = ["c", *gold[1:]], [None, *gold[1:]]
    for first, second in ((one, other), (other, one)):
        difference = paired_difference(gold, first, second, labels)
        assert difference.low == difference.estimate == difference.high == 0.0


def test_the_mean_of_one_pair_is_that_pair_and_of_two_pairs_their_average():
    rng = random.Random(0)
    labels = ["a", "b", "c"]
    gold = [rng.choice(labels) for _ in range(120)]
    noisy = [[g if rng.random() < p else rng.choice(labels) for g in gold] for p in (0.3, 0.6)]
    one = mean_paired_difference(gold, [(noisy[1], noisy[0])], labels)
    assert one == paired_difference(gold, noisy[1], noisy[0], labels)
    # The same pair twice, one way and back: the mean is 0 in every resample.
    both = mean_paired_difference(gold, [(noisy[1], noisy[0]), (noisy[0], noisy[1])], labels)
    assert both.low == both.estimate == both.high == 0.0
    twice = mean_paired_difference(gold, [(noisy[1], noisy[0]), (noisy[1], gold)], labels)
    expected = (one.estimate + paired_difference(gold, noisy[1], gold, labels).estimate) / 2
    assert twice.estimate == pytest.approx(expected, abs=1e-6)
    assert twice.low <= twice.estimate <= twice.high


def test_the_mean_of_no_pairs_or_of_a_short_sequence_is_refused():
    with pytest.raises(ValueError):
        mean_paired_difference(["a"], [], ["a", "b"])
    with pytest.raises(ValueError):
        mean_paired_difference(["a", "b"], [(["a"], ["b", "a"])], ["a", "b"])
