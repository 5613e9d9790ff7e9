"""Recent health per provider from the tracker's own usage rows: p50 latency and error rate, cached off the hot path.

Why a snapshot: the router plans every call, and a SQL query per plan would cost more than the rest of the router.
`RouteStats` keeps the last snapshot and, when it is older than `[router] stats_refresh_seconds`, starts one
background refresh (never two at once); the call that notices keeps using the old snapshot. A refresh reads at most
`stats_last_calls` rows per provider (newest first, within `stats_window_hours`) through the latency index, so it
stays cheap on a million-row database.

What counts: non-cached rows of the provider's configured model (a provider-reported dated version such as
`gpt-4o-2024-08-06` counts for `gpt-4o`, `gpt-4o-mini` does not). An answer is a success; an error or a timeout
is a failure, except a prompt too long for the model (the input's fault). Cancelled and abandoned requests say
nothing about the provider and are left out. p50 is over successful requests only.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.base import ErrorKind, Outcome

if TYPE_CHECKING:
    from core.ab import VoteStore
    from core.tracker.storage import Storage

__all__ = ["DbLoader", "ProviderStats", "RouteStats", "Snapshot", "read_stats", "same_model"]

log = logging.getLogger("cv_copilot.router")

_ROWS_SQL = (
    "SELECT model, latency_ms, outcome, error_kind FROM usage INDEXED BY idx_usage_latency "
    "WHERE provider = ? AND cached = 0 AND ts >= ? ORDER BY ts DESC LIMIT ?"
)
_FAILED = (Outcome.ERROR.value, Outcome.DEADLINE.value)
_IGNORED = (Outcome.CANCELLED.value, Outcome.ABANDONED.value)


def same_model(configured: str, recorded: str) -> bool:
    """True when a row's model is the configured one, or a dated/numbered version of it (`gpt-4o-2024-08-06`)."""
    if recorded == configured:
        return True
    rest = recorded[len(configured) :]
    return recorded.startswith(configured) and len(rest) >= 2 and rest[0] in "-@" and rest[1].isdigit()


@dataclass(frozen=True, slots=True)
class ProviderStats:
    """One provider's recent record: requests that count, how many failed, and the p50 of the successful ones."""

    provider: str
    model: str
    calls: int = 0
    failures: int = 0
    p50_ms: float | None = None

    @property
    def successes(self) -> int:
        return self.calls - self.failures

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.calls if self.calls else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Stats per provider and A/B vote rows, as read at `taken` (monotonic seconds); `version` grows per refresh."""

    providers: Mapping[str, ProviderStats] = field(default_factory=dict)
    votes: tuple[dict[str, Any], ...] = ()
    vote_counts: Mapping[str, int] = field(default_factory=dict)
    taken: float = -math.inf
    version: int = 0


#: What a loader returns: stats per provider, `VoteStore.win_rates()` rows, `VoteStore.vote_counts()`.
Loaded = tuple[dict[str, ProviderStats], tuple[dict[str, Any], ...], dict[str, int]]


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values.sort()
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def read_stats(
    storage: Storage, models: Mapping[str, str], *, since: float, last_calls: int
) -> dict[str, ProviderStats]:
    """Stats of each provider in `models` (name → configured model) over its newest `last_calls` rows since `since`."""
    out: dict[str, ProviderStats] = {}
    with storage.read() as conn:
        for provider, model in models.items():
            calls = failures = 0
            latencies: list[float] = []
            for recorded, latency_ms, outcome, error_kind in conn.execute(_ROWS_SQL, (provider, since, last_calls)):
                if not same_model(model, str(recorded)) or outcome in _IGNORED:
                    continue
                if outcome in _FAILED:
                    if error_kind == ErrorKind.CONTEXT_LENGTH.value:
                        continue
                    failures += 1
                else:
                    latencies.append(float(latency_ms))
                calls += 1
            out[provider] = ProviderStats(provider, model, calls, failures, _median(latencies))
    return out


class RouteStats:
    """The latest `Snapshot`, refreshed in the background when stale. Thread-safe; `clock` is monotonic seconds.

    `load` reads a fresh snapshot (called in the refresh thread, or directly by `refresh()` in tests and pages).
    """

    def __init__(
        self,
        load: Callable[[], Loaded],
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._snapshot = Snapshot()
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None

    def current(self) -> Snapshot:
        """The snapshot to route by now; starts a background refresh when it is stale (costs a clock read)."""
        snapshot = self._snapshot
        if self._clock() - snapshot.taken >= self._refresh_seconds and self._refreshing is None:
            self._start()
        return snapshot

    def _start(self) -> None:
        with self._lock:
            if self._refreshing is not None:
                return
            thread = threading.Thread(target=self._refresh_quietly, name="route-stats", daemon=True)
            self._refreshing = thread
        thread.start()

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:
            log.warning("routing stats refresh failed; keeping the previous ones", exc_info=True)
            with self._lock:  # try again after another interval, not on every call
                old = self._snapshot
                self._snapshot = Snapshot(old.providers, old.votes, old.vote_counts, self._clock(), old.version)
        finally:
            with self._lock:
                self._refreshing = None

    def refresh(self) -> Snapshot:
        """Read the stats now (blocking) and make them current."""
        started = self._clock()
        providers, votes, counts = self._load()
        with self._lock:
            self._snapshot = Snapshot(providers, votes, counts, started, self._snapshot.version + 1)
            return self._snapshot

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for a background refresh in flight (tests, benches)."""
        thread = self._refreshing
        if thread is not None:
            thread.join(timeout)


class DbLoader:
    """A `RouteStats` loader over the usage database at `db_path` (its own connections, opened on first use).

    With `db_url` (a postgresql:// URL: the team's shared tracker) the rows and votes are read from PostgreSQL,
    through the pool the tracker of this process shares (`db_path` is then this machine's local file), so every
    replica routes by every replica's calls.
    """

    def __init__(
        self,
        db_path: Path,
        models: Callable[[], Mapping[str, str]],
        *,
        window_hours: float,
        last_calls: int,
        with_votes: bool,
        flush: Callable[[], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
        db_url: str | None = None,
    ) -> None:
        self._db_path = db_path
        self._db_url = db_url or None
        self._models = models
        self._window_hours = window_hours
        self._last_calls = last_calls
        self._with_votes = with_votes
        self._flush = flush
        self._wall_clock = wall_clock
        self._storage: Storage | None = None
        self._votes: VoteStore | None = None

    def __call__(self) -> Loaded:
        from core.tracker.storage import open_storage

        if self._flush is not None:
            self._flush()  # this process's rows recorded so far count too
        if self._storage is None:
            if self._db_url is not None:
                from core.tracker.pg_storage import pg_storage_for

                self._storage = pg_storage_for(self._db_url, self._db_path)  # type: ignore[assignment]
            else:
                self._storage = open_storage(self._db_path)
        since = self._wall_clock() - self._window_hours * 3600
        assert self._storage is not None
        stats = read_stats(self._storage, self._models(), since=since, last_calls=self._last_calls)
        if not self._with_votes:
            return stats, (), {}
        if self._votes is None:
            from core.ab import VoteStore

            self._votes = (
                VoteStore(self._db_path) if self._db_url is None else VoteStore(self._db_url, local_path=self._db_path)
            )
        return stats, tuple(self._votes.win_rates()), self._votes.vote_counts()

    def close(self) -> None:
        if self._db_url is not None:
            return  # PostgreSQL: the pool is the process's (the tracker's too), kept open
        if self._storage is not None:
            self._storage.close()
        if self._votes is not None:
            self._votes.close()
