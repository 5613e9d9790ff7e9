"""Budgets whose reservations live in the usage DB file, so every process on it shares one spend.

`reserve` reads the recorded spend (the `usage` table) and the open holds (`budget_reservations`) and adds its own
hold in one BEGIN IMMEDIATE transaction: processes are serialised on the file's write lock, each sees every other
hold, and together they overshoot a budget by at most the one call that fits exactly (plus its real cost beyond its
estimate, which a worst-case estimate rules out).

Two gaps are closed by time rather than by trust:
- a process killed mid-call leaves its hold behind: every hold records its process id and has an expiry
  (`reservation_ttl_seconds`, longer than any call may last). Holds of a process that is provably gone (no such pid
  here, no journal of it still locked) are deleted as soon as a refusal, a status read or this process's first use
  finds them, after that process's journal is replayed; any other hold stops counting at its expiry;
- the tracker writes usage rows a moment after a call returns (write-behind), so between settle and that write
  the call's cost would be invisible to other processes. Given the tracker's `flush` (`flush_usage`), settle
  hands the hold to the tracker's writer (core.tracker.writer), which deletes it in the same transaction that
  writes the call's row: other processes see the hold, then the row, never both or neither, and the caller does
  no SQLite work to settle. The release is journaled with the row, so a SIGKILL right after a call returns
  loses neither: the replay stores the row and deletes the hold in one transaction. This process sees its own rows
  and releases still queued in memory (`reserve` adds them under the file's writer lock, which the writer needs to
  commit them): exact here too. Without
  `flush_usage`, a settled hold keeps counting, at the call's real cost when the caller passes it, for
  `settle_grace_seconds`: the cost is counted twice for that moment, stricter, never looser.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from core.base import BudgetExceeded, StorageError
from core.budget import BudgetLine, Reservation, budget_lines, period_end, period_start, resets_text
from core.config import BudgetSettings
from core.limits._db import LimitsDB
from core.tracker.schema import COL, Row
from core.tracker.writer import Writer, has_journal, process_gone, writer_for

_log = logging.getLogger(__name__)

__all__ = ["DEFAULT_RESERVATION_TTL_SECONDS", "DEFAULT_SETTLE_GRACE_SECONDS", "SQLiteBudget", "UsageSpend"]

#: A hold lapses this long after it was taken: longer than a whole call may last (the router's call cap is 90 s).
DEFAULT_RESERVATION_TTL_SECONDS = 300.0
#: How long a settled hold keeps counting: covers the tracker's write-behind delay (50 ms) and a retry (1 s).
DEFAULT_SETTLE_GRACE_SECONDS = 2.0
#: A running sum is recomputed from scratch this often, so rows deleted or edited by hand are picked up.
_RECOMPUTE_SECONDS = 300.0
#: `status` looks for holds of dead processes at most this often (a refused `reserve` always looks).
_DEAD_CHECK_SECONDS = 5.0
_INSERT_HOLD = (
    "INSERT INTO budget_reservations (id, user_id, amount_usd, created_at, expires_at, pid) VALUES (?, ?, ?, ?, ?, ?)"
)


class _HoldIds:
    """Hold ids that are never reused, in any process: a random 30-bit prefix per process (drawn again in a forked
    child), then a counter. Cheaper than a random draw per hold (a system call each), and as safe: a journaled
    release replayed late names its own hold or none."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.pid = os.getpid()
        self._prefix = int.from_bytes(os.urandom(4), "big") >> 2
        self._count = itertools.count(1)

    def next(self) -> int:
        return (self._prefix << 32) | (next(self._count) & 0xFFFFFFFF) or self.next()


_IDS = _HoldIds()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_IDS.renew)


