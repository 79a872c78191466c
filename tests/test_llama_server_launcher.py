"""`python -m pldc.llama_server`: llama-cpp-python's server with pldc's weight layout. The
served-student tests start it for real (tests/llama_server.py); these check its own words."""

from __future__ import annotations

import subprocess
import sys

import pytest


def launch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pldc.llama_server", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_model_file_is_named_before_the_server_starts(tmp_path):
    child = launch("--model", str(tmp_path / "absent.gguf"), "--port", "1")

    assert child.returncode == 1
    assert child.stderr.strip() == (
        f"error: --model {tmp_path / 'absent.gguf'}: no such file; give the path of a .gguf file."
    )


def test_help_says_what_it_adds_then_gives_llama_cpp_pythons_arguments():
    pytest.importorskip("llama_cpp.server.app")
    child = launch("--help")

    assert child.returncode == 0
    assert child.stdout.startswith("llama-cpp-python's OpenAI-compatible server, loading its")
    assert "weight repacking" in child.stdout and "--model MODEL" in child.stdout
