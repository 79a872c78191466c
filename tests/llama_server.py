"""llama-cpp-python's OpenAI-compatible server (`llama-cpp-python[server]`), started on loopback
with a local GGUF through `python -m pldc.llama_server` (the same server, its weights laid out
as pldc lays out its own): the real server the served-student tests run against."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ALIAS = "qwen-0.5b"
"""The model's name on the server; pldc reaches it as "openai/qwen-0.5b"."""


class LlamaServer:
    """`python -m pldc.llama_server` with `model_path` on 127.0.0.1, on a free port."""

    def __init__(
        self, model_path: Path, *, log: Path, port: int | None = None, threads: int | None = None
    ) -> None:
        self.port = port or _free_port()
        self.api_base = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        threads = threads or len(os.sched_getaffinity(0))
        self._command = [
            sys.executable,
            "-m",
            "pldc.llama_server",
            "--model", str(model_path),
            "--model_alias", ALIAS,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", "4096",
            "--n_threads", str(threads),
            "--n_threads_batch", str(threads),
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> LlamaServer:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self._command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.api_base}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer in {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
