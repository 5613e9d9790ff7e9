"""Exact-match response cache in SQLite (table `response_cache`, in the same file as the usage tracker), or in
PostgreSQL with the tracker (`CV_COPILOT_DB=postgresql://…`), shared by every replica of a team's deployment.

Privacy: the cached content is the AI's answer, which may quote the user's CV or job text. It stays on this machine,
expires after `ttl_seconds`, and `clear()` wipes it (the settings page has a button for it). The key is a sha256
of the request, so prompts themselves are never stored.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlite_utils

from core.base import StorageError
from core.config import PROJECT_ROOT, is_db_url
from core.tracker.storage import open_storage, run_migrations
from core.workspace_context import note_cache_key

if TYPE_CHECKING:
    from hashlib import _Hash

_log = logging.getLogger(__name__)

__all__ = ["ResponseCache"]

_KEY_VERSION = 2
_EXTRA_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)

#: Writes leave the caller's path: one background writer serves every cache in the process.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="response-cache-write")
#: How long a stored answer waits before its batch is written: answers stored meanwhile share one transaction
#: (a commit per answer cost more than the rest of the store; in a burst, a batch of 27 answers cost ~11 µs each,
#: one of 270 ~5 µs). get() serves pending answers from memory; another process finds them once written, and an
#: answer lost to a crash only costs a future miss.
_WRITE_DELAY_S = 0.25
_LIVE: weakref.WeakSet[ResponseCache] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for cache in list(_LIVE):
        try:
            cache.flush()
        except Exception:  # noqa: BLE001 - at exit, a failed cache write only costs a future cache miss
            pass


def m001_create_response_cache(db: sqlite_utils.Database) -> None:
    """One row per cached answer; WITHOUT ROWID so a hit is one B-tree lookup on the key."""
    db.execute(
        "CREATE TABLE response_cache (key TEXT PRIMARY KEY, content TEXT NOT NULL, input_tokens INTEGER NOT NULL, "
        "output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, model TEXT NOT NULL, created REAL NOT NULL) "
        "WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_response_cache_created ON response_cache (created)")


def _pg_m001_create_response_cache(conn: Any) -> None:
    """The same table on PostgreSQL (recorded under the same name)."""
    conn.execute(
        "CREATE TABLE response_cache (key TEXT PRIMARY KEY, content TEXT NOT NULL, input_tokens BIGINT NOT NULL, "
        "output_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, model TEXT NOT NULL, "
        "created DOUBLE PRECISION NOT NULL)"
    )
    conn.execute("CREATE INDEX idx_response_cache_created ON response_cache (created)")


_pg_m001_create_response_cache.__name__ = m001_create_response_cache.__name__

_MIGRATIONS = (m001_create_response_cache,)
_PG_MIGRATIONS = (_pg_m001_create_response_cache,)
#: Store (or refresh) one answer; the same statement on SQLite and PostgreSQL.
_UPSERT = (
    "INSERT INTO response_cache (key, content, input_tokens, output_tokens, cost_usd, model, created) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET content = excluded.content, "
    "input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd, "
    "model = excluded.model, created = excluded.created"
)


#: Parameter hashes by parameter set: a router asks with a handful of sets (provider, model, task, limits).
_PARAMS: dict[tuple[Any, ...], _Hash] = {}
_PARAMS_MAX = 256


def _params_digest(
    provider: str,
    model: str,
    system_size: int | None,
    max_tokens: int,
    temperature: float,
    json_mode: bool,
    extra: Mapping[str, Any] | None,
) -> _Hash:
    """A sha256 that has read the key's parameters and the newline that ends them (see `ResponseCache.make_key`).
    It is remembered for parameter sets of plain types only: a set is looked up by value, and values that compare
    equal but differ as parameters (1, 1.0 and True; 0.0 and -0.0; a str subclass with its own str()) would otherwise
    share an entry."""
    memo = None
    plain = type(provider) is str and type(model) is str and type(max_tokens) is int and type(json_mode) is bool
    if plain and type(temperature) is float and not (temperature == 0.0 and math.copysign(1.0, temperature) < 0):
        items = tuple(extra.items()) if extra else ()
        if not items or (len(items) == 1 and type(items[0][0]) is str and type(items[0][1]) is str):
            memo = (provider, model, system_size, max_tokens, temperature, json_mode, items)
            remembered = _PARAMS.get(memo)
            if remembered is not None:
                return remembered
    extra_json = _EXTRA_JSON.encode(dict(extra)) if extra else None
    params = repr(
        (
            _KEY_VERSION, str(provider), str(model), system_size, int(max_tokens), float(temperature), bool(json_mode),
            extra_json,
        )
    )  # fmt: skip
    digest = hashlib.sha256(params.encode("utf-8", "surrogatepass"))
    digest.update(b"\n")  # a repr escapes newlines: the first raw one ends the parameters
    if memo is not None:
        if len(_PARAMS) >= _PARAMS_MAX:
            _PARAMS.clear()
        _PARAMS[memo] = digest
    return digest


class ResponseCache:
    """Cache of successful answers, keyed on provider, model, prompt and the parameters that change the answer."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        ttl_seconds: float = 7 * 86400,
        clock: Callable[[], float] = time.time,
        local_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if not (math.isfinite(ttl_seconds) and ttl_seconds > 0):
            raise ValueError(f"ttl_seconds must be a finite number > 0, got {ttl_seconds!r}")
        self._bytes_sql = "SUM(LENGTH(CAST(content AS BLOB)))"
        self._migrate: Callable[[], object] | None = None  # PostgreSQL migrations, until they have run once
        if is_db_url(str(db_path)):  # PostgreSQL: `local_path` is this machine's file (see UsageTracker)
            from core.tracker.pg_storage import pg_storage_for, run_pg_migrations

            self._storage: Any = pg_storage_for(str(db_path), local_path or PROJECT_ROOT / "data" / "usage.db")
            self._migrate = lambda: run_pg_migrations(self._storage, "response_cache", _PG_MIGRATIONS)
            self._bytes_sql = "SUM(OCTET_LENGTH(content))"
        else:
            self._storage = open_storage(db_path)
            run_migrations(self._storage, "response_cache", _MIGRATIONS)
        self._ttl = float(ttl_seconds)
        self._clock = clock
        self._pending: dict[str, tuple[Any, ...]] = {}
        self._pending_lock = threading.Lock()
        self._flush_queued = False
        try:
            if self._migrate is not None:
                with self._storage.guard():
                    self._migrate()
                self._migrate = None
            self._known = self._load_known_keys()
        except StorageError:
            if not is_db_url(str(db_path)):
                raise
            # PostgreSQL is down: every lookup misses until it is back (the table is made on the first write then)
            _log.warning("the response cache at %s is unavailable; caching resumes when it answers", self._storage)
            self._known = set()
        _LIVE.add(self)

    @property
    def ttl_seconds(self) -> float:
        return self._ttl

    @staticmethod
    def make_key(
        provider: str,
        model: str,
        prompt: str,
        *,
        system: str | None,
        max_tokens: int,
        temperature: float,
        json_mode: bool,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """sha256 hex of everything that changes the answer (dict order does not matter): the parameters (a repr of
        plain values, `extra` as canonical JSON), then the system prompt's and the prompt's UTF-8 bytes as they are,
        their split fixed by the system prompt's size in the parameters. The texts are hashed raw, not JSON-escaped:
        escaping a page of text character by character cost more than hashing it (~25 µs on the router's hot path
        for a 900-token prompt). The hash of the parameters is kept per parameter set (`_params_digest`), so a call
        hashes only its texts."""
        system_bytes = None if system is None else system.encode("utf-8", "surrogatepass")
        digest = _params_digest(
            provider, model, None if system_bytes is None else len(system_bytes), max_tokens, temperature, json_mode,
            extra,
        ).copy()  # fmt: skip
        if system_bytes:
            digest.update(system_bytes)
        digest.update(prompt.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _load_known_keys(self) -> set[str]:
        """Keys of live answers, so a miss (the common case) is a set lookup instead of a query.

        Answers cached by another process after this one started are not seen: they only cost a cache miss.
        """
        with self._storage.read() as conn:
            rows = conn.execute("SELECT key FROM response_cache WHERE created > ?", (self._clock() - self._ttl,))
            return {key for (key,) in rows}

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer, or None when absent or older than the TTL (expired rows are left for purge_expired)."""
        if key not in self._known:
            return None
        oldest = self._clock() - self._ttl
        with self._pending_lock:
            pending = self._pending.get(key)
        if pending is not None:
            row = pending[1:] if pending[-1] > oldest else None
        else:
            with self._storage.guard():
                row = (
                    self._storage.connection()
                    .execute(
                        "SELECT content, input_tokens, output_tokens, cost_usd, model, created FROM response_cache "
                        "WHERE key = ? AND created > ?",
                        (key, oldest),
                    )
                    .fetchone()
                )
        if row is None:
            return None
        content, input_tokens, output_tokens, cost_usd, model, created = row
        note_cache_key(key)  # an application's answers can be deleted with it (core.workspace)
        return {
            "content": content,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": cost_usd,
            "model": model,
            "created": created,
        }

    def put(
        self, key: str, *, content: str, input_tokens: int, output_tokens: int, cost_usd: float, model: str
    ) -> None:
        """Store (or refresh) one answer; its TTL starts now. Visible to get() at once, written to disk just after."""
        if not isinstance(content, str):
            raise TypeError(f"content must be a string, got {type(content).__name__}")
        row = (key, content, int(input_tokens), int(output_tokens), float(cost_usd), model, self._clock())
        with self._pending_lock:
            self._pending[key] = row
            self._known.add(key)
            note_cache_key(key)
            if self._flush_queued:
                return
            self._flush_queued = True
        _WRITER.submit(self._flush_quietly)

    def flush(self) -> None:
        """Write pending answers to the database in one transaction."""
        with self._storage.locked():
            self._flush_locked()

    def _flush_locked(self) -> None:
        """Snapshot and write under the writer lock, so clear() can never be overtaken by an older batch."""
        with self._pending_lock:
            rows = list(self._pending.values())
            self._flush_queued = False
        if not rows:
            return
        self._execute_locked(_UPSERT, rows)
        with self._pending_lock:
            for row in rows:
                if self._pending.get(row[0]) is row:
                    del self._pending[row[0]]

    def _flush_quietly(self) -> None:
        time.sleep(_WRITE_DELAY_S)  # on the writer thread: gather the answers stored meanwhile into one batch
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - a lost cache write only costs a future miss; rows stay pending
            with self._pending_lock:
                self._flush_queued = False

    def clear(self) -> int:
        """Delete every cached answer (they may contain CV text). Returns the number deleted."""
        with self._storage.locked():
            self._flush_locked()
            self._known = set()
            return self._execute_locked("DELETE FROM response_cache", [()])

    def purge_expired(self) -> int:
        """Delete answers older than the TTL. Returns the number deleted."""
        self.flush()
        count = self._write("DELETE FROM response_cache WHERE created <= ?", (self._clock() - self._ttl,))
        self._known = self._load_known_keys()
        return count

    def stats(self) -> dict[str, int]:
        """{entries, bytes}: bytes is the UTF-8 size of the cached content."""
        self.flush()
        with self._storage.read() as conn:
            entries, size = conn.execute(
                f"SELECT COUNT(*), COALESCE({self._bytes_sql}, 0) FROM response_cache"
            ).fetchone()
        return {"entries": int(entries), "bytes": int(size)}

    def close(self) -> None:
        self.flush()
        self._storage.close()

    def _execute_locked(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Run `sql` once per parameter row in one transaction; the caller holds `self._storage.locked()`."""
        if self._migrate is not None:
            with self._storage.guard():
                self._migrate()
            self._migrate = None
        with self._storage.write_unlocked() as conn:
            return int(conn.executemany(sql, rows).rowcount)

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._storage.locked():
            return self._execute_locked(sql, [params])
