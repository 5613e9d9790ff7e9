"""Budget alerts: when spend crosses 50%, 80%, 100% of a budget (the `[alerts] thresholds`), or is forecast to
pass it, tell each configured channel once: a webhook (JSON POST, retried with backoff), the app's banner (the
`budget_alerts` table, read by the pages and acknowledged there) and a log line.

When it runs: `AlertingBudget` wraps the router's budget; when the router settles a paid call's hold (its usage row
is written by then) the user is queued for a background thread, which reads spend and sends. The router's hot path
only pays for a set insert and an Event.set(); a slow or dead webhook delays nothing but other alerts.

Once means once across processes: an alert is claimed by inserting its key (budget, scope, period, threshold) into
a UNIQUE index of the shared DB file; only the process whose INSERT succeeded sends it. With the tracker on
PostgreSQL (`CV_COPILOT_DB=postgresql://…`) the table is there, so that holds across the replicas of a team's
deployment too: the claim is one `INSERT … ON CONFLICT DO NOTHING RETURNING id`, and PostgreSQL makes a second
claimer of the same key wait for the first one's commit, then insert nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import sqlite_utils

from core.base import StorageError
from core.budget import Budget, BudgetLine, Reservation, budget_lines, period_end, period_start
from core.config import PROJECT_ROOT, AlertSettings, BudgetSettings, is_db_url
from core.forecast import Forecast, linear_forecast
from core.tracker.storage import Storage, run_migrations

if TYPE_CHECKING:
    from core.usage_tracker import UsageTracker

__all__ = [
    "FORECAST",
    "Alert",
    "AlertStore",
    "Alerter",
    "AlertingBudget",
    "WebhookSender",
    "alert_store",
    "threshold_label",
]

log = logging.getLogger("cv_copilot.alerts")

#: The threshold label of "forecast to exceed the limit before the period ends".
FORECAST = "forecast"
#: A forecast alert waits until this share of the period has passed: a rate from the first minutes is noise.
FORECAST_MIN_ELAPSED = 0.1


def threshold_label(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def period_label(period: str, now: float) -> str:
    start = datetime.fromtimestamp(period_start(period, now), UTC)
    return start.strftime("%Y-%m-%d" if period == "daily" else "%Y-%m")


@dataclass(frozen=True)
class Alert:
    """One crossing of one threshold of one budget in one period."""

    budget: str  # "user daily", "global monthly"
    scope: str  # "global" or "user:<id>"
    period: str  # "2026-11-27" (daily) or "2026-11" (monthly)
    threshold: str  # "50%", "100%", "forecast"
    spend_usd: float
    limit_usd: float
    forecast_usd: float
    created_at: float
    id: int = 0
    acknowledged_at: float | None = None
    webhook_status: str = "none"  # none (no webhook configured), pending, sent, failed

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        return {
            "budget": self.budget,
            "scope": self.scope,
            "period": self.period,
            "threshold": self.threshold,
            "spend": round(self.spend_usd, 6),
            "limit": self.limit_usd,
            "forecast": round(self.forecast_usd, 6),
            "currency": "USD",
            "created_at": datetime.fromtimestamp(self.created_at, UTC).isoformat(timespec="seconds"),
        }

    def message(self) -> str:
        what = (
            f"forecast to exceed (${self.forecast_usd:,.4f} projected)"
            if self.threshold == FORECAST
            else f"reached {self.threshold}"
        )
        who = "" if self.scope == "global" else f" for {self.scope.removeprefix('user:')}"
        return f"{self.budget} budget{who} {what}: ${self.spend_usd:,.4f} of ${self.limit_usd:,.2f} ({self.period})"


# --- storage --------------------------------------------------------------------------------------------------


def m001_create_budget_alerts(db: sqlite_utils.Database) -> None:
    """One row per alert; the UNIQUE key is what makes a crossing alert once across processes."""
    db.execute(
        "CREATE TABLE budget_alerts (id INTEGER PRIMARY KEY, budget TEXT NOT NULL, scope TEXT NOT NULL, "
        "period TEXT NOT NULL, threshold TEXT NOT NULL, spend_usd REAL NOT NULL, limit_usd REAL NOT NULL, "
        "forecast_usd REAL NOT NULL, created_at REAL NOT NULL, acknowledged_at REAL, "
        "webhook_status TEXT NOT NULL DEFAULT 'none', webhook_attempts INTEGER NOT NULL DEFAULT 0, "
        "webhook_error TEXT)"
    )
    db.execute("CREATE UNIQUE INDEX idx_budget_alerts_key ON budget_alerts (budget, scope, period, threshold)")


def _pg_m001_create_budget_alerts(conn: Any) -> None:
    """The same table on PostgreSQL (recorded under the same name)."""
    conn.execute(
        "CREATE TABLE budget_alerts (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, budget TEXT NOT NULL, "
        "scope TEXT NOT NULL, period TEXT NOT NULL, threshold TEXT NOT NULL, spend_usd DOUBLE PRECISION NOT NULL, "
        "limit_usd DOUBLE PRECISION NOT NULL, forecast_usd DOUBLE PRECISION NOT NULL, "
        "created_at DOUBLE PRECISION NOT NULL, acknowledged_at DOUBLE PRECISION, "
        "webhook_status TEXT NOT NULL DEFAULT 'none', webhook_attempts INTEGER NOT NULL DEFAULT 0, "
        "webhook_error TEXT)"
    )
    conn.execute("CREATE UNIQUE INDEX idx_budget_alerts_key ON budget_alerts (budget, scope, period, threshold)")


_pg_m001_create_budget_alerts.__name__ = m001_create_budget_alerts.__name__

ALERT_MIGRATIONS = (m001_create_budget_alerts,)
PG_ALERT_MIGRATIONS = (_pg_m001_create_budget_alerts,)
#: Every column but the id, in order (migrate-db copies them).
ALERT_COLUMNS = (
    "budget", "scope", "period", "threshold", "spend_usd", "limit_usd", "forecast_usd", "created_at",
    "acknowledged_at", "webhook_status", "webhook_attempts", "webhook_error",
)  # fmt: skip
#: The claim: the row is inserted by whoever comes first, on both backends; the others get no id back.
_CLAIM = (
    "INSERT INTO budget_alerts (budget, scope, period, threshold, spend_usd, limit_usd, forecast_usd, created_at, "
    "webhook_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (budget, scope, period, threshold) DO NOTHING "
    "RETURNING id"
)
_COLUMNS = (
    "id, budget, scope, period, threshold, spend_usd, limit_usd, forecast_usd, created_at, acknowledged_at, "
    "webhook_status"
)


def _alert(row: tuple[Any, ...]) -> Alert:
    (id_, budget, scope, period, threshold, spend, limit, forecast, created, acked, status) = row
    return Alert(budget, scope, period, threshold, spend, limit, forecast, created, id_, acked, status)


def _pg_storage(db_path: Any, local_path: str | os.PathLike[str] | None) -> Any:
    """The PostgreSQL storage `db_path` names, or None for a SQLite file: a postgresql:// URL's pool, or the pool
    this process already serves a tracker's local file from (pages key the store on `tracker.db_path`)."""
    if getattr(db_path, "dialect", "") == "postgresql":
        return db_path
    if isinstance(db_path, Storage):
        return None
    from core.tracker import pg_storage

    if is_db_url(str(db_path)):
        return pg_storage.pg_storage_for(str(db_path), local_path or PROJECT_ROOT / "data" / "usage.db")
    return pg_storage.pg_storage_at(db_path)


