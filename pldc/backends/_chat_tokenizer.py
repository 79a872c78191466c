"""A served model's own tokenizer and chat template, read locally: from its GGUF file (or a
catalogue name) or from a Hugging Face `tokenizer.json` with the `tokenizer_config.json`
beside it. Used to count a served student's prompt budget, never another model's tokenizer,
and to write the chat prompt its server is sent for label scoring.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from pldc.errors import MissingExtraError, ModelError
from pldc.models import CATALOGUE, resolve_gguf
from pldc.render import Message


class ChatTokenizer(ABC):
    """Tokens and chat prompts exactly as the served model's own files define them."""

    source: str
    """How the identity records it: "gguf:<name>@<sha256[:16]>" or
    "tokenizer.json:<path>@<sha256[:16]>"."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens in `text`, read as plain text (no control tokens)."""

    @abstractmethod
    def pieces(self, text: str) -> list[str]:
        """The text of each of `text`'s tokens, as a server reports them in top logprobs."""

    @abstractmethod
    def chat_text(self, messages: Sequence[Message]) -> str:
        """The chat template applied to `messages`, the assistant's turn opened."""


def open_tokenizer(source: str) -> ChatTokenizer:
    """The tokenizer at `source`: a local model's catalogue name, a `.gguf` file, a
    `tokenizer.json` file, or a folder holding one.

    Raises `ModelError` when `source` is none of these or has no chat template,
    `MissingExtraError` when the `local` extra (llama-cpp-python, tokenizers) is missing.
    """
    path = Path(source).expanduser()
    if source in CATALOGUE or path.suffix.lower() == ".gguf":
        return GGUFTokenizer(source)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        path = path / "tokenizer.json"
    if path.name == "tokenizer.json" and path.is_file():
        return HFTokenizer(path)
    raise ModelError(
        f"no tokenizer at {source!r}: give the served model's own tokenizer, as a .gguf file, "
        f"a local model name ({', '.join(sorted(CATALOGUE))}), or a tokenizer.json (with its "
        "tokenizer_config.json beside it)."
    )


class GGUFTokenizer(ChatTokenizer):
    """The vocabulary and chat template of a GGUF file, loaded without its weights."""

    def __init__(self, name: str) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise MissingExtraError("a GGUF tokenizer", "local") from None
        path, sha256 = resolve_gguf(name)
        self._llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        weakref.finalize(self, self._llm.close)
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{path} has no chat template; pldc needs an instruction model.")
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
            add_generation_prompt=True,
        )
        self.source = f"gguf:{name}@{sha256[:16]}"

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))

    def pieces(self, text: str) -> list[str]:
        tokens = self._llm.tokenize(text.encode(), add_bos=False, special=False)
        return [self._token_text(token) for token in tokens]

    def chat_text(self, messages: Sequence[Message]) -> str:
        return self._formatter(messages=[dict(m) for m in messages]).prompt

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode(errors="replace")


class HFTokenizer(ChatTokenizer):
    """A Hugging Face `tokenizer.json`, with the chat template of the `tokenizer_config.json`
    beside it (rendered in a sandboxed Jinja environment, as `transformers` does)."""

    def __init__(self, path: Path) -> None:
        try:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingExtraError("a tokenizer.json tokenizer", "local") from None
        config_path = path.with_name("tokenizer_config.json")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{config_path}: cannot read the chat template ({exc}); put the model's "
                "tokenizer_config.json beside its tokenizer.json."
            ) from None
        template = config.get("chat_template")
        if isinstance(template, list):  # named templates: the default one
            template = next((t["template"] for t in template if t.get("name") == "default"), None)
        if not isinstance(template, str) or not template:
            raise ModelError(f"{config_path} has no chat_template; pldc needs an instruct model.")
        self._tokenizer = Tokenizer.from_file(str(path))
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=_special_text(config.get("eos_token")),
            bos_token=_special_text(config.get("bos_token")),
            add_generation_prompt=True,
        )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.source = f"tokenizer.json:{path.resolve()}@{digest[:16]}"

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def pieces(self, text: str) -> list[str]:
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        return [self._tokenizer.decode([i], skip_special_tokens=False) for i in ids]

    def chat_text(self, messages: Sequence[Message]) -> str:
        return self._formatter(messages=[dict(m) for m in messages]).prompt


def _special_text(token: object) -> str:
    """A tokenizer_config.json special token: a string, or an AddedToken dict with "content"."""
    if isinstance(token, dict):
        return str(token.get("content", ""))
    return token if isinstance(token, str) else ""


def tokenizer_source_path(recorded: str) -> str:
    """What `open_tokenizer` reopens from a recorded `ChatTokenizer.source`.

    Raises `ModelError` for a record that names no tokenizer file.
    """
    kind, _, rest = recorded.partition(":")
    name, _, _digest = rest.rpartition("@")
    if kind not in ("gguf", "tokenizer.json") or not name:
        raise ModelError(f"the recorded tokenizer {recorded!r} names no tokenizer to reopen.")
    return name
