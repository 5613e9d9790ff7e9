"""The config file's schema (pydantic), kept out of core.config so importing settings types costs no pydantic.

`core.config.load_settings` imports it when it reads a config file: building pydantic's validators for these tables
costs more CPU than the rest of the router's import together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.base import PROVIDER_NAMES, TaskType
from core.config import (
    DEFAULT_ALERT_THRESHOLDS,
    DEFAULT_CALL_TIMEOUT_SECONDS,
    ConfigError,
    _check_url,
    check_password_hash_format,
)

__all__ = ["ConfigFile", "ProviderFile", "RouterFile", "validate_file"]


# --- the config file's schema ---------------------------------------------------------------------------------
# Each table forbids unknown keys: a misspelled key is an error, not a silently ignored line. A new key is one new
# field here (with its default), then one line in `load_settings`.


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ProviderFile(_Table):
    rpm: int | None = Field(default=60, ge=0)  # 0 = no limit (what the settings page writes for an empty cell)
    tpm: int | None = Field(default=None, ge=0)
    timeout: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    model: str | None = None
    base_url: str | None = None
    context_window: int | None = Field(default=None, ge=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)


class _PriceFile(_Table):
    input: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    output: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    cached_input: float | None = Field(default=None, ge=0, allow_inf_nan=False)  # per 1K; None: the input rate
    cache_write: float | None = Field(default=None, ge=0, allow_inf_nan=False)  # per 1K; None: the input rate

    def rates(self) -> tuple[float, ...]:
        """(input, output), or (input, output, cached_input, cache_write) when a cache rate is set (core.pricing)."""
        if self.cached_input is None and self.cache_write is None:
            return (self.input, self.output)
        cached = self.input if self.cached_input is None else self.cached_input
        return (self.input, self.output, cached, self.input if self.cache_write is None else self.cache_write)


class _PricingFile(_Table):
    unknown_input_per_1k: float = Field(default=0.01, ge=0, allow_inf_nan=False)
    unknown_output_per_1k: float = Field(default=0.03, ge=0, allow_inf_nan=False)


class _UserBudgetFile(_Table):
    daily_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    monthly_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class _BudgetsFile(_Table):
    policy: Literal["downgrade", "block"] = "downgrade"
    global_daily_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    global_monthly_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    user_daily_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    user_monthly_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    users: dict[str, _UserBudgetFile] = Field(default_factory=dict)


class _CacheFile(_Table):
    enabled: bool = True
    ttl_days: float = Field(default=7.0, gt=0, allow_inf_nan=False)


class _WeightsFile(_Table):
    price: float = Field(default=1.0, ge=0, le=100, allow_inf_nan=False)
    latency: float = Field(default=1.0, ge=0, le=100, allow_inf_nan=False)
    errors: float = Field(default=2.0, ge=0, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _not_all_zero(self) -> _WeightsFile:
        if not (self.price or self.latency or self.errors):
            raise ValueError("price, latency and errors cannot all be 0: give at least one a weight > 0")
        return self


class _RouterFile(_Table):
    max_retries: int = Field(default=1, ge=0, le=10)
    retry_after_cap_seconds: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    cooldown_failures: int = Field(default=3, ge=1)
    cooldown_seconds: float = Field(default=60.0, ge=0, allow_inf_nan=False)
    challenger_provider: str | None = None
    challenger_percent: float = Field(default=0.0, ge=0, le=100)
    call_timeout: float = Field(default=DEFAULT_CALL_TIMEOUT_SECONDS, gt=0, allow_inf_nan=False)
    strategy: Literal["cost", "balanced"] = "cost"
    weights: _WeightsFile = Field(default_factory=_WeightsFile)
    stats_window_hours: float = Field(default=24.0, gt=0, le=24 * 90, allow_inf_nan=False)
    stats_last_calls: int = Field(default=200, ge=1, le=10_000)
    stats_min_calls: int = Field(default=5, ge=1, le=1000)
    stats_refresh_seconds: float = Field(default=30.0, ge=0, le=3600, allow_inf_nan=False)
    prefer_ab_winner: bool = False
    ab_min_votes: int = Field(default=20, ge=1, le=100_000)

    @field_validator("challenger_provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value not in PROVIDER_NAMES:
            raise ValueError(f"unknown provider {value!r}; known providers: {', '.join(PROVIDER_NAMES)}")
        return value


class _UsageFile(_Table):
    retention_days: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class _AlertsFile(_Table):
    webhook_url: str | None = None
    thresholds: tuple[float, ...] = DEFAULT_ALERT_THRESHOLDS

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("thresholds")
    @classmethod
    def _fractions(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for t in value:
            if not (math.isfinite(t) and 0 < t <= 10):
                raise ValueError(f"{t!r} is not a fraction of a budget (a number > 0, e.g. 0.8 for 80%)")
        return tuple(sorted(set(value)))


class _SecurityFile(_Table):
    settings_password_hash: str | None = None

    @field_validator("settings_password_hash")
    @classmethod
    def _hash(cls, value: str | None) -> str | None:
        if not value:
            return None
        check_password_hash_format(value)
        return value


class _LimitsFile(_Table):
    backend: Literal["sqlite", "memory", "redis"] | None = None
    replicas: int | None = Field(default=None, ge=1, le=10000)


class _ConfigFile(_Table):
    providers: dict[str, _ProviderFile] = Field(default_factory=dict)
    routing: dict[str, str] = Field(default_factory=dict)
    prices: dict[str, _PriceFile] = Field(default_factory=dict)
    pricing: _PricingFile = Field(default_factory=_PricingFile)
    budgets: _BudgetsFile = Field(default_factory=_BudgetsFile)
    cache: _CacheFile = Field(default_factory=_CacheFile)
    router: _RouterFile = Field(default_factory=_RouterFile)
    usage: _UsageFile = Field(default_factory=_UsageFile)
    alerts: _AlertsFile = Field(default_factory=_AlertsFile)
    security: _SecurityFile = Field(default_factory=_SecurityFile)
    limits: _LimitsFile = Field(default_factory=_LimitsFile)

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: dict[str, _ProviderFile]) -> dict[str, _ProviderFile]:
        for name in value:
            if name not in PROVIDER_NAMES:
                raise ValueError(f"unknown provider {name!r}; known providers: {', '.join(PROVIDER_NAMES)}")
        return value

    @field_validator("routing")
    @classmethod
    def _known_routes(cls, value: dict[str, str]) -> dict[str, str]:
        tasks = [t.value for t in TaskType]
        for task, provider in value.items():
            if task not in tasks:
                raise ValueError(f"unknown task {task!r}; tasks: {', '.join(tasks)}")
            if provider not in PROVIDER_NAMES:
                raise ValueError(
                    f"{task} = {provider!r}: unknown provider; known providers: {', '.join(PROVIDER_NAMES)}"
                )
        return value


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as `[table] key: message (got value)`."""
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown key (misspelled?)"
    elif error.get("type") == "literal_error":
        message = f"must be {message.removeprefix('Input should be ')}"
    else:
        got = error.get("input")
        secret = any("password" in part for part in loc)  # never echo what may be a plain-text password
        if not isinstance(got, Mapping | list) and error.get("type") != "missing" and not secret:
            message = f"{message} (got {got!r})"
    if not loc:
        return message
    if len(loc) == 1:
        return (
            f"[{loc[0]}]: {message}"
            if error.get("type") != "extra_forbidden"
            else f"[{loc[0]}]: unknown table (misspelled?)"
        )
    return f"[{'.'.join(loc[:-1])}] {loc[-1]}: {message}"


def validate_file(raw: Mapping[str, Any], path: Path) -> _ConfigFile:
    try:
        return _ConfigFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"Invalid setting in {path}: {problems}") from None


#: Public names for core.config.
ConfigFile = _ConfigFile
ProviderFile = _ProviderFile
RouterFile = _RouterFile
