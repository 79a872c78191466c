"""A student on a real OpenAI-compatible server (issue 21, items 3 and 4): llama-cpp-python's
server on 127.0.0.1 with the local 0.5B student, scored by its token logprobs, counted with
its own tokenizer, reached at the recorded api_base; and the retry policy, on a stub."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from llama_server import ALIAS, LlamaServer
from test_backend_conformance import LABELS, MESSAGES

import pldc
from pldc.backends import open_model, open_recorded_model
from pldc.backends._chat_tokenizer import open_tokenizer
from pldc.backends._served import ServedBackend
from pldc.calibration import decide
from pldc.compiler import compile_task
from pldc.data import load_task_and_data
from pldc.embed import TfidfEmbedder
from pldc.errors import ModelError, PLDError
from pldc.evaluate import StudentEvaluator
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER, resolve_gguf
from pldc.preflight import check_served_model
from pldc.progress import NullProgress
from pldc.settings import CompileSettings

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "signatures" / "legal_intake.py"
RULES_ONLY = ROOT / "compiled" / "legal_intake-rules_only.json"


# The retry policy, on a stub that answers every request with one status code.


class StatusServer:
    def __init__(self, status: int) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                server.requests += 1
                body = json.dumps({"error": {"message": "no", "type": "x"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api_base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


class WordTokenizer:
    source = "tokenizer.json:/words@0"

    def count_tokens(self, text):
        return len(text.split())

    def pieces(self, text):
        return [text]

    def chat_text(self, messages):
        return "\n".join(m["content"] for m in messages)


@pytest.mark.parametrize(
    ("status", "requests", "message"),
    [
        (401, 1, "refused the key"),
        (404, 1, "check the model name"),
        (429, 3, "failed after 2 retries"),
        (503, 3, "failed after 2 retries"),
    ],
)
def test_rate_limits_and_server_errors_are_retried_but_key_and_request_errors_are_not(
    status, requests, message
):
    stub = StatusServer(status)
    try:
        with pytest.raises(ModelError, match=message):
            ServedBackend(
                "openai/m", api_base=stub.api_base, tokenizer=WordTokenizer(), max_retries=2
            )
    finally:
        stub.close()
    assert stub.requests == requests


def test_a_server_that_refuses_logprobs_generates_and_says_so_and_a_bad_request_is_not_retried():
    stub = StatusServer(400)
    try:
        student = ServedBackend(
            "openai/m", api_base=stub.api_base, tokenizer=WordTokenizer(), max_retries=2
        )
        assert student.identity.decoding == "generate_parse"  # recorded in the artifact
        assert stub.requests == 1
        with pytest.raises(ModelError, match="refused the request"):
            student.generate(MESSAGES)
    finally:
        stub.close()
    assert stub.requests == 2


def test_a_served_model_without_its_own_tokenizer_is_refused_and_never_counted_with_another():
    with pytest.raises(ModelError, match=r"give it .*--student-tokenizer"):
        open_model("openai/m", api_base="http://127.0.0.1:9/v1")
    with pytest.raises(ModelError, match="give --student-tokenizer"):
        check_served_model("student", "openai/m", "http://127.0.0.1:9/v1", None)
    with pytest.raises(ModelError, match="give --teacher-api-base too"):
        check_served_model("teacher", "openai/m", None, DEFAULT_STUDENT)
    with pytest.raises(ModelError, match="no tokenizer at 'nothing-here'"):
        open_tokenizer("nothing-here")


def test_a_stopped_server_is_a_clear_model_error():
    with pytest.raises(ModelError, match="is the server running"):
        ServedBackend(
            "openai/m",
            api_base="http://127.0.0.1:9/v1",
            tokenizer=WordTokenizer(),
            max_retries=0,
            timeout=5,
        )


# Against the real server.


def served(server, concurrency: int = 4) -> ServedBackend:
    return open_model(
        f"openai/{ALIAS}",
        api_base=server.api_base,
        tokenizer=DEFAULT_STUDENT,
        concurrency=concurrency,
    )


@pytest.fixture(scope="module")
def local_student():
    pytest.importorskip("llama_cpp")
    return open_model(DEFAULT_STUDENT, decoding="label_logprob")


@pytest.mark.real_model
def test_a_served_student_scores_labels_by_logprobs_as_the_local_model_does(
    served_student, local_student
):
    student = served(served_student)

    assert student.identity.decoding == "label_logprob"
    assert student.identity.api_base == served_student.api_base
    assert student.identity.tokenizer.startswith(f"gguf:{DEFAULT_STUDENT}@")
    remote, local = student.score(MESSAGES, LABELS), local_student.score(MESSAGES, LABELS)
    for label in LABELS:
        assert remote[label] == pytest.approx(local[label], abs=2e-3)
    assert student.count_tokens(MESSAGES[0]["content"]) == local_student.count_tokens(
        MESSAGES[0]["content"]
    )


@pytest.mark.real_model
def test_served_and_in_process_decisions_agree_on_the_demos_dev_claims(
    served_student, local_student
):
    """The demo's first 25 dev claims under its compiled rules-only prompt and calibration
    (all 89, at several concurrencies: benchmarks/served_concurrency.py).

    Issue 21 asks for 95% agreement. The server is started as pldc loads its own models,
    without llama.cpp's weight repacking (`python -m pldc.llama_server`): repacked kernels
    round differently for the pieces the server's prefix cache leaves, and a plain server
    decided 6 of the 89 claims otherwise (benchmarks/results/served-repacked/).
    """
    artifact = pldc.load(RULES_ONLY).artifact
    prompt, labels = artifact.prompt, artifact.prompt.labels
    task, data = load_task_and_data(DEMO)

    def scores(student) -> list[dict[str, float]]:
        evaluator = StudentEvaluator(student, task.schema, prompt.user_template)
        return evaluator.label_scores(prompt.system, list(data.dev[:25]))

    remote, local = scores(served(served_student, concurrency=1)), scores(local_student)
    for by_server, in_process in zip(remote, local, strict=True):
        assert all(abs(by_server[k] - in_process[k]) < 0.01 for k in labels)
    calibration = artifact.calibration
    alike = sum(
        decide(by_server, labels, calibration) == decide(here, labels, calibration)
        for by_server, here in zip(remote, local, strict=True)
    )
    assert alike / len(local) >= 0.95


@pytest.mark.real_model
def test_a_compile_with_a_served_student_stops_cleanly_when_the_server_dies_then_resumes(
    tmp_path,
):
    """Compile a demo slice with the served student; the server is killed when the search
    starts, the compile stops with one ModelError, and the rerun, the server back on the same
    port, resumes: no teacher call is repeated. The artifact then loads and predicts through
    the server it recorded, as the in-process student decides."""
    pytest.importorskip("llama_cpp.server.app")
    task, data = load_task_and_data(DEMO)
    demo = pldc.Task(
        signature=task.signature,
        train=[record(e) for e in data.train[:40]],
        dev=[record(e) for e in data.dev[:6]],
        test=[record(e) for e in data.test[:4]],
        name="legal_intake_slice",
    )
    path, _ = resolve_gguf(DEFAULT_STUDENT)
    server = LlamaServer(path, log=tmp_path / "server.log").start()
    teacher = open_model(DEFAULT_TEACHER)
    settings = CompileSettings(
        token_budget=400,
        trials=2,
        teacher_examples=3,
        resolve_rounds=0,
        verify=False,
        rules_only=True,
        selection_examples=6,
        calibration_examples=10,
    )

    class KillAtSearch(NullProgress):
        def stage(self, description, total=None):
            if description.startswith("search"):
                server.stop()
            return super().stage(description, total)

    student = open_model(
        f"openai/{ALIAS}", api_base=server.api_base, tokenizer=DEFAULT_STUDENT, concurrency=2
    )
    student._client = student._client.with_options(max_retries=1)
    try:
        with pytest.raises(PLDError, match="is the server running"):
            compile_task(
                demo,
                teacher=teacher,
                student=student,
                settings=settings,
                run_dir=tmp_path / "run",
                embedder=TfidfEmbedder(),
                progress=KillAtSearch(),
            )
        teacher_calls = len((tmp_path / "run" / "teacher_traces.jsonl").read_text().splitlines())
        assert teacher_calls > 0

        restarted = LlamaServer(path, log=tmp_path / "server.log", port=server.port).start()
        try:
            artifact = compile_task(
                demo,
                teacher=teacher,
                student=served(restarted),
                settings=settings,
                run_dir=tmp_path / "run",
                embedder=TfidfEmbedder(),
            )
            after = len((tmp_path / "run" / "teacher_traces.jsonl").read_text().splitlines())
            assert after == teacher_calls  # every teacher call was kept
            assert artifact.student.api_base == restarted.api_base
            assert artifact.student.decoding == "label_logprob"
            out = artifact.save(tmp_path / "served.json")

            loaded = pldc.load(out)  # reaches the recorded server with the recorded tokenizer
            claims = [e.inputs for e in data.test[:4]]
            assert all(loaded.predict(**inputs) in task.schema.labels for inputs in claims)
            assert open_recorded_model(artifact.student).identity == artifact.student
            local = open_model(DEFAULT_STUDENT, decoding="label_logprob")
            in_process = pldc.load(out, student=local)
            for inputs in claims:
                by_server, here = loaded.scores(**inputs), in_process.scores(**inputs)
                assert all(abs(by_server[k] - here[k]) < 0.01 for k in task.schema.labels)
        finally:
            restarted.stop()
    finally:
        server.stop()


def record(example) -> dict:
    return {"id": example.id, **example.inputs, "queue": example.label}
