"""The deployment path checks its inputs as the compile checked the data."""

from __future__ import annotations

import pytest
from test_artifact import make_artifact

import pldc
from pldc.backends import FunctionBackend


@pytest.fixture
def classifier(tmp_path):
    student = FunctionBackend(score=lambda messages, labels: dict.fromkeys(labels, 0.0))
    return pldc.load(make_artifact().save(tmp_path / "a.json"), student=student)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_input_is_refused_as_the_compile_refuses_it(classifier, text):
    with pytest.raises(pldc.DataError, match=r"input field\(s\) \['claim'\] are empty"):
        classifier.predict(claim=text)


def test_a_misspelt_field_is_named_with_the_fields_the_prompt_takes(classifier):
    with pytest.raises(pldc.DataError, match=r"missing \['claim'\]; unknown \['clam'\]"):
        classifier.predict(clam="Taxi to the airport, $40.")


def test_a_split_lacking_a_class_says_so_next_to_its_macro_f1():
    """Issue 20 D11: Macro-F1 counts the missing class's F1 as 0, so the table says why."""
    import io

    from rich.console import Console

    from pldc.evaluate import score_predictions
    from pldc.report import print_scores

    scores = score_predictions(["a", "a", "b"], ["a", "b", "b"], ["a", "b", "c"])
    out = io.StringIO()
    print_scores(Console(file=out, width=200), "toy: test split", scores)

    assert "(no gold 'c' in this split: its F1 counts 0)" in " ".join(out.getvalue().split())
    full = score_predictions(["a", "b", "c"], ["a", "b", "c"], ["a", "b", "c"])
    out = io.StringIO()
    print_scores(Console(file=out, width=200), "toy: test split", full)
    assert "no gold" not in out.getvalue()
