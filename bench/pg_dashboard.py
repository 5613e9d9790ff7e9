"""The usage dashboard on PostgreSQL at 10,000,000 rows: every dashboard query, timed.

    python bench/pg_dashboard.py [--rows 10000000] [--url postgresql://… | --keep DIR] [--rebuild]

Without --url it makes a throwaway cluster (initdb + pg_ctl on a free loopback port, as the tests do; as root it
runs as the `postgres` user) and removes it afterwards; with --keep DIR the cluster lives in DIR and a later run
starts it again and reuses its rows (building 10M rows takes a while; --rebuild forces a new load). The time of the
load is kept in the database, and the queries run on a clock that starts there, so a reused database is read as
it was on the day it was built. The rows are made inside PostgreSQL with generate_series
(70 % in the last 24 h, the rest over 30 days; 40 users, 5 providers, 7 tasks, 3 % failures, 10 % cache hits),
inserted in time order as calls arrive,
the indexes are built after the load, and the rollups are built from the raw rows by the tracker's own
`rebuild_rollup()`. Then each query of `bench/tracker_scale.py`'s dashboard runs through `UsageTracker`: median of 5
after a warm-up; then all of them at once on the tracker's connection pool (as a page that runs its independent
queries together does), and the usage page's own loader (`core.charts.load_dashboard`, which runs its queries on a
small thread pool). Target: each query, and the dashboard page as a whole, <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench.tracker_scale import dashboard_queries, timed
from core.charts import load_dashboard
from core.tracker.pg_schema import USAGE_TABLES
from core.usage_tracker import UsageTracker

_PROVIDERS = "ARRAY['openai','gemini','groq','grok','local']"
_MODELS = "ARRAY['gpt-4o-mini','gemini-2.0-flash','llama-3.1-8b-instant','grok-2','local']"
_TASKS = (
    "ARRAY['cv_parsing','cv_tailoring','cover_letter','email_drafting','fast_summary','job_analysis','job_matching']"
)


def fill_sql(rows: int, now: float) -> str:
    """One INSERT … SELECT over generate_series: deterministic pseudo-random rows (hashes of the row number)."""
    return f"""
    INSERT INTO usage (ts, user_id, task_type, provider, model, input_tokens, output_tokens, cost_usd,
        baseline_cost_usd, saved_cost_usd, latency_ms, success, error_kind, cached, fallback_chain, tokens_estimated,
        price_estimated, challenger, outcome, cached_input_tokens, reasoning_tokens, cache_saved_usd, route_reason,
        request_id)
    SELECT
        CASE WHEN r.a < 0.7 THEN {now} - r.b * 86400 ELSE {now} - 86400 - r.b * 29 * 86400 END,
        'user' || lpad((r.h % 40)::text, 3, '0'),
        ({_TASKS})[1 + (r.h / 40) % 7],
        ({_PROVIDERS})[1 + r.p],
        ({_MODELS})[1 + r.p],
        200 + (r.h % 1800), 50 + (r.h % 600),
        CASE WHEN r.cached THEN 0 ELSE (r.h % 1000) / 100000.0 END,
        (r.h % 1000) / 80000.0,
        CASE WHEN r.cached THEN (r.h % 1000) / 100000.0 ELSE 0 END,
        CASE WHEN r.cached THEN 1 ELSE 150 + (r.h % 2500) END,
        CASE WHEN r.failed THEN 0 ELSE 1 END,
        CASE WHEN r.failed THEN (ARRAY['timeout','rate_limited','server_error'])[1 + r.h % 3] END,
        CASE WHEN r.cached THEN 1 ELSE 0 END,
        '["' || ({_PROVIDERS})[1 + r.p] || '"]', 0, 0, 0,
        CASE WHEN r.failed THEN 'error' ELSE 'ok' END,
        (r.h % 7) * 10, (r.h % 5) * 20, (r.h % 3) / 100000.0, 'default',
        'bench-' || r.g
    FROM (
        SELECT g, h, (h % 1000) / 1000.0 AS a, ((h / 1000) % 100000) / 100000.0 AS b, (h / 7) % 5 AS p,
               h % 100 < 3 AS failed, (h / 100) % 10 = 0 AS cached
        FROM (SELECT g, abs(hashint8(g)::bigint) AS h FROM generate_series(1, {rows}) AS g) AS s
    ) AS r
    ORDER BY 1
    """


def build(url: str, rows: int, local: Path) -> None:
    """Migrate, load `rows` rows with the indexes dropped (then rebuilt as the migrations made them), roll up."""
    now = time.time()
    tracker = UsageTracker(url, local_path=local)
    tracker.clear()
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage' AND schemaname = current_schema() "
            "AND indexname NOT LIKE '%pkey'"
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f"DROP INDEX {name}")  # type: ignore[arg-type]
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        start = time.perf_counter()
        conn.execute(fill_sql(rows, now))  # type: ignore[arg-type]
        print(f"loaded {rows:,} rows in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        for _name, definition in indexes:
            conn.execute(definition)
        print(f"built {len(indexes)} indexes in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    tracker.rebuild_rollup()
    print(f"built the rollups from the raw rows in {time.perf_counter() - start:.1f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        for table in USAGE_TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")  # type: ignore[arg-type]
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
        print(f"vacuum analyze in {time.perf_counter() - start:.1f} s; database size {size[0] if size else '?'}")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_built (rows BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL)")
        conn.execute("DELETE FROM bench_built")
        conn.execute("INSERT INTO bench_built VALUES (%s, %s)", (rows, now))
    tracker.close()


def built(url: str) -> tuple[int, float] | None:
    """(rows, time of the load) of a database this bench filled before, or None."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('bench_built')").fetchone() == (None,):
            return None
        row = conn.execute("SELECT rows, at FROM bench_built").fetchone()
    return (int(row[0]), float(row[1])) if row else None


