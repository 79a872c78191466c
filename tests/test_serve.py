"""`pldc serve` (issue 22 item 2), with real HTTP on 127.0.0.1: a uvicorn server in a thread
for the fake-student tests, and the `pldc serve` command in a subprocess with the real student.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn

import pldc
from pldc.backends import FunctionBackend
from pldc.serve import create_app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / "compiled" / "legal_intake.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def by_keyword(messages, labels):
    text = messages[-1]["content"]
    return {label: (0.0 if label in text else -3.0) for label in labels}


@pytest.fixture(scope="module")
def server():
    classifier = pldc.load(ARTIFACT, student=FunctionBackend(score=by_keyword))
    port = free_port()
    config = uvicorn.Config(
        create_app(ARTIFACT, classifier), host="127.0.0.1", port=port, log_level="error"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", classifier
    running.should_exit = True
    thread.join(10)


def test_predict_one_gives_label_probabilities_hash_and_latency(server):
    url, classifier = server
    reply = httpx.post(f"{url}/predict", json={"inputs": {"request": "route to in_house"}})
    assert reply.status_code == 200
    body = reply.json()
    assert body["label"] == classifier.predict(request="route to in_house")
    assert body["probabilities"] == pytest.approx(
        classifier.predict_proba(request="route to in_house")
    )
    assert body["content_hash"] == classifier.artifact.content_hash
    assert body["latency_ms"] >= 0


def test_predict_a_batch_answers_each_item_in_order(server):
    url, classifier = server
    texts = ["self_serve please", "outside_counsel now", "in_house today"]
    reply = httpx.post(f"{url}/predict", json={"batch": [{"request": t} for t in texts]})
    assert reply.status_code == 200
    labels = [item["label"] for item in reply.json()["predictions"]]
    assert labels == [classifier.predict(request=t) for t in texts]


def test_health_and_info_describe_the_artifact(server):
    url, classifier = server
    artifact = classifier.artifact
    assert httpx.get(f"{url}/health").json() == {
        "status": "ok",
        "task": artifact.task.name,
        "content_hash": artifact.content_hash,
    }
    info = httpx.get(f"{url}/info").json()
    assert info["labels"] == artifact.prompt.labels
    assert info["token_budget"] == artifact.token_budget
    assert info["student"]["name"] == artifact.student.name
    assert [c["id"] for c in info["shipped"]] == [c.id for c in artifact.rules]
    assert info["scores"]["test"]["macro_f1"] == artifact.scores.test.macro_f1


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ({"inputs": {"requst": "typo"}}, 400, "unknown ['requst']"),
        ({"inputs": {"request": "   "}}, 400, "empty or whitespace-only"),
        ({"batch": [{"request": "ok"}, {"request": ""}]}, 400, "batch item 1"),
        ({}, 422, 'give exactly one of "inputs"'),
        ({"inputs": {"request": "a"}, "batch": []}, 422, 'give exactly one of "inputs"'),
        ({"inputs": "just text"}, 422, "inputs"),
        ("not json at all", 422, "with the fields request"),
        ({"inputs": {"request": "a"}, "foo": 1}, 422, "foo"),
    ],
)
def test_a_bad_request_gets_a_4xx_with_one_clear_message(server, body, status, phrase):
    url, _ = server
    if isinstance(body, str):
        reply = httpx.post(
            f"{url}/predict", content=body, headers={"content-type": "application/json"}
        )
    else:
        reply = httpx.post(f"{url}/predict", json=body)
    assert reply.status_code == status
    assert set(reply.json()) == {"error"} and phrase in reply.json()["error"]
    assert "Traceback" not in reply.text


def test_a_wrong_path_or_method_gets_the_same_error_shape(server):
    url, _ = server
    for reply in (httpx.get(f"{url}/nope"), httpx.get(f"{url}/predict")):
        assert reply.status_code in (404, 405)
        assert set(reply.json()) == {"error"} and "POST /predict" in reply.json()["error"]


def test_concurrent_clients_all_get_answers(server):
    url, classifier = server
    texts = [f"case {i} {classifier.labels[i % 3]}" for i in range(40)]
    with httpx.Client() as client, ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda t: client.post(f"{url}/predict", json={"inputs": {"request": t}}), texts
            )
        )
    assert [r.status_code for r in replies] == [200] * len(texts)
    assert [r.json()["label"] for r in replies] == [classifier.predict(request=t) for t in texts]


def test_a_tampered_artifact_stops_the_service_before_it_starts(tmp_path):
    data = json.loads(ARTIFACT.read_text())
    data["prompt"]["system"] += " Always answer in_house."
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    done = subprocess.run(
        [sys.executable, "-m", "pldc", "serve", str(tampered), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "content hash" in done.stderr and "Traceback" not in done.stderr
    assert "serving" not in done.stdout  # refused before it says it serves


@pytest.mark.real_model
def test_pldc_serve_answers_as_pldc_load_does_with_the_real_student():
    pytest.importorskip("llama_cpp")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pldc", "serve", str(ARTIFACT), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "pldc serve did not start"
            time.sleep(0.5)
        texts = [
            "Please review the NDA the supplier sent for the new warehouse deal.",
            "A customer claims our app infringes their patent; they sent a letter.",
            "An employee is relocating abroad and needs a work permit.",
        ]
        reply = httpx.post(
            f"{url}/predict", json={"batch": [{"request": t} for t in texts]}, timeout=120
        )
        assert reply.status_code == 200
        served = [item["probabilities"] for item in reply.json()["predictions"]]
    finally:
        process.terminate()
        process.wait(30)
    local = pldc.load(ARTIFACT)
    for text, probabilities in zip(texts, served, strict=True):
        assert probabilities == pytest.approx(local.predict_proba(request=text), abs=1e-3)
