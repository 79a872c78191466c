"""`pldc compile`'s flags for models on your own server, opening each role's model from them,
and `--dry-run`, which estimates a compile's cost without calling a model (`pldc.costs`)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

from rich.console import Console

from pldc.preflight import fit_to_student


def add_served_model_flags(parser: argparse.ArgumentParser) -> None:
    """--teacher-api-base, --student-api-base, --ROLE-tokenizer and --concurrency."""
    parser.add_argument(
        "--teacher-api-base",
        help="your OpenAI-compatible server for the teacher, e.g. http://127.0.0.1:8000/v1",
    )
    parser.add_argument(
        "--student-api-base",
        help="your OpenAI-compatible server for the student (vLLM, llama.cpp's server); the "
        "student is then --student openai/<name on the server>",
    )
    for role in ("teacher", "student"):
        parser.add_argument(
            f"--{role}-tokenizer",
            metavar="SOURCE",
            help=f"the served {role}'s own tokenizer and chat template: its .gguf file, a "
            f"local model name, or its tokenizer.json (needed with --{role}-api-base)",
        )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="requests kept in flight to a served model (default: 4; 1 for llama-cpp-python's "
        "server, which runs one request at a time)",
    )


def dry_run(args, task, data, settings, student_name: str, teacher_name: str) -> int:
    from pldc.costs import estimate, print_costs, token_counter

    counters, models = {}, {}
    for role, name in (("teacher", teacher_name), ("student", student_name)):
        api_base, tokenizer = served_options(role, args)
        counters[role], counted = token_counter(name, api_base, tokenizer)
        hosted = "/" in name and api_base is None and not name.endswith(".gguf")
        models[role] = (name, counted, hosted)
    # The budget must hold the scaffold, as a real compile checks; contexts are not known here.
    tokenizer_only = SimpleNamespace(count_tokens=counters["student"], context_window=None)
    fit_to_student(task, data, tokenizer_only, settings.token_budget, str(args.task_file))
    stages = estimate(
        task.schema,
        data,
        settings,
        count_teacher=counters["teacher"],
        count_student=counters["student"],
    )
    print_costs(Console(), stages, models)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: give 1 or more")
    return value


def served_options(role: str, args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The role's --ROLE-api-base and --ROLE-tokenizer."""
    return getattr(args, f"{role}_api_base"), getattr(args, f"{role}_tokenizer")
