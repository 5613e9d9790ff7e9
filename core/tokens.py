"""Token counting with tiktoken, working offline from the encodings shipped in data/tiktoken/."""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

_TIKTOKEN_DIR = Path(__file__).resolve().parent.parent / "data" / "tiktoken"
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
_lock = threading.Lock()


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    encoding: str  # "o200k_base", "cl100k_base", or "estimate" when no encoding could be loaded

    @property
    def estimated(self) -> bool:
        return self.encoding == "estimate"


def encoding_name_for(model: str) -> str:
    """o200k_base for the gpt-4o/4.1/5 and o-series families, cl100k_base for everything else."""
    name = model.lower().rsplit("/", 1)[-1]
    return "o200k_base" if name.startswith(_O200K_PREFIXES) else "cl100k_base"


@functools.cache
def _encoding(name: str):  # type: ignore[no-untyped-def]
    """Load an encoding from the shipped files; None when tiktoken or the file is unavailable."""
    with _lock:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_TIKTOKEN_DIR))
        try:
            import tiktoken

            return tiktoken.get_encoding(name)
        except Exception:  # noqa: BLE001 - offline, corrupt file, missing package: all mean "estimate"
            return None


def estimate_tokens(text: str) -> int:
    """A labelled fallback: about 4 characters per token for English, never 0 for non-empty text."""
    return 0 if not text else max(1, (len(text) + 3) // 4)


def count_tokens(text: str, model: str = "gpt-4o") -> TokenCount:
    """Exact tiktoken count where the encoding loads, else a clearly labelled estimate. Never raises."""
    if not text:
        return TokenCount(0, encoding_name_for(model))
    name = encoding_name_for(model)
    encoding = _encoding(name)
    if encoding is None:
        return TokenCount(estimate_tokens(text), "estimate")
    try:
        return TokenCount(len(encoding.encode_ordinary(text)), name)
    except Exception:  # noqa: BLE001
        return TokenCount(estimate_tokens(text), "estimate")


def count_message_tokens(prompt: str, system: str | None, model: str) -> TokenCount:
    """Input tokens of a chat request: the texts plus OpenAI's documented per-message overhead."""
    parts = [count_tokens(prompt, model)]
    if system:
        parts.append(count_tokens(system, model))
    overhead = 3 * len(parts) + 3
    encoding = "estimate" if any(p.estimated for p in parts) else parts[0].encoding
    return TokenCount(sum(p.tokens for p in parts) + overhead, encoding)


def upper_bound_tokens(text: str) -> int:
    """A cheap bound no BPE count can exceed (every token is at least one UTF-8 byte). An ASCII text's UTF-8 size
    is its length (`isascii` reads a flag the string keeps): no copy of a page of text per check."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def upper_bound_message_tokens(prompt: str, system: str | None) -> int:
    """A cheap bound on `count_message_tokens` (the texts' UTF-8 sizes plus the same per-message overhead)."""
    if system:
        return upper_bound_tokens(prompt) + upper_bound_tokens(system) + 9
    return upper_bound_tokens(prompt) + 6
