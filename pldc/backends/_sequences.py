"""Label scoring in one decode per prompt, on a llama.cpp context that holds several sequences.

Sequence 0 holds the prompt's shared beginning (the system prompt), evaluated in fixed blocks
and kept for the next prompt. The prompt's own tail (the last message) then runs in one batch
together with the continuation tokens of every multi-token label: each such label gets a
sequence of its own, which sees the prefix and the tail but not the other labels. So a prompt
costs one decode, not one more per continuation token.

llama.cpp's CPU kernels round slightly differently for different batch shapes. Every batch
here is fixed by the prompt and the labels alone (blocks for the prefix, then tail plus
continuations), so a score read through the cache equals a cold one exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np

from pldc.errors import ModelError

PREFIX_BLOCK = 32
"""Tokens per evaluation batch for the shared prefix, so reuse never changes its batching."""

SMALLEST_BLOCK = 8
"""A prefix's last block is never shorter unless it is the only one: it joins the block before.
llama.cpp computes a batch of a few tokens with other kernels than a longer one, and every
later token attends to what they leave in the KV cache. A served model evaluates a short
prompt in one batch; tests/test_served_student.py's short prompt (a 34-token prefix, once
32 + 2 tokens here) scores within its 0.002-nat tolerance of the server only with this rule."""


@dataclass(frozen=True)
class ScoredPrompt:
    tokens: list[int]
    prefix: int
    """Where the prompt's own tail begins; the tokens before it may be shared with the next."""


class SequenceScorer:
    """Owns a multi-sequence context on a loaded model's weights, as long as the model's own,
    used only for scoring."""

    def __init__(self, llm: llama_cpp.Llama, threads: int) -> None:
        n_ctx = llm.n_ctx()
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = params.n_batch = n_ctx
        params.n_seq_max = llama_cpp.llama_max_parallel_sequences()
        params.kv_unified = True  # sequences share the cells of the prefix and the tail
        params.n_threads = params.n_threads_batch = threads
        self._ctx = llama_cpp.llama_init_from_model(llm.model, params)
        if self._ctx is None:
            raise ModelError("llama.cpp could not create a scoring context")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._max_sequences = params.n_seq_max
        self._batch = llama_cpp.llama_batch_init(n_ctx, 0, self._max_sequences)
        self._n_vocab = llm.n_vocab()
        self._prefix: list[int] = []
        """The tokens sequence 0 holds, evaluated in `_blocks(len(self._prefix))`."""
        self.tokens_evaluated = 0
        """Tokens run through the model so far, after prefix reuse (a read-only metric)."""

    def close(self) -> None:
        if self._ctx is not None:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ctx)
            self._ctx = None

    def forget(self) -> None:
        """Keep nothing of earlier prompts: the next `score` evaluates its whole prompt, and
        gives exactly the scores it would have given from the cache."""
        self._prefix = []

    @staticmethod
    def tokens_needed(prompt: ScoredPrompt, labels: Sequence[list[int]]) -> int:
        return len(prompt.tokens) + sum(len(tokens) - 1 for tokens in labels)

    def score(self, prompt: ScoredPrompt, labels: Sequence[list[int]]) -> list[float]:
        """The log-likelihood of each label's tokens as the reply to `prompt`."""
        if len(labels) >= self._max_sequences:
            raise ModelError(
                f"{len(labels)} labels exceed the {self._max_sequences - 1} llama.cpp can score "
                "at once; merge labels."
            )
        self._load_prefix(prompt.tokens[: prompt.prefix])
        # Label j's continuation lives in sequence j + 1; the tail belongs to all of them.
        branches = [j + 1 for j, tokens in enumerate(labels) if len(tokens) > 1]
        for sequence in branches:
            llama_cpp.llama_memory_seq_cp(self._memory, 0, sequence, -1, -1)
        tail = prompt.tokens[prompt.prefix :]
        entries = [
            (token, prompt.prefix + k, [0, *branches], k == len(tail) - 1)
            for k, token in enumerate(tail)
        ]
        reads = []  # (label, next token) per continuation position
        for j, tokens in enumerate(labels):
            for k, token in enumerate(tokens[:-1]):
                entries.append((token, len(prompt.tokens) + k, [j + 1], True))
                reads.append((j, tokens[k + 1]))
        tail_end, *continuations = self._decode(entries)
        first = _log_softmax(self._logits(tail_end))
        totals = [float(first[tokens[0]]) for tokens in labels]
        for index, (j, token) in zip(continuations, reads, strict=True):
            totals[j] += float(_log_softmax(self._logits(index))[token])
        for sequence in branches:
            llama_cpp.llama_memory_seq_rm(self._memory, sequence, -1, -1)
        return totals

    def _load_prefix(self, prefix: list[int]) -> None:
        """Sequence 0 holds `prefix` and nothing after it, keeping the leading blocks it
        already held."""
        keep = 0
        shared = common_length(self._prefix, prefix)
        held = set(_blocks(len(self._prefix)))
        for block in _blocks(len(prefix)):
            if block not in held or block[1] > shared:
                break
            keep = block[1]
        llama_cpp.llama_memory_seq_rm(self._memory, 0, keep, -1)
        for begin, end in _blocks(len(prefix)):
            if begin >= keep:
                self._decode([(t, begin + k, [0], False) for k, t in enumerate(prefix[begin:end])])
        self._prefix = list(prefix)

    def _decode(self, entries: list[tuple[int, int, list[int], bool]]) -> list[int]:
        """One llama.cpp batch of (token, position, sequences, wants logits); the batch
        indices whose logits `_logits` can read."""
        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (token, position, sequences, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = len(sequences)
            for s, sequence in enumerate(sequences):
                batch.seq_id[i][s] = sequence
            batch.logits[i] = logits
        status = llama_cpp.llama_decode(self._ctx, batch)
        if status != 0:
            raise ModelError(f"llama.cpp failed to evaluate a scoring batch (status {status})")
        self.tokens_evaluated += len(entries)
        return [i for i, entry in enumerate(entries) if entry[3]]

    def _logits(self, index: int) -> np.ndarray:
        raw = llama_cpp.llama_get_logits_ith(self._ctx, index)
        return np.ctypeslib.as_array(raw, shape=(self._n_vocab,)).astype(np.float64)


def _blocks(length: int) -> list[tuple[int, int]]:
    starts = list(range(0, length, PREFIX_BLOCK))
    if len(starts) > 1 and length - starts[-1] < SMALLEST_BLOCK:
        starts.pop()
    return list(itertools.pairwise([*starts, length]))


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())
