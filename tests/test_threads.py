"""Threads come from the machine, PLDC_THREADS or the caller, and are fixed when a model opens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pldc.backends import model_threads, models_opened_with, threads_per_worker
from pldc.backends._threads import THREADS_VARIABLE, machine_threads, usable_cores
from pldc.errors import SettingsError
from pldc.models import DEFAULT_STUDENT


@pytest.fixture(autouse=True)
def no_thread_setting(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)


def test_a_model_runs_on_every_core_this_process_may_use():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cores() == expected
    assert model_threads() == machine_threads() == expected


def test_the_environment_overrides_the_machine(monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "16")
    assert model_threads() == 16


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_malformed_thread_setting_is_refused_with_the_variable_named(monkeypatch, value):
    monkeypatch.setenv(THREADS_VARIABLE, value)
    with pytest.raises(SettingsError, match=f"PLDC_THREADS='{value}'"):
        model_threads()


def test_workers_split_the_threads_and_each_keeps_at_least_one(monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "16")
    assert threads_per_worker(1) == 16
    assert threads_per_worker(4) == 4  # 16 cores, --workers 4: four 4-thread workers
    monkeypatch.setenv(THREADS_VARIABLE, "2")
    assert threads_per_worker(2) == 1  # the dev machine: two 1-thread workers, not 2-thread
    assert threads_per_worker(3) == 1


def test_an_explicit_count_wins_over_a_block_which_wins_over_the_machine(monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "8")
    with models_opened_with(threads=3):
        assert model_threads() == 3
        assert model_threads(5) == 5
    assert model_threads() == 8  # the block changes nothing after it


def test_a_thread_count_below_one_is_refused():
    with pytest.raises(SettingsError, match="threads=0"):
        model_threads(0)


def test_a_local_model_is_loaded_with_the_threads_it_was_opened_with(monkeypatch):
    pytest.importorskip("llama_cpp")
    from test_weight_layout import FakeLlama

    from pldc.backends import _llama, open_model

    monkeypatch.setattr(_llama, "Llama", FakeLlama)
    # The fake has no vocabulary to find the end-of-turn token in.
    monkeypatch.setattr(_llama.LlamaCppBackend, "_end_of_turn", lambda self, template, name: [0])
    monkeypatch.setattr(_llama, "resolve_gguf", lambda name, _: (Path(name), "0" * 64))
    monkeypatch.setenv(THREADS_VARIABLE, "6")

    explicit = open_model(DEFAULT_STUDENT, threads=1)
    default = open_model(DEFAULT_STUDENT)
    with models_opened_with(threads=3):
        in_block = open_model(DEFAULT_STUDENT)

    for backend, threads in ((explicit, 1), (default, 6), (in_block, 3)):
        assert backend.threads == threads
        assert backend._llm.kwargs["n_threads"] == backend._llm.kwargs["n_threads_batch"] == threads


def test_doctor_reports_the_threads_and_where_they_come_from(monkeypatch):
    from pldc.backends._threads import describe_threads

    assert describe_threads().startswith(
        f"{usable_cores()} per local model ({usable_cores()} usable"
    )
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert describe_threads().startswith("3 per local model (set by PLDC_THREADS)")


def test_doctor_fails_a_malformed_thread_setting_as_a_check(monkeypatch):
    from pldc.doctor import examine

    monkeypatch.setenv(THREADS_VARIABLE, "lots")
    report = examine(models=[])
    assert not report.ok
    (check,) = report.checks
    assert check.name == "threads" and "PLDC_THREADS='lots'" in check.detail
