import hashlib
from pathlib import Path

import pytest

from core import tokens
from core.tokens import count_message_tokens, count_tokens, encoding_name_for, estimate_tokens, upper_bound_tokens

DATA = Path(__file__).resolve().parent.parent / "data" / "tiktoken"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("llama-3.1-8b-instant", "cl100k_base"),
        ("gemini-2.0-flash", "cl100k_base"),
    ],
)
def test_encoding_choice(model, expected):
    assert expected == encoding_name_for(model)


@pytest.mark.parametrize(
    ("name", "sha256"),
    [
        (
            "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        ),
        (
            "fb374d419588a4632f3f557e76b4b70aebbca790",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        ),
    ],
)
def test_shipped_encodings_match_published_hashes(name, sha256):
    assert sha256 == hashlib.sha256((DATA / name).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("text", "model", "expected"),
    [
        ("hello world", "gpt-4o", 2),
        ("hello world", "gpt-4-turbo", 2),
        ("", "gpt-4o", 0),
        ("tiktoken is great!", "gpt-4-turbo", 6),
    ],
)
def test_exact_counts_offline(text, model, expected):
    counted = count_tokens(text, model)
    assert expected == counted.tokens
    assert not counted.estimated


def test_fallback_is_labelled_when_no_encoding_loads(monkeypatch):
    monkeypatch.setattr(tokens, "_encoding", lambda name: None)
    counted = count_tokens("a" * 40, "gpt-4o")
    assert (10, "estimate", True) == (counted.tokens, counted.encoding, counted.estimated)


def test_message_tokens_add_overhead_and_system():
    plain = count_tokens("Summarise this CV", "gpt-4o").tokens
    assert plain + 6 == count_message_tokens("Summarise this CV", None, "gpt-4o").tokens
    with_system = count_message_tokens("Summarise this CV", "You are concise.", "gpt-4o").tokens
    assert with_system > plain + 6


@pytest.mark.parametrize("text", ["plain ascii", "naïve café ✓ 日本語", "\x00\x01 binary-ish", "emoji 🚀🚀🚀"])
def test_upper_bound_never_below_real_count(text):
    assert upper_bound_tokens(text) >= count_tokens(text, "gpt-4o").tokens
    assert upper_bound_tokens(text) >= count_tokens(text, "gpt-4-turbo").tokens


def test_estimate_never_zero_for_text():
    assert (0, 1, 3) == (estimate_tokens(""), estimate_tokens("a"), estimate_tokens("abcdefghij"))


@pytest.mark.parametrize(
    "text", ["", "plain ascii", "naïve café ✓ 日本語", "\x7f\x00", "emoji 🚀", "lone \ud800 surrogate"]
)
def test_upper_bound_is_the_texts_utf8_size(text):
    assert len(text.encode("utf-8", "surrogatepass")) == upper_bound_tokens(text)
