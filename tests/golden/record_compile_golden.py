"""Record what a toy compile leaves behind, as the golden copy tests/test_compile_golden.py pins.

    PYTHONPATH=. python tests/golden/record_compile_golden.py

For each case in CASES it compiles the toy task on the fake backends into a fresh run directory
and writes tests/golden/compile_<case>/: the run directory's JSONL stores as they are (teacher
traces, student scores, embeddings, stored stages), `manifest.json` (the run directory's file
names, every store's keys and the Optuna study names) and `artifact.json` (without the
installed versions and the hash over them).

These files were recorded with issue 19's pipeline (rule verification, demonstrations beside
the rules, selection examples, the final gate, 95% intervals), which changed every case's keys
and artifact on purpose. Issue 20 rerecorded them when every stored stage's key and the study
name came to hold the full rendered scaffold (`pldc.render.student_scaffold` and
`teacher_scaffold`): the stage keys and study names changed, the artifacts and the teacher,
student and embedding stores did not. The final gate's move to the mean gold-label
log-probability (issue 19) changed only each artifact's gate record; recording each trial's
gold log-probability and breaking Macro-F1 ties by it changed the trial records, and in the
"resolved" case the best trial (2 instead of 7, both at Macro-F1 1.0), so that case's shipped
prompt, its final scores and the student scores stored for them. Making the gold
log-probability the default search objective changed the study names and which trials win.
Issue 19's later defaults changed them again on purpose: demonstrations offered as many as fit
the budget (up to 64, so together they make plain few-shot), 300 selection examples instead
of 160, and a rules-alone opening trial (with `SEARCH_REVISION` in the study name); the
student's scores did not change, which examples and prompts are scored did.
The teacher scaffold's new induction prompt (`induction_peers`) changed only the stage keys
and study names. Issue 21's readable study names (`<task>-<12 hex digits>`, with user
attributes) changed the study names and each artifact's `provenance.study_name`; issue 19's
held-out gate (`gate_examples`) changed which selection examples the search scores, so its
trials, its best prompt and the gate's record. Naming the study before the teacher runs (from
the task, models, data and settings; issue 21) changed the study names, and SCORING_REVISION 6
(no weight repacking) the student scores' keys; no stored value and nothing else in the
artifacts changed. SEARCH_REVISION 3 (no opening trial repeating a trimmed prompt) changed
the study names and, where an opener was dropped, the trials. Calibrating the shipped prompt
and its baselines on `calibration_examples` (dev, then training inputs) instead of the
selection examples changed each artifact's calibration offsets, scores and provenance
(`calibration_example_ids`), and stored student scores for the extra inputs; the study names
and trials did not change. A Macro-F1 resample that draws none of a class's gold examples now
averages over the classes it holds gold examples of (`pldc.stats`): only the "resolved" case's
Macro-F1 intervals changed, on 15 examples; no estimate, decision or store did.
They were first recorded before the compiler was split into stages (issue 18), which they
showed changed nothing.
Rerecord them only when a cache key or the artifact is meant to change, and say so in the
commit.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import optuna  # noqa: E402
from conftest import fake_student_scores, fake_teacher_reply, toy_task  # noqa: E402

from pldc.backends import FunctionBackend  # noqa: E402
from pldc.compiler import compile_task  # noqa: E402
from pldc.embed import TfidfEmbedder  # noqa: E402
from pldc.settings import CompileSettings  # noqa: E402
from pldc.store import JsonlStore  # noqa: E402

PINNED = ("If the ticket mentions hours, the answer is other.",)
CASES = {
    # Resolution on, pinned rules: the rule-pool, resolution and search keys all in play.
    "resolved": (
        {"pinned_rules": PINNED},
        CompileSettings(token_budget=120, trials=8, seed=0, teacher_examples=9),
    ),
    # Resolution off; contrastive extraction, rule evidence and a Pareto front.
    "pareto": (
        {},
        CompileSettings(
            token_budget=120,
            trials=6,
            seed=1,
            teacher_examples=9,
            resolve_rounds=0,
            extraction_contrast=True,
            rule_evidence=True,
            objective="pareto",
        ),
    ),
}
VOLATILE = ("versions", "content_hash")
"""Artifact fields that change with the installed packages, not with the compile."""


def compile_case(case: str, run_dir: Path, teacher, student, embedder=None):
    """The toy task compiled with `CASES[case]` into `run_dir` (TF-IDF embeddings by default)."""
    task_fields, settings = CASES[case]
    return compile_task(
        toy_task(**task_fields),
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=run_dir,
        embedder=embedder or TfidfEmbedder(),
    )


def manifest(run_dir: Path) -> dict:
    """The run directory's file names, each JSONL store's keys (sorted) and the study names."""
    storage = f"sqlite:///{(run_dir / 'study.db').resolve()}"
    return {
        "files": sorted(p.name for p in run_dir.iterdir()),
        "store_keys": {p.name: sorted(JsonlStore(p)) for p in sorted(run_dir.glob("*.jsonl"))},
        "study_names": sorted(optuna.get_all_study_names(storage)),
    }


def stable_artifact(artifact) -> dict:
    body = json.loads(artifact.to_json())
    for name in VOLATILE:
        body.pop(name)
    return body


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for case in CASES:
        out = HERE / f"compile_{case}"
        shutil.rmtree(out, ignore_errors=True)
        (out / "run").mkdir(parents=True)
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = Path(tmp) / "run"
            teacher = FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")
            student = FunctionBackend(score=fake_student_scores, name="fake-student")
            artifact = compile_case(case, run_dir, teacher, student)
            for store in run_dir.glob("*.jsonl"):
                shutil.copy(store, out / "run" / store.name)
            (out / "manifest.json").write_text(json.dumps(manifest(run_dir), indent=1) + "\n")
        (out / "artifact.json").write_text(
            json.dumps(stable_artifact(artifact), indent=1, ensure_ascii=False) + "\n"
        )
        print(f"{case}: {len(teacher.calls)} teacher calls, {len(student.calls)} student calls")


if __name__ == "__main__":
    main()
