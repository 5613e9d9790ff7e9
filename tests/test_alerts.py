"""Budget alerts end to end: calls through the router on fake providers, a real webhook receiver on 127.0.0.1.

The store's contract (claim once, acknowledge) runs on both backends (`db`: a SQLite file and a real PostgreSQL),
with claims racing in threads on separate pools and in separate processes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.alerts import FORECAST_MIN_ELAPSED, Alert, Alerter, AlertingBudget, AlertStore, WebhookSender, alert_store
from core.budget import BudgetGuard
from core.router import ModelRouter
from core.services import build_budget
from core.usage_tracker import UsageTracker
from tests.backends import Db, db_fixture  # noqa: F401 - the fixture `db`
from tests.pg import needs_pg, pg_url  # noqa: F401 - the fixture `db` asks for on PostgreSQL
from tests.processes import run_together
from tests.test_router_costs import KEYS, NOON, PRICES, Clock, generate, honest_fleet, settings_for, worst_case

MAX_TOKENS = 100


class Receiver:
    """A loopback HTTP server that records each POSTed JSON body; `statuses` are replied in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = outer.statuses.pop(0) if outer.statuses else 200
                if status == 200:
                    outer.bodies.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def alerting_router(tmp_path: Path, config: str, clock: Clock) -> tuple[ModelRouter, Alerter]:
    settings = settings_for(tmp_path, config)
    tracker = UsageTracker(settings.db_path, clock=clock)
    alerter = Alerter(settings.alerts, settings.budgets, tracker, clock=clock)
    budget = AlertingBudget(BudgetGuard(settings.budgets, tracker.spend_usd, clock=clock), alerter)
    router = ModelRouter(
        settings, transport=httpx.MockTransport(honest_fleet(MAX_TOKENS)), tracker=tracker, budget=budget
    )
    return router, alerter