class UsageSpend:
    """Recorded spend since a time, read from the `usage` table on the caller's connection (inside its transaction).

    Rows are only appended, with growing ids, so a running sum per (since, user) is kept and only rows with a
    larger id are read on later calls: one index seek instead of a scan of the month. A sum is rebuilt when the
    table shrank (cleared), every `_RECOMPUTE_SECONDS`, and when the period rolls over (a new `since`).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sums: dict[tuple[float, str | None], tuple[float, int, float]] = {}  # → (usd, max id, computed at)

    @staticmethod
    def top(conn: sqlite3.Connection) -> int | None:
        """The largest usage row id in this snapshot (0 when empty); None when the table does not exist yet."""
        try:
            (top,) = conn.execute("SELECT MAX(id) FROM usage").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None  # nothing recorded yet: the tracker creates the table on first use
            raise
        return int(top or 0)

    def __call__(self, conn: sqlite3.Connection, top: int | None, since: float, user_id: str | None) -> float:
        """Spend since `since` (for `user_id`, or everyone) over rows up to id `top` (from `top(conn)`)."""
        if top is None:
            return 0.0
        user_sql, user_params = ("", ()) if user_id is None else (" AND user_id = ?", (user_id,))
        key = (since, user_id)
        now = self._clock()
        with self._lock:
            known = self._sums.get(key)
            if known is not None and known[1] <= top and now - known[2] < _RECOMPUTE_SECONDS:
                usd, seen, computed = known
                if top > seen:
                    (more,) = conn.execute(
                        f"SELECT TOTAL(cost_usd) FROM usage WHERE id > ? AND id <= ? AND ts >= ?{user_sql}",
                        (seen, top, since, *user_params),
                    ).fetchone()
                    usd += more
                    self._sums[key] = (usd, top, computed)
                return usd
            (usd,) = conn.execute(
                f"SELECT TOTAL(cost_usd) FROM usage WHERE ts >= ? AND id <= ?{user_sql}", (since, top, *user_params)
            ).fetchone()
            if len(self._sums) > 4096:  # old periods and one-off users
                self._sums.clear()
            self._sums[key] = (float(usd), top, now)
            return float(usd)

    def read_with_holds(
        self, conn: sqlite3.Connection, user_id: str, now: float, keys: list[tuple[float, str | None]], skip: list[int]
    ) -> tuple[list[float], dict[str | None, float], int]:
        """The reservation's reads in one statement: the spend of each (since, user) in `keys`, the live holds
        ({None: everyone's, user_id: the user's}, those in `skip` left out) and how many holds have lapsed.

        Each spend is its running sum plus one seek for the rows added since (a full sum when unknown or stale); the
        largest id, read in the same statement, is what the sums then cover."""
        mono = self._clock()
        params: list[object] = [now, user_id]
        with self._lock:
            known = [self._sums.get(key) for key in keys]
        for index, ((since, user), k) in enumerate(zip(keys, known, strict=True)):
            if k is not None and mono - k[2] >= _RECOMPUTE_SECONDS:
                known[index] = k = None
            params += (0 if k is None else k[1], since) if user is None else (0 if k is None else k[1], since, user)
        params += skip
        shape = (tuple(user is None for _, user in keys), len(skip))
        sql = _READ_SQL.get(shape) or _read_sql(*shape)
        try:
            row = conn.execute(sql, params).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            # nothing recorded yet: the tracker creates the usage table on first use
            row = conn.execute(_read_sql((), len(skip)), [now, user_id, *skip]).fetchone()
        held = {None: float(row[0]), user_id: float(row[1])}
        top = row[3] if len(row) > 3 else None
        if top is None:  # no usage row yet
            return [0.0] * len(keys), held, int(row[2])
        spends: list[float] = []
        for index, ((since, user), k) in enumerate(zip(keys, known, strict=True)):
            if k is not None and k[1] > top:  # the table shrank (cleared): sum again
                spends.append(self(conn, top, since, user))
                continue
            added = float(row[4 + index])
            usd, computed = (added, mono) if k is None else (k[0] + added, k[2])
            with self._lock:
                if len(self._sums) > 4096:  # old periods and one-off users
                    self._sums.clear()
                self._sums[(since, user)] = (usd, int(top), computed)
            spends.append(usd)
        return spends, held, int(row[2])


_READ_SQL: dict[tuple[tuple[bool, ...], int], str] = {}


def _read_sql(everyone: tuple[bool, ...], skipped: int) -> str:
    """`UsageSpend.read_with_holds`'s statement for budget lines of this shape (True: everyone's spend, False: the
    user's) and this many holds left out; with no lines, the holds only (the usage table may not exist yet)."""
    columns = [
        "TOTAL(CASE WHEN expires_at > ?1 THEN amount_usd END)",
        "TOTAL(CASE WHEN expires_at > ?1 AND user_id = ?2 THEN amount_usd END)",
        "COUNT(CASE WHEN expires_at <= ?1 THEN 1 END)",
    ]
    if everyone:
        columns.append("(SELECT MAX(id) FROM usage)")
        for whole in everyone:
            user = "" if whole else " AND user_id = ?"
            columns.append(f"(SELECT TOTAL(cost_usd) FROM usage WHERE id > ? AND ts >= ?{user})")
    where = f" WHERE id NOT IN ({','.join('?' * skipped)})" if skipped else ""
    sql = f"SELECT {', '.join(columns)} FROM budget_reservations{where}"
    if len(_READ_SQL) < 256:
        _READ_SQL[(everyone, skipped)] = sql
    return sql


