"""Local GGUF models in-process through llama-cpp-python.

Text is generated through llama-cpp-python's own context. Labels are scored from raw logits in
a second context on the same weights (`_sequences.py`): the shared system prompt stays in its
KV cache from one example to the next, and each example's message runs in one batch together
with every multi-token label's continuation. `logits_all` and echo logprobs are not used: they
are slow or wrong.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from pldc.backends._cpu import WeightLayout, weight_layout
from pldc.backends._sequences import ScoredPrompt, SequenceScorer, common_length
from pldc.backends._threads import model_threads
from pldc.backends.base import Backend, Decoding, ModelIdentity
from pldc.errors import ContextLengthError, ModelError
from pldc.models import resolve_gguf
from pldc.progress import NullProgress, Progress
from pldc.render import Message

_PARAMS_LOCK = threading.Lock()
_MARK = "\x00pldc-message\x00"
"""Brackets a message's index in the rendered template, where its text goes (see
`LlamaCppBackend.chat_prompt_tokens`); NUL never occurs in a chat template's own text."""

REQUIRED_FIELDS = {
    "llama_model_params": ("use_extra_bufts",),
    "llama_context_params": ("kv_unified", "n_seq_max"),
}
"""The parameter fields pldc sets. A ctypes structure accepts an undeclared attribute
silently, so bindings without them would, say, leave weight repacking on (the AMX crash)."""


def check_bindings(bindings: Any = llama_cpp) -> None:
    """Refuse llama-cpp-python bindings that lack a field pldc sets (releases before 0.3.15).

    Raises:
        ModelError: naming the missing fields and the install command.
    """
    missing = [
        f"{structure}.{name}"
        for structure, names in REQUIRED_FIELDS.items()
        for name in names
        if name not in {field[0] for field in getattr(bindings, structure)._fields_}
    ]
    if missing:
        raise ModelError(
            f"the installed llama-cpp-python has no {', '.join(missing)}; pldc needs 0.3.15 or "
            "later: pip install 'llama-cpp-python>=0.3.15,<0.4'"
        )


@contextmanager
def model_params(layout: WeightLayout) -> Iterator[None]:
    """Make `Llama(...)` load with `layout`: llama-cpp-python builds its model parameters from
    `llama_model_default_params()` and exposes no argument for `use_extra_bufts`."""
    defaults = llama_cpp.llama_cpp.llama_model_default_params

    def with_layout() -> llama_cpp.llama_model_params:
        params = defaults()
        params.use_extra_bufts = layout.use_extra_bufts
        return params

    with _PARAMS_LOCK:
        llama_cpp.llama_cpp.llama_model_default_params = with_layout
        try:
            yield
        finally:
            llama_cpp.llama_cpp.llama_model_default_params = defaults


