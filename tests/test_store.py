"""Specification tests for pldc/store.py: the resumable, append-only JSONL store."""

from __future__ import annotations

from pldc.store import JsonlStore, content_key


def test_a_new_store_on_a_missing_file_is_empty(tmp_path):
    store = JsonlStore(tmp_path / "traces.jsonl")

    assert len(store) == 0
    assert store.get("anything") is None
    assert "anything" not in store


def test_put_makes_a_value_available_at_once(tmp_path):
    store = JsonlStore(tmp_path / "traces.jsonl")

    store.put("k1", {"rule": "If late, reject."})

    assert "k1" in store
    assert store.get("k1") == {"rule": "If late, reject."}


def test_put_creates_missing_parent_folders(tmp_path):
    path = tmp_path / "run" / "claims" / "traces.jsonl"

    JsonlStore(path).put("k1", {"rule": "x"})

    assert path.is_file()


def test_records_persist_into_a_new_instance(tmp_path):
    path = tmp_path / "traces.jsonl"
    first = JsonlStore(path)
    first.put("k1", {"rule": "If late, reject."})
    first.put("k2", {"rule": "If alcohol, reject."})

    reopened = JsonlStore(path)

    assert len(reopened) == 2
    assert reopened.get("k1") == {"rule": "If late, reject."}
    assert reopened.get("k2") == {"rule": "If alcohol, reject."}


def test_iterating_a_store_gives_its_keys_in_the_order_first_written(tmp_path):
    store = JsonlStore(tmp_path / "traces.jsonl")
    for key in ("k2", "k1", "k2", "k3"):
        store.put(key, {"rule": key})

    assert list(JsonlStore(tmp_path / "traces.jsonl")) == ["k2", "k1", "k3"]


def test_a_reopened_store_keeps_the_last_value_put_for_a_key(tmp_path):
    path = tmp_path / "traces.jsonl"
    store = JsonlStore(path)
    store.put("k1", {"attempt": 1})
    store.put("k1", {"attempt": 2})

    assert JsonlStore(path).get("k1") == {"attempt": 2}


def test_a_truncated_last_line_is_ignored_on_reload(tmp_path):
    path = tmp_path / "traces.jsonl"
    JsonlStore(path).put("k1", {"rule": "If late, reject."})
    with path.open("a") as out:
        out.write('{"key": "k2", "value": {"ru')  # killed mid-write

    reopened = JsonlStore(path)

    assert len(reopened) == 1
    assert reopened.get("k1") == {"rule": "If late, reject."}
    assert "k2" not in reopened


def test_records_put_after_a_truncated_last_line_survive_the_next_reload(tmp_path):
    path = tmp_path / "traces.jsonl"
    JsonlStore(path).put("k1", {"rule": "If late, reject."})
    with path.open("a") as out:
        out.write('{"key": "k2", "value": {"ru')  # killed mid-write
    JsonlStore(path).put("k3", {"rule": "If alcohol, reject."})  # the resumed run

    reopened = JsonlStore(path)

    assert reopened.get("k3") == {"rule": "If alcohol, reject."}


def test_content_key_is_the_same_for_the_same_parts():
    assert content_key("teacher", "ex-1", {"claim": "taxi"}) == content_key(
        "teacher", "ex-1", {"claim": "taxi"}
    )


def test_content_key_is_a_sha256_hex_digest():
    key = content_key("teacher", "ex-1")

    assert len(key) == 64
    assert set(key) <= set("0123456789abcdef")


def test_content_key_does_not_depend_on_dict_key_order():
    assert content_key({"claim": "taxi", "amount": "30"}) == content_key(
        {"amount": "30", "claim": "taxi"}
    )


def test_content_key_depends_on_the_order_of_its_parts():
    assert content_key("teacher", "ex-1") != content_key("ex-1", "teacher")


def test_content_key_changes_when_any_part_changes():
    base = content_key("teacher", "ex-1", {"claim": "taxi"})

    assert content_key("teacher", "ex-2", {"claim": "taxi"}) != base
    assert content_key("teacher", "ex-1", {"claim": "taxis"}) != base
    assert content_key("teacher", "ex-1") != base


def test_content_key_does_not_merge_adjacent_parts():
    assert content_key("ab", "c") != content_key("a", "bc")
