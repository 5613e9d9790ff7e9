"""A sliding-window rate limiter whose window lives in the usage DB file, so every process on it shares one limit.

Each admitted call is a row of `rate_events`; check and count run in one write transaction (one INSERT … SELECT,
which takes the file's write lock before it reads), serialising them across processes (and threads), so any number
of processes together admit at most `rpm` calls and `tpm` tokens per (provider, user) in any 60 s. A provider
without limits never touches the file.

Durability: the connection keeps the file's `synchronous = NORMAL`. In WAL mode that already means no fsync per
commit (a slot lost to a power cut only lets one call more through in that minute, which is harmless); OFF would
only skip the fsync of checkpoints, about 2 µs a call measured, and it is a per-connection setting whose
checkpoints also carry the usage rows, which must survive a power cut. So the limiter takes nothing from it.

Leases: a process admitting many calls a second for one (provider, user) claims `k` slots in one transaction
instead of one per call: `k` rows stamped with the lease's end (`LEASE_SECONDS` after the claim), checked against
rpm together (count + k <= rpm). Calls inside the lease take a slot from memory. Each call then has a row stamped at
or after its real time, written before it, so every window a call falls in counts it: any number of processes still
admit at most rpm in any 60 s. Slots left unused when the lease ends are given back (deleted) off the hot path, by
the next claim or a background thread. `k` adapts: it is the pace of the last lease (or single call) over the next
lease, no more than the last lease served when some of its slots went unused, and at most rpm / `LEASE_SHARE` (and
`LEASE_MAX`), so a provider needs rpm >= 2 * `LEASE_SHARE` for leases at all; at low rates, with a tpm limit, or
when the limit is near, each call is still one statement. A killed process cannot give its unused slots back: at
most one lease per (provider, user), at most rpm / `LEASE_SHARE` slots, stay counted until `LEASE_SECONDS` + 60 s
after its claim.

Times are wall-clock (`time.time`), the only clock processes share.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.base import StorageBusy, StorageError
from core.limits._db import LimitsDB
from core.rate_limit import WINDOW_SECONDS, LimiterBase
from core.tracker.storage import storage_error

_log = logging.getLogger(__name__)

__all__ = ["SQLiteRateLimiter"]

_EPSILON = 1e-9
#: Every this many admitted calls, this process also drops expired rows of other (provider, user) pairs.
_SWEEP_EVERY = 1000
#: What a caller is told to wait when the file stayed locked: fail closed, never admit uncounted calls.
BUSY_WAIT_SECONDS = 1.0
#: How long a lease lasts: its slots serve calls made until then, and its rows are stamped with that time.
LEASE_SECONDS = 1.0
#: A lease holds at most rpm / LEASE_SHARE slots (2 %), and at most LEASE_MAX.
LEASE_SHARE = 50
LEASE_MAX = 64
#: (provider, user) pairs whose pace this process keeps before it forgets the idle ones.
_MAX_KEPT = 10_000


#: The hot path: count and admit in one statement (its own transaction). An INSERT takes the file's write lock
#: before it reads, as BEGIN IMMEDIATE does, so the count it checks is the latest and nobody writes meanwhile.
#: Expired rows are not deleted here: the count seeks past them on the (provider, user, ts) key, and the sweep
#: drops them in bulk.
_ADMIT_SQL = (
    "INSERT INTO rate_events (provider, user_id, ts, tokens) SELECT ?1, ?2, ?3, ?4 WHERE "
    "(SELECT COUNT(*) < ?6 AND TOTAL(tokens) + ?4 <= ?7 FROM rate_events WHERE provider = ?1 AND user_id = ?2 "
    "AND ts > ?5)"
)
#: Stands for "no limit" in `_ADMIT_SQL` (a count or a token sum never reaches it).
_NO_LIMIT = 1 << 62
_COUNT_SQL = "SELECT COUNT(*) FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ?"
_SLOT_SQL = "INSERT INTO rate_events (provider, user_id, ts, tokens, n) VALUES (?, ?, ?, 0, ?)"
_GIVE_BACK_SQL = "DELETE FROM rate_events WHERE provider = ? AND user_id = ? AND ts = ? AND n = ?"


@dataclass(slots=True)
class _Lease:
    """Slots claimed for one (provider, user): calls made from `start` to `end` may take one of `free`. A single
    admitted call is kept as a lease of size 1 (nothing free): the next claim sizes itself from it."""

    start: float
    end: float
    size: int
    free: list[int] = field(default_factory=list)  # the `n` of each unused slot's row (its ts is `end`)
    no_claim_until: float = 0.0  # after a refused claim: one statement per call for a while

    def take(self, now: float) -> bool:
        if self.free and self.start <= now <= self.end:
            self.free.pop()
            return True
        return False


def _next_size(last: _Lease | None, now: float, cap: int) -> int:
    """How many slots to claim now: what the last lease's pace predicts for the next one (at most `cap`, and never
    more than the last one served when it ended with slots unused), and 1 (no lease) when calls are rare."""
    if last is None or now < last.no_claim_until or not last.start <= now <= last.end + LEASE_SECONDS:
        return 1
    used = last.size - len(last.free)
    pace = used * LEASE_SECONDS / max(now - last.start, 1e-3)  # calls expected in the next lease at this pace
    return max(1, min(cap, used if last.free else cap, int(pace)))


class SQLiteRateLimiter(LimiterBase):
    """`RateLimiter` over a shared SQLite file. Same semantics as `InMemoryRateLimiter`, across processes.

    An admitted call costs one INSERT … SELECT (one statement, one transaction, one B-tree page written), or, in a
    burst, a slot of a lease (no file access; see the module docstring); only a refused call runs the longer
    transaction that works out how long to wait.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | LimitsDB,
        limits: Mapping[str, tuple[int | None, int | None]] | None = None,
        *,
        default_rpm: int | None = 60,
        default_tpm: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(limits, default_rpm=default_rpm, default_tpm=default_tpm)
        self._db = db_path if isinstance(db_path, LimitsDB) else LimitsDB(db_path)
        self._clock = clock
        self._admitted = 0
        self._count_lock = threading.Lock()
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._lease_lock = threading.Lock()  # guards `_leases` and every lease's `free`
        self._claim_lock = threading.Lock()  # one claim at a time in this process
        _LIVE.add(self)

    def _admit(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        if tpm is None and tokens == 0 and rpm is not None and rpm >= 2 * LEASE_SHARE:
            return self._admit_leased(provider, user_id, rpm)
        return self._admit_one(provider, user_id, tokens, rpm, tpm)

    def _admit_leased(self, provider: str, user_id: str, rpm: int) -> float:
        """A call under an rpm limit only: a slot of this process's lease, a new lease, or one statement."""
        key = (provider, user_id)
        with self._lease_lock:
            lease = self._leases.get(key)
            if lease is not None and lease.take(self._clock()):
                return 0.0
        with self._claim_lock:
            with self._lease_lock:  # another thread may have claimed meanwhile
                lease = self._leases.get(key)
                now = self._clock()
                if lease is not None and lease.take(now):
                    return 0.0
                size = _next_size(lease, now, min(LEASE_MAX, rpm // LEASE_SHARE))
                stale: list[int] = []
                if lease is not None and lease.free:  # an ended lease: its unused slots go back in this claim
                    stale, lease.free = lease.free, []
            if size > 1 or stale:
                if self._claim(key, size, rpm, lease, stale):
                    return 0.0
                # no room for a lease (then none for a while: see `_claim`), or the file refused: one statement
                return self._admit_one(provider, user_id, 0, rpm, None)
            wait = self._admit_one(provider, user_id, 0, rpm, None)
            if wait == 0.0:
                now = self._clock()
                with self._lease_lock:
                    self._leases[key] = _Lease(now, now, 1)  # this call's pace sizes the next claim
                    if len(self._leases) > _MAX_KEPT:  # many one-off users: forget the ended, emptied ones
                        for old_key in [k for k, v in self._leases.items() if not v.free and v.end < now - 1]:
                            del self._leases[old_key]
            return wait

    def _claim(self, key: tuple[str, str], size: int, rpm: int, last: _Lease | None, stale: list[int]) -> bool:
        """Claim `size` slots in one transaction (giving back `stale`, the last lease's unused ones, in it); the
        first serves this call. False: no room for them (the stale slots were given back), or the file refused
        (nothing changed)."""
        provider, user_id = key
        slots = [random.getrandbits(62) for _ in range(size)]
        try:
            with self._db.immediate() as conn:
                now = self._clock()
                if stale and last is not None:
                    conn.executemany(_GIVE_BACK_SQL, [(provider, user_id, last.end, n) for n in stale])
                (count,) = conn.execute(_COUNT_SQL, (provider, user_id, now - WINDOW_SECONDS + _EPSILON)).fetchone()
                room = int(count) + size <= rpm
                if room:
                    end = now + LEASE_SECONDS
                    conn.executemany(_SLOT_SQL, [(provider, user_id, end, n) for n in slots])
        except (StorageError, sqlite3.Error):
            _log.debug("rate lease not claimed", exc_info=True)
            if stale and last is not None:
                with self._lease_lock:
                    last.free = stale + last.free  # still in the file: the background thread tries again
                _RETURNER.schedule(self, last.end)
            return False
        with self._lease_lock:
            if room:
                self._leases[key] = _Lease(now, end, size, slots[1:])
            else:  # the limit is near: no leases for a while
                self._leases[key] = _Lease(now, now, 1, no_claim_until=now + LEASE_SECONDS)
        if room:
            _RETURNER.schedule(self, end)
            self._maybe_sweep()
        return room

    def _give_back(self, *, everything: bool = False) -> None:
        """Delete the rows of slots nobody took from leases that have ended (all leases' with `everything`); keep
        only recent leases in memory. The next lease end is scheduled for the background thread."""
        now = self._clock()
        rows: list[tuple[str, str, float, int]] = []
        next_end = math.inf
        with self._lease_lock:
            for key, lease in list(self._leases.items()):
                if lease.free and (everything or not lease.start <= now <= lease.end):
                    rows += [(*key, lease.end, n) for n in lease.free]
                    lease.free = []
                elif lease.free:
                    next_end = min(next_end, lease.end)
                if not lease.free and now - lease.end > 2 * LEASE_SECONDS:
                    del self._leases[key]  # too old to size the next claim from
        if next_end < math.inf:
            _RETURNER.schedule(self, next_end)
        self._delete_slots(rows)

    def configure(self, provider: str, *, rpm: int | None = None, tpm: int | None = None) -> None:
        """Replace the provider's limits; this process's unused leased slots for it are given back first (a lease
        was claimed under the old limits)."""
        with self._lease_lock:
            mine = [key for key in self._leases if key[0] == provider]
            rows = [(*key, self._leases[key].end, n) for key in mine for n in self._leases[key].free]
            for key in mine:
                del self._leases[key]
        self._delete_slots(rows)
        super().configure(provider, rpm=rpm, tpm=tpm)

    def _delete_slots(self, rows: list[tuple[str, str, float, int]]) -> None:
        """Give back unused leased slots; on failure they lapse with their lease (60 s after its end)."""
        if not rows:
            return
        try:
            with self._db.immediate() as conn:
                conn.executemany(_GIVE_BACK_SQL, rows)
        except (StorageError, sqlite3.Error):
            _log.warning("%d unused rate-limit slots not given back; they lapse within a minute", len(rows))

    def _admit_one(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        """One call, one statement (its own transaction): counted at its own time."""
        try:
            storage = self._db.storage
            lock = storage.write_lock  # this process's writers queue here rather than in SQLite's busy handler
            if not lock.acquire(storage.busy_timeout):
                raise StorageBusy(str(storage.path), storage.busy_timeout)
            try:
                now = self._clock()
                params = (
                    provider, user_id, now, tokens, now - WINDOW_SECONDS + _EPSILON,
                    _NO_LIMIT if rpm is None else rpm, _NO_LIMIT if tpm is None else tpm,
                )  # fmt: skip
                admitted = storage.connection().execute(_ADMIT_SQL, params).rowcount == 1
            except sqlite3.Error as error:
                raise storage_error(error, storage.path, storage.busy_timeout) from error
            finally:
                lock.release()
            wait = 0.0 if admitted else self._wait(provider, user_id, tokens, rpm, tpm)
        except StorageError as exc:
            _log.warning("rate limit not checked, call refused for now: %s", exc)
            return BUSY_WAIT_SECONDS
        if wait == 0.0:
            self._maybe_sweep()
        return wait

    def _wait(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        """A refused call: the seconds until it would fit, checked again (and admitted, if the window moved since)
        in one BEGIN IMMEDIATE transaction."""
        key = (provider, user_id)
        with self._db.immediate() as conn:
            now = self._clock()
            cutoff = now - WINDOW_SECONDS + _EPSILON
            count, total = conn.execute(
                "SELECT COUNT(*), TOTAL(tokens) FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ?",
                (*key, cutoff),
            ).fetchone()
            wait = 0.0
            if rpm is not None and count >= rpm:
                # the call that must leave first is the (count - rpm + 1)-th oldest
                (at,) = conn.execute(
                    "SELECT ts FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ? "
                    "ORDER BY ts LIMIT 1 OFFSET ?",
                    (*key, cutoff, count - rpm),
                ).fetchone()
                wait = at + WINDOW_SECONDS - now
            if tpm is not None and total + tokens > tpm:
                wait = max(wait, self._token_wait(conn, key, cutoff, int(total) + tokens - tpm, now))
            if wait > 0:
                # float rounding can push t + 60 - now a hair above 60; leased rows are stamped up to LEASE_SECONDS
                # ahead; a wall clock stepped back can push it further
                return min(wait, WINDOW_SECONDS if wait < WINDOW_SECONDS + 1e-6 else WINDOW_SECONDS + LEASE_SECONDS)
            conn.execute(
                "INSERT INTO rate_events (provider, user_id, ts, tokens) VALUES (?, ?, ?, ?)", (*key, now, tokens)
            )
            return 0.0

    @staticmethod
    def _token_wait(conn: sqlite3.Connection, key: tuple[str, str], cutoff: float, excess: int, now: float) -> float:
        """Seconds until the oldest calls holding at least `excess` tokens have left the window."""
        freed = 0
        for at, spent in conn.execute(
            "SELECT ts, tokens FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ? ORDER BY ts",
            (*key, cutoff),
        ):
            freed += spent
            if freed >= excess:
                return float(at) + WINDOW_SECONDS - now
        return math.inf  # not reached: tokens <= tpm guarantees the whole window frees enough

    def _maybe_sweep(self) -> None:
        """Now and then drop every expired row, so (provider, user) pairs seen once do not stay in the file."""
        with self._count_lock:
            self._admitted += 1
            if self._admitted % _SWEEP_EVERY:
                return
        try:
            self._db.write("DELETE FROM rate_events WHERE ts <= ?", (self._clock() - WINDOW_SECONDS,))
        except StorageError:
            _log.debug("rate_events sweep skipped", exc_info=True)

    def reset(self) -> None:
        """Forget every counted call, in every process sharing the file (and this process's leases)."""
        with self._lease_lock:
            self._leases.clear()
        self._db.write("DELETE FROM rate_events", ())

    def close(self) -> None:
        self._give_back(everything=True)
        self._db.close()


# --- giving back unused slots ----------------------------------------------------------------------------------

_IDLE_EXIT_S = 5.0


class _Returner:
    """One daemon thread that gives back the unused slots of ended leases; it sleeps until the earliest lease end
    it was told of, and exits after a few idle seconds (started again on demand). A limiter already scheduled is
    not woken for a later end (leases end in the order they are claimed), so a busy process wakes it about once a
    lease, not once a call."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[SQLiteRateLimiter, float] = {}
        self._thread: threading.Thread | None = None

    def schedule(self, limiter: SQLiteRateLimiter, at: float) -> None:
        with self._cond:
            known = self._due.get(limiter)
            if known is not None and known <= at and self._thread is not None:
                return
            self._due[limiter] = at if known is None else min(known, at)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rate-lease-return", daemon=True)
                self._thread.start()
            else:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._due and not self._cond.wait_for(lambda: self._due, timeout=_IDLE_EXIT_S):
                    self._thread = None
                    return
                ready = [limiter for limiter, at in self._due.items() if at < limiter._clock()]
                if not ready:
                    # wall-clock ends: wait on their distance (a fake clock in tests is polled the same way)
                    wait = min(at - limiter._clock() for limiter, at in self._due.items())
                    self._cond.wait(timeout=min(max(wait, 0.0) + 0.001, 1.0))
                    continue
                for limiter in ready:
                    del self._due[limiter]
            for limiter in ready:
                try:
                    limiter._give_back()
                except Exception:  # noqa: BLE001 - the thread must survive; the slots lapse with their lease
                    _log.debug("giving back unused rate slots failed", exc_info=True)


_RETURNER = _Returner()
_LIVE: weakref.WeakSet[SQLiteRateLimiter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child must not take its parent's leased slots (both would use them): it starts with no leases, and
    with its own giving-back thread."""
    global _RETURNER
    _RETURNER = _Returner()
    for limiter in list(_LIVE):
        limiter._leases = {}
        limiter._lease_lock = threading.Lock()
        limiter._claim_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _give_back_at_exit() -> None:
    for limiter in list(_LIVE):
        try:
            limiter._give_back(everything=True)
        except Exception:  # noqa: BLE001 - at exit: they lapse with their lease
            pass
