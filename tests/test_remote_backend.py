"""The dspy/litellm backend against a small OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import pldc
from pldc.backends._remote import RemoteBackend
from pldc.calibration import decide, fit_calibration

MESSAGES = [
    {"role": "system", "content": "Answer with exactly one of: approve, reject."},
    {"role": "user", "content": "Claim: taxi to the airport, $40, receipt attached."},
]


class FakeOpenAI:
    """Answers /v1/chat/completions with `reply`, after failing the first `failures` calls."""

    def __init__(self, reply: str, failures: int = 0) -> None:
        self.reply, self.failures, self.requests = reply, failures, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                if len(server.requests) <= server.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                payload = json.dumps(
                    {
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": server.reply},
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.api_base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def server_factory():
    servers = []

    def make(reply: str, failures: int = 0) -> FakeOpenAI:
        servers.append(FakeOpenAI(reply, failures))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def backend_for(server: FakeOpenAI, attempts: int = 3) -> RemoteBackend:
    return RemoteBackend(
        "openai/test-model",
        api_base=server.api_base,
        api_key="sk-test",
        attempts=attempts,
        retry_delay=0.01,
    )


def test_the_server_receives_the_rendered_messages_unchanged(server_factory):
    server = server_factory("reject")
    assert backend_for(server).generate(MESSAGES) == "reject"
    assert server.requests[-1]["messages"] == MESSAGES
    assert server.requests[-1]["temperature"] == 0.0


def test_a_free_text_reply_is_parsed_to_the_label_it_gives(server_factory):
    server = server_factory("Decision: **Approve**. The receipt is attached, nothing to reject.")
    scores = backend_for(server).score(MESSAGES, ["approve", "reject"])
    assert scores["approve"] == 0.0 and scores["reject"] == float("-inf")


def test_a_reply_that_names_no_label_scores_no_label_and_decides_none(server_factory):
    server = server_factory("I would need to see the receipt first.")
    labels = ["approve", "reject"]

    scores = backend_for(server).score(MESSAGES, labels)

    assert scores == {"approve": float("-inf"), "reject": float("-inf")}
    batch = fit_calibration("batch", [scores], labels)
    assert batch.label_offsets == {"approve": 0.0, "reject": 0.0}
    assert decide(scores, labels, batch) is None


def test_transient_server_errors_are_retried(server_factory):
    server = server_factory("approve", failures=2)
    assert backend_for(server, attempts=3).generate(MESSAGES) == "approve"
    assert len(server.requests) == 3


def test_persistent_errors_are_reported_once_as_a_model_error(server_factory):
    server = server_factory("approve", failures=99)
    with pytest.raises(pldc.ModelError, match="remote model openai/test-model failed after 2"):
        backend_for(server, attempts=2).generate(MESSAGES)


def test_identity_records_generate_and_parse_decoding(server_factory):
    identity = backend_for(server_factory("approve")).identity
    assert identity.kind == "remote" and identity.decoding == "generate_parse"
    assert identity.tokenizer == "litellm:openai/test-model"


def test_remote_tokens_are_counted_offline_with_litellm(server_factory):
    assert backend_for(server_factory("approve")).count_tokens("Reject any late claim.") > 0
