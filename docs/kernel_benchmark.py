"""Which llama.cpp kernels and weight layout to run on this CPU: the candidates side by side.

    python docs/kernel_benchmark.py [--rounds 3] [--portable-build DIR]

Each candidate runs in its own child process, and the rounds interleave the candidates so a
change in the machine's speed touches all of them alike. A child opens both default models
through pldc's `open_model` (the path every teacher, student and search worker takes) and
measures, per model: prompt evaluation (a ~450-token prompt, one token generated), generation
(64 tokens) and label scoring (the demo's dev claims under the committed artifact's prompt,
examples per second, the system prompt reused from the KV cache as in a search).

Candidates:
- native build, weights repacked (`PLDC_LLAMA_REPACK=on`; what pldc picks on a CPU without AMX);
- native build, no repacking (`PLDC_LLAMA_REPACK=off`; what pldc picks where AMX exists);
- with --portable-build DIR, a llama-cpp-python built with CMAKE_ARGS=-DGGML_NATIVE=OFF and
  installed with `pip install --target DIR`: AVX2 kernels at most, never AMX.

Writes docs/kernel-benchmark.md and docs/kernel-benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("qwen2.5-coder-0.5b-instruct-q4_k_m", "qwen2.5-coder-1.5b-instruct-q4_k_m")
MEASURES = ("prompt_tok_s", "generate_tok_s", "score_examples_s")


def child(models: list[str], examples: int) -> dict:
    """Run inside one candidate's process: measurements per model."""
    import llama_cpp

    from pldc.backends import open_model
    from pldc.data import load_task_and_data
    from pldc.runtime import load

    task_path = ROOT / "signatures" / "expense_claims.py"
    _task, data = load_task_and_data(task_path)
    out = {"system_info": llama_cpp.llama_print_system_info().decode(), "models": {}}
    for name in models:
        backend = open_model(name)
        long_text = " ".join(
            f"Claim {i}: taxi fare of {i * 7} dollars, receipt." for i in range(48)
        )
        long_prompt = [{"role": "user", "content": f"{long_text}\nSummarise."}]
        backend.generate([{"role": "user", "content": "Hi"}], max_tokens=1)  # warm up
        prompt_tokens = len(backend.chat_prompt_tokens(long_prompt))
        started = time.perf_counter()
        backend.generate(long_prompt, max_tokens=1)
        prompt_seconds = time.perf_counter() - started
        prompt_rate = prompt_tokens / prompt_seconds

        count = [{"role": "user", "content": "Count from 1 to 200, numbers separated by spaces."}]
        short_tokens = len(backend.chat_prompt_tokens(count))
        started = time.perf_counter()
        text = backend.generate(count, max_tokens=64)
        seconds = time.perf_counter() - started - short_tokens / prompt_rate
        generated = backend.count_tokens(text)

        classifier = load(ROOT / "compiled" / "expense_claims.json", student=backend)
        prompts = [classifier.messages(**e.inputs) for e in data.dev[:examples]]
        backend.score(prompts[0], classifier.labels)  # the system prompt into the KV cache
        started = time.perf_counter()
        for messages in prompts[1:]:
            backend.score(messages, classifier.labels)
        score_rate = (len(prompts) - 1) / (time.perf_counter() - started)
        out["models"][name] = {
            "weight_repacking": backend.weight_layout.use_extra_bufts,
            "prompt_tok_s": prompt_rate,
            "generate_tok_s": generated / seconds,
            "generated_tokens": generated,
            "score_examples_s": score_rate,
            "scored_examples": len(prompts) - 1,
        }
        backend.close()
    return out


def candidates(portable: str | None) -> list[tuple[str, dict[str, str]]]:
    found = [
        ("native build, weights repacked", {"PLDC_LLAMA_REPACK": "on"}),
        ("native build, no repacking", {"PLDC_LLAMA_REPACK": "off"}),
    ]
    if portable:
        path = f"{portable}{os.pathsep}{ROOT}"
        found.append(
            (
                "portable build (GGML_NATIVE=OFF), repacked",
                {"PYTHONPATH": path, "PLDC_LLAMA_REPACK": "on"},
            )
        )
    return found


def run_candidate(env_extra: dict[str, str], examples: int) -> dict:
    env = {**os.environ, **env_extra}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--examples", str(examples)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        return {"crashed": proc.returncode, "stderr": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--portable-build", help="a --target dir holding a GGML_NATIVE=OFF build")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(list(MODELS), args.examples)))
        return

    from pldc.backends._cpu import read_cpu_info, weight_layout

    cands = candidates(args.portable_build)
    runs: dict[str, list[dict]] = {name: [] for name, _ in cands}
    for round_ in range(args.rounds):
        for name, env in cands:
            print(f"round {round_ + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
            runs[name].append(run_candidate(env, args.examples))
    cpu = read_cpu_info()
    result = {
        "cpu": cpu.model,
        "amx": cpu.has_amx,
        "cpu_features": cpu.vector_flags,
        "pldc_default": weight_layout().summary,
        "python": platform.python_version(),
        "rounds": args.rounds,
        "candidates": {},
    }
    for name, _ in cands:
        ok = [r for r in runs[name] if "crashed" not in r]
        entry = {"crashed_runs": len(runs[name]) - len(ok), "runs": runs[name]}
        if ok:
            entry["system_info"] = ok[0]["system_info"]
            entry["median"] = {
                model: {m: statistics.median(r["models"][model][m] for r in ok) for m in MEASURES}
                for model in MODELS
            }
        result["candidates"][name] = entry
    (ROOT / "docs" / "kernel-benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    (ROOT / "docs" / "kernel-benchmark.md").write_text(report(result, args))
    print(report(result, args))


def report(result: dict, args: argparse.Namespace) -> str:
    fastest = {
        (model, m): max(
            (c["median"][model][m] for c in result["candidates"].values() if "median" in c),
            default=0.0,
        )
        for model in MODELS
        for m in MEASURES
    }
    lines = [
        "# llama.cpp kernels and weight layout on this machine",
        "",
        f"Made by `python docs/kernel_benchmark.py --rounds {args.rounds}"
        + (" --portable-build DIR" if args.portable_build else "")
        + "`.",
        f"CPU: {result['cpu']} ({'with' if result['amx'] else 'no'} AMX), Python "
        f"{result['python']}; {result['rounds']} interleaved rounds, medians, 2 threads. "
        f"pldc's choice here: {result['pldc_default']}.",
        "",
        "| candidate | model | prompt eval tok/s | generation tok/s | label scoring ex/s | "
        "crashed runs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, entry in result["candidates"].items():
        if "median" not in entry:
            lines.append(
                f"| {name} | both | crashed | crashed | crashed | {entry['crashed_runs']} |"
            )
            continue
        for model in MODELS:
            cells = []
            for m in MEASURES:
                value = entry["median"][model][m]
                cells.append(f"{value:.1f} ({value / fastest[(model, m)]:.2f}×)")
            short = model.split("-instruct")[0].removeprefix("qwen2.5-coder-")
            lines.append(f"| {name} | {short} | {' | '.join(cells)} | {entry['crashed_runs']} |")
    lines += [
        "",
        "Each cell: the median, and in brackets its ratio to the fastest candidate for that "
        "model and measure. Label scoring is the student's work in a search: the demo's dev "
        "claims under the committed artifact's prompt, warm.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
