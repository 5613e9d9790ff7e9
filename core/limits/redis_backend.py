"""Rate limits and budget holds on Redis, for a team: several app replicas and API workers on several machines.

Chosen by `CV_COPILOT_REDIS_URL` (`redis://host:6379/0`), through `core.limits.build_limiter` / `build_budget`.

- The sliding window is a sorted set per (provider, user), checked and counted by one Lua script: Redis runs a
  script atomically, so any number of processes and machines together admit at most `rpm` calls and `tpm` tokens in
  any 60 s. Times come from the Redis server's clock (`TIME`), the one clock every machine shares.
- A budget hold is a member of a sorted set scored by its expiry, with its amount and user in two hashes; the
  script that takes a hold first drops lapsed ones, sums the live ones and checks every budget line against the
  recorded spend the caller read just before. A hold lapses by itself, so a crashed worker's hold is released.
  A settled hold keeps counting for `settle_grace_seconds` (at the real cost when given), which covers the moment
  between another process reading the recorded spend and running its script.
- Redis down: each process falls back to its own, stricter limits (rpm and tpm divided by `replicas`; a budget hold
  counted `replicas` times), logs it loudly, reports it in `degraded` (for a banner), and goes back to Redis when
  it answers again (tried every `retry_seconds`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from core.base import BudgetExceeded
from core.budget import BudgetGuard, BudgetLine, Reservation, SpendFunction, budget_lines, period_start, resets_text
from core.config import BudgetSettings
from core.rate_limit import WINDOW_SECONDS, LimiterBase

_log = logging.getLogger(__name__)

__all__ = ["RedisBudget", "RedisConnection", "RedisRateLimiter"]

#: Replicas assumed when Redis is down and none were configured: each process takes half the limit.
DEFAULT_REPLICAS = 2
DEFAULT_RETRY_SECONDS = 5.0

_WINDOW_LUA = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window + 1e-9)
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local count = #entries / 2
local total = 0
for i = 1, #entries, 2 do
  total = total + tonumber(string.match(entries[i], ':(%d+)$'))
end
local wait = 0
if rpm >= 0 and count >= rpm then
  wait = tonumber(entries[(count - rpm) * 2 + 2]) + window - now
end
if tpm >= 0 and total + tokens > tpm then
  local excess = total + tokens - tpm
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + tonumber(string.match(entries[i], ':(%d+)$'))
    if freed >= excess then
      wait = math.max(wait, tonumber(entries[i + 1]) + window - now)
      break
    end
  end
end
if wait > 0 then
  return tostring(wait)
end
redis.call('ZADD', KEYS[1], now, ARGV[6] .. ':' .. tokens)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return '0'
"""

# KEYS: expiries (zset), amounts (hash), users (hash). ARGV: now, ttl, user, estimate, id, then per budget line:
# limit, spent, scope ("user" or "all"). Returns {0, id, now} or {line number, held}. The id is random (not a
# counter in Redis): a Redis restarted empty must never hand out an id a hold from before the restart still settles.
_RESERVE_LUA = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
local user = ARGV[3]
local estimate = tonumber(ARGV[4])
local everyone, own = 0, 0
local amounts = redis.call('HGETALL', KEYS[2])
for i = 1, #amounts, 2 do
  local amount = tonumber(amounts[i + 1])
  everyone = everyone + amount
  if redis.call('HGET', KEYS[3], amounts[i]) == user then
    own = own + amount
  end
end
local line = 0
for i = 6, #ARGV, 3 do
  line = line + 1
  local held = own
  if ARGV[i + 2] == 'all' then held = everyone end
  if tonumber(ARGV[i + 1]) + held + estimate > tonumber(ARGV[i]) + 1e-12 then
    return {line, tostring(held)}
  end
end
local id = ARGV[5]
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
redis.call('HSET', KEYS[2], id, ARGV[4])
redis.call('HSET', KEYS[3], id, user)
return {0, id, tostring(now)}
"""

# KEYS: expiries, amounts, users. ARGV: now, grace, id, actual ("" = keep the estimate).
_SETTLE_LUA = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local id = ARGV[3]
local grace = tonumber(ARGV[2])
if grace <= 0 then
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  return 1
end
local expires = redis.call('ZSCORE', KEYS[1], id)
if not expires then return 0 end
redis.call('ZADD', KEYS[1], math.min(tonumber(expires), now + grace), id)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], id, ARGV[4]) end
return 1
"""

