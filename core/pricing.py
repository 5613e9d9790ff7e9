"""What a call costs: genai-prices' own bill for each token kind (cache reads, cache writes, tiers, provider rules),
config overrides per token kind, $0 for the offline engine and for a `custom` server on this machine or network.

`ModelPrice.cost_of(usage)` is on the router's hot path. A `calc_price` call costs 40-120 µs of CPU, so the
rates of each model's tier are read off genai-prices' own bill once, checked, and applied (see _catalogue_cost).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.base import TokenUsage

#: genai-prices provider ids for our provider names (custom servers have no public price).
GENAI_PROVIDER_IDS: dict[str, str | None] = {
    "openai": "openai",
    "gemini": "google",
    "groq": "groq",
    "grok": "x-ai",
    "anthropic": "anthropic",
    "openrouter": "openrouter",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "custom": None,
    "local": None,
}

#: Size of the reference call used to rank providers by cost: 1K tokens in, 1K out.
RANKING_CALL = (1000, 1000)

#: Override keys (per 1K tokens) a config may give per model; input and output are required, the rest default
#: to the input rate.
OVERRIDE_KINDS = ("input", "output", "cached_input", "cache_write")


@dataclass(frozen=True)
class ModelPrice:
    """The price of one provider's model.

    `source` says where it comes from: "genai-prices", "override", "free" (the offline engine), "local server"
    (a `custom` server on a loopback or private address) or "unknown" (flagged as estimated, never a silent $0).
    The per-1K rates are the base (lowest-tier) rates, for display and ranking; `cost_of` bills the exact usage.
    """

    input_per_1k: float
    output_per_1k: float
    source: str
    provider_id: str | None = None  # genai-prices provider id, when `source` is "genai-prices"
    model_ref: str | None = None
    cached_input_per_1k: float | None = None  # None: the input rate
    cache_write_per_1k: float | None = None  # None: the input rate

    @property
    def estimated(self) -> bool:
        return self.source == "unknown"

    @property
    def free(self) -> bool:
        return self.source in ("free", "local server")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The cost of plain input and output tokens (no cache, no reasoning split): the seed's formula."""
        return self.cost_of(TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens))

    def cost_of(self, usage: TokenUsage) -> float:
        """USD for one request's usage. Catalogue prices are genai-prices' `calc_price`; others are linear."""
        if self.free:
            return 0.0
        if self.source == "genai-prices" and self.provider_id and self.model_ref:
            return _catalogue_cost(self.provider_id, self.model_ref, _usage_key(usage))
        return self._linear(usage)

    def cache_saving(self, usage: TokenUsage) -> float:
        """What cached input saved: the bill as if every input token were fresh, minus the real bill (≥ 0)."""
        if not (usage.cached_input_tokens or usage.cache_write_tokens) or self.free:
            return 0.0
        uncached = TokenUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            tool_prompt_tokens=usage.tool_prompt_tokens,
        )
        return max(0.0, self.cost_of(uncached) - self.cost_of(usage))

    def _linear(self, usage: TokenUsage) -> float:
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        write = min(usage.cache_write_tokens, usage.input_tokens - cached)
        fresh = usage.input_tokens - cached - write
        cached_rate = self.input_per_1k if self.cached_input_per_1k is None else self.cached_input_per_1k
        write_rate = self.input_per_1k if self.cache_write_per_1k is None else self.cache_write_per_1k
        return (
            fresh * self.input_per_1k
            + cached * cached_rate
            + write * write_rate
            + usage.output_tokens * self.output_per_1k
        ) / 1000


FREE = ModelPrice(0.0, 0.0, "free")
LOCAL_SERVER = ModelPrice(0.0, 0.0, "local server")


# --- genai-prices ---------------------------------------------------------------------------------------------


def _usage_key(usage: TokenUsage) -> tuple[int, int, int, int, int]:
    if not (usage.cached_input_tokens or usage.cache_write_tokens or usage.reasoning_tokens):  # the common case
        return max(0, usage.input_tokens), 0, 0, max(0, usage.output_tokens), 0
    input_tokens = max(0, usage.input_tokens)
    cached = min(max(0, usage.cached_input_tokens), input_tokens)
    write = min(max(0, usage.cache_write_tokens), input_tokens - cached)
    output = max(0, usage.output_tokens)
    return input_tokens, cached, write, output, min(max(0, usage.reasoning_tokens), output)


_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_day: list[Any] = [None, None]  # [days since the epoch, that UTC date]: a date object per call costs ~1 µs


