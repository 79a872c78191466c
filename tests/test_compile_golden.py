"""A compile keeps its cache keys and its artifact across refactors of the compiler.

tests/golden/compile_<case>/ was recorded by the compiler at issue 19's pipeline, with issue
20's scaffold in the stage keys (see tests/golden/record_compile_golden.py): the run
directory's stores, their keys and study names, and the artifact. A rerun in a copy of that
run directory must call no model and store nothing new, and a fresh compile must leave the same
keys and the same artifact, so a change that is meant to keep behaviour can be shown to.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import fake_student_scores, fake_teacher_reply
from golden.record_compile_golden import CASES, HERE, compile_case, manifest, stable_artifact

from pldc.backends import FunctionBackend
from pldc.embed import TfidfEmbedder
from pldc.store import JsonlStore


class CountingEmbedder(TfidfEmbedder):
    def __init__(self) -> None:
        self.batches = 0

    def embed(self, texts):
        self.batches += 1
        return super().embed(texts)


def stored(path) -> dict:
    store = JsonlStore(path)
    return {key: store.get(key) for key in store}


def golden(case: str, name: str) -> dict:
    return json.loads((HERE / f"compile_{case}" / name).read_text())


def run(case, run_dir):
    teacher = FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")
    student = FunctionBackend(score=fake_student_scores, name="fake-student")
    embedder = CountingEmbedder()
    artifact = compile_case(case, run_dir, teacher, student, embedder)
    return artifact, teacher, student, embedder


@pytest.fixture(scope="module", params=sorted(CASES))
def rerun(request, tmp_path_factory):
    """A compile in a copy of the recorded run directory."""
    run_dir = tmp_path_factory.mktemp(request.param) / "run"
    shutil.copytree(HERE / f"compile_{request.param}" / "run", run_dir)
    return request.param, run_dir, *run(request.param, run_dir)


@pytest.fixture(scope="module", params=sorted(CASES))
def fresh(request, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp(request.param) / "run"
    return request.param, run_dir, *run(request.param, run_dir)


def test_a_rerun_in_a_recorded_run_directory_calls_no_model(rerun):
    _case, _run_dir, _artifact, teacher, student, embedder = rerun
    assert teacher.calls == []
    assert student.calls == []
    assert embedder.batches == 0


def test_a_rerun_in_a_recorded_run_directory_stores_nothing_new(rerun):
    case, run_dir, *_ = rerun
    assert manifest(run_dir) == golden(case, "manifest.json")


def test_a_rerun_in_a_recorded_run_directory_gives_the_recorded_artifact(rerun):
    case, _run_dir, artifact, *_ = rerun
    assert stable_artifact(artifact) == golden(case, "artifact.json")


def test_a_fresh_compile_stores_exactly_the_recorded_keys_and_study(fresh):
    case, run_dir, *_ = fresh
    assert manifest(run_dir) == golden(case, "manifest.json")


def test_a_fresh_compile_stores_the_recorded_value_under_every_key(fresh):
    case, run_dir, *_ = fresh
    for store in sorted((HERE / f"compile_{case}" / "run").glob("*.jsonl")):
        assert stored(run_dir / store.name) == stored(store), store.name


def test_a_fresh_compile_gives_the_recorded_artifact(fresh):
    case, _run_dir, artifact, *_ = fresh
    assert stable_artifact(artifact) == golden(case, "artifact.json")