def kept_server(folder: Path) -> Any:
    """A cluster in `folder` (made there on first use), started; it is stopped, not removed, at the end."""
    from tests.pg import PgServer

    folder = folder.resolve()
    server = PgServer()
    shutil.rmtree(server.folder, ignore_errors=True)
    fresh = not (folder / "data" / "PG_VERSION").exists()
    folder.mkdir(parents=True, exist_ok=True)
    if server.os_user is not None:
        import pwd

        entry = pwd.getpwnam(server.os_user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server.folder, server.data, server.log = folder, folder / "data", folder / "server.log"
    server._initialised = not fresh
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--url", help="an existing database to fill (its usage tables are cleared first)")
    parser.add_argument("--keep", type=Path, help="a folder for a cluster kept (and reused) across runs")
    parser.add_argument("--rebuild", action="store_true", help="load the rows again even if the database has them")
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        from tests.pg import PgServer

        server = kept_server(args.keep) if args.keep else PgServer()
        fresh = not server._initialised
        server.start()
        if fresh:
            server.execute("ALTER SYSTEM SET shared_buffers = '1GB'", database="postgres")
            server.stop()
            server.start()
        url = server.url()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            buffers = conn.execute("SHOW shared_buffers").fetchone()
        load = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, PostgreSQL {version[0] if version else '?'} "
            f"(shared_buffers {buffers[0] if buffers else '?'}), psycopg {psycopg.__version__}; "
            f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (a shared machine: figures vary)"
        )
        local = Path(tempfile.mkdtemp(prefix="pg_dashboard_")) / "local.db"
        previous = built(url)
        if args.rebuild or previous is None or previous[0] != args.rows:
            build(url, args.rows, local)
            previous = built(url)
        else:
            print(f"reusing the {previous[0]:,} rows loaded {time.time() - previous[1]:.0f} s ago")
        assert previous is not None
        loaded_at, started = previous[1], time.time()
        tracker = UsageTracker(url, local_path=local, clock=lambda: loaded_at + (time.time() - started))
        print(f"\n== {args.rows:,} rows on PostgreSQL (median of 5, ms) ==")
        total = 0.0
        worst = ("", 0.0)
        for name, fn in dashboard_queries(tracker).items():
            ms = timed(fn)
            total += ms
            worst = max(worst, (name, ms), key=lambda w: w[1])
            print(f"  {name:<40} {ms:8.1f}")
        print(f"  {'all of the above, one after another':<40} {total:8.1f}")
        queries = list(dashboard_queries(tracker).values())
        workers = tracker._storage._pool_size  # the pool's connections: one query per connection at a time
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page") as pool:
            together = timed(lambda: [f.result() for f in [pool.submit(q) for q in queries]])
        print(f"  {f'all of the above, together on {workers} connections':<40} {together:8.1f}")
        page = timed(lambda: load_dashboard(tracker, 24))
        print(f"  {'the usage page (load_dashboard, 24 h)':<40} {page:8.1f}")
        print(
            f"\nslowest query: {worst[0]} {worst[1]:.1f} ms; target <= 2000 ms each and for the page "
            f"(its queries run together, as load_dashboard runs them)"
        )
        tracker.close()
    finally:
        if server is not None:
            if args.keep:
                server.stop()
            else:
                server.destroy()


if __name__ == "__main__":
    main()