class LlamaCppBackend(Backend):
    """A GGUF instruction model with a chat template, loaded once and kept in memory.

    `threads` is the CPU threads it runs on, fixed when it is opened (default: `PLDC_THREADS`,
    else every usable core; see `_threads.py`). Raises `ModelError` for a model without a chat
    template, `SettingsError` for an unusable thread count.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        sha256: str,
        n_ctx: int = 4096,
        threads: int | None = None,
        decoding: Decoding = "reply_logprob",
    ) -> None:
        check_bindings()
        self.threads = model_threads(threads)
        """CPU threads for generation and scoring alike."""
        self.weight_layout = weight_layout()
        """Whether llama.cpp repacks the weights; off wherever AMX could be used (`_cpu.py`)."""
        with model_params(self.weight_layout):
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_batch=512,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                logits_all=False,
                verbose=False,
            )
        # Close before interpreter teardown; llama.cpp's own __del__ fails once modules are gone.
        weakref.finalize(self, self._llm.close)
        self.context_window = self._llm.n_ctx()
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
        if decoding not in ("reply_logprob", "label_logprob"):
            raise ModelError(f"a local model scores labels by log-likelihood, not {decoding!r}")
        self._reply_end = self._end_of_turn(template, name) if decoding == "reply_logprob" else []
        """Scored after every label's tokens: the token that closes the assistant's turn."""
        self._label_tokens: dict[str, list[int]] = {}
        self._scorer: SequenceScorer | None = None
        """The scoring context, made on the first `score`: a model that only generates
        never pays for its KV cache."""
        self.identity = ModelIdentity(
            kind="local",
            name=name,
            sha256=sha256,
            decoding=decoding,
            tokenizer=f"gguf:{name}@{sha256[:16]}",
        )

    @classmethod
    def open(cls, name: str, *, progress: Progress | None = None, **kwargs) -> LlamaCppBackend:
        """The catalogue model or `.gguf` path `name`, assembled and verified first if need be;
        `kwargs` go to the constructor. Raises `ModelError` for a missing or corrupt file."""
        progress = progress or NullProgress()
        with progress.stage(f"model {Path(name).name}", total=None) as stage:

            def on_bytes(done: int, total: int) -> None:
                stage.update(completed=done, total=total, status="assembling GGUF")

            path, sha256 = resolve_gguf(name, on_bytes)
            stage.update(status="loading")
            return cls(path, name=name, sha256=sha256, **kwargs)

    def chat_prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The model's own chat template, applied with the assistant turn opened.

        Message text is data: the template's own markup is tokenized with its control tokens,
        each message's text as plain text, so text that spells a control token (say
        "<|im_end|>") can never end a turn or open another. The template is rendered with a
        placeholder for each message's text, and the text's tokens go in its place. For text
        that starts with no whitespace, which is every pldc prompt and rendered input, this
        gives the very tokens of tokenizing the whole rendered prompt.

        Raises:
            ModelError: the chat template drops or repeats a message's text.
        """
        marks = [f"{_MARK}{i}{_MARK}" for i in range(len(messages))]
        prompt = self._formatter(
            messages=[{**m, "content": mark} for m, mark in zip(messages, marks, strict=True)]
        ).prompt
        pieces = prompt.split(_MARK)
        if len(pieces) != 2 * len(messages) + 1 or pieces[1::2] != [
            str(i) for i in range(len(messages))
        ]:
            raise ModelError(
                "the model's chat template drops, repeats or reorders message text; pldc "
                "cannot keep user text apart from the template's control tokens with it."
            )
        tokens: list[int] = []
        for i, piece in enumerate(pieces):
            if i % 2:
                text, special = messages[int(piece)]["content"], False
            else:
                text, special = piece, True
            if text:
                tokens += self._llm.tokenize(text.encode(), add_bos=False, special=special)
        return tokens

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.chat_prompt_tokens(messages))

    def generate(self, messages: Sequence[Message], *, max_tokens: int = 256) -> str:
        prompt = self.chat_prompt_tokens(messages)
        self._check_context(len(prompt) + max_tokens)
        completion = self._llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, seed=0
        )
        return completion["choices"][0]["text"].strip()

    def score(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        label_tokens = [self._tokens_of_label(label) for label in labels]
        prompt = self._scored_prompt(messages)
        scorer = self._open_scorer()
        self._check_context(scorer.tokens_needed(prompt, label_tokens))
        return dict(zip(labels, scorer.score(prompt, label_tokens), strict=True))

    def _scored_prompt(self, messages: Sequence[Message]) -> ScoredPrompt:
        """The chat prompt, and where its last message's text begins: the prompt with that
        text left empty shares exactly the tokens before it."""
        tokens = self.chat_prompt_tokens(messages)
        *earlier, last = messages
        blank = self.chat_prompt_tokens([*earlier, {**last, "content": ""}])
        return ScoredPrompt(tokens, min(common_length(tokens, blank), len(tokens) - 1))

    def _open_scorer(self) -> SequenceScorer:
        if self._scorer is None:
            self._scorer = SequenceScorer(self._llm, self.threads)
            weakref.finalize(self, self._scorer.close)
        return self._scorer

    @property
    def tokens_evaluated(self) -> int:
        """Tokens run through the model by scoring, after KV-prefix reuse (for benchmarks)."""
        return self._scorer.tokens_evaluated if self._scorer is not None else 0

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))

    def forget_cache(self) -> None:
        """Keep no prompt tokens from earlier calls: the next `generate` or `score` evaluates
        its whole prompt. Scores are exactly those read through the cache."""
        self._llm.reset()
        if self._scorer is not None:
            self._scorer.forget()

    def close(self) -> None:
        if self._scorer is not None:
            self._scorer.close()
        self._llm.close()

    def _tokens_of_label(self, label: str) -> list[int]:
        """The reply that gives `label`: its tokens, then the end of turn (`reply_logprob`)."""
        if label not in self._label_tokens:
            tokens = self._llm.tokenize(label.encode(), add_bos=False, special=False)
            if not tokens:
                raise ModelError(f"label {label!r} tokenizes to nothing; use a non-empty label.")
            self._label_tokens[label] = tokens + self._reply_end
        return self._label_tokens[label]

    def _end_of_turn(self, template: str, name: str) -> list[int]:
        """The control token the chat template writes right after an assistant reply
        (Qwen2.5: <|im_end|>), else the vocabulary's end-of-turn or end-of-text token.

        Raises:
            ModelError: the model has none of them.
        """
        closed = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
            add_generation_prompt=False,
        )
        chat = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _MARK}]
        after = closed(messages=chat).prompt.split(_MARK)[-1]
        vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        following = self._llm.tokenize(after.encode(), add_bos=False, special=True)[:1]
        candidates = [t for t in following if llama_cpp.llama_vocab_is_control(vocab, t)]
        candidates += [llama_cpp.llama_vocab_eot(vocab), self._llm.token_eos()]
        for token in candidates:
            if token >= 0:
                return [token]
        raise ModelError(
            f"{name} has no end-of-turn token, so a label cannot be scored as a complete reply."
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode(errors="ignore")

    def _check_context(self, needed: int) -> None:
        if needed > self._llm.n_ctx():
            raise ContextLengthError(
                f"{self.identity.name}: the prompt needs {needed} tokens but the context holds "
                f"{self._llm.n_ctx()}; shorten the inputs or the token budget."
            )