_HELD_LUA = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local everyone, own = 0, 0
for _, id in ipairs(live) do
  local amount = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  everyone = everyone + amount
  if redis.call('HGET', KEYS[3], id) == ARGV[2] then own = own + amount end
end
return {tostring(everyone), tostring(own)}
"""


class RedisConnection:
    """One Redis client shared by the limiter and the budget, with the up/down state both fall back on.

    `degraded` is None while Redis answers, else a sentence for a banner. Transitions are logged: ERROR on the way
    down (every process then enforces stricter limits of its own), WARNING on the way back.
    """

    def __init__(
        self,
        url_or_client: str | Any,
        *,
        prefix: str = "cvc",
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        socket_timeout: float = 0.5,
    ) -> None:
        import redis

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        if isinstance(url_or_client, str):
            self.client = redis.Redis.from_url(
                url_or_client, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
            self._where = _without_password(url_or_client)
        else:
            self.client = url_or_client
            self._where = "the configured Redis"
        self.prefix = prefix
        self.retry_seconds = float(retry_seconds)
        self._down_since: float | None = None
        self._next_try = 0.0
        self._last_contact = -math.inf
        self.socket_timeout = float(socket_timeout)
        self._lock = threading.Lock()
        self.window = self.client.register_script(_WINDOW_LUA)
        self.reserve = self.client.register_script(_RESERVE_LUA)
        self.settle = self.client.register_script(_SETTLE_LUA)
        self.held = self.client.register_script(_HELD_LUA)

    @property
    def degraded(self) -> str | None:
        if self._down_since is None:
            return None
        return (
            "Shared rate limits and budgets are unavailable: Redis is not answering. This server applies stricter "
            "limits of its own until it is back, so some calls may go to cheaper providers or the offline engine."
        )

    @property
    def down_since(self) -> float | None:
        """Wall-clock time this process first found Redis not answering (None while it answers)."""
        return self._down_since

    def call(self, script: Any, keys: list[str], args: list[Any]) -> Any | None:
        """Run a script; None when Redis is down (or known down and not due for a retry)."""
        return self._run(lambda: script(keys=keys, args=args))

    def ping(self) -> bool:
        """Whether Redis answers a PING (not tried while known down and not due for a retry, as `call`)."""
        return self._run(self.client.ping) is not None

    def probe(self) -> str | None:
        """`degraded`, after a PING when Redis was last heard from more than `retry_seconds` ago: a page showing a
        banner learns of an outage (and of the recovery) even while no call is made, for one PING per interval."""
        if time.monotonic() - self._last_contact >= self.retry_seconds:
            self.ping()
        return self.degraded

    def _run(self, run: Callable[[], Any]) -> Any | None:
        if self._down_since is not None and time.monotonic() < self._next_try:
            return None
        try:
            result = run()
        except self._errors as exc:
            with self._lock:
                self._last_contact = self._next_try = time.monotonic()
                self._next_try += self.retry_seconds
                if self._down_since is None:
                    self._down_since = time.time()
                    _log.error(
                        "Redis at %s is not answering (%s): falling back to stricter per-process limits and budgets",
                        self._where,
                        type(exc).__name__,
                    )
            return None
        self._last_contact = time.monotonic()
        if self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    _log.warning("Redis at %s answers again: shared limits and budgets are back", self._where)
                    self._down_since = None
        return result


def _without_password(url: str) -> str:
    """The URL as it may be logged: no password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _stricter(limit: int | None, replicas: int) -> int | None:
    if limit is None or limit == 0:
        return limit
    return max(1, limit // replicas)


class RedisRateLimiter(LimiterBase):
    """`RateLimiter` on Redis: one sliding window per (provider, user) for every process on every machine.

    While Redis is down, each process admits on its own, at the limit divided by `replicas`. Two rules keep the
    total under the limit in every 60 s window, outages included (when Redis fails for every process at once):
    - hold: for one window after this process found Redis down, nothing is admitted locally. Calls Redis admitted
      before it went away (by any process, up to the whole limit) are still in that window, and no process knows
      how many; a limited provider is skipped meanwhile (the router falls back, down to the offline engine).
    - quarantine: for one window (plus the retry interval and a timeout) after Redis answers again, a call needs
      both Redis and the local share. Redis, maybe restarted empty, does not know what each process admitted
      locally; the local share does, and the other processes stop admitting locally within a retry interval.
    """

    def __init__(
        self,
        connection: RedisConnection | str,
        limits: Mapping[str, tuple[int | None, int | None]] | None = None,
        *,
        default_rpm: int | None = 60,
        default_tpm: int | None = None,
        clock: Callable[[], float] | None = None,
        replicas: int = DEFAULT_REPLICAS,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        super().__init__(limits, default_rpm=default_rpm, default_tpm=default_tpm)
        self._redis = connection if isinstance(connection, RedisConnection) else RedisConnection(connection)
        self._clock = clock
        self._local_clock = clock or time.monotonic
        self._window = float(window_seconds)
        self._replicas = max(1, int(replicas))
        self._fallback = _LocalShare(self._window, self._local_clock)
        self._hold_until = -math.inf  # local clock: nothing admitted locally before this
        self._quarantine_until = -math.inf  # local clock: Redis and the local share both needed before this
        self._down = False
        self._state = threading.Lock()

    @property
    def degraded(self) -> str | None:
        return self._redis.degraded

    @property
    def replicas(self) -> int:
        return self._replicas

    def _admit(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        share = (_stricter(rpm, self._replicas), _stricter(tpm, self._replicas))
        quarantined = self._local_clock() < self._quarantine_until
        if quarantined:  # the local share first: a slot it takes for a call Redis then refuses only errs safe
            wait = self._local(provider, user_id, tokens, share)
            if wait > 0:
                return wait
        now = -1.0 if self._clock is None else self._clock()
        args = [now, self._window, -1 if rpm is None else rpm, -1 if tpm is None else tpm, tokens, uuid.uuid4().hex]
        result = self._redis.call(self._redis.window, [f"{self._redis.prefix}:rl:{provider}:{user_id}"], args)
        if result is None:
            self._went_down()  # a slot the local share gave in quarantine stays taken: the hold refuses this call
            return self._local(provider, user_id, tokens, share)
        wait = min(float(result), self._window)
        if self._answered() and wait <= 0:  # the first answer after an outage: quarantine from this call on
            return self._local(provider, user_id, tokens, share)
        return wait

    def _went_down(self) -> None:
        with self._state:
            if not self._down:
                self._down = True
                self._hold_until = self._local_clock() + self._window
                self._quarantine_until = -math.inf

    def _answered(self) -> bool:
        """Note that Redis answered; True when that ends an outage."""
        if self._down:
            with self._state:
                if self._down:
                    self._down = False
                    margin = self._redis.retry_seconds + self._redis.socket_timeout
                    self._quarantine_until = self._local_clock() + self._window + margin
                    return True
        return False

    def _local(self, provider: str, user_id: str, tokens: int, share: tuple[int | None, int | None]) -> float:
        held = self._hold_until - self._local_clock()
        if held > 0:
            return held
        return self._fallback.acquire(provider, user_id, tokens, share)

    def reset(self) -> None:
        """Forget every counted call under this prefix (tests)."""
        for key in self._redis.client.scan_iter(f"{self._redis.prefix}:rl:*"):
            self._redis.client.delete(key)
        self._fallback = _LocalShare(self._window, self._local_clock)
        self._hold_until = self._quarantine_until = -math.inf
        self._down = False


class _LocalShare:
    """This process's own sliding windows, checked against its share of the limits (given per call)."""

    def __init__(self, window_seconds: float, clock: Callable[[], float]) -> None:
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[tuple[float, int]]] = {}

    def acquire(self, provider: str, user_id: str, tokens: int, share: tuple[int | None, int | None]) -> float:
        rpm, tpm = share
        with self._lock:
            now = self._clock()
            calls = self._calls.setdefault((provider, user_id), deque())
            while calls and calls[0][0] <= now - self._window + 1e-9:
                calls.popleft()
            wait = 0.0
            if rpm is not None and len(calls) >= rpm:
                wait = calls[len(calls) - rpm][0] + self._window - now
            if tpm is not None:
                if tokens > tpm:
                    return math.inf
                excess = sum(t for _, t in calls) + tokens - tpm
                for when, spent in calls:
                    if excess <= 0:
                        break
                    excess -= spent
                    wait = max(wait, when + self._window - now)
            if wait > 0:
                return min(wait, self._window)
            calls.append((now, tokens))
            return 0.0


class RedisBudget:
    """`Budget` with holds on Redis; the recorded spend comes from the tracker (`spend_fn`), read just before."""

    def __init__(
        self,
        settings: BudgetSettings,
        connection: RedisConnection | str,
        spend_fn: SpendFunction,
        *,
        clock: Callable[[], float] | None = None,
        reservation_ttl_seconds: float = 300.0,
        settle_grace_seconds: float = 1.0,
        flush_usage: Callable[[], None] | None = None,
        replicas: int = DEFAULT_REPLICAS,
    ) -> None:
        self.settings = settings
        self._redis = connection if isinstance(connection, RedisConnection) else RedisConnection(connection)
        self._spend = spend_fn
        self._clock = clock
        self._ttl = float(reservation_ttl_seconds)
        self._grace = float(settle_grace_seconds)
        self._flush_usage = flush_usage
        wall = clock or time.time
        self._fallback = BudgetGuard(settings, spend_fn, clock=wall, in_flight_share=max(1, int(replicas)))
        self._fallback_ids: set[int] = set()
        p = self._redis.prefix
        self._keys = [f"{p}:budget:expiries", f"{p}:budget:amounts", f"{p}:budget:users"]

    @property
    def degraded(self) -> str | None:
        return self._redis.degraded

    def _now(self) -> float:
        return -1.0 if self._clock is None else self._clock()

    def reserve(self, user_id: str, estimate_usd: float) -> Reservation:
        lines = budget_lines(self.settings, user_id)
        if not lines:
            return Reservation(0, user_id, estimate_usd)
        wall = time.time() if self._clock is None else self._clock()
        hold_id = (uuid.uuid4().int >> 66) + 1  # random, 62 bits; a string to Lua
        args: list[Any] = [self._now(), self._ttl, user_id, repr(float(estimate_usd)), str(hold_id)]
        for _scope, period, limit, user in lines:
            args += [
                repr(limit),
                repr(self._spend(period_start(period, wall), user)),
                "all" if user is None else "user",
            ]
        result = self._redis.call(self._redis.reserve, self._keys, args)
        if result is None:
            held = self._fallback.reserve(user_id, estimate_usd)
            fallback = Reservation(-held.id, user_id, estimate_usd)  # negative: a hold of the fallback guard
            self._fallback_ids.add(held.id)
            return fallback
        if int(result[0]) != 0:
            scope, period, limit, user = lines[int(result[0]) - 1]
            spent = self._spend(period_start(period, wall), user) + float(result[1])
            raise BudgetExceeded(scope, spent, limit, resets_text(period, wall), estimate_usd)
        return Reservation(int(result[1]), user_id, estimate_usd, float(result[2]) + self._ttl)

    def settle(self, reservation: Reservation | None, actual_usd: float | None = None) -> None:
        if reservation is None or reservation.id == 0:
            return
        try:
            if self._flush_usage is not None:
                self._flush_usage()
        except Exception:  # noqa: BLE001 - settle never raises: the grace and the expiry still bound the hold
            _log.warning("usage rows not written before settling a budget hold", exc_info=True)
        if reservation.id < 0:
            self._fallback_ids.discard(-reservation.id)
            self._fallback.settle(Reservation(-reservation.id, reservation.user_id, reservation.amount_usd))
            return
        actual = "" if actual_usd is None else repr(max(0.0, float(actual_usd)))
        self._redis.call(self._redis.settle, self._keys, [self._now(), self._grace, reservation.id, actual])

    def status(self, user_id: str) -> list[BudgetLine]:
        lines = budget_lines(self.settings, user_id)
        if not lines:
            return []
        wall = time.time() if self._clock is None else self._clock()
        result = self._redis.call(self._redis.held, self._keys, [self._now(), user_id])
        if result is None:
            return self._fallback.status(user_id)
        everyone, own = float(result[0]), float(result[1])
        return [
            BudgetLine(
                scope=scope,
                limit_usd=limit,
                spent_usd=self._spend(period_start(period, wall), user),
                reserved_usd=everyone if user is None else own,
                resets_at=resets_text(period, wall),
            )
            for scope, period, limit, user in lines
        ]
