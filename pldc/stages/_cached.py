"""`cached_stage`: a stage's whole result, computed once per key and kept in the run directory."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from pldc.store import JsonlStore

StageRecord = TypeVar("StageRecord", bound=BaseModel)


def cached_stage(
    store: JsonlStore,
    key: str,
    record_type: type[StageRecord],
    compute: Callable[[], StageRecord],
) -> StageRecord:
    """The `record_type` stored under `key`, or `compute()`'s, stored under `key` first.

    `key` is the stage's own `key(...)`: a hash of everything its result depends on, so a rerun
    with the same inputs skips the stage, and a changed input recomputes it and, through its
    result, every stage after it. Records are stored with their field aliases.
    """
    if (stored := store.get(key)) is not None:
        return record_type.model_validate(stored)
    record = compute()
    store.put(key, record.model_dump(mode="json", by_alias=True))
    return record
