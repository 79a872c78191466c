"""`pldc serve`: a compiled artifact behind a small HTTP JSON service (FastAPI on uvicorn).

    pldc serve compiled/legal_intake.json --port 8000

- `POST /predict` takes one input, `{"inputs": {"request": "..."}}`, or a batch,
  `{"batch": [{"request": "..."}, ...]}`, and answers with each label, the calibrated
  probabilities (`CompiledClassifier.predict_proba`), the artifact's content hash and the
  latency in milliseconds.
- `GET /health` says the service is up and which artifact it serves; `GET /info` gives the
  task, labels, models, budget, shipped rules, gate and scores (`pldc show --json`).
- A request the artifact cannot take gets a 4xx with one `{"error": "..."}` message, never a
  stack trace. A tampered or unreadable artifact stops the service before it starts.

The classifier is loaded once per worker process and its student calls take turns under its
lock, so one worker serves one request at a time on the model; `--workers N` runs N processes,
each with its own copy of the student.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from pldc.artifact import load_artifact
from pldc.errors import DataError, MissingExtraError, PLDError
from pldc.report import artifact_summary
from pldc.runtime import CompiledClassifier


class PredictRequest(BaseModel):
    """`POST /predict`'s body: one item's input fields, or a batch of them."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, str] | None = None
    batch: list[dict[str, str]] | None = None

    @model_validator(mode="after")
    def one_of_them(self) -> PredictRequest:
        if (self.inputs is None) == (self.batch is None):
            raise ValueError('give exactly one of "inputs" (one item) or "batch" (a list)')
        return self


ARTIFACT_VARIABLE = "PLDC_SERVE_ARTIFACT"
"""How `pldc serve --workers N` tells each worker process which artifact to load."""


def create_app(artifact_path: str | Path, classifier: CompiledClassifier | None = None):
    """The FastAPI app serving the artifact at `artifact_path` (`classifier` for tests: one
    already loaded, e.g. with a fake student).

    Raises:
        ArtifactError: the artifact is missing, not valid, or its content hash does not match.
        MissingExtraError: FastAPI is not installed (`pip install "pldc[serve]"`).
    """
    try:
        from fastapi import FastAPI
    except ImportError:
        raise MissingExtraError("pldc serve", "serve") from None

    if classifier is None:
        classifier = CompiledClassifier(load_artifact(artifact_path))
    artifact = classifier.artifact
    content_hash = artifact.content_hash

    app = FastAPI(title=f"pldc: {artifact.task.name}", version=content_hash[:12])

    _answer_errors_in_one_line(app, artifact.prompt.input_fields)

    def one(inputs: dict[str, str]) -> dict[str, Any]:
        probabilities = classifier.predict_proba(**inputs)
        label = max(probabilities, key=probabilities.get) if any(probabilities.values()) else None
        return {"label": label, "probabilities": probabilities}

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, Any]:
        started = time.perf_counter()
        if body.inputs is not None:
            result: dict[str, Any] = one(body.inputs)
        else:
            for position, inputs in enumerate(body.batch):
                try:
                    classifier.checked_messages(**inputs)
                except DataError as error:
                    raise DataError(f"batch item {position}: {error}") from None
            result = {"predictions": [one(inputs) for inputs in body.batch]}
        latency = (time.perf_counter() - started) * 1000
        return {**result, "content_hash": content_hash, "latency_ms": round(latency, 2)}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "task": artifact.task.name, "content_hash": content_hash}

    @app.get("/info")
    def info() -> dict[str, Any]:
        return artifact_summary(artifact)

    return app


def _answer_errors_in_one_line(app, input_fields: list[str]) -> None:
    """A request FastAPI cannot parse gets a 422, one pldc refuses a 400: each with one
    `{"error": ...}` message that says what to send, never a stack trace."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(
            part for part in first.get("loc", ()) if isinstance(part, str) and part != "body"
        )
        message = first.get("msg", "invalid request").removeprefix("Value error, ")
        fields = ", ".join(input_fields)
        return JSONResponse(
            status_code=422,
            content={
                "error": f"{where + ': ' if where else ''}{message}; send "
                f'{{"inputs": {{...}}}} or {{"batch": [{{...}}]}} with the fields {fields}'
            },
        )

    @app.exception_handler(PLDError)
    async def refused(request: Request, error: PLDError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": str(error)})

    @app.exception_handler(StarletteHTTPException)
    async def not_served(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = f"{error.detail}: this service answers POST /predict, GET /health, GET /info"
        return JSONResponse(status_code=error.status_code, content={"error": message})


def app_from_environment():
    """The app for the artifact `PLDC_SERVE_ARTIFACT` names: uvicorn's factory in each of
    `pldc serve --workers N`'s processes."""
    return create_app(os.environ[ARTIFACT_VARIABLE])


def serve(artifact_path: str | Path, *, host: str, port: int, workers: int) -> None:
    """Check the artifact, then serve it until interrupted.

    Raises:
        ArtifactError: before the service starts, for a missing, invalid or tampered artifact.
        MissingExtraError: FastAPI or uvicorn is not installed.
    """
    load_artifact(artifact_path)  # refuse a tampered artifact before any worker starts
    try:
        import uvicorn
    except ImportError:
        raise MissingExtraError("pldc serve", "serve") from None
    if workers == 1:
        uvicorn.run(create_app(artifact_path), host=host, port=port, log_level="warning")
        return
    os.environ[ARTIFACT_VARIABLE] = str(Path(artifact_path).resolve())
    uvicorn.run(
        "pldc.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
