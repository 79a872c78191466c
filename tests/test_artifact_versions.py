"""Schema versions: version-1 artifacts still load, migrated; unknown versions are refused."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from test_artifact import make_artifact

from pldc import ArtifactError, load_artifact
from pldc.records import SCHEMA_VERSION, CompiledPrompt, content_digest

ROOT = Path(__file__).resolve().parent.parent
DEMO_ARTIFACT = ROOT / "compiled" / "expense_claims.json"
BENCHMARK_ARTIFACTS = sorted((ROOT / "benchmarks" / "results" / "compiled").glob("*.json"))
COMMITTED_ARTIFACTS = [DEMO_ARTIFACT, *BENCHMARK_ARTIFACTS]
MOVED = {"schema_version", "search", "provenance", "content_hash"}
"""The keys version 2 changed: the version, the provenance's key, and the hash over both."""


def as_version_1(artifact: CompiledPrompt) -> dict:
    """The JSON a version-1 pldc wrote for `artifact`: provenance under "search", hashed."""
    body = {
        ("search" if key == "provenance" else key): value
        for key, value in artifact.model_dump(mode="json", exclude={"content_hash"}).items()
    }
    body["schema_version"] = 1
    return body | {"content_hash": content_digest(body)}


def load_quietly(path: Path) -> CompiledPrompt:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # committed artifacts were compiled with other versions
        return load_artifact(path)


def without(raw: dict, keys: set[str]) -> dict:
    return {key: value for key, value in raw.items() if key not in keys}


@pytest.mark.parametrize("path", COMMITTED_ARTIFACTS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_committed_version_1_artifact_loads_in_the_current_schema(path):
    raw = json.loads(path.read_text())

    artifact = load_quietly(path)

    assert raw["schema_version"] == 1
    assert artifact.schema_version == SCHEMA_VERSION == 2
    assert artifact.provenance.best_trial == raw["search"]["best_trial"]
    assert [r.id for r in artifact.provenance.candidate_rules] == [
        r["id"] for r in raw["search"]["candidate_rules"]
    ]


def test_migrating_the_demo_artifact_changes_only_the_provenance_key_and_the_hash():
    raw = json.loads(DEMO_ARTIFACT.read_text())

    migrated = json.loads(load_quietly(DEMO_ARTIFACT).to_json())

    assert without(migrated, MOVED) == without(raw, MOVED)
    assert migrated["provenance"] == raw["search"]
    assert list(migrated) == ["provenance" if key == "search" else key for key in raw]
    assert migrated["schema_version"] == 2
    assert migrated["content_hash"] != raw["content_hash"]


def test_a_migrated_artifact_saves_as_a_current_file_whose_hash_checks(tmp_path):
    migrated = load_quietly(DEMO_ARTIFACT)

    path = migrated.save(tmp_path / "expense_claims.json")

    assert json.loads(path.read_text())["schema_version"] == 2
    assert load_quietly(path) == migrated
    assert migrated.with_hash() == migrated


def test_a_version_1_file_loads_as_the_same_artifact_as_its_current_form(tmp_path):
    artifact = make_artifact().with_hash()
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(as_version_1(artifact), indent=2))

    assert load_artifact(path) == artifact


def test_a_version_1_file_edited_after_compiling_is_refused_naming_content_hash(tmp_path):
    raw = as_version_1(make_artifact())
    raw["search"]["candidate_rules"][0]["text"] = "If the claim is late, approve."
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(raw))

    with pytest.raises(ArtifactError, match=r"content_hash .* modified after compiling"):
        load_artifact(path)


def test_a_future_schema_version_is_refused_naming_the_field_and_the_versions_read(tmp_path):
    raw = make_artifact().with_hash().model_dump(mode="json") | {"schema_version": 3}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(raw))

    with pytest.raises(ArtifactError) as error:
        load_artifact(path)

    message = str(error.value)
    assert str(path) in message
    assert "field schema_version is 3" in message
    assert "reads versions 1 to 2" in message
