"""Load test of `pldc serve` beside in-process `predict`, measured in one run.

    python benchmarks/serve_load.py compiled/legal_intake.json signatures/legal_intake.py

Starts `pldc serve ARTIFACT` on 127.0.0.1 with the real student, sends `--requests` POST
/predict requests (one input each, the task's test split in order, cycled) from `--clients`
concurrent clients, and counts errors, latency percentiles and throughput; in this process,
`pldc.load(ARTIFACT).predict` answers the same inputs one after another. The two paths take
turns in `--blocks` blocks, so whatever else the machine runs weighs on both alike; their
ratio is the figure to read, the absolute times are this machine's. Writes
benchmarks/results/serve-load.json and .md.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

import pldc
from pldc.data import load_task_and_data

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("task_file", type=Path)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--blocks", type=int, default=10, help="alternations of the two paths")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    _, data = load_task_and_data(args.task_file)
    cases = [dict(example.inputs) for example in data.test]
    inputs = [cases[i % len(cases)] for i in range(args.requests)]
    size = -(-len(inputs) // args.blocks)
    blocks = [inputs[i : i + size] for i in range(0, len(inputs), size)]

    classifier = pldc.load(args.artifact)
    classifier.predict(**inputs[0])  # the model's first load
    served = PathResults()
    local = PathResults()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pldc", "serve", str(args.artifact), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        with httpx.Client(timeout=300) as client:
            client.post(f"{url}/predict", json={"inputs": inputs[0]})  # the model's first load
            # The two paths take turns, block by block, so both meet the same background load.
            for block in blocks:
                _served_block(client, url, block, args.clients, served)
                _in_process_block(classifier, block, local)
    finally:
        process.terminate()
        process.wait(30)
    agree = sum(a == b for a, b in zip(served.labels, local.labels, strict=True))
    report = {
        "command": " ".join(["python", "benchmarks/serve_load.py", *sys.argv[1:]]),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "artifact": str(args.artifact),
        "requests": args.requests,
        "clients": args.clients,
        "blocks": len(blocks),
        "served": served.summary(),
        "in_process": local.summary(),
        "labels_agreeing": agree,
    }
    report["served_over_in_process_throughput"] = (
        report["served"]["per_second"] / report["in_process"]["per_second"]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve-load.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "serve-load.md").write_text(markdown(report))
    print(markdown(report))


class PathResults:
    """One path's latencies, labels, errors and busy seconds, over all its blocks."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.labels: list[str | None] = []
        self.errors = 0
        self.seconds = 0.0

    def summary(self) -> dict:
        return {
            "errors": self.errors,
            "seconds": self.seconds,
            "per_second": len(self.labels) / self.seconds,
            "p50_ms": 1000 * _percentile(self.latencies, 50),
            "p95_ms": 1000 * _percentile(self.latencies, 95),
        }


def _served_block(client, url: str, block: list[dict], clients: int, out: PathResults) -> None:
    labels: list[str | None] = [None] * len(block)

    def send(position: int) -> None:
        started = time.perf_counter()
        try:
            reply = client.post(f"{url}/predict", json={"inputs": block[position]})
            reply.raise_for_status()
            labels[position] = reply.json()["label"]
        except httpx.HTTPError:
            out.errors += 1
        out.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(send, range(len(block))))
    out.seconds += time.perf_counter() - started
    out.labels += labels


def _in_process_block(classifier, block: list[dict], out: PathResults) -> None:
    started = time.perf_counter()
    for case in block:
        one = time.perf_counter()
        out.labels.append(classifier.predict(**case))
        out.latencies.append(time.perf_counter() - one)
    out.seconds += time.perf_counter() - started


def markdown(report: dict) -> str:
    served, local = report["served"], report["in_process"]
    return "\n".join(
        [
            "# `pldc serve` under load, beside in-process `predict`",
            "",
            f"Generated by `{report['command']}` on {report['machine']['cpus']} CPU cores, "
            f"Python {report['machine']['python']}: {report['requests']} requests from "
            f"{report['clients']} concurrent clients to `pldc serve` on 127.0.0.1 (one worker, "
            "the real student), and the same inputs through `pldc.load(...).predict` in one "
            f"process, one after another; the two took turns in {report['blocks']} blocks of "
            "one run.",
            "",
            "| path | errors | p50 latency | p95 latency | throughput |",
            "|---|---:|---:|---:|---:|",
            f"| HTTP, {report['clients']} clients | {served['errors']} | "
            f"{served['p50_ms']:.0f} ms | {served['p95_ms']:.0f} ms | "
            f"{served['per_second']:.2f} req/s |",
            f"| in-process predict | 0 | {local['p50_ms']:.0f} ms | {local['p95_ms']:.0f} ms | "
            f"{local['per_second']:.2f} req/s |",
            "",
            f"Served throughput is {report['served_over_in_process_throughput']:.2f}× the "
            f"in-process rate; {report['labels_agreeing']} of {report['requests']} labels agree. "
            "A worker's student answers one request at a time (a llama.cpp context is not "
            "thread-safe), so concurrent clients queue: their latency includes the wait.",
            "",
        ]
    )


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"pldc serve exited:\n{process.stderr.read()}")
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    sys.exit("pldc serve did not start within 120 s")


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
