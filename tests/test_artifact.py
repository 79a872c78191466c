"""Specification tests for pldc/artifact.py: the frozen, hashed, versioned JSON artifact."""

from __future__ import annotations

import json
import math
import re

import pytest

from pldc import ArtifactError, CompiledPrompt, ModelIdentity, load_artifact
from pldc.artifact import installed_versions
from pldc.evaluate import score_predictions
from pldc.records import (
    ArtifactScores,
    Calibration,
    PromptRecord,
    Provenance,
    Rule,
    TaskRecord,
    TrialRecord,
)
from pldc.render import render_system_prompt, render_user_template
from pldc.task import InputFieldSpec, TaskSchema

LABELS = ["approve", "reject"]
NO_OFFSETS = {label: 0.0 for label in LABELS}

SCHEMA = TaskSchema(
    signature_name="ClaimReview",
    instruction="Decide what happens to an expense claim.",
    input_fields=(InputFieldSpec("claim", "Claim", ""),),
    output_field="decision",
    labels=tuple(LABELS),
)


def make_rule(number: int, text: str, label: str) -> Rule:
    return Rule(
        id=f"rule-{number:02d}",
        text=text,
        labels=[label],
        source_example_ids=[f"ex-{number}"],
        support=1,
    )


def make_artifact() -> CompiledPrompt:
    kept = [make_rule(1, "If the claim includes alcohol, the answer is reject.", "reject")]
    left_out = make_rule(2, "If the claim is a taxi fare, the answer is approve.", "approve")
    candidates = [*kept, left_out]
    scores = score_predictions(["approve", "reject"], ["approve", "reject"], LABELS)
    baseline = score_predictions(["approve", "reject"], ["approve", "approve"], LABELS)
    return CompiledPrompt(
        task=TaskRecord(
            name="claim_review",
            signature="ClaimReview",
            instruction=SCHEMA.instruction,
            data_fingerprint="0" * 64,
            split_sizes={"train": 6, "dev": 2, "test": 2},
        ),
        prompt=PromptRecord(
            system=render_system_prompt(SCHEMA, [r.text for r in kept]),
            user_template=render_user_template(SCHEMA),
            input_fields=["claim"],
            output_field="decision",
            labels=LABELS,
        ),
        rules=kept,
        calibration=Calibration(method="batch", label_offsets={"approve": 0.1, "reject": -0.2}),
        teacher=ModelIdentity(
            kind="function", name="teacher", decoding="generate_parse", tokenizer="words"
        ),
        student=ModelIdentity(
            kind="function", name="student", decoding="label_logprob", tokenizer="words"
        ),
        token_count=40,
        baseline_token_count=30,
        token_budget=100,
        seed=0,
        scores=ArtifactScores(
            dev=scores,
            test=scores,
            baseline_dev=baseline,
            baseline_test=baseline,
            baseline_calibration=Calibration(method="none", label_offsets=NO_OFFSETS),
        ),
        provenance=Provenance(
            sampler="TPESampler",
            trials=[TrialRecord(number=0, rule_ids=["rule-01"], tokens=40, dev_macro_f1=1.0)],
            best_trial=0,
            teacher_examples=6,
            teacher_traces=[],
            embedder="tfidf",
            cluster_eps=0.25,
            cluster_min_samples=2,
            candidate_rules=candidates,
        ),
        versions=installed_versions(),
    )


@pytest.fixture
def artifact() -> CompiledPrompt:
    return make_artifact()


@pytest.fixture
def saved(tmp_path, artifact):
    return artifact.save(tmp_path / "compiled" / "claims.json")


def edit_saved(path, edit) -> None:
    raw = json.loads(path.read_text())
    edit(raw)
    path.write_text(json.dumps(raw, indent=2))


def test_save_then_load_round_trips_to_an_equal_artifact(artifact, saved):
    assert load_artifact(saved) == artifact.with_hash()


def test_save_creates_missing_parent_folders(tmp_path, artifact):
    path = artifact.save(tmp_path / "a" / "b" / "claims.json")

    assert path.is_file()