class AlertStore:
    """The `budget_alerts` table in the shared DB file, or in the team's PostgreSQL database.

    `db_path` is a file path, an open storage, or a postgresql:// URL (then `local_path` is this machine's file).
    """

    def __init__(self, db_path: Any, *, local_path: str | os.PathLike[str] | None = None) -> None:
        pg = _pg_storage(db_path, local_path)
        self._storage: Any = pg or (db_path if isinstance(db_path, Storage) else Storage(db_path))
        self._migrated = threading.Lock()
        self._pending = pg is not None
        if pg is not None:
            # migrated on first use: PostgreSQL may be down while the router is built, and calls go on meanwhile
            with contextlib.suppress(StorageError):
                self._ready()
        else:
            run_migrations(self._storage, "alerts", ALERT_MIGRATIONS)

    def _ready(self) -> None:
        """Apply PostgreSQL's migrations once (a `StorageError` while the server is down; tried again next use)."""
        if not self._pending:
            return
        from core.tracker.pg_storage import run_pg_migrations

        with self._migrated, self._storage.guard():
            if self._pending:
                run_pg_migrations(self._storage, "alerts", PG_ALERT_MIGRATIONS)
                self._pending = False

    @property
    def location(self) -> str:
        """Where the alerts are (a PostgreSQL URL without its password, or the file)."""
        return str(getattr(self._storage, "display", self._storage.path))

    def claim(self, alert: Alert) -> Alert | None:
        """Record `alert`; the stored alert if this call was first to record its key, else None."""
        self._ready()
        with self._storage.write() as conn:
            row = conn.execute(
                _CLAIM,
                (
                    alert.budget,
                    alert.scope,
                    alert.period,
                    alert.threshold,
                    alert.spend_usd,
                    alert.limit_usd,
                    alert.forecast_usd,
                    alert.created_at,
                    alert.webhook_status,
                ),
            ).fetchone()
        if row is None:
            return None
        return Alert(**{**alert.__dict__, "id": int(row[0])})

    def webhook_result(self, alert_id: int, status: str, attempts: int, error: str | None) -> None:
        self._ready()
        with self._storage.write() as conn:
            conn.execute(
                "UPDATE budget_alerts SET webhook_status = ?, webhook_attempts = ?, webhook_error = ? WHERE id = ?",
                (status, attempts, error, alert_id),
            )

    def alerts(self, *, unacknowledged_only: bool = False, limit: int = 200) -> list[Alert]:
        """Newest first."""
        where = "WHERE acknowledged_at IS NULL" if unacknowledged_only else ""
        self._ready()
        with self._storage.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM budget_alerts {where} ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_alert(r) for r in rows]

    def acknowledge(self, alert_id: int | None = None, *, now: float | None = None) -> int:
        """Acknowledge one alert (or all open ones with None). Returns how many were acknowledged."""
        at = time.time() if now is None else now
        self._ready()
        with self._storage.write() as conn:
            if alert_id is None:
                cur = conn.execute("UPDATE budget_alerts SET acknowledged_at = ? WHERE acknowledged_at IS NULL", (at,))
            else:
                cur = conn.execute(
                    "UPDATE budget_alerts SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                    (at, alert_id),
                )
            return int(cur.rowcount)

    def close(self) -> None:
        self._storage.close()


