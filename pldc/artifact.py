"""Loading the compiled prompt: a frozen, versioned JSON artifact, validated by pydantic.

The records themselves are in `pldc.records`. The content hash is the sha256 of the artifact's
canonical JSON without the hash itself; a file whose content does not match its hash is
refused. Files of an older schema version are migrated on load; loading never runs code.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pldc.errors import ArtifactError
from pldc.records import SCHEMA_VERSION, CompiledPrompt, content_digest, first_non_finite

TRACKED_PACKAGES = ("pldc", "dspy", "llama-cpp-python", "optuna", "scikit-learn", "pydantic")


def installed_versions() -> dict[str, str]:
    versions = {}
    for package in TRACKED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def load_artifact(path: str | Path) -> CompiledPrompt:
    """The artifact at `path`, checked against its content hash, in the current schema.

    An older file is checked against its own hash, then migrated in memory (see
    `MIGRATIONS`) and rehashed, so saving it writes a current file. Raises ArtifactError for an
    unreadable, invalid (NaN or Infinity included: artifacts are strict JSON), modified or
    unknown-version file; warns when it was compiled with other
    versions of llama-cpp-python or dspy.
    """
    path = Path(path)
    raw = _read_object(path)
    version = raw.get("schema_version")
    if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: field schema_version is {version!r}; this pldc reads versions 1 to "
            f"{SCHEMA_VERSION}. Recompile the task or install a matching pldc."
        )
    current = raw
    for older in range(version, SCHEMA_VERSION):
        current = MIGRATIONS[older](current)
    try:
        artifact = CompiledPrompt.model_validate(current)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(
            f"{path}: field {where}: {first['msg']} ({exc.error_count()} problem(s)); the file "
            "is corrupt or hand-edited. Recompile it."
        ) from None
    # Hash the file's own content, so fields added to the schema later don't change old hashes.
    expected = content_digest({k: v for k, v in raw.items() if k != "content_hash"})
    if artifact.content_hash != expected:
        raise ArtifactError(
            f"{path}: field content_hash is {artifact.content_hash[:16]}… but the content hashes "
            f"to {expected[:16]}…; the file was modified after compiling. Recompile it."
        )
    _warn_on_version_drift(path, artifact.versions)
    return artifact if version == SCHEMA_VERSION else artifact.with_hash()


def _provenance_renamed(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 → 2: the provenance moves from the key "search" to "provenance"."""
    renamed = {("provenance" if key == "search" else key): value for key, value in raw.items()}
    return renamed | {"schema_version": 2}


def _optional_fields_added(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 → 3: only optional fields were added (demonstrations, rule verification,
    selection examples, the gate, intervals); a version-2 file lacks them."""
    return raw | {"schema_version": 3}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _provenance_renamed,
    2: _optional_fields_added,
}
"""Schema version → the function that turns an artifact's JSON of that version into the next."""


def _read_object(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(
            f"{path}: no such artifact; run `pldc compile TASK.py` first."
        ) from None
    except OSError as exc:
        raise ArtifactError(
            f"{path}: cannot read it ({exc.strerror}); give the path of an artifact file."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if path.suffix != ".json":
            raise ArtifactError(
                f"{path}: not a compiled artifact (a .json file `pldc compile` wrote); give the "
                "artifact first, e.g. `pldc eval compiled/TASK.json TASK.py`."
            ) from None
        raise ArtifactError(f"{path}: not valid JSON ({exc}); recompile it.") from None
    if not isinstance(raw, dict):
        raise ArtifactError(f"{path}: not a pldc artifact (top level is not an object).")
    if (found := first_non_finite(raw)) is not None:
        where, value = found
        raise ArtifactError(
            f"{path}: field {where} is {json.dumps(value)}, which is not strict JSON; the file "
            "is corrupt or was written by a pldc that let it through. Recompile it."
        )
    return raw


def _warn_on_version_drift(path: Path, recorded: dict[str, str]) -> None:
    current = installed_versions()
    drift = [
        f"{name} {recorded[name]} -> {current[name]}"
        for name in ("llama-cpp-python", "dspy")
        if name in recorded and recorded[name] != current.get(name)
    ]
    if drift:
        warnings.warn(
            f"{path}: compiled with other versions ({'; '.join(drift)}); predictions may differ "
            "slightly from the scores recorded in it.",
            stacklevel=3,
        )
