"""Compile a bundled demo task and write what it measured into docs/demo-run-<task>.md.

    python scripts/demo_report.py  # runs `pldc compile signatures/legal_intake.py`
    python scripts/demo_report.py signatures/expense_claims.py

It runs the same compile as the CLI (default models, budget, trials, seed), times it, and
checks how many of the generator's true policy rules (the task module's `true_rules` and
`rules_stated`) the compiled prompt states. For the default demo it also rewrites the block
between the `demo-run` markers in README.md, so every number there comes from here.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pldc.artifact import load_artifact
from pldc.taskfile import load_task_file

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path("signatures") / "legal_intake.py"
START, END = "<!-- demo-run:start -->", "<!-- demo-run:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file", nargs="?", default=str(DEMO))
    parser.add_argument("--output", help="artifact path (default: compiled/<task>.json)")
    parser.add_argument("--fresh", action="store_true", help="discard the resumable run first")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the report from the last compile's artifact and record, without compiling",
    )
    args = parser.parse_args()

    task_file = Path(args.task_file)
    task = load_task_file(ROOT / task_file)
    module = sys.modules[task.signature.__module__]
    name = task.display_name
    output = args.output or str(Path("compiled") / f"{name}.json")
    run_dir = ROOT / ".pldc" / f"demo-report-{name}"
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    command = [
        "pldc",
        "compile",
        task_file.as_posix(),
        "-o",
        output,
        "--run-dir",
        str(run_dir.relative_to(ROOT)),
    ]
    record = ROOT / "docs" / f"demo-run-{name}.json"  # the compile's time and output
    if not args.render_only:
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            sys.exit(f"compile failed:\n{completed.stderr}")
        record.write_text(
            json.dumps(
                {
                    "seconds": round(seconds, 1),
                    "stages": stage_seconds(completed.stderr),
                    "output": completed.stdout,
                },
                indent=2,
            )
            + "\n"
        )
    recorded = json.loads(record.read_text())
    seconds, cli_output = recorded["seconds"], recorded["output"]
    stages = recorded.get("stages", [])
    artifact = load_artifact(ROOT / output)
    doc = Path("docs") / f"demo-run-{name}.md"
    summary = report_summary(artifact, seconds, module, doc, " ".join(command[:3]))
    # The page itself sits in docs/: its link to itself is by file name.
    page_summary = summary.replace(f"]({doc})", f"]({doc.name})")
    report = render_report(
        artifact, page_summary, module, cli_output, " ".join(command[:3]), stages
    )
    (ROOT / doc).parent.mkdir(exist_ok=True)
    (ROOT / doc).write_text(report)
    if task_file == DEMO:
        readme = ROOT / "README.md"
        text = readme.read_text()
        block = f"{START}\n{summary}\n{END}"
        readme.write_text(
            re.sub(re.escape(START) + ".*?" + re.escape(END), block, text, flags=re.S)
        )
    print(report)


def report_summary(artifact, seconds: float, module, doc: Path, command: str) -> str:
    scores = artifact.scores
    margin = scores.test.macro_f1 - scores.baseline_test.macro_f1
    recovered = module.rules_stated(artifact.prompt.system)
    gate = artifact.gate

    def interval(scores) -> str:
        ci = scores.macro_f1_interval
        return (
            f"{scores.macro_f1:.3f} [{ci.low:.3f}, {ci.high:.3f}]"
            if ci
            else f"{scores.macro_f1:.3f}"
        )

    def ci(difference) -> str:
        if difference is None:
            return ""
        return f" [{difference.low:+.3f}, {difference.high:+.3f}] (paired bootstrap, 95%)"

    def gain(what: str, difference) -> str:
        return f"{what} {difference.estimate:+.3f}{ci(difference)}" if difference else ""

    shipped = f"student + {len(artifact.rules)} compiled rules"
    demonstrations = [r for r in artifact.rules if r.kind == "demonstration"]
    if demonstrations:
        shipped += f" ({len(demonstrations)} of them demonstrations)"
    lines = [
        f"Measured by `{command}` through `python scripts/demo_report.py` on {machine()}: "
        f"the compile took **{seconds / 60:.1f} minutes** (teacher {artifact.teacher.name}, "
        f"student {artifact.student.name}, {len(artifact.provenance.trials)} trials, budget "
        f"{artifact.token_budget} tokens).",
        "",
        "| prompt | dev Macro-F1 | test Macro-F1 [95% CI] | test accuracy | system-prompt tokens |",
        "|---|---:|---:|---:|---:|",
        f"| student, no rules | {scores.baseline_dev.macro_f1:.3f} | "
        f"{interval(scores.baseline_test)} | {scores.baseline_test.accuracy:.3f} | "
        f"{artifact.baseline_token_count} |",
        f"| {shipped} | {scores.dev.macro_f1:.3f} | "
        f"{interval(scores.test)} | {scores.test.accuracy:.3f} | {artifact.token_count} |",
        "",
        f"Margin over zero-shot on the test split ({scores.test.n} examples): "
        f"**{margin:+.3f} Macro-F1**"
        + ci(scores.test_gain_over_baseline)
        + (
            f"; few-shot (the offered demonstrations alone) scores "
            f"{interval(scores.few_shot_test)}"
            + gain(", and the shipped prompt's gain over it is", scores.test_gain_over_few_shot)
            if scores.few_shot_test is not None
            else ""
        )
        + ". "
        f"The compiled prompt states {len(recovered)} of the generator's "
        f"{len(module.true_rules) - 1} true policy rules besides the default"
        + (f" ({', '.join(recovered)})." if recovered else "."),
    ]
    if gate is not None:
        lines.append(f"Gate: {gate.reason}")
    lines.append(f"Full output, the rules kept and their provenance: [{doc}]({doc}).")
    return "\n".join(lines)


def stage_seconds(stderr: str) -> list[list]:
    """[stage, seconds] for each stage the compile's plain progress lines (`pldc.progress`, its
    output being no terminal) report done, search trials left out (the search holds them)."""
    found = []
    for line in stderr.splitlines():
        match = re.match(r"\[done\] (.+?): \S+ in (\d+) s", line)
        if match and not match.group(1).startswith("trial "):
            found.append([match.group(1), int(match.group(2))])
    return found


def render_report(
    artifact, summary: str, module, cli_output: str, command: str, stages: list[list]
) -> str:
    lines = [
        f"# Demo compile: {artifact.task.name}",
        "",
        f"Generated by `python scripts/demo_report.py`; the compile is `{command}`.",
        "",
        summary,
        "",
        "## The compiled prompt's rules and demonstrations, with provenance",
        "",
        "| # | kind | text | labels | support | source examples | true rule stated |",
        "|---:|---|---|---|---:|---|---|",
    ]
    for number, rule in enumerate(artifact.rules, start=1):
        stated = ", ".join(module.rules_stated(rule.text)) or "—"
        text = rule.text.replace("\n", " ").replace("|", "\\|")
        lines.append(
            f"| {number} | {rule.kind} | {text} | {', '.join(rule.labels)} | {rule.support} | "
            f"{', '.join(rule.source_example_ids)} | {stated} |"
        )
    lines += [
        "",
        f"{len(artifact.provenance.candidate_rules)} candidates (rules written by the teacher "
        f"for {artifact.provenance.teacher_examples} training examples, and demonstrations) "
        f"were offered; the shipped prompt holds {len(artifact.rules)}.",
        "",
        *_stage_table(stages),
        "## `pldc compile` output",
        "",
        "```",
        cli_output.rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _stage_table(stages: list[list]) -> list[str]:
    if not stages:
        return []
    lines = [
        "## Where the time goes",
        "",
        "Seconds per stage, from the compile's progress lines (stderr, no terminal):",
        "",
        "| stage | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {seconds} |" for name, seconds in stages]
    return [*lines, ""]


def machine() -> str:
    import os

    return f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, no GPU"


if __name__ == "__main__":
    main()