_STORES: dict[str, AlertStore] = {}
_STORES_LOCK = threading.Lock()


def alert_store(db_path: Any, *, local_path: str | os.PathLike[str] | None = None) -> AlertStore:
    """This process's `AlertStore` for a DB file (migrated once, not on every page render). A tracker's file that
    this process serves from PostgreSQL gives the store in PostgreSQL (see `_pg_storage`)."""
    pg = _pg_storage(db_path, local_path)
    key = f"{pg.url}|{pg.path}" if pg is not None else str(getattr(db_path, "path", db_path))
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = AlertStore(pg if pg is not None else db_path)
        return store


# --- the webhook ------------------------------------------------------------------------------------------------


class WebhookSender:
    """POSTs an alert's JSON; retries connection errors, 429 and 5xx with exponential backoff (0.5 s, 1 s, 2 s…)."""

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._client = httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False)

    def send(self, payload: dict[str, Any]) -> tuple[bool, int, str | None]:
        """(delivered, attempts made, last error). Never raises."""
        error: str | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                reply = self._client.post(self.url, json=payload, headers={"User-Agent": "cv-copilot-alerts"})
                if reply.status_code < 300:
                    return True, attempt, None
                error = f"HTTP {reply.status_code}"
                if reply.status_code < 500 and reply.status_code != 429:
                    return False, attempt, error  # the receiver refused it: retrying will not help
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            if attempt < self.attempts:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
        return False, self.attempts, error

    def close(self) -> None:
        self._client.close()


# --- evaluation -------------------------------------------------------------------------------------------------


