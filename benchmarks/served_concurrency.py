"""Label scoring through a served student at several concurrencies, beside the in-process
student, measured in one run, with how often served and in-process decisions agree.

    python benchmarks/served_concurrency.py compiled/legal_intake-rules_only.json \
        signatures/legal_intake.py

Starts llama-cpp-python's OpenAI-compatible server (the `dev` extra) on 127.0.0.1 with the
artifact's student GGUF, through `python -m pldc.llama_server` (its weights laid out as pldc
lays out the in-process student's; `--plain-server` starts `python -m llama_cpp.server`),
then scores the first `--examples` dev examples under the artifact's system prompt through
`pldc.backends.ServedBackend` with each `--concurrency` (requests in flight), and through the
in-process model. No score is reused between runs (a fresh evaluator each time). The runs take
turns in `--blocks` blocks, so whatever else the machine does weighs on all alike: read the
ratios, not the absolute times. Each served run's decisions (the artifact's calibration) are
compared with the in-process student's, which scores with the same decoding (`label_logprob`),
and so are its label scores (the largest difference, nats). Writes
benchmarks/results/served-concurrency.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import pldc
from pldc.backends import open_model
from pldc.calibration import decide
from pldc.data import load_task_and_data
from pldc.evaluate import StudentEvaluator
from pldc.models import resolve_gguf

ROOT = Path(__file__).resolve().parent.parent
ALIAS = "student"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("task_file", type=Path)
    parser.add_argument("--examples", type=int, default=1000, help="first N dev examples")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--blocks", type=int, default=1)
    parser.add_argument(
        "--plain-server",
        action="store_true",
        help="python -m llama_cpp.server as it comes (weights repacked)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    artifact = pldc.load(args.artifact).artifact
    task, data = load_task_and_data(args.task_file)
    examples = list(data.dev[: args.examples])
    name = artifact.student.name
    path, _ = resolve_gguf(name)
    port = _free_port()
    server_module = "llama_cpp.server" if args.plain_server else "pldc.llama_server"
    threads = len(os.sched_getaffinity(0))
    server = subprocess.Popen(
        [sys.executable, "-m", server_module, "--model", str(path),
         "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
         "--n_threads", str(threads), "--n_threads_batch", str(threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api_base = f"http://127.0.0.1:{port}/v1"
    try:
        _wait(api_base)
        local = open_model(name, decoding="label_logprob")
        runs = {f"served, {c} in flight": c for c in args.concurrency} | {"in-process": 0}
        seconds: dict[str, list[float]] = {run: [] for run in runs}
        decided: dict[str, list[str | None]] = {}
        scored: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.blocks):
            for run, concurrency in runs.items():
                if concurrency:
                    student = open_model(
                        f"openai/{ALIAS}",
                        api_base=api_base,
                        tokenizer=name,
                        concurrency=concurrency,
                    )
                else:
                    student = local
                    local.forget_cache()
                evaluator = StudentEvaluator(student, task.schema, artifact.prompt.user_template)
                started = time.perf_counter()
                rows = evaluator.label_scores(artifact.prompt.system, examples)
                seconds[run].append(time.perf_counter() - started)
                scored[run] = rows
                decided[run] = [
                    decide(row, artifact.prompt.labels, artifact.calibration) for row in rows
                ]
                print(f"{run}: {seconds[run][-1]:.1f} s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    agreement = {
        run: sum(a == b for a, b in zip(found, decided["in-process"], strict=True)) / len(found)
        for run, found in decided.items()
    }
    largest = {
        run: max(
            abs(row[k] - here[k])
            for row, here in zip(found, scored["in-process"], strict=True)
            for k in artifact.prompt.labels
        )
        for run, found in scored.items()
    }
    _write(args, seconds, agreement, largest, len(examples))


def _write(
    args,
    seconds: dict[str, list[float]],
    agreement: dict[str, float],
    largest: dict[str, float],
    n: int,
) -> None:
    one = f"served, {min(args.concurrency)} in flight"
    base = sum(seconds[one])
    rows = {
        run: {
            "seconds": [round(s, 2) for s in times],
            "examples_per_second": round(n * len(times) / sum(times), 3),
            "speed_up_over_one_in_flight": round(base / sum(times), 2),
            "decisions_as_in_process": round(agreement[run], 3),
            "largest_label_score_difference": round(largest[run], 5),
        }
        for run, times in seconds.items()
    }
    record = {
        "command": _environment()
        + "python "
        + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}",
        "examples": n,
        "blocks": args.blocks,
        "server": "llama-cpp-python's server, one model instance, started by "
        + (
            "python -m llama_cpp.server (weights repacked)"
            if args.plain_server
            else "python -m pldc.llama_server (weights as pldc lays them out)"
        ),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "served-concurrency.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "# Served student: label scoring at several concurrencies",
        "",
        f"`{record['command']}` on {record['machine']}. {n} dev examples scored under the "
        f"artifact's system prompt, in {args.blocks} blocks that take turns; {record['server']}.",
        "",
        "| run | seconds per block | examples / s | speed-up over "
        f"{min(args.concurrency)} in flight | decisions as in-process | largest label score "
        "difference (nats) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for run, row in rows.items():
        times = ", ".join(f"{s:.1f}" for s in row["seconds"])
        lines.append(
            f"| {run} | {times} | {row['examples_per_second']:.2f} | "
            f"{row['speed_up_over_one_in_flight']:.2f}× | "
            f"{100 * row['decisions_as_in_process']:.0f}% | "
            f"{row['largest_label_score_difference']:.4f} |"
        )
    (args.out / "served-concurrency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _environment() -> str:
    """The weight-layout override the run had, as a command-line prefix (or nothing)."""
    value = os.environ.get("PLDC_LLAMA_REPACK")
    return f"PLDC_LLAMA_REPACK={value} " if value else ""


def _wait(api_base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api_base}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server at {api_base} did not answer in {timeout} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
