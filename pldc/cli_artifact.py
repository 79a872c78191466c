"""The commands that need an artifact but no task data: `pldc show`, `pldc pick`,
`pldc report`, `pldc serve`, and `pldc doctor`, which checks the models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from pldc.artifact import load_artifact
from pldc.errors import ModelError, SettingsError
from pldc.models import CATALOGUE
from pldc.report import artifact_summary, show_artifact

console = Console()


def add_artifact_commands(commands) -> None:
    """Add the commands' parsers to `pldc`'s subcommands."""
    show = commands.add_parser("show", help="print an artifact's rules, scores and budget use")
    show.add_argument("artifact", metavar="ARTIFACT")
    show.add_argument("--json", action="store_true", help="print the summary as JSON")
    show.set_defaults(run=_show)

    pick = commands.add_parser(
        "pick", help="choose a Pareto artifact's best prompt for a token budget, without search"
    )
    pick.add_argument("artifact", metavar="ARTIFACT")
    pick.add_argument("--budget", type=int, required=True, metavar="N")
    pick.add_argument("-o", "--output", required=True, help="where to write the chosen artifact")
    pick.set_defaults(run=_pick)

    report = commands.add_parser(
        "report", help="write a self-contained HTML audit report of an artifact"
    )
    report.add_argument("artifact", metavar="ARTIFACT")
    report.add_argument("-o", "--output", required=True, help="the HTML file to write")
    report.set_defaults(run=_report)

    serve = commands.add_parser(
        "serve", help="serve an artifact over HTTP: POST /predict, GET /health, GET /info"
    )
    serve.add_argument("artifact", metavar="ARTIFACT")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes, each with its own student (default: 1)"
    )
    serve.set_defaults(run=_serve)

    doctor = commands.add_parser(
        "doctor", help="check that the local models load and decode on this machine"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument(
        "--model", action="append", metavar="NAME", help="check only this catalogue model"
    )
    doctor.set_defaults(run=_doctor)


def _show(args: argparse.Namespace) -> int:
    artifact = load_artifact(args.artifact)
    if args.json:
        print(json.dumps(artifact_summary(artifact)))
    else:
        show_artifact(console, artifact)
    return 0


def _pick(args: argparse.Namespace) -> int:
    artifact = load_artifact(args.artifact).at_budget(args.budget)
    output = artifact.save(args.output)
    console.print(
        f"picked trial {artifact.provenance.best_trial}: {len(artifact.rules)} rules, "
        f"{artifact.token_count} / {args.budget} tokens, dev Macro-F1 "
        f"{artifact.scores.dev.macro_f1:.3f}, test {artifact.scores.test.macro_f1:.3f}"
    )
    console.print(f"wrote [bold]{output}[/] (content hash {artifact.content_hash[:12]})")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pldc.audit import render_report

    artifact = load_artifact(args.artifact)
    output = Path(args.output)
    if output.suffix.lower() not in (".html", ".htm"):
        raise SettingsError(f"-o {output}: give an .html file to write the report to.", "-o")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_report(artifact), encoding="utf-8")
    console.print(f"wrote [bold]{output}[/] (audit report of {args.artifact})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from pldc.serve import serve

    if args.workers < 1 or not 0 <= args.port <= 65535:
        raise SettingsError(
            f"--workers {args.workers} / --port {args.port}: give 1 or more workers and a port "
            "from 0 to 65535.",
            "--workers" if args.workers < 1 else "--port",
        )
    load_artifact(args.artifact)  # a tampered artifact is refused before anything is said
    console.print(
        f"serving {args.artifact} on http://{args.host}:{args.port} "
        f"({args.workers} worker{'s' if args.workers > 1 else ''}); Ctrl-C stops it",
        highlight=False,
    )
    serve(args.artifact, host=args.host, port=args.port, workers=args.workers)
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from pldc.doctor import examine

    unknown = sorted(set(args.model or ()) - set(CATALOGUE))
    if unknown:
        raise ModelError(f"unknown model {unknown[0]!r}; choose from: {', '.join(CATALOGUE)}")
    report = examine(args.model)
    if args.json:
        print(report.to_json())
        return 0 if report.ok else 1
    for name, value in report.facts.items():
        console.print(f"  {name:<17} {value}", highlight=False, soft_wrap=True)
    for check in report.checks:
        mark = "[green]ok  [/]" if check.ok else "[bold red]FAIL[/]"
        console.print(f"{mark} {check.name}: {check.detail}", highlight=False, soft_wrap=True)
        if check.fix:
            console.print(f"     fix: {check.fix}", highlight=False, soft_wrap=True)
    console.print("all checks passed" if report.ok else "[bold red]some checks failed[/]")
    return 0 if report.ok else 1
