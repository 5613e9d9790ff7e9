"""Provider cooldowns shared through Redis: a provider one process put in cooldown is skipped by every process.

One key per provider and credential (`<prefix>:cooldown:<provider>:<fingerprint>`), whose value is the error that
started the cooldown and whose TTL is the cooldown: Redis forgets it when the cooldown ends, on every machine at
once. The fingerprint is a short hash of the provider's base URL and key, so a session's own bad key cools down
that key only, never the deployment's. A process reads a provider's key at most once per `refresh_seconds`
(cooldowns are seconds to an hour long, so a fraction of a second late costs nothing), and never on the success
path. Redis down: the reads and writes are skipped (`RedisConnection` logs it once) and each process keeps its own
cooldowns, as without Redis.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from core.limits.redis_backend import RedisConnection

__all__ = ["SharedCooldowns"]

# KEYS: the cooldown key. ARGV: milliseconds, why. A cooldown only ever lengthens.
_START_LUA = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ms)
  return 1
end
return 0
"""

_READ_LUA = """
return {redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1]) or ''}
"""

DEFAULT_REFRESH_SECONDS = 0.5


def fingerprint(base_url: str, api_key: str | None) -> str:
    """A short, one-way name for a provider credential (never the key itself)."""
    return hashlib.sha256(f"{base_url}\0{api_key or ''}".encode()).hexdigest()[:16]


class SharedCooldowns:
    """Cooldowns on Redis, read through a small per-process cache. Thread-safe."""

    def __init__(
        self,
        connection: RedisConnection,
        scope: Callable[[str], str],
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        self._redis = connection
        self._scope = scope
        self._refresh = float(refresh_seconds)
        self._start = connection.client.register_script(_START_LUA)
        self._read = connection.client.register_script(_READ_LUA)
        self._seen: dict[str, tuple[float, float, str]] = {}  # name -> (read at, ends at, why), time.monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}

    def _key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = f"{self._redis.prefix}:cooldown:{name}:{self._scope(name)}"
        return key

    def start(self, name: str, seconds: float, why: str) -> None:
        """Put `name` in cooldown for `seconds` for every process (a longer one already running is kept)."""
        ms = max(1, int(seconds * 1000))
        if self._redis.call(self._start, [self._key(name)], [ms, why]) is not None:
            with self._lock:
                now = time.monotonic()
                self._seen[name] = (now, now + ms / 1000, why)

    def cooling(self, name: str) -> tuple[float, str]:
        """(seconds left, why) of `name`'s shared cooldown; (0.0, "") when none, or Redis does not answer."""
        now = time.monotonic()
        seen = self._seen.get(name)
        if seen is None or now - seen[0] >= self._refresh:
            result = self._redis.call(self._read, [self._key(name)], [])
            if result is None:
                return 0.0, ""
            ttl_ms, why = int(result[0]), result[1]
            ends = now + ttl_ms / 1000 if ttl_ms > 0 else now
            seen = (now, ends, why.decode() if isinstance(why, bytes) else str(why))
            with self._lock:
                self._seen[name] = seen
        left = seen[1] - now
        return (left, seen[2]) if left > 0 else (0.0, "")