class SQLiteBudget:
    """`Budget` over a shared SQLite file (the usage DB): holds in `budget_reservations`, spend from `usage`."""

    def __init__(
        self,
        settings: BudgetSettings,
        db_path: str | os.PathLike[str] | LimitsDB,
        *,
        clock: Callable[[], float] = time.time,
        reservation_ttl_seconds: float = DEFAULT_RESERVATION_TTL_SECONDS,
        settle_grace_seconds: float | None = None,
        flush_usage: Callable[[], None] | None = None,
    ) -> None:
        """`flush_usage`: the tracker's `flush` (write this process's recorded rows now); `settle_grace_seconds`
        defaults to 0 with it and to `DEFAULT_SETTLE_GRACE_SECONDS` without it."""
        if settle_grace_seconds is None:
            settle_grace_seconds = 0.0 if flush_usage is not None else DEFAULT_SETTLE_GRACE_SECONDS
        if not reservation_ttl_seconds > 0:
            raise ValueError(f"reservation_ttl_seconds must be > 0, got {reservation_ttl_seconds!r}")
        if not settle_grace_seconds >= 0:
            raise ValueError(f"settle_grace_seconds must be >= 0, got {settle_grace_seconds!r}")
        self.settings = settings
        self._db = db_path if isinstance(db_path, LimitsDB) else LimitsDB(db_path)
        self._clock = clock
        self._ttl = float(reservation_ttl_seconds)
        self._grace = float(settle_grace_seconds)
        self._flush_usage = flush_usage
        self._writer: Writer | None = None  # the usage writer of this file, once a hold is released through it
        self._spend = UsageSpend()
        self._dead_checked = -_DEAD_CHECK_SECONDS  # monotonic time of the last look for dead processes' holds
        self._periods: dict[str, tuple[float, float]] = {}  # period → (start, end) last computed

    def _usage_writer(self) -> Writer:
        writer = self._writer
        if writer is None:
            writer = self._writer = writer_for(self._db.storage.path)
        return writer

    @staticmethod
    def _held(
        conn: sqlite3.Connection, user_id: str, now: float, released: list[int] | None = None
    ) -> tuple[dict[str | None, float], int]:
        """Live holds, {None: everyone's, user_id: the user's}, and how many rows have lapsed, in one pass over the
        (few) rows; holds in `released` (settled, their delete queued with their rows) do not count: their rows are
        counted instead."""
        skip = f" AND id NOT IN ({','.join(f'?{i}' for i in range(3, 3 + len(released)))})" if released else ""
        live = f"expires_at > ?2{skip}"
        everyone, own, lapsed = conn.execute(
            f"SELECT TOTAL(CASE WHEN {live} THEN amount_usd END), "
            f"TOTAL(CASE WHEN {live} AND user_id = ?1 THEN amount_usd END), "
            "COUNT(CASE WHEN expires_at <= ?2 THEN 1 END) FROM budget_reservations",
            (user_id, now, *(released or ())),
        ).fetchone()
        return {None: float(everyone), user_id: float(own)}, int(lapsed)

    def _queued(self) -> tuple[list[Row], list[int]]:
        """This process's usage rows and hold releases not in the file yet (call with the file's writer lock held:
        the writer cannot commit meanwhile, so they complete the snapshot exactly)."""
        if self._flush_usage is None:
            return [], []
        return self._usage_writer().pending()

    @staticmethod
    def _queued_spend(rows: list[Row], since: float, user: str | None) -> float:
        ts, who, cost = COL["ts"], COL["user_id"], COL["cost_usd"]
        return float(sum(r[cost] for r in rows if r[ts] >= since and (user is None or r[who] == user)))

    def reserve(self, user_id: str, estimate_usd: float) -> Reservation:
        """Hold `estimate_usd` against every budget that applies, or raise BudgetExceeded naming the first too full.

        With no budget set for this user, nothing is held and the file is not touched (the id is 0).
        """
        lines = budget_lines(self.settings, user_id)
        if not lines:
            return Reservation(0, user_id, estimate_usd)
        if self._dead_checked < 0:  # first use in this process: a killed predecessor's holds go first
            self._release_dead_holds()
        try:
            return self._reserve(user_id, estimate_usd, lines)
        except BudgetExceeded:
            if not self._release_dead_holds():
                raise
        return self._reserve(user_id, estimate_usd, lines)

    def _reserve(
        self, user_id: str, estimate_usd: float, lines: list[tuple[str, str, float, str | None]]
    ) -> Reservation:
        with self._db.immediate() as conn:
            now = self._clock()
            starts = [self._period_start(period, now) for _, period, _, _ in lines]
            queued = self._usage_writer().pending_spend(user_id, min(starts)) if self._flush_usage else (0.0, 0.0, [])
            rows, released = ([], queued[2]) if queued is not None else self._queued()
            spends, held, lapsed = self._spend.read_with_holds(
                conn, user_id, now, [(since, user) for since, (_, _, _, user) in zip(starts, lines, strict=True)],
                released,
            )  # fmt: skip
            if lapsed:
                conn.execute("DELETE FROM budget_reservations WHERE expires_at <= ?", (now,))
            for (scope, period, limit, user), since, spent in zip(lines, starts, spends, strict=True):
                spent += held[user]
                if queued is not None:
                    spent += queued[0] if user is None else queued[1]
                elif rows:
                    spent += self._queued_spend(rows, since, user)
                if spent + estimate_usd > limit + 1e-12:
                    raise BudgetExceeded(scope, spent, limit, resets_text(period, now), estimate_usd)
            expires = now + self._ttl
            # an id never reused, so a journaled release replayed late cannot delete another call's hold
            hold_id = _IDS.next()
            try:
                conn.execute(_INSERT_HOLD, (hold_id, user_id, estimate_usd, now, expires, _IDS.pid))
            except sqlite3.IntegrityError:  # another process drew the same prefix: draw again
                _IDS.renew()
                hold_id = _IDS.next()
                conn.execute(_INSERT_HOLD, (hold_id, user_id, estimate_usd, now, expires, _IDS.pid))
            return Reservation(hold_id, user_id, estimate_usd, expires)

    def _period_start(self, period: str, now: float) -> float:
        """`period_start`, remembered until the period ends (it is asked on every reservation)."""
        known = self._periods.get(period)
        if known is None or not known[0] <= now < known[1]:
            known = self._periods[period] = (period_start(period, now), period_end(period, now).timestamp())
        return known[0]

    def _release_dead_holds(self) -> int:
        """Delete the holds of processes that are provably gone; how many. Never raises.

        A dead process's journal is replayed first (its rows stored, the holds it settled deleted with them), so no
        call it finished is forgotten; what is left are holds of calls it never finished, which no row will settle.
        """
        self._dead_checked = time.monotonic()
        path = self._db.storage.path
        try:
            with self._db.read() as conn:
                now = self._clock()
                pids = [pid for (pid,) in conn.execute("SELECT DISTINCT pid FROM budget_reservations WHERE pid > 0")]
            dead = [pid for pid in pids if pid != _IDS.pid and process_gone(path, pid)]
            if not dead:
                return 0
            if any(has_journal(path, pid) for pid in dead):
                self._usage_writer().replay_dead_journals()
                dead = [pid for pid in dead if not has_journal(path, pid)]  # not replayed (busy): keep their holds
            if not dead:
                return 0
            with self._db.immediate() as conn:
                # created before `now`: a hold of a new process that got a dead one's pid since stays
                released = conn.execute(
                    f"DELETE FROM budget_reservations WHERE pid IN ({','.join('?' * len(dead))}) AND created_at <= ?",
                    (*dead, now),
                ).rowcount
        except Exception:  # noqa: BLE001 - best effort: such holds lapse at their expiry anyway
            _log.warning("could not release the budget holds of dead processes", exc_info=True)
            return 0
        if released:
            _log.info("released %d budget holds of dead processes %s", released, dead)
        return int(released)

    def settle(self, reservation: Reservation | None, actual_usd: float | None = None) -> None:
        """Release a hold once the call is recorded: this process's rows are flushed (with `flush_usage`), then the
        hold is deleted, or kept for `settle_grace_seconds` (at `actual_usd` if given) without it.

        Never raises: a hold that cannot be released now lapses at its expiry anyway.
        """
        if reservation is None or reservation.id == 0:
            return
        try:
            if self._flush_usage is not None:  # the hold goes in the transaction that writes the call's row
                self._usage_writer().release_hold(reservation.id)
                return
            if self._grace == 0:
                self._db.write("DELETE FROM budget_reservations WHERE id = ?", (reservation.id,))
            else:
                amount = reservation.amount_usd if actual_usd is None else max(0.0, float(actual_usd))
                self._db.write(
                    "UPDATE budget_reservations SET amount_usd = ?, expires_at = MIN(expires_at, ?) WHERE id = ?",
                    (amount, self._clock() + self._grace, reservation.id),
                )
        except (StorageError, sqlite3.Error, OSError):
            _log.warning("budget hold %s not released now; it lapses at its expiry", reservation.id, exc_info=True)

    def status(self, user_id: str) -> list[BudgetLine]:
        """Every budget that applies to `user_id`, as every process sees it."""
        lines = budget_lines(self.settings, user_id)
        if not lines:
            return []
        if self._flush_usage is not None:
            self._flush_usage()  # rows and releases queued in this process: in the file before it is read
        if time.monotonic() - self._dead_checked >= _DEAD_CHECK_SECONDS:
            self._release_dead_holds()
        with self._db.read() as conn:
            now = self._clock()
            top, (held, _lapsed) = self._spend.top(conn), self._held(conn, user_id, now)
            return [
                BudgetLine(
                    scope=scope,
                    limit_usd=limit,
                    spent_usd=self._spend(conn, top, period_start(period, now), user),
                    reserved_usd=held[user],
                    resets_at=resets_text(period, now),
                )
                for scope, period, limit, user in lines
            ]

    def close(self) -> None:
        self._db.close()
