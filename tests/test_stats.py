"""Intervals from `pldc.stats` (scipy's percentile bootstrap) at the edges users reach."""

from __future__ import annotations

from pldc.stats import macro_f1_interval, mean_interval, paired_difference, paired_mean_difference


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
