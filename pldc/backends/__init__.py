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
) -> Backend:
    """A backend for a catalogue name, a `.gguf` path, or a dspy/litellm `provider/model`.

    `threads` is the CPU threads a local model runs on (default: `model_threads()`, i.e.
    `PLDC_THREADS` or every usable core); remote models ignore it. `decoding` is how a local
    model scores labels (default "reply_logprob"; "label_logprob" for artifacts that recorded
    it). Raises `ModelError` for an
    unknown name or a missing or corrupt model file, `MissingExtraError` for a local model
    without the `local` extra, `SettingsError` for an unusable thread count.
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
        from pldc.backends._remote import RemoteBackend

        return RemoteBackend(name, api_base=api_base, api_key=api_key)
    raise ModelError(
        f"unknown model {name!r}: use a local model ({', '.join(sorted(CATALOGUE))}), a path "
        "to a .gguf file, or a dspy/litellm model string such as 'openai/gpt-4o-mini' or "
        "'ollama_chat/llama3.2'."
    )


def open_recorded_model(
    identity: ModelIdentity, *, api_base: str | None = None, threads: int | None = None
) -> Backend:
    """Reopen the model an artifact recorded, refusing a local file with another sha256; a
    local model scores labels with the decoding the artifact recorded.

    `threads` as for `open_model`. Raises `ModelError` for a test function's identity, a
    model that cannot be opened, or a local file whose sha256 differs from the recorded one.
    """
    if identity.kind == "function":
        raise ModelError(
            f"the artifact's student {identity.name!r} was a test function; pass student= to "
            "pldc.load to run it."
        )
    local = identity.kind == "local"
    backend = open_model(
        identity.name,
        api_base=api_base,
        threads=threads,
        decoding=identity.decoding if local else None,
    )
    if identity.sha256 and backend.identity.sha256 != identity.sha256:
        raise ModelError(
            f"model {identity.name!r} has sha256 {backend.identity.sha256}, but the artifact was "
            f"compiled against {identity.sha256}; use the same model file or recompile."
        )
    return backend