class Alerter:
    """Checks a user's budgets against the thresholds and sends each new crossing to every channel."""

    def __init__(
        self,
        alerts: AlertSettings,
        budgets: BudgetSettings,
        tracker: UsageTracker,
        *,
        store: AlertStore | None = None,
        sender: WebhookSender | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.alerts = alerts
        self.budgets = budgets
        self._tracker = tracker
        self.store = store or AlertStore(tracker.db_path)
        self._sender = sender or (WebhookSender(alerts.webhook_url) if alerts.webhook_url else None)
        self._clock = clock
        self._pending: set[str] = set()
        self._cond = threading.Condition()
        self._busy = False
        self._draining = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    # the channels' inputs
    def due(self, user_id: str) -> list[Alert]:
        """Every threshold of every budget of `user_id` that spend has crossed now (claimed or not)."""
        now = self._clock()
        found: list[Alert] = []
        for budget, period, limit, user in budget_lines(self.budgets, user_id):
            if limit <= 0:
                continue
            start = period_start(period, now)
            end = period_end(period, now).timestamp()
            spent = self._tracker.spend_usd(start, user)
            forecast = linear_forecast(spent, start, end, now, limit)
            scope = "global" if user is None else f"user:{user}"
            label = period_label(period, now)
            for fraction in sorted(self.alerts.thresholds):
                if spent >= fraction * limit - 1e-12:
                    found.append(
                        Alert(
                            budget, scope, label, threshold_label(fraction), spent, limit, forecast.projected_usd, now
                        )
                    )
            if _forecast_due(forecast, start, end, now, spent, limit):
                found.append(Alert(budget, scope, label, FORECAST, spent, limit, forecast.projected_usd, now))
        return found

    def check(self, user_id: str) -> list[Alert]:
        """Claim and send every new crossing for `user_id`; the alerts sent now."""
        sent: list[Alert] = []
        status = "pending" if self._sender is not None else "none"
        for candidate in self.due(user_id):
            claimed = self.store.claim(Alert(**{**candidate.__dict__, "webhook_status": status}))
            if claimed is None:
                continue
            log.warning("budget alert: %s", claimed.message())
            if self._sender is not None:
                ok, attempts, error = self._sender.send(claimed.payload())
                self.store.webhook_result(claimed.id, "sent" if ok else "failed", attempts, error)
                if not ok:
                    log.error("budget alert webhook failed after %d attempts: %s", attempts, error)
            sent.append(claimed)
        return sent

    # the background queue
    def notify(self, user_id: str) -> None:
        """Queue a check for `user_id` on the alerts thread (returns at once)."""
        with self._cond:
            if self._closed:
                return
            first = not self._pending
            self._pending.add(user_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="budget-alerts", daemon=True)
                self._thread.start()
            elif first:  # else the thread is gathering already: waking it on every settled call costs a switch each
                self._cond.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued check is done (tests, shutdown). False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._draining += 1
            self._cond.notify_all()  # no gathering while someone waits
            try:
                while self._pending or self._busy:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._draining -= 1
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed and not self._pending:
                    return
                # a burst of settled calls becomes one check per user (each check reads the spend: a flush and
                # a query per budget), at most _GATHER_S late
                self._cond.wait_for(lambda: self._closed or self._draining > 0, timeout=_GATHER_S)
                users = sorted(self._pending)
                self._pending.clear()
                self._busy = True
            try:
                for user in users:
                    try:
                        self.check(user)
                    except Exception:
                        log.exception("checking budget alerts failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def close(self, timeout: float = 10.0) -> None:
        self.drain(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._sender is not None:
            self._sender.close()


def _forecast_due(forecast: Forecast, start: float, end: float, now: float, spent: float, limit: float) -> bool:
    elapsed = (now - start) / (end - start)
    return spent < limit and elapsed >= FORECAST_MIN_ELAPSED and forecast.projected_usd > limit


#: How long the alerts thread gathers notifications before checking.
_GATHER_S = 0.25


class AlertingBudget:
    """A `Budget` that queues an alert check for the user after each settled hold (the call's row is written)."""

    def __init__(self, inner: Budget, alerter: Alerter) -> None:
        self.inner = inner
        self.alerter = alerter

    def reserve(self, user_id: str, estimate_usd: float) -> Reservation:
        return self.inner.reserve(user_id, estimate_usd)

    def settle(self, reservation: Reservation | None, actual_usd: float | None = None) -> None:
        self.inner.settle(reservation, actual_usd)
        if reservation is not None and reservation.id:
            self.alerter.notify(reservation.user_id)

    def status(self, user_id: str) -> list[BudgetLine]:
        return self.inner.status(user_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
