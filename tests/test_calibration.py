"""Batch calibration removes a student's fixed label prior using inputs only, never labels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pldc.calibration import decide, fit_calibration
from pldc.records import Calibration

LABELS = ("approve", "reject", "escalate")


def biased_rows(true_labels, prior_bonus=3.0):
    """Log-likelihoods that prefer the true label by 1 nat, plus a constant bonus for approve."""
    rows = []
    for truth in true_labels:
        row = {label: (0.0 if label == truth else -1.0) for label in LABELS}
        row["approve"] += prior_bonus
        rows.append(row)
    return rows


def test_uncalibrated_decoding_follows_the_prior():
    rows = biased_rows(LABELS * 4)
    none = fit_calibration("none", rows, LABELS)
    assert {decide(row, LABELS, none) for row in rows} == {"approve"}


def test_batch_calibration_recovers_the_signal_under_a_constant_prior():
    truths = LABELS * 4
    rows = biased_rows(truths)
    batch = fit_calibration("batch", rows, LABELS)
    assert [decide(row, LABELS, batch) for row in rows] == list(truths)


def test_offsets_are_minus_the_log_of_the_mean_predicted_distribution():
    rows = [
        {"approve": math.log(0.8), "reject": math.log(0.1), "escalate": math.log(0.1)},
        {"approve": math.log(0.4), "reject": math.log(0.5), "escalate": math.log(0.1)},
    ]
    offsets = fit_calibration("batch", rows, LABELS).label_offsets
    assert offsets["approve"] == pytest.approx(-math.log(0.6), abs=1e-5)
    assert offsets["reject"] == pytest.approx(-math.log(0.3), abs=1e-5)
    assert offsets["escalate"] == pytest.approx(-math.log(0.1), abs=1e-5)


def test_a_label_the_student_never_gives_gets_a_finite_offset():
    rows = [{"approve": 0.0, "reject": -math.inf, "escalate": -math.inf}] * 3
    offsets = fit_calibration("batch", rows, LABELS).label_offsets
    assert all(math.isfinite(offset) for offset in offsets.values())


def test_ties_go_to_the_label_declared_first():
    flat = Calibration(method="none", label_offsets={label: 0.0 for label in LABELS})
    assert decide({label: -1.0 for label in LABELS}, LABELS, flat) == "approve"


OFF_LABEL = {label: -math.inf for label in LABELS}
"""A generate-and-parse student's scores for a reply that named no label."""


def test_an_off_label_reply_is_left_out_of_the_fit():
    rows = biased_rows(LABELS * 2)

    with_off_label = fit_calibration("batch", [*rows, OFF_LABEL, OFF_LABEL], LABELS)

    assert with_off_label == fit_calibration("batch", rows, LABELS)


def test_a_batch_of_off_label_replies_only_gives_zero_offsets():
    offsets = fit_calibration("batch", [OFF_LABEL] * 3, LABELS).label_offsets

    assert offsets == {label: 0.0 for label in LABELS}


def test_an_off_label_reply_decides_no_label_under_any_calibration():
    batch = fit_calibration("batch", biased_rows(LABELS), LABELS)

    assert decide(OFF_LABEL, LABELS, batch) is None


def test_a_label_without_a_finite_score_is_never_decided():
    flat = Calibration(method="none", label_offsets={label: 0.0 for label in LABELS})

    assert decide({"approve": math.nan, "reject": -3.0, "escalate": -math.inf}, LABELS, flat) == (
        "reject"
    )
    assert decide({"approve": math.nan, "reject": math.inf, "escalate": -9.0}, LABELS, flat) == (
        "escalate"
    )


SCORE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-math.inf, math.inf, math.nan, 0.0, -1e308, 1e308]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({label: SCORE for label in LABELS}), max_size=8))
def test_calibration_offsets_are_finite_for_any_scores(rows):
    offsets = fit_calibration("batch", rows, LABELS).label_offsets

    assert all(math.isfinite(offset) for offset in offsets.values())
    calibration = Calibration(method="batch", label_offsets=offsets)
    assert {decide(row, LABELS, calibration) for row in rows} <= {*LABELS, None}
