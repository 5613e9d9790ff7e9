"""Every row of the "wrong costs" audit, from a recorded answer in the provider's own format, streamed and not:
the adapter's usage priced by `ModelPrice.cost_of` equals genai-prices' bill for the tokens the provider bills.

The expected bill is computed here with genai-prices directly, from the token counts the provider documents as
billed (not from anything our adapters or pricing compute).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from core.base import CompletionRequest, FinishReason, ProviderResult, StreamDelta
from core.pricing import price_for
from core.providers import build_provider
from core.providers.base import Provider
from tests.fakes import StaticHandler

FIXTURES = Path(__file__).parent / "fixtures" / "providers"


@dataclass(frozen=True)
class Row:
    fixture: str
    provider: str
    model: str
    genai_provider: str
    billed: dict[str, int]  # genai-prices Usage fields: what the provider charges for
    finish: FinishReason
    text: str


ROWS = [
    Row(
        "grok_3_mini_reasoning", "grok", "grok-3-mini", "x-ai",
        {"input_tokens": 1000, "output_tokens": 1000},  # 200 visible + 800 reasoning, both at the output rate
        FinishReason.STOP, "Dear Ms Patel, thank you for the interview on Tuesday.",
    ),
    Row(
        "openai_gpt_4o_cached", "openai", "gpt-4o", "openai",
        {"input_tokens": 4000, "cache_read_tokens": 3000, "output_tokens": 500}, FinishReason.STOP, "Tailored CV: ...",
    ),
    Row(
        "gemini_2_5_flash_cached", "gemini", "gemini-2.5-flash", "google",
        {"input_tokens": 4000, "cache_read_tokens": 3000, "output_tokens": 500},
        FinishReason.STOP, "Match score: 78. Strong Python, missing Kubernetes.",
    ),
    Row(
        "groq_gpt_oss_20b_cached", "groq", "openai/gpt-oss-20b", "groq",
        {"input_tokens": 4000, "cache_read_tokens": 3000, "output_tokens": 300},
        FinishReason.STOP, "Summary: senior backend engineer.",
    ),
    Row(
        "openai_o4_mini_length_empty", "openai", "o4-mini", "openai",
        {"input_tokens": 1500, "output_tokens": 2500}, FinishReason.LENGTH, "",
    ),
    Row(
        "gemini_2_5_flash_max_tokens_thoughts", "gemini", "gemini-2.5-flash", "google",
        {"input_tokens": 1500, "output_tokens": 800}, FinishReason.LENGTH, "",
    ),
    Row(
        "gemini_2_5_pro_base_tier", "gemini", "gemini-2.5-pro", "google",
        {"input_tokens": 2000, "output_tokens": 1000}, FinishReason.STOP, "Dear hiring team, ...",
    ),
    Row(
        "anthropic_sonnet_4_5_cached", "anthropic", "claude-sonnet-4-5", "anthropic",
        {"input_tokens": 4000, "cache_read_tokens": 2000, "cache_write_tokens": 1000, "output_tokens": 500},
        FinishReason.STOP, "Cover letter draft: ...",
    ),
]  # fmt: skip
IDS = [row.fixture for row in ROWS]


@dataclass(frozen=True)
class _Settings:
    api_key: str
    base_url: str
    model: str
    timeout: float = 10.0


def adapter(row: Row, *, streaming: bool) -> Provider:
    path = FIXTURES / f"{row.fixture}.{'sse' if streaming else 'json'}"
    handler = StaticHandler(path.read_bytes(), 200, "text/event-stream" if streaming else "application/json")
    return build_provider(
        row.provider, _Settings("test-key-0123456789", "https://provider.example.test/v1", row.model), handler.transport
    )


def answer(row: Row, *, streaming: bool) -> ProviderResult:
    """The adapter's answer, the streamed one folded into a ProviderResult as a caller would."""
    provider = adapter(row, streaming=streaming)
    request = CompletionRequest(prompt="x", model=row.model, max_tokens=2500)
    if not streaming:
        return asyncio.run(provider.complete(request))

    async def collect() -> list[StreamDelta]:
        return [d async for d in provider.stream(request)]

    deltas = asyncio.run(collect())
    usage = [d.usage for d in deltas if d.usage is not None]
    last = deltas[-1]
    return ProviderResult("".join(d.text for d in deltas), row.model, finish_reason=last.finish_reason, usage=usage[-1])


def genai_bill(row: Row) -> float:
    return float(calc_price(Usage(**row.billed), row.model, provider_id=row.genai_provider).total_price)


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_recorded_cost_equals_the_genai_prices_bill(row: Row, streaming: bool) -> None:
    result = answer(row, streaming=streaming)
    assert result.usage is not None
    cost = price_for(row.provider, row.model).cost_of(result.usage)
    assert cost == pytest.approx(genai_bill(row), rel=0.01)
    assert genai_bill(row) > 0


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_recorded_answer_comes_back_with_its_text_and_finish_reason(row: Row, streaming: bool) -> None:
    result = answer(row, streaming=streaming)
    assert (row.text, row.finish) == (result.content, result.finish_reason)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_streamed_and_plain_usage_agree(row: Row) -> None:
    assert answer(row, streaming=False).usage == answer(row, streaming=True).usage


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("grok_3_mini_reasoning", {"input_tokens": 1000, "output_tokens": 1000, "reasoning_tokens": 800}),
        ("openai_gpt_4o_cached", {"input_tokens": 4000, "cached_input_tokens": 3000, "output_tokens": 500}),
        ("gemini_2_5_flash_cached", {"input_tokens": 4000, "cached_input_tokens": 3000, "output_tokens": 500}),
        ("groq_gpt_oss_20b_cached", {"input_tokens": 4000, "cached_input_tokens": 3000, "output_tokens": 300}),
        ("openai_o4_mini_length_empty", {"input_tokens": 1500, "output_tokens": 2500, "reasoning_tokens": 2500}),
        ("gemini_2_5_flash_max_tokens_thoughts", {"input_tokens": 1500, "output_tokens": 800, "reasoning_tokens": 800}),
        (
            "anthropic_sonnet_4_5_cached",
            {"input_tokens": 4000, "cached_input_tokens": 2000, "cache_write_tokens": 1000, "output_tokens": 500},
        ),
    ],
)
def test_usage_by_token_kind(fixture: str, expected: dict[str, Any]) -> None:
    row = next(r for r in ROWS if r.fixture == fixture)
    usage = answer(row, streaming=False).usage
    assert usage is not None
    assert expected == {k: getattr(usage, k) for k in expected}


@pytest.mark.parametrize("input_tokens", [2000, 199_000, 201_000, 300_000])
def test_gemini_pro_tiers_follow_the_request_size(input_tokens: int) -> None:
    """A probe-derived rate once priced every call at the >200K tier (+60%): each size gets its own tier now."""
    from core.base import TokenUsage

    usage = Usage(input_tokens=input_tokens, output_tokens=1000)
    expected = float(calc_price(usage, "gemini-2.5-pro", provider_id="google").total_price)
    cost = price_for("gemini", "gemini-2.5-pro").cost_of(TokenUsage(input_tokens=input_tokens, output_tokens=1000))
    assert cost == pytest.approx(expected, rel=1e-9)
