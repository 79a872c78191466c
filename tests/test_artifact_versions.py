"""Schema versions: version-1 and version-2 artifacts still load, migrated to version 3, each
checked against its own file's hash; unknown versions are refused."""

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
# Version 1, made before the whole-split benchmarks (benchmarks/results/compiled/ holds newer).
BENCHMARK_ARTIFACTS = sorted(
    (ROOT / "benchmarks" / "results" / "slice60" / "compiled").glob("*.json")
)
COMMITTED_ARTIFACTS = [DEMO_ARTIFACT, *BENCHMARK_ARTIFACTS]
MOVED = {"schema_version", "search", "provenance", "content_hash"}
"""The keys migrating a version-1 file changes: the version, the provenance's key (version 2),
and the hash over both. Version 3 only added optional fields, absent from the JSON when unset."""


def as_version(artifact: CompiledPrompt, version: int) -> dict:
    """The JSON a pldc of schema `version` wrote for `artifact` (which holds no field added in
    version 3): hashed, and for version 1 with the provenance under "search"."""
    body = artifact.model_dump(mode="json", exclude={"content_hash"})
    if version == 1:
        body = {("search" if key == "provenance" else key): value for key, value in body.items()}
    body["schema_version"] = version
    return body | {"content_hash": content_digest(body)}


def load_quietly(path: Path) -> CompiledPrompt:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # committed artifacts were compiled with other versions
        return load_artifact(path)


def without(raw: dict, keys: set[str]) -> dict:
    return {key: value for key, value in raw.items() if key not in keys}


def test_the_current_schema_version_is_3():
    assert SCHEMA_VERSION == 3
    assert make_artifact().schema_version == 3


@pytest.mark.parametrize("path", COMMITTED_ARTIFACTS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_committed_version_1_artifact_loads_in_the_current_schema(path):
    raw = json.loads(path.read_text())

    artifact = load_quietly(path)

    assert raw["schema_version"] == 1
    assert artifact.schema_version == SCHEMA_VERSION
    assert artifact.provenance.best_trial == raw["search"]["best_trial"]
    assert [r.id for r in artifact.provenance.candidate_rules] == [
        r["id"] for r in raw["search"]["candidate_rules"]
    ]


def test_migrating_the_demo_artifact_changes_only_the_provenance_key_version_and_hash():
    raw = json.loads(DEMO_ARTIFACT.read_text())

    migrated = json.loads(load_quietly(DEMO_ARTIFACT).to_json())

    assert without(migrated, MOVED) == without(raw, MOVED)
    assert migrated["provenance"] == raw["search"]
    assert list(migrated) == ["provenance" if key == "search" else key for key in raw]
    assert migrated["schema_version"] == 3
    assert migrated["content_hash"] != raw["content_hash"]


def test_a_migrated_artifact_saves_as_a_current_file_whose_hash_checks(tmp_path):
    migrated = load_quietly(DEMO_ARTIFACT)

    path = migrated.save(tmp_path / "expense_claims.json")

    assert json.loads(path.read_text())["schema_version"] == 3
    assert load_quietly(path) == migrated
    assert migrated.with_hash() == migrated


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_file_loads_as_the_same_artifact_as_its_current_form(tmp_path, version):
    artifact = make_artifact().with_hash()
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(as_version(artifact, version), indent=2))

    assert load_artifact(path) == artifact


def test_migrating_a_version_2_file_changes_only_its_version_and_hash(tmp_path):
    # The demo artifact as a version-2 pldc wrote it: version 1 with the provenance renamed.
    demo = json.loads(DEMO_ARTIFACT.read_text())
    body = {("provenance" if k == "search" else k): v for k, v in without(demo, MOVED).items()}
    body |= {"schema_version": 2, "provenance": demo["search"]}
    raw = body | {"content_hash": content_digest(body)}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(raw))

    migrated = json.loads(load_quietly(path).to_json())

    assert sorted(migrated) == sorted(raw)
    assert without(migrated, {"schema_version", "content_hash"}) == without(
        raw, {"schema_version", "content_hash"}
    )
    assert migrated["schema_version"] == 3
    assert migrated["content_hash"] == content_digest(without(migrated, {"content_hash"}))


@pytest.mark.parametrize(
    ("version", "edit"),
    [
        (1, lambda raw: raw["search"]["candidate_rules"][0].update(text="If late, approve.")),
        (2, lambda raw: raw["provenance"]["candidate_rules"][0].update(text="If late, approve.")),
    ],
)
def test_an_older_file_edited_after_compiling_is_refused_naming_content_hash(
    tmp_path, version, edit
):
    raw = as_version(make_artifact(), version)
    edit(raw)
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(raw))

    with pytest.raises(ArtifactError, match=r"content_hash .* modified after compiling"):
        load_artifact(path)


def test_a_future_schema_version_is_refused_naming_the_field_and_the_versions_read(tmp_path):
    raw = make_artifact().with_hash().model_dump(mode="json") | {"schema_version": 4}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(raw))

    with pytest.raises(ArtifactError) as error:
        load_artifact(path)

    message = str(error.value)
    assert str(path) in message
    assert "field schema_version is 4" in message
    assert "reads versions 1 to 3" in message
