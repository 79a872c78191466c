"""Model backends: one small interface, a local (llama.cpp), a remote (dspy/litellm) and a
function-wrapping implementation for tests."""

from __future__ import annotations

from pldc.backends._function import FunctionBackend
from pldc.backends._threads import model_threads, models_opened_with, threads_per_worker
from pldc.backends.base import (
    Backend,
    Decoding,
    ModelIdentity,
    parsed_label_scores,
    with_retries,
)
from pldc.errors import MissingExtraError, ModelError
from pldc.models import CATALOGUE, is_local_model_name
from pldc.progress import NullProgress, Progress

__all__ = [
    "Backend",
    "FunctionBackend",
    "ModelIdentity",
    "model_threads",
    "models_opened_with",
    "open_model",
    "open_recorded_model",
    "parsed_label_scores",
    "threads_per_worker",
    "with_retries",
]


def open_model(
    name: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    decoding: Decoding | None = None,
    tokenizer: str | None = None,
    concurrency: int = 4,
) -> Backend:
    """A backend for a catalogue name, a `.gguf` path, or a dspy/litellm `provider/model`.

    `threads` is the CPU threads a local model runs on (default: `model_threads()`, i.e.
    `PLDC_THREADS` or every usable core); remote models ignore it. `decoding` is how a local
    model scores labels (default "reply_logprob"; "label_logprob" for artifacts that recorded
    it). A model on your own OpenAI-compatible server (`api_base`, e.g. vLLM or llama.cpp's
    server at http://127.0.0.1:8000/v1) needs `tokenizer`, its own (`open_tokenizer`: a .gguf,
    a local model name or a tokenizer.json), and is then a `ServedBackend` scored by token
    logprobs with `concurrency` requests in flight. Raises `ModelError` for an unknown name, a
    missing or corrupt model file, or a served model without its tokenizer;
    `MissingExtraError` for a local model or tokenizer without the `local` extra;
    `SettingsError` for an unusable thread count.
    """
    if is_local_model_name(name):
        try:
            from pldc.backends._llama import LlamaCppBackend
        except ImportError:
            raise MissingExtraError(f"local model {name!r}", "local") from None
        return LlamaCppBackend.open(
            name,
            progress=progress or NullProgress(),
            threads=threads,
            **({"decoding": decoding} if decoding else {}),
        )
    if "/" in name:
        return _remote_model(name, api_base, api_key, tokenizer, concurrency)
    raise ModelError(
        f"unknown model {name!r}: use a local model ({', '.join(sorted(CATALOGUE))}), a path "
        "to a .gguf file, or a dspy/litellm model string such as 'openai/gpt-4o-mini' or "
        "'ollama_chat/llama3.2'."
    )


def _remote_model(
    name: str, api_base: str | None, api_key: str | None, tokenizer: str | None, concurrency: int
) -> Backend:
    """A provider's hosted model (`RemoteBackend`), or a model on your own server
    (`ServedBackend`), which needs its own tokenizer."""
    if api_base is None:
        from pldc.backends._remote import RemoteBackend

        return RemoteBackend(name, api_key=api_key)
    if tokenizer is None:
        raise ModelError(
            f"model {name!r} at {api_base}: pldc counts a served model's prompt budget with "
            "its own tokenizer and renders its chat template, and has none; give it "
            "(--student-tokenizer / --teacher-tokenizer, or tokenizer=): the model's .gguf "
            "file, a local model name, or its tokenizer.json."
        )
    from pldc.backends._chat_tokenizer import open_tokenizer
    from pldc.backends._served import ServedBackend

    return ServedBackend(
        name,
        api_base=api_base,
        api_key=api_key,
        tokenizer=open_tokenizer(tokenizer),
        concurrency=concurrency,
    )


def open_recorded_model(
    identity: ModelIdentity, *, api_base: str | None = None, threads: int | None = None
) -> Backend:
    """Reopen the model an artifact recorded, refusing a local file with another sha256; a
    local model scores labels with the decoding the artifact recorded; a served model is
    reached at its recorded `api_base` (unless `api_base` is given) with its recorded
    tokenizer.

    `threads` as for `open_model`. Raises `ModelError` for a test function's identity, a
    model that cannot be opened, a local file whose sha256 differs from the recorded one, or
    a served model that now answers with another decoding or tokenizer.
    """
    if identity.kind == "function":
        raise ModelError(
            f"the artifact's student {identity.name!r} was a test function; pass student= to "
            "pldc.load to run it."
        )
    local = identity.kind == "local"
    api_base = api_base or identity.api_base
    tokenizer = None
    if identity.kind == "remote" and api_base is not None:
        from pldc.backends._chat_tokenizer import tokenizer_source_path

        tokenizer = tokenizer_source_path(identity.tokenizer)
    backend = open_model(
        identity.name,
        api_base=api_base,
        threads=threads,
        decoding=identity.decoding if local else None,
        tokenizer=tokenizer,
    )
    if identity.kind == "remote":
        for field in ("decoding", "tokenizer"):
            now, then = getattr(backend.identity, field), getattr(identity, field)
            if now != then:
                raise ModelError(
                    f"model {identity.name!r} at {api_base}: {field} is {now!r}, but the "
                    f"artifact was compiled with {then!r}; serve the same model, or recompile."
                )
    if identity.sha256 and backend.identity.sha256 != identity.sha256:
        raise ModelError(
            f"model {identity.name!r} has sha256 {backend.identity.sha256}, but the artifact was "
            f"compiled against {identity.sha256}; use the same model file or recompile."
        )
    return backend
