"""A compile killed (SIGKILL) during teacher extraction resumes without repeating finished calls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pldc.backends import FunctionBackend
from pldc.extract import teacher_call_key
from pldc.store import JsonlStore

TESTS = Path(__file__).resolve().parent

DRIVER = f"""
import json, sys, time
sys.path.insert(0, {str(TESTS)!r})
from conftest import fake_student_scores, fake_teacher_reply, toy_task
from pldc.backends import FunctionBackend
from pldc.compiler import compile_task
from pldc.settings import CompileSettings
from pldc.embed import TfidfEmbedder

run_dir, call_log = sys.argv[1], sys.argv[2]

def slow_teacher(messages):
    with open(call_log, "a") as log:
        log.write(json.dumps(list(messages)) + "\\n")
    time.sleep(0.2)
    return fake_teacher_reply(messages)

compile_task(
    toy_task(),
    teacher=FunctionBackend(generate=slow_teacher, name="fake-teacher"),
    student=FunctionBackend(score=fake_student_scores, name="fake-student"),
    settings=CompileSettings(token_budget=120, trials=2, seed=0, teacher_examples=12),
    run_dir=__import__("pathlib").Path(run_dir),
    embedder=TfidfEmbedder(),
).save(run_dir + "/artifact.json")
"""


def teacher_key(messages) -> str:
    return teacher_call_key(FunctionBackend(name="fake-teacher").identity, messages)


def test_rerun_after_a_kill_repeats_no_finished_teacher_call(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    run_dir, store = tmp_path / "run", tmp_path / "run" / "teacher_traces.jsonl"
    first = subprocess.Popen([sys.executable, str(driver), str(run_dir), str(tmp_path / "1.log")])
    deadline = time.monotonic() + 60
    while not (store.exists() and len(store.read_text().splitlines()) >= 4):
        assert first.poll() is None and time.monotonic() < deadline, "compile ended too early"
        time.sleep(0.05)
    first.kill()
    first.wait()
    finished = JsonlStore(store)  # reads past a line the kill may have cut short

    second = subprocess.run(
        [sys.executable, str(driver), str(run_dir), str(tmp_path / "2.log")], timeout=120
    )
    assert second.returncode == 0 and (run_dir / "artifact.json").exists()
    rerun_calls = [json.loads(line) for line in (tmp_path / "2.log").read_text().splitlines()]
    assert 4 <= len(finished) < 12, "the kill did not land during extraction"
    assert rerun_calls, "the rerun had nothing left to do"
    assert not [messages for messages in rerun_calls if teacher_key(messages) in finished]