def test_one_post_per_threshold_crossed_with_the_json_fields_and_none_repeated(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    limit = 4 * worst_case("openai", MAX_TOKENS)  # four openai calls fill it exactly
    config = (
        f"[cache]\nenabled = false\n[budgets]\nglobal_daily_usd = {limit!r}\n[alerts]\nwebhook_url = '{receiver.url}'\n"
    )
    router, alerter = alerting_router(tmp_path, config, Clock(NOON))  # noon: half the day gone
    seen: list[list[str]] = []
    with caplog.at_level(logging.WARNING, logger="cv_copilot.alerts"):
        for _ in range(8):
            generate(router, max_tokens=MAX_TOKENS, user_id="ann")
            assert alerter.drain()
            seen.append([b["threshold"] for b in receiver.bodies])
    # spend after each call: 25%, 50%, 75% (forecast 150% at noon), 100%, then over budget → the free engine
    assert [[], ["50%"], ["50%", "forecast"]] + [["50%", "forecast", "80%", "100%"]] * 5 == seen
    first = receiver.bodies[0]
    assert {"budget", "scope", "spend", "limit", "period", "forecast"} <= set(first)
    assert ("global daily", "global", "2024-03-15") == (first["budget"], first["scope"], first["period"])
    assert pytest.approx(limit / 2) == first["spend"]
    assert pytest.approx(limit) == first["limit"]
    assert pytest.approx(limit) == first["forecast"]  # half the limit at noon, at this rate exactly the limit
    assert 4 == sum("budget alert:" in r.getMessage() for r in caplog.records)
    stored = alerter.store.alerts()
    assert ["100%", "80%", "forecast", "50%"] == [a.threshold for a in stored]
    assert {"sent"} == {a.webhook_status for a in stored}
    # another process on the same file finds nothing new to send
    other = Alerter(router.settings.alerts, router.settings.budgets, UsageTracker(router.settings.db_path))
    assert [] == other.check("ann")
    assert 4 == len(receiver.bodies)


def test_the_composition_root_wires_alerts_into_the_routers_budget(tmp_path: Path, receiver: Receiver) -> None:
    limit = 2 * worst_case("openai", MAX_TOKENS)
    settings = settings_for(
        tmp_path, f"[budgets]\nuser_daily_usd = {limit!r}\n[alerts]\nwebhook_url = '{receiver.url}'\n"
    )
    tracker = UsageTracker(settings.db_path)
    budget = build_budget(settings, tracker)
    assert isinstance(budget, AlertingBudget)
    router = ModelRouter(
        settings, transport=httpx.MockTransport(honest_fleet(MAX_TOKENS)), tracker=tracker, budget=budget
    )  # type: ignore[arg-type]
    generate(router, max_tokens=MAX_TOKENS, user_id="bob")
    assert budget.alerter.drain()
    sent = [(b["budget"], b["scope"], b["threshold"]) for b in receiver.bodies]
    # half the day's budget gone: "50%"; and "forecast" too when, at this hour of the UTC day, that pace passes the
    # limit (the 50% alert carries the same forecast) and enough of the day has passed to forecast at all
    now = datetime.now(UTC)
    elapsed = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() / 86400
    due = receiver.bodies[0]["forecast"] > receiver.bodies[0]["limit"] and elapsed >= FORECAST_MIN_ELAPSED
    forecast = [("user daily", "user:bob", "forecast")] if due else []
    assert [("user daily", "user:bob", "50%"), *forecast] == sent


def test_no_budget_means_the_plain_guard(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert not isinstance(build_budget(settings, UsageTracker(settings.db_path)), AlertingBudget)


def _alert(threshold: str = "50%") -> Alert:
    return Alert("global daily", "global", "2024-03-15", threshold, 0.5, 1.0, 1.0, NOON)


@pytest.mark.parametrize(
    ("statuses", "delivered", "attempts", "sleeps"),
    [
        ([], True, 1, []),
        ([503, 503], True, 3, [0.5, 1.0]),
        ([429], True, 2, [0.5]),
        ([500, 500, 500, 500], False, 4, [0.5, 1.0, 2.0]),
        ([400], False, 1, []),  # refused: retrying cannot help
    ],
)
def test_webhook_retries_with_backoff(statuses: list[int], delivered: bool, attempts: int, sleeps: list[float]) -> None:
    receiver = Receiver(statuses)
    slept: list[float] = []
    try:
        ok, made, _error = WebhookSender(receiver.url, sleep=slept.append).send(_alert().payload())
    finally:
        receiver.close()
    assert (delivered, attempts, sleeps) == (ok, made, slept)
    assert (1 if delivered else 0) == len(receiver.bodies)


def test_an_unreachable_webhook_fails_quietly_and_is_recorded(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "[budgets]\nglobal_daily_usd = 0.000001\n")
    tracker = UsageTracker(settings.db_path, clock=Clock(NOON))
    tracker.record_usage(provider="openai", model="gpt-4o", task_type="cv_tailoring", cost_usd=0.01, user_id="ann")
    sender = WebhookSender("http://127.0.0.1:9/closed", attempts=2, sleep=lambda s: None)
    alerter = Alerter(settings.alerts, settings.budgets, tracker, sender=sender, clock=Clock(NOON))
    assert ["50%", "80%", "100%"] == [a.threshold for a in alerter.check("ann")]
    assert {"failed"} == {a.webhook_status for a in alerter.store.alerts()}


def _separate_stores(db: Db, n: int) -> list[AlertStore]:
    """`n` stores that share nothing in this process: each its own connections (on PostgreSQL, its own pool)."""
    if not db.postgresql:
        return [AlertStore(db.target) for _ in range(n)]
    from core.tracker.pg_storage import PgStorage

    pools = [PgStorage(str(db.target), local_path=db.local, pool_size=1) for _ in range(n)]
    for pool in pools:
        db._keep(pool)
    return [AlertStore(pool) for pool in pools]


def test_concurrent_claims_of_one_crossing_send_it_once(db: Db) -> None:
    stores = _separate_stores(db, 8)
    wins: list[Alert | None] = []
    barrier = threading.Barrier(len(stores))

    def claim(store: AlertStore) -> None:
        barrier.wait()
        wins.append(store.claim(_alert()))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 8 == len(wins)  # every claim answered (a loser gets None, not an error)
    assert 1 == sum(w is not None for w in wins)
    assert [(w.id, "50%") for w in wins if w is not None] == [(a.id, a.threshold) for a in stores[0].alerts()]


def _claim_in_a_process(target: str, local: str, start: Any) -> list[str]:
    store = AlertStore(target, local_path=local)
    store.alerts()  # connected and migrated before the start
    start.wait(60)
    claimed = [store.claim(_alert(t)) for t in ("50%", "80%", "100%")]
    return [c.threshold for c in claimed if c is not None]


def test_processes_racing_to_claim_the_same_crossings_send_each_once(db: Db) -> None:
    """Replicas of a deployment: four processes claim the same three crossings at once; each is won exactly once."""
    db.alerts()  # the table exists before the race (migrating is serialised too, but not what is tested here)
    won = run_together(_claim_in_a_process, 4, str(db.target), str(db.local))
    assert ["100%", "50%", "80%"] == sorted(t for w in won for t in w)
    assert 3 == len(db.alerts().alerts())


def test_a_claim_returns_the_stored_id_and_the_webhook_result_is_kept(db: Db) -> None:
    store = db.alerts()
    claimed = store.claim(Alert(**{**_alert().__dict__, "webhook_status": "pending"}))
    assert claimed is not None and claimed.id > 0
    assert store.claim(_alert()) is None
    store.webhook_result(claimed.id, "sent", 2, None)
    [stored] = store.alerts()
    assert (claimed.id, "sent", "50%", 0.5, 1.0) == (
        stored.id, stored.webhook_status, stored.threshold, stored.spend_usd, stored.limit_usd
    )  # fmt: skip


def test_acknowledging_hides_an_alert_from_the_banner(db: Db) -> None:
    store = db.alerts()
    first, second = store.claim(_alert("50%")), store.claim(_alert("80%"))
    assert first is not None and second is not None
    assert 1 == store.acknowledge(first.id)
    assert ["80%"] == [a.threshold for a in store.alerts(unacknowledged_only=True)]
    assert 1 == store.acknowledge()
    assert [] == store.alerts(unacknowledged_only=True)
    assert 2 == len(store.alerts())


def test_the_sidebar_banner_shows_open_alerts_until_acknowledged(db_path: Path) -> None:
    import os

    from streamlit.testing.v1 import AppTest

    from tests.apptest import APP

    Path(os.environ["CV_COPILOT_CONFIG"]).write_text("[budgets]\nglobal_monthly_usd = 1.0\n", encoding="utf-8")
    store = alert_store(db_path)
    claimed = store.claim(Alert("global monthly", "global", "2026-11", "80%", 0.8, 1.0, 1.2, NOON))
    assert claimed is not None
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    banner = [w.value for w in at.sidebar.warning if "budget reached 80%" in w.value]
    assert ["global monthly budget reached 80%: $0.8000 of $1.00 (2026-11)"] == banner
    store.acknowledge(claimed.id)
    at.run()
    assert [] == [w.value for w in at.sidebar.warning if "budget reached 80%" in w.value]


@needs_pg
def test_two_replicas_on_one_postgresql_send_each_crossing_once_and_show_the_same_banner(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    """Two app replicas (each its own local file and pool) on one PostgreSQL, wired by the composition root: the
    spend they share crosses 50%, then 80% and 100%; the webhook gets each crossing once, whichever replica saw it,
    and both replicas' banners (keyed on their tracker's file, as the pages do) read the same alerts."""
    from core.config import load_settings

    limit = 4 * worst_case("openai", MAX_TOKENS)
    config = tmp_path / "cv_copilot.toml"
    config.write_text(
        PRICES + f"[cache]\nenabled = false\n[budgets]\nglobal_daily_usd = {limit!r}\n"
        f"[alerts]\nwebhook_url = '{receiver.url}'\n",
        encoding="utf-8",
    )
    clock = Clock(NOON)
    replicas: list[tuple[ModelRouter, Any]] = []
    for name in ("a", "b"):
        env = {
            "CV_COPILOT_NO_DOTENV": "1",
            "CV_COPILOT_DB": pg_url,
            "CV_COPILOT_LOCAL_DB": str(tmp_path / f"{name}.db"),
        }
        settings = load_settings(env={**env, **KEYS}, config_path=config)
        tracker = UsageTracker(str(settings.db_url), clock=clock, local_path=settings.db_path)
        budget = build_budget(settings, tracker)
        assert isinstance(budget, AlertingBudget)
        budget.alerter._clock = clock
        router = ModelRouter(
            settings, transport=httpx.MockTransport(honest_fleet(MAX_TOKENS)), tracker=tracker, budget=budget
        )  # type: ignore[arg-type]
        replicas.append((router, budget.alerter))
    for router, alerter in (replicas[0], replicas[0], replicas[1], replicas[1]):
        generate(router, max_tokens=MAX_TOKENS, user_id="ann")
        assert alerter.drain()
    for _router, alerter in replicas:  # each replica looks again: nothing new to send
        assert [] == alerter.check("ann")
    assert ["50%", "forecast", "80%", "100%"] == [b["threshold"] for b in receiver.bodies]
    banners = [alert_store(router.tracker.db_path).alerts(unacknowledged_only=True) for router, _ in replicas]
    assert ["100%", "80%", "forecast", "50%"] == [a.threshold for a in banners[0]] == [a.threshold for a in banners[1]]
    assert "postgresql://" in alert_store(replicas[1][0].tracker.db_path).location
    alert_store(replicas[0][0].tracker.db_path).acknowledge()  # acknowledged on one replica: gone on both
    assert [] == alert_store(replicas[1][0].tracker.db_path).alerts(unacknowledged_only=True)


def test_a_store_on_a_postgresql_that_is_down_is_built_and_fails_clearly_when_used(tmp_path: Path) -> None:
    """The router (and its alerter) is built while PostgreSQL is down: calls go on; only reading alerts fails."""
    from core.base import StorageError

    store = AlertStore("postgresql://ann:pa55word@127.0.0.1:9/usage", local_path=tmp_path / "local.db")
    with pytest.raises(StorageError, match="unavailable") as caught:
        store.alerts()
    assert "pa55word" not in str(caught.value)
