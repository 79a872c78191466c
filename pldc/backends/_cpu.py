"""Which CPU kernels llama.cpp may use here, and the weight layout pldc loads models with.

llama.cpp can copy a model's weights into "extra buffer types" at load time: CPU_REPACK (an
interleaved layout for AVX2/AVX-512 and Arm kernels) and, in a build compiled with AMX, the AMX
layout. pldc loads every model without them (`llama_model_params.use_extra_bufts = False`):

- Scores then do not depend on how a server batched the prompt: a served student (llama-cpp-
  python's server, which evaluates each prompt in whatever pieces its prefix cache leaves)
  started without repacking scored the demo's 89 dev claims as the in-process student does,
  within 0.001 nats, deciding all 89 alike; both repacked, 83 of 89, up to 0.14 nats apart
  (benchmarks/results/served-concurrency.md, served-repacked/).
- On some Intel CPUs with AMX (Sapphire Rapids and later) a native build repacks Q4_K weights
  for AMX and segfaults in the first batched matrix multiply, `ggml_backend_amx_mul_mat`
  (llama.cpp issue 20824, closed as stale without a fix).
- The student's label scoring is as fast either way (docs/kernel-benchmark.md: 3.27 against
  3.3 examples/s); the teacher generates about a quarter slower and reads prompts faster.

`PLDC_LLAMA_REPACK=on|off` overrides the choice, e.g. to test a new llama.cpp build ("on" can
crash on an AMX CPU).
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from pldc.errors import ModelError

REPACK_VARIABLE = "PLDC_LLAMA_REPACK"

AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")
"""Linux /proc/cpuinfo flags of Intel's Advanced Matrix Extensions."""

_SHOWN_FLAGS = re.compile(r"^(avx|avx2|fma|f16c|avx_vnni|avx512\w*|amx\w*|sve\w*|neon|asimd\w*)$")


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: frozenset[str]

    @property
    def has_amx(self) -> bool:
        return any(flag in self.flags for flag in AMX_FLAGS)

    @property
    def vector_flags(self) -> list[str]:
        """The SIMD and matrix extensions llama.cpp's CPU kernels care about, sorted."""
        return sorted(flag for flag in self.flags if _SHOWN_FLAGS.match(flag))


@dataclass(frozen=True)
class WeightLayout:
    """How pldc asks llama.cpp to lay out weights on this machine."""

    use_extra_bufts: bool
    """`llama_model_params.use_extra_bufts`: False never repacks weights, for AMX or otherwise."""
    reason: str

    @property
    def summary(self) -> str:
        state = "repacked" if self.use_extra_bufts else "not repacked"
        return f"{state} ({self.reason})"


def read_cpu_info(path: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """The CPU's model name and feature flags; empty flags where /proc/cpuinfo is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return CpuInfo(model=platform.processor() or platform.machine(), flags=frozenset())
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return CpuInfo(model=model or platform.machine(), flags=frozenset(flags))


def build_features(system_info: str) -> dict[str, str]:
    """`llama_print_system_info()` parsed: {"AVX2": "1", "AMX_INT8": "1", "REPACK": "1", ...}.

    The text looks like "CPU : SSE3 = 1 | AVX2 = 1 | ... | REPACK = 1 |".
    """
    features: dict[str, str] = {}
    for part in system_info.replace("\n", "|").split("|"):
        name, sep, value = part.rpartition("=")
        if sep:
            features[name.split(":")[-1].strip()] = value.strip()
    return features


def choose_weight_layout(cpu: CpuInfo, build: dict[str, str], override: str | None) -> WeightLayout:
    """Never repack weights, unless `override` says "on" (see the module's docstring).

    AMX is named in the reason when the CPU reports it or the llama.cpp build was compiled with
    it; either alone counts, since a build's AMX flag and the kernel's report can disagree
    under virtualisation.

    Raises:
        ModelError: `override` is set to something other than "on", "off" or "auto".
    """
    choice = (override or "auto").strip().lower()
    if choice not in ("auto", "on", "off"):
        raise ModelError(f"{REPACK_VARIABLE}={override!r} is not a choice; use on, off or auto.")
    if choice == "on":
        return WeightLayout(True, f"forced by {REPACK_VARIABLE}=on")
    if choice == "off":
        return WeightLayout(False, f"forced by {REPACK_VARIABLE}=off")
    amx_in_build = any(build.get(name) == "1" for name in ("AMX_INT8", "AMX_BF16", "AMX"))
    if cpu.has_amx or amx_in_build:
        where = "CPU" if cpu.has_amx else "llama.cpp build"
        return WeightLayout(False, f"the {where} has AMX, whose repacked kernels crash")
    return WeightLayout(False, "repacked kernels round differently for each batch shape")


def weight_layout() -> WeightLayout:
    """The layout for this machine and the installed llama.cpp build.

    Raises:
        ModelError: PLDC_LLAMA_REPACK holds an unknown value.
    """
    import llama_cpp

    system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return choose_weight_layout(
        read_cpu_info(), build_features(system_info), os.environ.get(REPACK_VARIABLE)
    )
