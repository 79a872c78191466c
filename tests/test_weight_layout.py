"""The AMX crash fix: when pldc turns llama.cpp's weight repacking off, and that every model it
opens (teacher, student, their scoring contexts, search workers) loads with that choice."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest

from pldc.backends._cpu import (
    CpuInfo,
    build_features,
    choose_weight_layout,
    read_cpu_info,
)
from pldc.errors import ModelError
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER

NO_AMX = CpuInfo("AMD EPYC", frozenset({"avx2", "avx512f", "avx512_vnni"}))
AMX = CpuInfo("Intel Xeon Platinum 8481C", frozenset({"avx2", "avx512f", "amx_tile", "amx_int8"}))
SYSTEM_INFO = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | REPACK = 1 | "


def test_weights_are_not_repacked_on_a_cpu_without_amx_either_for_batch_invariant_scores():
    layout = choose_weight_layout(NO_AMX, build_features(SYSTEM_INFO), None)
    assert not layout.use_extra_bufts
    assert "batch shape" in layout.reason


def test_an_amx_cpu_never_repacks_weights():
    layout = choose_weight_layout(AMX, build_features(SYSTEM_INFO), None)
    assert not layout.use_extra_bufts
    assert "AMX" in layout.reason


def test_a_build_compiled_with_amx_never_repacks_even_if_the_cpu_hides_it():
    build = build_features(SYSTEM_INFO + "AMX_INT8 = 1 | ")
    assert not choose_weight_layout(NO_AMX, build, None).use_extra_bufts


def test_the_environment_overrides_the_choice_both_ways():
    build = build_features(SYSTEM_INFO)
    assert not choose_weight_layout(NO_AMX, build, "off").use_extra_bufts
    assert choose_weight_layout(AMX, build, "ON").use_extra_bufts
    assert choose_weight_layout(AMX, build, "auto").use_extra_bufts is False


def test_an_unknown_override_is_refused_with_the_variable_named():
    with pytest.raises(ModelError, match="PLDC_LLAMA_REPACK='maybe'"):
        choose_weight_layout(NO_AMX, {}, "maybe")


def test_system_info_is_parsed_into_named_features():
    features = build_features(SYSTEM_INFO + "AMX_INT8 = 1 | ")
    assert features["AVX2"] == "1"
    assert features["SSE3"] == "1"
    assert features["AMX_INT8"] == "1"


def test_cpu_flags_and_model_are_read_from_proc_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx2 amx_int8 avx512f\n\n"
        "processor\t: 1\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx2 amx_int8 avx512f\n"
    )
    cpu = read_cpu_info(cpuinfo)
    assert cpu.model == "Intel Xeon"
    assert cpu.has_amx
    assert cpu.vector_flags == ["amx_int8", "avx2", "avx512f"]


def test_a_missing_cpuinfo_gives_no_flags_rather_than_an_error(tmp_path):
    assert read_cpu_info(tmp_path / "absent").flags == frozenset()


_TEMPLATE = "{% for m in messages %}{{ m.content }}{% endfor %}"


class FakeLlama:
    """Stands in for llama_cpp.Llama: reads its model parameters the way the real one does."""

    loads: ClassVar[list[bool]] = []

    def __init__(self, model_path: str, **kwargs) -> None:
        import llama_cpp

        params = llama_cpp.llama_cpp.llama_model_default_params()
        self.loads.append(params.use_extra_bufts)
        self.kwargs = kwargs
        self.metadata = {
            "tokenizer.chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"
        }

    def token_eos(self) -> int:
        return -1

    def token_bos(self) -> int:
        return -1

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(text[:50])

    def n_ctx(self) -> int:
        return 4096

    def close(self) -> None:
        pass


class FakeScorer:
    made_on: ClassVar[list[object]] = []

    def __init__(self, llm, threads: int) -> None:
        self.made_on.append(llm)

    tokens_needed = staticmethod(lambda prompt, labels: len(prompt.tokens))

    def score(self, prompt, labels):
        return [0.0 for _ in labels]

    def close(self) -> None:
        pass


def test_every_model_pldc_opens_loads_without_repacking_on_an_amx_cpu(monkeypatch, tmp_path):
    llama_cpp = pytest.importorskip("llama_cpp")
    from conftest import toy_task

    from pldc.backends import _cpu, _llama, open_model
    from pldc.stages import reopened_evaluator_in

    monkeypatch.delenv("PLDC_LLAMA_REPACK", raising=False)
    monkeypatch.setattr(_cpu, "read_cpu_info", lambda: AMX)
    monkeypatch.setattr(_llama, "Llama", FakeLlama)
    monkeypatch.setattr(_llama, "SequenceScorer", FakeScorer)
    # The fake has no vocabulary to find the end-of-turn token in.
    monkeypatch.setattr(_llama.LlamaCppBackend, "_end_of_turn", lambda self, template, name: [0])
    monkeypatch.setattr(_llama, "resolve_gguf", lambda name, _: (Path(name), "0" * 64))
    FakeLlama.loads.clear()
    FakeScorer.made_on.clear()

    teacher = open_model(DEFAULT_TEACHER)
    student = open_model(DEFAULT_STUDENT)
    worker_identity = student.identity.model_copy()
    worker = reopened_evaluator_in(tmp_path, worker_identity, toy_task().schema).student
    messages = [{"role": "system", "content": "rules"}, {"role": "user", "content": "a claim"}]
    for backend in (teacher, student, worker):
        backend.score(messages, ["approve", "reject"])

    assert FakeLlama.loads == [False, False, False]
    assert FakeScorer.made_on == [teacher._llm, student._llm, worker._llm]
    assert all(not b.weight_layout.use_extra_bufts for b in (teacher, student, worker))
    # The patch of llama-cpp-python's defaults is undone after each load.
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts


def test_a_crashed_decode_names_the_model_the_cpu_and_the_fix():
    from pldc.doctor import check_decode

    layout = choose_weight_layout(NO_AMX, build_features(SYSTEM_INFO), "on")  # repacked
    crash = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    check = check_decode("qwen-test", AMX, layout, command=crash, timeout=60)
    assert not check.ok
    assert check.name == "qwen-test decode"
    assert "SIGSEGV" in check.detail
    assert "Intel Xeon Platinum 8481C, with AMX" in check.detail
    assert "PLDC_LLAMA_REPACK=off" in check.fix
    assert "GGML_NATIVE=OFF" in check.fix


def test_a_decode_that_exits_with_an_error_reports_its_last_line():
    from pldc.doctor import check_decode

    layout = choose_weight_layout(NO_AMX, {}, "off")
    failing = [sys.executable, "-c", "import sys; sys.exit('ModelError: no such file')"]
    check = check_decode("qwen-test", NO_AMX, layout, command=failing, timeout=60)
    assert not check.ok
    assert "exit 1: ModelError: no such file" in check.detail
    assert "GGML_NATIVE=OFF" in check.fix


def test_bindings_without_the_fields_pldc_sets_are_refused_with_the_install_command():
    import ctypes
    from types import SimpleNamespace

    pytest.importorskip("llama_cpp")
    from pldc.backends._llama import check_bindings

    class OldModelParams(ctypes.Structure):  # llama-cpp-python 0.3.14 had no use_extra_bufts
        _fields_ = [("use_mmap", ctypes.c_bool)]

    class OldContextParams(ctypes.Structure):
        _fields_ = [("n_seq_max", ctypes.c_uint32)]

    old = SimpleNamespace(llama_model_params=OldModelParams, llama_context_params=OldContextParams)
    with pytest.raises(ModelError, match=r"no llama_model_params.use_extra_bufts, .*kv_unified"):
        check_bindings(old)
    check_bindings()  # the installed bindings have them