def test_with_hash_is_deterministic(artifact):
    assert artifact.with_hash().content_hash == make_artifact().with_hash().content_hash


def test_with_hash_is_a_sha256_hex_digest(artifact):
    assert re.fullmatch(r"[0-9a-f]{64}", artifact.with_hash().content_hash)


def test_with_hash_ignores_a_previous_hash(artifact):
    hashed = artifact.with_hash()

    assert hashed.with_hash().content_hash == hashed.content_hash


def _change_rule_text(a: CompiledPrompt) -> CompiledPrompt:
    edited = a.rules[0].model_copy(update={"text": "If the claim includes wine, reject it."})
    return a.model_copy(update={"rules": [edited]})


CHANGES = {
    "seed": lambda a: a.model_copy(update={"seed": 1}),
    "token_budget": lambda a: a.model_copy(update={"token_budget": 101}),
    "system prompt": lambda a: a.model_copy(
        update={"prompt": a.prompt.model_copy(update={"system": a.prompt.system + " "})}
    ),
    "rule text": _change_rule_text,
    "student": lambda a: a.model_copy(
        update={"student": a.student.model_copy(update={"name": "other"})}
    ),
    "scores": lambda a: a.model_copy(
        update={
            "scores": a.scores.model_copy(update={"dev": a.scores.dev.model_copy(update={"n": 3})})
        }
    ),
    "versions": lambda a: a.model_copy(update={"versions": {**a.versions, "dspy": "0.0.1"}}),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_with_hash_changes_when_any_content_changes(artifact, change):
    assert change(artifact).with_hash().content_hash != artifact.with_hash().content_hash


def test_a_rule_text_edited_after_saving_is_refused_naming_content_hash(saved):
    edit_saved(saved, lambda raw: raw["rules"][0].update(text="If the claim is late, approve."))

    with pytest.raises(ArtifactError) as error:
        load_artifact(saved)

    message = str(error.value)
    assert str(saved) in message
    assert "content_hash" in message
    assert "modified after compiling" in message


def test_a_system_prompt_edited_after_saving_is_refused_naming_content_hash(saved):
    edit_saved(saved, lambda raw: raw["prompt"].update(system="Always approve."))

    with pytest.raises(ArtifactError, match="content_hash"):
        load_artifact(saved)


def test_a_modified_copy_of_a_hashed_artifact_saves_loadably(tmp_path, artifact):
    modified = artifact.with_hash().model_copy(update={"seed": 1})

    path = modified.save(tmp_path / "claims.json")

    assert load_artifact(path).seed == 1


@pytest.mark.parametrize("version", [4, 0, "1", "3", True, None])
def test_an_unknown_schema_version_is_refused_naming_it_and_the_fix(saved, version):
    edit_saved(saved, lambda raw: raw.update(schema_version=version))

    with pytest.raises(ArtifactError) as error:
        load_artifact(saved)

    message = str(error.value)
    assert str(saved) in message
    assert f"schema_version is {version!r}" in message
    assert "Recompile the task or install a matching pldc" in message


def test_invalid_json_is_refused_naming_the_path(tmp_path):
    path = tmp_path / "claims.json"
    path.write_text('{"schema_version": 1, "task": ')

    with pytest.raises(ArtifactError) as error:
        load_artifact(path)

    message = str(error.value)
    assert str(path) in message
    assert "not valid JSON" in message


def test_json_that_is_not_an_object_is_refused_naming_the_path(tmp_path):
    path = tmp_path / "claims.json"
    path.write_text("[1, 2, 3]")

    with pytest.raises(ArtifactError, match="not a pldc artifact") as error:
        load_artifact(path)

    assert str(path) in str(error.value)


def test_a_missing_file_is_refused_naming_the_path(tmp_path):
    path = tmp_path / "nowhere.json"

    with pytest.raises(ArtifactError) as error:
        load_artifact(path)

    message = str(error.value)
    assert str(path) in message
    assert "pldc compile" in message


def test_a_folder_given_as_the_artifact_is_refused_naming_the_path(tmp_path):
    with pytest.raises(ArtifactError, match=re.escape(str(tmp_path))):
        load_artifact(tmp_path)


@pytest.mark.parametrize("field", ["token_budget", "task", "rules"])
def test_a_missing_required_field_is_refused_naming_the_field(saved, field):
    edit_saved(saved, lambda raw: raw.pop(field))

    with pytest.raises(ArtifactError) as error:
        load_artifact(saved)

    message = str(error.value)
    assert str(saved) in message
    assert f"field {field}:" in message


def test_a_missing_nested_field_is_named_by_its_dotted_path(saved):
    edit_saved(saved, lambda raw: raw["prompt"].pop("system"))

    with pytest.raises(ArtifactError, match=r"field prompt\.system:"):
        load_artifact(saved)


def test_the_saved_file_is_plain_json_holding_exactly_the_artifact(artifact, saved):
    raw = json.loads(saved.read_text(encoding="utf-8"))

    assert raw == artifact.with_hash().model_dump(mode="json")
    assert raw["schema_version"] == 3
    assert raw["content_hash"] == artifact.with_hash().content_hash


def test_the_saved_file_is_utf8_text_not_a_pickle(saved):
    data = saved.read_bytes()

    assert data.decode("utf-8").startswith("{\n")
    assert not data.startswith(b"\x80")  # every pickle protocol >= 2 starts with 0x80


def test_an_artifact_compiled_with_another_dspy_version_warns_on_load(tmp_path, artifact):
    drifted = artifact.model_copy(update={"versions": {**artifact.versions, "dspy": "0.0.1"}})
    path = drifted.save(tmp_path / "claims.json")

    with pytest.warns(UserWarning, match=r"dspy 0\.0\.1 ->"):
        load_artifact(path)


def with_nested(artifact: CompiledPrompt, where: str, value) -> CompiledPrompt:
    """`artifact` with the dotted field `where` (a record or dict key at each step) set."""
    head, _, rest = where.partition(".")
    current = getattr(artifact, head)
    if not rest:
        return artifact.model_copy(update={head: value})
    if isinstance(current, dict):
        return artifact.model_copy(update={head: {**current, rest: value}})
    return artifact.model_copy(update={head: with_nested(current, rest, value)})


NOT_FINITE = [math.nan, math.inf, -math.inf]
FIELDS = ["calibration.label_offsets.approve", "scores.dev.macro_f1", "scores.test.accuracy"]


@pytest.mark.parametrize("value", NOT_FINITE, ids=["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", FIELDS)
def test_saving_a_number_strict_json_cannot_hold_is_refused_naming_the_field(
    tmp_path, artifact, field, value
):
    path = tmp_path / "compiled" / "claims.json"

    with pytest.raises(ArtifactError) as error:
        with_nested(artifact, field, value).save(path)

    message = str(error.value)
    assert message.startswith(f"{path}: field {field} is {json.dumps(value)}, which strict JSON")
    assert "not written" in message
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("spelling", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    ("field", "edit"),
    [
        (
            "calibration.label_offsets.approve",
            lambda raw, v: raw["calibration"]["label_offsets"].update(approve=v),
        ),
        ("scores.dev.macro_f1", lambda raw, v: raw["scores"]["dev"].update(macro_f1=v)),
        (
            "provenance.trials.0.dev_macro_f1",
            lambda raw, v: raw["provenance"]["trials"][0].update(dev_macro_f1=v),
        ),
        ("unknown_extra", lambda raw, v: raw.update(unknown_extra=v)),  # a key no record reads
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_file_holding_nan_or_infinity_is_refused_on_load_naming_the_field(
    saved, spelling, field, edit
):
    edit_saved(saved, lambda raw: edit(raw, float(spelling)))
    assert spelling in saved.read_text()

    with pytest.raises(ArtifactError) as error:
        load_artifact(saved)

    assert str(error.value).startswith(
        f"{saved}: field {field} is {spelling}, which is not strict JSON"
    )
