"""An append-only JSONL store keyed by content hashes, so a killed stage resumes where it was.

Each finished unit of work (a teacher call, say) is written and flushed as soon as it exists.
A key hashes everything the result depends on, so a changed input simply misses the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def content_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class JsonlStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, dict[str, Any]] = {}
        self._needs_newline = False
        if path.exists():
            text = path.read_text()
            self._needs_newline = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill; its work is simply redone
                self._records[entry["key"]] = entry["value"]

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[str]:
        """The stored keys, in the order they were first written."""
        return iter(self._records)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._records.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            if self._needs_newline:
                out.write("\n")
                self._needs_newline = False
            out.write(json.dumps({"key": key, "value": value}, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self._records[key] = value
