"""Whether the student's label scores depend on how llama.cpp batches the prompt, with and
without weight repacking (the reason pldc loads models without it; `pldc.backends._cpu`).

    python docs/batch_shapes.py compiled/legal_intake-rules_only.json \
        signatures/legal_intake.py

For each weight layout (`PLDC_LLAMA_REPACK` on, then off), the in-process student scores the
dev examples under the artifact's system prompt, decoding `label_logprob`, with the shared
prefix evaluated in blocks of 32 tokens (pldc's `PREFIX_BLOCK`), then of 512 and of 7, each
from a cold cache. Each other block size is compared with 32: the largest label-score
difference (nats) and how many calibrated decisions (the artifact's calibration) are alike.
Writes docs/batch-shapes.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import pldc
import pldc.backends._sequences as sequences
from pldc.backends import open_model
from pldc.backends._cpu import REPACK_VARIABLE
from pldc.calibration import decide
from pldc.data import load_task_and_data
from pldc.evaluate import StudentEvaluator

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = (32, 512, 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("task_file", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()

    artifact = pldc.load(args.artifact).artifact
    task, data = load_task_and_data(args.task_file)
    examples, labels = list(data.dev), artifact.prompt.labels
    rows = []
    for repack in ("on", "off"):
        os.environ[REPACK_VARIABLE] = repack
        student = open_model(artifact.student.name, decoding="label_logprob")
        scores = {}
        for block in BLOCKS:
            sequences.PREFIX_BLOCK = block
            student.forget_cache()
            evaluator = StudentEvaluator(student, task.schema, artifact.prompt.user_template)
            scores[block] = evaluator.label_scores(artifact.prompt.system, examples)
            print(f"repack {repack}, blocks of {block}: scored", flush=True)
        student.close()
        for block in BLOCKS[1:]:
            pairs = list(zip(scores[block], scores[BLOCKS[0]], strict=True))
            rows.append(
                {
                    "weight_repacking": repack,
                    "prefix_block": block,
                    "largest_difference": max(abs(a[k] - b[k]) for a, b in pairs for k in labels),
                    "decisions_alike": sum(
                        decide(a, labels, artifact.calibration)
                        == decide(b, labels, artifact.calibration)
                        for a, b in pairs
                    ),
                }
            )
    sequences.PREFIX_BLOCK = BLOCKS[0]
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    record = {
        "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}",
        "examples": len(examples),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "batch-shapes.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "# Label scores and llama.cpp's batch shapes",
        "",
        f"`{command}` on {record['machine']}: the {len(examples)} dev examples under the "
        "artifact's system prompt, the shared prefix evaluated in blocks of 32 tokens (pldc's), "
        "then of another size, each from a cold cache; decisions use the artifact's calibration.",
        "",
        "| weight repacking | prefix blocks | largest label-score difference from blocks of 32 "
        "(nats) | decisions alike |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['weight_repacking']} | {row['prefix_block']} | "
            f"{row['largest_difference']:.4f} | {row['decisions_alike']} of {len(examples)} |"
        )
    (args.out / "batch-shapes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