def _today() -> _dt.date:
    """Today's UTC date (POSIX days are exactly 86,400 s long, so the day number changes with the UTC date)."""
    number = int(time.time() // 86400)
    if number != _day[0]:
        _day[1] = _dt.date.fromordinal(_EPOCH_ORDINAL + number)
        _day[0] = number
    return _day[1]  # type: ignore[no-any-return]


#: (provider id, model ref) -> (UTC day number, rates) of models with one linear tier: a call skips the lookups.
_ONE_TIER: dict[tuple[str, str], tuple[int, tuple[float, float, float, float, float]]] = {}


def _catalogue_cost(provider_id: str, model_ref: str, key: tuple[int, int, int, int, int]) -> float:
    """genai-prices' bill for `key` (input, cached, write, output, reasoning).

    genai-prices prices each token kind at a rate per unit, with the rate of every kind chosen by the request's
    total input (its tiers). So within one tier the bill is linear in the counts: the rates of each
    (model, tier) are read off `calc_price` itself once, checked against a `calc_price` at another point, and
    then a call costs a few multiplications. Where the check fails (a rule that is not linear) every usage is
    priced by `calc_price` directly.
    """
    number = int(time.time() // 86400)
    known = _ONE_TIER.get((provider_id, model_ref))
    if known is not None and known[0] == number:  # the common case: a model of one linear tier, priced today
        rates = known[1]
    else:
        day = _today()
        tier = 0
        starts = _tier_starts(provider_id, model_ref, day)
        for start in starts:  # usually none: one tier
            if key[0] > start:
                tier += 1
        found = _tier_rates(provider_id, model_ref, tier, day)
        if found is None:
            return _bill(provider_id, model_ref, *key, day)
        rates = found
        if not starts:
            if len(_ONE_TIER) >= 256:
                _ONE_TIER.clear()
            _ONE_TIER[(provider_id, model_ref)] = (number, rates)
    input_tokens, cached, write, output, reasoning = key
    return input_tokens * rates[0] + cached * rates[1] + write * rates[2] + output * rates[3] + reasoning * rates[4]


@functools.lru_cache(maxsize=256)
def _tier_starts(provider_id: str, model_ref: str, day: _dt.date) -> tuple[int, ...]:
    """The input-token thresholds above which another rate applies (genai-prices' TieredPrices), ascending."""
    from genai_prices import data_snapshot

    try:
        _provider, info = data_snapshot.get_snapshot().find_provider_model(model_ref, None, provider_id, None)
        prices = info.get_prices(_dt.datetime.now(tz=_dt.UTC))
    except Exception:  # noqa: BLE001 - unknown model: _bill raises the lookup error itself
        return ()
    starts = {tier.start for value in vars(prices).values() for tier in getattr(value, "tiers", None) or ()}
    return tuple(sorted(int(s) for s in starts))


@functools.lru_cache(maxsize=1024)
def _tier_rates(
    provider_id: str, model_ref: str, tier: int, day: _dt.date
) -> tuple[float, float, float, float, float] | None:
    """USD per token of (input, cache-read extra, cache-write extra, output, reasoning extra) in one tier, read
    off genai-prices' bill at probe usages in that tier; None when the tier cannot be probed or is not linear."""
    starts = _tier_starts(provider_id, model_ref, day)
    lower = starts[tier - 1] if tier > 0 else 0
    upper = starts[tier] if tier < len(starts) else None
    probe = lower + 1 if tier > 0 else min(1000, upper if upper is not None else 1000)
    if probe < 8 or (upper is not None and probe > upper):
        return None

    def bill(cached: int = 0, write: int = 0, output: int = 0, reasoning: int = 0) -> float:
        return _bill(provider_id, model_ref, probe, cached, write, output, reasoning, day)

    base = bill()
    rates = (
        base / probe,
        bill(cached=1) - base,
        bill(write=1) - base,
        bill(output=1) - base,
        bill(output=1, reasoning=1) - bill(output=1),
    )
    check = (probe, probe // 2, probe // 4, 357, 120)
    expected = _bill(provider_id, model_ref, *check, day)
    linear = sum(count * rate for count, rate in zip(check, rates, strict=True))
    if abs(linear - expected) > 1e-9 + 1e-6 * abs(expected):
        return None
    return rates


@functools.lru_cache(maxsize=4096)
def _bill(
    provider_id: str, model_ref: str, input_tokens: int, cached: int, write: int, output: int, reasoning: int,
    day: _dt.date,
) -> float:  # fmt: skip
    """genai-prices' bill for one usage (input includes cache reads and writes; output includes reasoning).

    `day` is part of the key so a price that changes on a date is picked up; genai-prices prices the request
    at the current time.
    """
    from genai_prices import Usage, calc_price

    values: dict[str, int] = {"input_tokens": input_tokens, "output_tokens": output}
    if cached:
        values["cache_read_tokens"] = cached
    if write:
        values["cache_write_tokens"] = write
    if reasoning:
        values["output_reasoning_tokens"] = reasoning
    return float(calc_price(Usage(**values), model_ref, provider_id=provider_id).total_price)


def _per_1k(value: Any) -> float | None:
    """A genai-prices per-million price (a Decimal, or tiers whose base applies below the first threshold)."""
    from decimal import Decimal  # not at import: only catalogue prices need it

    if value is None:
        return None
    base = getattr(value, "base", value)
    return float(Decimal(base) / 1000) if isinstance(base, Decimal | int | float) else None


@functools.lru_cache(maxsize=256)
def _catalogue_price(provider_id: str, model: str) -> ModelPrice | None:
    """The base rates of `model` in genai-prices' snapshot; None when it does not know the model."""
    from genai_prices import data_snapshot

    try:
        _provider, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
        prices = info.get_prices(_dt.datetime.now(tz=_dt.UTC))
    except Exception:  # noqa: BLE001 - LookupError and friends all mean "not in the catalogue"
        return None
    input_rate = _per_1k(getattr(prices, "input_mtok", None))
    output_rate = _per_1k(getattr(prices, "output_mtok", None))
    if input_rate is None or output_rate is None:
        return None
    return ModelPrice(
        input_rate,
        output_rate,
        "genai-prices",
        provider_id=provider_id,
        model_ref=model,
        cached_input_per_1k=_per_1k(getattr(prices, "cache_read_mtok", None)),
        cache_write_per_1k=_per_1k(getattr(prices, "cache_write_mtok", None)),
    )


_DATE_IN_DATA = re.compile(r"(?:checked|updated|as of|verified)[^0-9]{0,20}(20\d\d-\d\d-\d\d)", re.IGNORECASE)


@functools.cache
def _bundled_data_date() -> _dt.date | None:
    """The newest verification date written in genai-prices' bundled data ("Checked 2026-10-19")."""
    try:
        from genai_prices import data

        source = Path(data.__file__).read_text(encoding="utf-8")
    except Exception:  # noqa: BLE001
        return None
    today = _today()
    dates = []
    for text in _DATE_IN_DATA.findall(source):
        try:
            found = _dt.date.fromisoformat(text)
        except ValueError:
            continue
        if found <= today:
            dates.append(found)
    return max(dates) if dates else None


def prices_as_of() -> _dt.date | None:
    """The date of the price data in use: an auto-updated snapshot's fetch date, else the newest date the bundled
    data says its prices were checked. None when neither is known."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    if snapshot.from_auto_update:
        return snapshot.timestamp.date()
    return _bundled_data_date()


# --- choosing a price -----------------------------------------------------------------------------------------

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def is_local_url(base_url: str | None) -> bool:
    """True for a loopback, private, link-local or LAN-only address: a server the user runs, not a paid API.

    No DNS lookup (it is on the pricing path and must work offline): names count as local when they are
    `localhost`, a single label (a container or LAN host name such as `ollama`), or end in a LAN-only suffix.
    """
    if not base_url:
        return False
    host = urlsplit(base_url if "//" in base_url else f"//{base_url}").hostname
    if not host:
        return False
    import ipaddress  # not at import: only a `custom` server's URL needs it

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return address.is_private or address.is_loopback or address.is_link_local


def _override_price(value: Any) -> ModelPrice:
    if isinstance(value, Mapping):
        by_kind = {k: float(value[k]) for k in OVERRIDE_KINDS if value.get(k) is not None}
        return ModelPrice(
            by_kind.get("input", 0.0),
            by_kind.get("output", 0.0),
            "override",
            cached_input_per_1k=by_kind.get("cached_input"),
            cache_write_per_1k=by_kind.get("cache_write"),
        )
    rates = [float(v) for v in value]  # (input, output) or (input, output, cached_input, cache_write)
    cached, write = (rates[2], rates[3]) if len(rates) >= 4 else (None, None)
    return ModelPrice(rates[0], rates[1], "override", cached_input_per_1k=cached, cache_write_per_1k=write)


def price_for(
    provider: str,
    model: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    unknown_per_1k: tuple[float, float] = (0.01, 0.03),
    base_url: str | None = None,
) -> ModelPrice:
    """The price of `model` on `provider`, in this order: a config override for the model (an (input, output)
    pair, an (input, output, cached_input, cache_write) tuple, or a mapping with those keys, per 1K tokens); the
    offline engine (free); a `custom` server on a local address (free, "local server"); genai-prices; else
    "unknown", flagged as estimated at `unknown_per_1k`."""
    if overrides and model in overrides:
        return _override_price(overrides[model])
    if provider == "local":
        return FREE
    if provider == "custom" and is_local_url(base_url):
        return LOCAL_SERVER
    provider_id = GENAI_PROVIDER_IDS.get(provider)
    if provider_id is not None:
        found = _catalogue_price(provider_id, model)
        if found is not None:
            return found
    return ModelPrice(unknown_per_1k[0], unknown_per_1k[1], "unknown")


def rank_by_cost(prices: Mapping[str, ModelPrice]) -> list[str]:
    """Provider names, cheapest first, by the cost of a reference 1K-in/1K-out call; ties keep input order."""
    order = list(prices)
    return sorted(order, key=lambda name: (prices[name].cost(*RANKING_CALL), order.index(name)))


def unpriced_models(status: Iterable[Mapping[str, Any]], overrides: Mapping[str, Any]) -> dict[str, str]:
    """Configured providers' models (rows of `router.provider_status()`) with no known price and no override yet,
    model → provider: the settings page offers to price them."""
    return {
        str(row["model"]): str(row["name"])
        for row in status
        if row["configured"] and row["price_estimated"] and row["model"] not in overrides
    }
