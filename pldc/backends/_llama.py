"""Local GGUF models in-process through llama-cpp-python.

Label scoring reads raw logits: the chat prompt is evaluated once, reusing whatever prefix of
it is still in the KV cache (the system prompt, when examples are scored one after another),
then each label's tokens are scored and rolled back. `logits_all` and echo logprobs are not
used: they are slow or wrong.

llama.cpp's CPU kernels round differently for different batch sizes, so the same prompt split
into different batches gives slightly different logits (docs/eval-blocks.md). A scored prompt is
evaluated in batches fixed by the prompt alone: `EVAL_BLOCK`-token blocks from the start up to
where the last message begins, then the rest in one batch. Prefix reuse keeps only the
leading batches the cached prompt evaluated identically, so every position is computed in the
same batch whatever was cached before, and a cached score equals a cold one exactly. Search and
deployment see the same numbers. The cut lets consecutive examples under one system prompt reuse
all of it, instead of re-evaluating the part of its last block that reaches into the example.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from pldc.backends.base import Backend, ModelIdentity
from pldc.errors import ModelError
from pldc.models import resolve_gguf
from pldc.progress import NullProgress, Progress
from pldc.render import Message

EVAL_BLOCK = 32
"""Tokens per evaluation batch for scored prompts (docs/eval-blocks.md measures the drift)."""


_CORES = min(2, os.cpu_count() or 1)


class LlamaCppBackend(Backend):
    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        sha256: str,
        n_ctx: int = 4096,
        n_threads: int | None = None,
    ) -> None:
        self._threads = n_threads or _CORES
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_batch=512,
            n_threads=self._threads,
            n_threads_batch=self._threads,
            logits_all=False,
            verbose=False,
        )
        # Close before interpreter teardown; llama.cpp's own __del__ fails once modules are gone.
        weakref.finalize(self, self._llm.close)
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(
                f"{model_path} has no chat template (a base model); pldc needs an instruction "
                "model with a chat template as teacher or student."
            )
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
            add_generation_prompt=True,
        )
        self._label_tokens: dict[str, list[int]] = {}
        self._scored_prompt: list[int] = []
        """The prompt whose KV `score` left in the cache; `generate` clears it."""
        self._scored_batches: list[tuple[int, int]] = []
        """The batches `_scored_prompt` was evaluated in."""
        self.tokens_evaluated = 0
        """Tokens run through the model by `score`, after KV-prefix reuse (for benchmarks)."""
        self.reuse_prefix = True
        """False evaluates every scored prompt from an empty cache: the naive baseline of
        scripts/search_benchmark.py."""
        self.eval_block = EVAL_BLOCK
        """0 evaluates the uncached tail in one batch, the drifting way scripts/eval_blocks.py
        compares against."""
        self.cut_at_last_message = True
        """False lays blocks from the prompt's start only (scoring revision 2), for
        scripts/eval_blocks.py to compare against."""
        self.identity = ModelIdentity(
            kind="local",
            name=name,
            sha256=sha256,
            decoding="label_logprob",
            tokenizer=f"gguf:{name}@{sha256[:16]}",
        )

    @classmethod
    def open(cls, name: str, *, progress: Progress | None = None, **kwargs) -> LlamaCppBackend:
        progress = progress or NullProgress()
        with progress.stage(f"model {Path(name).name}", total=None) as stage:

            def on_bytes(done: int, total: int) -> None:
                stage.update(completed=done, total=total, status="assembling GGUF")

            path, sha256 = resolve_gguf(name, on_bytes)
            stage.update(status="loading")
            return cls(path, name=name, sha256=sha256, **kwargs)

    def chat_prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The model's own chat template, applied with the assistant turn opened."""
        prompt = self._formatter(messages=[dict(m) for m in messages]).prompt
        return self._llm.tokenize(prompt.encode(), add_bos=False, special=True)

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        prompt = self.chat_prompt_tokens(messages)
        self._check_context(len(prompt) + max_tokens)
        self._scored_prompt = []  # generation batches differently; its cache is not reused
        completion = self._llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=0
        )
        return completion["choices"][0]["text"].strip()

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        prompt = self.chat_prompt_tokens(messages)
        label_tokens = [self._tokens_of_label(label) for label in labels]
        self._check_context(len(prompt) + max(len(t) for t in label_tokens))
        # The prompt without the last message's text shares exactly the tokens before it.
        *earlier, last = messages
        blank = self.chat_prompt_tokens([*earlier, {**last, "content": ""}])
        first = _log_softmax(self._eval_reusing_prefix(prompt, _common_length(prompt, blank)))
        scores = {}
        for label, tokens in zip(labels, label_tokens, strict=True):
            total = float(first[tokens[0]])
            for previous, token in itertools.pairwise(tokens):
                self._llm.eval([previous])
                self.tokens_evaluated += 1
                total += float(_log_softmax(self._last_logits())[token])
            self._llm.n_tokens = len(prompt)  # roll the label back out of the cache
            scores[label] = total
        return scores

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))

    def close(self) -> None:
        self._llm.close()

    def share_cpu(self, processes: int) -> None:
        # More llama.cpp threads than cores makes them spin-wait on each other: two 2-thread
        # workers on 2 cores ran a search about 5x slower than one.
        threads = max(1, self._threads // max(1, processes))
        llama_cpp.llama_set_n_threads(self._llm.ctx, threads, threads)

    def _eval_reusing_prefix(self, tokens: list[int], cut: int) -> np.ndarray:
        shared = _common_length(self._scored_prompt, tokens) if self.reuse_prefix else 0
        if self.eval_block:
            batches = self._batches(len(tokens), cut)
            start = 0
            # The last batch always runs again: its logits are the ones we need.
            for batch, cached in zip(batches[:-1], self._scored_batches, strict=False):
                if batch != cached or batch[1] > shared:
                    break
                start = batch[1]
        else:
            start = min(shared, len(tokens) - 1)
            batches = [(start, len(tokens))]
        self._llm.n_tokens = start
        self.tokens_evaluated += len(tokens) - start
        for begin, end in batches:
            if begin >= start:
                self._llm.eval(tokens[begin:end])
        self._scored_prompt = list(tokens)
        self._scored_batches = batches
        return self._last_logits()

    def _batches(self, length: int, cut: int) -> list[tuple[int, int]]:
        """The fixed (start, end) batches for a prompt of `length` tokens whose last message
        begins at `cut`: blocks up to the cut, where prompts share their prefix, then the last
        message in one batch, which runs faster per token than blocks (scripts/eval_blocks.py)."""
        if self.cut_at_last_message:
            cut = min(cut, length - 1)
            starts = [*range(0, cut, self.eval_block), cut]
        else:
            starts = list(range(0, length, self.eval_block))
        return list(itertools.pairwise([*starts, length]))

    def _last_logits(self) -> np.ndarray:
        # Without logits_all, llama.cpp keeps logits for the last evaluated position only.
        raw = np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(self._llm.n_vocab(),))
        return raw.astype(np.float64)

    def _tokens_of_label(self, label: str) -> list[int]:
        if label not in self._label_tokens:
            tokens = self._llm.tokenize(label.encode(), add_bos=False, special=False)
            if not tokens:
                raise ModelError(f"label {label!r} tokenizes to nothing; use a non-empty label.")
            self._label_tokens[label] = tokens
        return self._label_tokens[label]

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode(errors="ignore")

    def _check_context(self, needed: int) -> None:
        if needed > self._llm.n_ctx():
            raise ModelError(
                f"{self.identity.name}: the prompt needs {needed} tokens but the context holds "
                f"{self._llm.n_ctx()}; shorten the inputs or the token budget."
            )


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())
