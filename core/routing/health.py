"""Provider health: consecutive failures and cooldowns, so a failing provider is skipped for a while.

With a Redis URL (CV_COPILOT_REDIS_URL) a cooldown is also shared with every other process (core.limits.redis_cooldown);
without one, nothing here touches the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.base import ErrorKind
from core.config import Settings

if TYPE_CHECKING:
    from core.limits.redis_cooldown import SharedCooldowns

#: Cooldowns for errors that retrying cannot fix soon.
HARD_COOLDOWN = {ErrorKind.AUTH: 3600.0, ErrorKind.QUOTA_EXHAUSTED: 900.0}
#: The longest cooldown repeated failures can earn.
MAX_COOLDOWN = 3600.0


@dataclass
class _Health:
    consecutive_failures: int = 0
    cooldown_until: float = 0.0
    last_error: str = ""


class HealthBook:
    """Failures per provider. Thread-safe; `clock` is injectable so tests can step time."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        self._health: dict[str, _Health] = {}
        self._lock = threading.Lock()
        self._shared: SharedCooldowns | None = None
        if settings.redis_url is not None:
            from core.limits import shared_cooldowns

            self._shared = shared_cooldowns(settings)

    def cooling(self, name: str) -> float:
        """Seconds until `name` may be tried again (0.0: now)."""
        health = self._health.get(name)
        if self._shared is None:  # no Redis: the in-process path, as it always was
            return 0.0 if health is None else max(0.0, health.cooldown_until - self._clock())
        own = 0.0 if health is None else max(0.0, health.cooldown_until - self._clock())
        return own if own > 0 else self._shared.cooling(name)[0]

    def last_error(self, name: str) -> str:
        health = self._health.get(name)
        if self._shared is not None and (health is None or health.cooldown_until <= self._clock()):
            why = self._shared.cooling(name)[1]  # the cooldown in force is another process's
            if why:
                return why
        return health.last_error if health is not None and health.last_error else "errors"

    def failed(self, name: str, kind: ErrorKind, retry_after: float | None = None) -> None:
        """Count one failure; auth and quota errors, long Retry-Afters and repeated failures start a cooldown."""
        if kind == ErrorKind.CONTEXT_LENGTH:  # the input's fault, not the provider's
            return
        s = self._settings
        with self._lock:
            health = self._health.setdefault(name, _Health())
            health.consecutive_failures += 1
            health.last_error = kind.value
            now = self._clock()
            if kind in HARD_COOLDOWN:
                health.cooldown_until = now + HARD_COOLDOWN[kind]
            elif retry_after and retry_after > s.retry_after_cap_seconds:
                health.cooldown_until = now + retry_after
            elif health.consecutive_failures >= s.cooldown_failures:
                extra = health.consecutive_failures - s.cooldown_failures
                health.cooldown_until = now + min(s.cooldown_seconds * 2**extra, MAX_COOLDOWN)
            seconds = health.cooldown_until - now
        if self._shared is not None and seconds > 0:
            self._shared.start(name, seconds, kind.value)  # outside the lock: a network round trip

    def succeeded(self, name: str) -> None:
        health = self._health.get(name)
        if health is not None and (health.consecutive_failures or health.cooldown_until):
            with self._lock:
                self._health.pop(name, None)
