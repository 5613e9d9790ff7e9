"""Per-(provider, user) rate limits: requests per minute and, optionally, tokens per minute, over a sliding window.

`RateLimiter` is the small interface the router depends on. `InMemoryRateLimiter` serves one process: a lock makes
check-and-count atomic, so it is exact under threads, and since `acquire` never awaits, it is exact under asyncio
too. The backend shared by every process on one usage DB is `core.limits.SQLiteRateLimiter`; `core.limits.build_limiter`
picks one from the settings.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

__all__ = ["WINDOW_SECONDS", "InMemoryRateLimiter", "LimitTable", "LimiterBase", "RateLimiter"]

#: The sliding window, in seconds: "per minute".
WINDOW_SECONDS = 60.0
_EPSILON = 1e-9


@runtime_checkable
class RateLimiter(Protocol):
    def acquire(self, provider: str, user_id: str, tokens: int = 0) -> float:
        """0.0 = admitted and counted; > 0 = not admitted (not counted), seconds until it could be."""
        ...

    def configure(self, provider: str, *, rpm: int | None = None, tpm: int | None = None) -> None:
        """Set a provider's limits; None means no limit of that kind."""
        ...


def _check_limit(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
    return value


class LimitTable:
    """(rpm, tpm) per provider, with a default for providers not listed; validated, thread-safe to change."""

    def __init__(
        self,
        limits: Mapping[str, tuple[int | None, int | None]] | None = None,
        *,
        default_rpm: int | None = 60,
        default_tpm: int | None = None,
    ) -> None:
        self._default = (_check_limit("default_rpm", default_rpm), _check_limit("default_tpm", default_tpm))
        self._limits: dict[str, tuple[int | None, int | None]] = {}
        for provider, (rpm, tpm) in (limits or {}).items():
            self._limits[provider] = (_check_limit("rpm", rpm), _check_limit("tpm", tpm))

    def configure(self, provider: str, *, rpm: int | None = None, tpm: int | None = None) -> None:
        # one dict store: atomic under the GIL, so readers need no lock
        self._limits[provider] = (_check_limit("rpm", rpm), _check_limit("tpm", tpm))

    def get(self, provider: str) -> tuple[int | None, int | None]:
        return self._limits.get(provider, self._default)


class _Window:
    """Admitted calls of one (provider, user) in the last WINDOW_SECONDS: times, and tokens with a running sum."""

    __slots__ = ("times", "tokens", "tokens_total")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.tokens: deque[int] = deque()
        self.tokens_total = 0

    def expire(self, now: float) -> None:
        # a call made at t leaves the window at t + 60; the epsilon absorbs float rounding of "now + retry_after"
        cutoff = now - WINDOW_SECONDS + _EPSILON
        while self.times and self.times[0] <= cutoff:
            self.times.popleft()
            self.tokens_total -= self.tokens.popleft()


class LimiterBase:
    """What every `RateLimiter` backend shares: the limit table, `configure` / `limits`, and the start of `acquire`
    (argument check, unlimited and impossible calls) before the backend's own window (`_admit`)."""

    def __init__(
        self,
        limits: Mapping[str, tuple[int | None, int | None]] | None = None,
        *,
        default_rpm: int | None = 60,
        default_tpm: int | None = None,
    ) -> None:
        self._table = LimitTable(limits, default_rpm=default_rpm, default_tpm=default_tpm)

    def configure(self, provider: str, *, rpm: int | None = None, tpm: int | None = None) -> None:
        """Replace the provider's limits (None = unlimited). Calls already counted stay counted."""
        self._table.configure(provider, rpm=rpm, tpm=tpm)

    def limits(self, provider: str) -> tuple[int | None, int | None]:
        """(rpm, tpm) in force for a provider."""
        return self._table.get(provider)

    def acquire(self, provider: str, user_id: str, tokens: int = 0) -> float:
        """Admit and count one call of `tokens` tokens, or return how many seconds until it would be admitted
        (math.inf: never, as with rpm 0 or more tokens than tpm). A provider without limits is never counted."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens!r}")
        rpm, tpm = self._table.get(provider)
        if rpm is None and tpm is None:
            return 0.0
        if rpm == 0 or (tpm is not None and tokens > tpm):
            return math.inf
        return self._admit(provider, user_id, tokens, rpm, tpm)

    def _admit(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        """The backend's window: 0.0 = admitted and counted, else seconds to wait (rpm > 0, tokens <= tpm here)."""
        raise NotImplementedError


class InMemoryRateLimiter(LimiterBase):
    """Sliding 60 s window per (provider, user). A call is admitted when, counting it, the last 60 s hold at most
    `rpm` calls and at most `tpm` tokens. The seed's default is 60 requests per minute; tpm is off by default.

    A single call asking for more tokens than `tpm` can never fit: it is refused with `math.inf`.
    """

    def __init__(
        self,
        limits: Mapping[str, tuple[int | None, int | None]] | None = None,
        *,
        default_rpm: int | None = 60,
        default_tpm: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(limits, default_rpm=default_rpm, default_tpm=default_tpm)
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], _Window] = {}
        self._calls_since_sweep = 0

    def _admit(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        with self._lock:
            now = self._clock()
            key = (provider, user_id)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window()
            window.expire(now)
            wait = 0.0
            if rpm is not None and len(window.times) >= rpm:
                # the call that must leave is the (len - rpm + 1)-th oldest
                wait = window.times[len(window.times) - rpm] + WINDOW_SECONDS - now
            if tpm is not None and window.tokens_total + tokens > tpm:
                wait = max(wait, self._token_wait(window, tokens, tpm, now))
            if wait > 0:
                return min(wait, WINDOW_SECONDS)  # float rounding can push t + 60 - now a hair above 60
            window.times.append(now)
            window.tokens.append(tokens)
            window.tokens_total += tokens
            self._maybe_sweep(now)
            return 0.0

    @staticmethod
    def _token_wait(window: _Window, tokens: int, tpm: int, now: float) -> float:
        """Seconds until enough old calls leave the window for `tokens` more to fit under `tpm`."""
        excess = window.tokens_total + tokens - tpm
        freed = 0
        for at, spent in zip(window.times, window.tokens, strict=True):
            freed += spent
            if freed >= excess:
                return at + WINDOW_SECONDS - now
        return math.inf  # not reached: tokens <= tpm guarantees the whole window frees enough

    def _maybe_sweep(self, now: float) -> None:
        """Drop empty windows now and then, so one-off users do not grow the dict forever."""
        self._calls_since_sweep += 1
        if self._calls_since_sweep < 10_000:
            return
        self._calls_since_sweep = 0
        for key in list(self._windows):
            window = self._windows[key]
            window.expire(now)
            if not window.times:
                del self._windows[key]

    def reset(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._windows.clear()
