"""The job seeker's workspace: CVs with their versions, applications with their documents, per local profile.

It lives in the usage database (the settings' DB path), in tables of its own made by named migrations, through
the storage layer (a connection per thread, BEGIN IMMEDIATE writes). Every save is one transaction: a crash
mid-save loses at most the edit in flight, never an older version. With `CV_COPILOT_DB=postgresql://…` the same
tables (same migration names) are in PostgreSQL beside the usage rows, so every replica of a team's deployment
shows a user the same workspace; the queries are written once, in SQLite's spelling, and
`core.tracker.pg_storage.translate` makes them PostgreSQL's (row locks included: `/* FOR UPDATE */`). There, the CV
text and job adverts are on the team's server: whoever runs it can read them.

Who "you" are: a local run has one owner by default, the OS user name (`default_owner()`), never "anonymous"; more
local profiles can be added. Spend, budgets and the workspace are keyed by that same user id, which is also what
the usage rows (and so the REST API and the dashboard) carry.

Deleting is for real: an application's rows, its documents, its call costs, and the response-cache entries its
calls wrote or read (their keys are recorded per application through `core.workspace_context`) are removed in one
transaction. Usage rows are kept (they hold no text, only tokens and cost, and the budgets need them); their
`application_id` is cleared so nothing points at the deleted application.
"""

from __future__ import annotations

import difflib
import getpass
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import sqlite_utils

from core.base import InputError
from core.config import PROJECT_ROOT, is_db_url
from core.tracker.storage import Storage, open_storage, run_migrations

__all__ = [
    "STATUSES",
    "Application",
    "ApplicationRow",
    "CVVersion",
    "Deleted",
    "Document",
    "MatchList",
    "Workspace",
    "default_owner",
    "stable_json",
]

STATUSES = ("saved", "applied", "interview", "offer", "rejected")
DOC_KINDS = ("tailored", "letter", "match")
MAX_NAME = 80


def default_owner() -> str:
    """The OS user name: a local run's owner unless the user picks another profile."""
    try:
        name = getpass.getuser().strip()
    except Exception:  # noqa: BLE001 - no user database (some containers): still not "anonymous"
        name = ""
    return name[:MAX_NAME] or "local"


def stable_json(data: Any) -> str:
    """A JSON dump that is the same for the same data (sorted keys, indented) so line diffs are meaningful."""
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False, default=str)


def _diff(before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "previous", "this", n=1))


# --- migrations ---------------------------------------------------------------------------------------------------


#: The tables, in SQLite's DDL; PostgreSQL's is made from it by `_pg_ddl`, so both databases hold the same tables.
_M001_SQL = (
    "CREATE TABLE ws_profiles (user_id TEXT PRIMARY KEY, created REAL NOT NULL)",
    "CREATE TABLE ws_cvs (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL,"
    " updated REAL NOT NULL)",
    "CREATE INDEX idx_ws_cvs_user ON ws_cvs (user_id, updated)",
    "CREATE TABLE ws_cv_versions (id INTEGER PRIMARY KEY AUTOINCREMENT, cv_id TEXT NOT NULL REFERENCES ws_cvs(id)"
    " ON DELETE CASCADE, version INTEGER NOT NULL, created REAL NOT NULL, source TEXT NOT NULL,"
    " data TEXT NOT NULL, cv_text TEXT NOT NULL, diff TEXT NOT NULL, UNIQUE (cv_id, version))",
    "CREATE TABLE ws_applications (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, cv_id TEXT, company TEXT NOT NULL,"
    " role TEXT NOT NULL, job_text TEXT NOT NULL, link TEXT NOT NULL, status TEXT NOT NULL,"
    " created REAL NOT NULL, updated REAL NOT NULL, status_changed REAL NOT NULL, notes TEXT NOT NULL)",
    "CREATE INDEX idx_ws_apps_user ON ws_applications (user_id, updated)",
    "CREATE TABLE ws_documents (application_id TEXT NOT NULL REFERENCES ws_applications(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL, content TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (application_id, kind))",
    "CREATE TABLE ws_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, application_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, task TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,"
    " cost_usd REAL NOT NULL, created REAL NOT NULL)",
    "CREATE INDEX idx_ws_calls_app ON ws_calls (application_id)",
    "CREATE TABLE ws_cache_keys (owner TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (owner, key)) WITHOUT ROWID",
)
_M002_SQL = (
    "CREATE TABLE ws_match_lists (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, cv_id TEXT, created REAL NOT NULL,"
    " rows TEXT NOT NULL, labels TEXT NOT NULL, cost_usd REAL NOT NULL)",
    "CREATE INDEX idx_ws_match_lists_user ON ws_match_lists (user_id, created)",
)
_REAL = re.compile(r"\bREAL\b")


def _pg_ddl(sql: str) -> str:
    """SQLite's DDL above in PostgreSQL's words: identity ids, doubles, no WITHOUT ROWID (a primary key is enough)."""
    sql = sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    return _REAL.sub("DOUBLE PRECISION", sql).replace(") WITHOUT ROWID", ")")


def m001_create_workspace(db: sqlite_utils.Database) -> None:
    """Profiles, CVs and their versions, applications, their documents, their calls and their cache keys."""
    for sql in _M001_SQL:
        db.execute(sql)


def m002_match_lists(db: sqlite_utils.Database) -> None:
    """Saved match lists: one ranking of several jobs against the CV, with what the call cost."""
    for sql in _M002_SQL:
        db.execute(sql)


def _pg_m001_create_workspace(conn: Any) -> None:
    """The same tables on PostgreSQL (recorded under the same name)."""
    for sql in _M001_SQL:
        conn.execute(_pg_ddl(sql))


def _pg_m002_match_lists(conn: Any) -> None:
    for sql in _M002_SQL:
        conn.execute(_pg_ddl(sql))


_pg_m001_create_workspace.__name__ = m001_create_workspace.__name__
_pg_m002_match_lists.__name__ = m002_match_lists.__name__

_MIGRATIONS = (m001_create_workspace, m002_match_lists)
_ADD_CACHE_KEY = "INSERT INTO ws_cache_keys (owner, key) VALUES (?, ?) ON CONFLICT DO NOTHING"
_PG_MIGRATIONS = (_pg_m001_create_workspace, _pg_m002_match_lists)
#: Every workspace table, parents first (migrate-db copies them in this order).
TABLES = (
    "ws_profiles", "ws_cvs", "ws_cv_versions", "ws_applications", "ws_documents", "ws_calls", "ws_match_lists",
    "ws_cache_keys",
)  # fmt: skip


# --- typed results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CVVersion:
    cv_id: str
    version: int
    created: float
    source: str
    data: dict[str, Any]
    cv_text: str
    diff: str


@dataclass(frozen=True)
class ApplicationRow:
    """One line of the applications table (no job text or documents: the page lists up to thousands)."""

    id: str
    company: str
    role: str
    status: str
    created: float
    updated: float
    link: str
    cost_usd: float
    documents: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    kind: str
    content: Any
    created: float


@dataclass(frozen=True)
class Application:
    id: str
    user_id: str
    cv_id: str | None
    company: str
    role: str
    job_text: str
    link: str
    status: str
    created: float
    updated: float
    status_changed: float
    notes: str
    documents: dict[str, Document]
    calls: tuple[tuple[str, str, str, float], ...]  # (kind, task, provider, cost)

    @property
    def cost_usd(self) -> float:
        return round(sum(c[3] for c in self.calls), 8)


@dataclass(frozen=True)
class MatchList:
    """One ranking of jobs against the CV (rows as `AIService.match_jobs` returns them, best first)."""

    id: str
    user_id: str
    cv_id: str | None
    created: float
    rows: list[dict[str, Any]]
    labels: list[str]
    cost_usd: float


@dataclass(frozen=True)
class Deleted:
    """What a delete removed, counted, so the page can say exactly what is gone."""

    cvs: int = 0
    versions: int = 0
    applications: int = 0
    documents: int = 0
    match_lists: int = 0
    cached_answers: int = 0
    usage_rows: int = 0


#: The columns of a CV version (`v`: ws_cv_versions), in `_cv_version`'s order.
_VERSION = "v.cv_id, v.version, v.created, v.source, v.data, v.cv_text, v.diff"


def _cv_version(row: Sequence[Any]) -> CVVersion:
    cv_id, version, created, source, data, cv_text, diff = row
    return CVVersion(cv_id, version, created, source, json.loads(data), cv_text, diff)


def _owner(user_id: str | None) -> str:
    user = (user_id or "").strip()[:MAX_NAME]
    return user or default_owner()


def _check_status(status: str) -> str:
    if status not in STATUSES:
        raise InputError(f"Unknown status {status!r}: use one of {', '.join(STATUSES)}.")
    return status


#: The names of this database's tables (`translate` spells it for PostgreSQL).
_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


class Workspace:
    """The workspace tables of one SQLite file, or of the team's PostgreSQL database. Thread-safe (the storage
    layer gives each thread its connection, or a pooled one).

    `db_path` is a file path, an open storage, or a postgresql:// URL; with a URL, `local_path` is this machine's
    SQLite file (see `UsageTracker`), and the workspace is the same on every replica of the deployment.
    """

    def __init__(
        self,
        db_path: str | PathLike[str] | Storage | Any,
        *,
        clock: Any = time.time,
        local_path: str | PathLike[str] | None = None,
    ) -> None:
        self._clock = clock
        self.storage: Any
        if isinstance(db_path, Storage) or getattr(db_path, "dialect", "") == "postgresql":
            self.storage = db_path
        elif is_db_url(str(db_path)):
            from core.tracker.pg_storage import pg_storage_for

            self.storage = pg_storage_for(str(db_path), local_path or PROJECT_ROOT / "data" / "usage.db")
        else:
            self.storage = open_storage(db_path)
        self.dialect: str = getattr(self.storage, "dialect", "sqlite")
        if self.dialect == "postgresql":
            from core.tracker.pg_storage import run_pg_migrations

            with self.storage.guard():
                run_pg_migrations(self.storage, "workspace", _PG_MIGRATIONS)
        else:
            run_migrations(self.storage, "workspace", _MIGRATIONS)

    def close(self) -> None:
        self.storage.close()

    # --- profiles ---------------------------------------------------------------------------------------------

    def profiles(self) -> list[str]:
        """Local profiles, the OS user's first (it always exists)."""
        owner = default_owner()
        with self.storage.read() as conn:
            rows = [r[0] for r in conn.execute("SELECT user_id FROM ws_profiles ORDER BY created, user_id")]
        return [owner, *[r for r in rows if r != owner]]

    def add_profile(self, user_id: str) -> str:
        user = _owner(user_id)
        with self.storage.write() as conn:
            conn.execute(
                "INSERT INTO ws_profiles (user_id, created) VALUES (?, ?) ON CONFLICT DO NOTHING", (user, self._clock())
            )
        return user

    # --- CVs --------------------------------------------------------------------------------------------------

    def save_cv(
        self,
        data: dict[str, Any],
        *,
        user_id: str | None = None,
        cv_text: str = "",
        source: str = "edit",
        cv_id: str | None = None,
        cache_keys: Iterable[str] = (),
    ) -> CVVersion:
        """Store `data` as the next version of CV `cv_id` (a new CV if None), with its diff to the previous one.

        Saving the same data again adds no version (a rerun of the page saves nothing twice)."""
        user = _owner(user_id)
        now = self._clock()
        dump = stable_json({k: v for k, v in data.items() if k != "meta"})
        basics = data.get("basics") if isinstance(data.get("basics"), dict) else {}
        name = str((basics or {}).get("name") or "My CV")[:MAX_NAME]
        with self.storage.write() as conn:
            if cv_id is None:
                cv_id = uuid.uuid4().hex
                conn.execute(
                    "INSERT INTO ws_cvs (id, user_id, name, created, updated) VALUES (?, ?, ?, ?, ?)",
                    (cv_id, user, name, now, now),
                )
            else:
                found = conn.execute("SELECT user_id FROM ws_cvs WHERE id = ? /* FOR UPDATE */", (cv_id,)).fetchone()
                if found is None or found[0] != user:
                    raise InputError("That CV is no longer in your workspace.")
            last = conn.execute(
                "SELECT version, data, cv_text FROM ws_cv_versions WHERE cv_id = ? ORDER BY version DESC LIMIT 1",
                (cv_id,),
            ).fetchone()
            version, before = (last[0], last[1]) if last else (0, "")
            text = cv_text or (last[2] if last else "")
            if last is None or before != dump:
                version += 1
                conn.execute(
                    "INSERT INTO ws_cv_versions (cv_id, version, created, source, data, cv_text, diff)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (cv_id, version, now, source, dump, text, _diff(before, dump)),
                )
                conn.execute("UPDATE ws_cvs SET updated = ?, name = ? WHERE id = ?", (now, name, cv_id))
            conn.executemany(_ADD_CACHE_KEY, [(cv_id, k) for k in cache_keys])
        return CVVersion(cv_id, version, now, source, json.loads(dump), text, _diff(before, dump) if version else "")

    def latest_cv(self, user_id: str | None = None) -> CVVersion | None:
        """The most recently saved version of this profile's most recently changed CV."""
        with self.storage.read() as conn:
            row = conn.execute(
                f"SELECT {_VERSION} FROM ws_cvs c JOIN ws_cv_versions v ON v.cv_id = c.id WHERE c.user_id = ?"
                " ORDER BY c.updated DESC, v.version DESC LIMIT 1",
                (_owner(user_id),),
            ).fetchone()
        return None if row is None else _cv_version(row)

    def cv_versions(self, cv_id: str) -> list[CVVersion]:
        with self.storage.read() as conn:
            rows = conn.execute(
                f"SELECT {_VERSION} FROM ws_cv_versions v WHERE v.cv_id = ? ORDER BY v.version", (cv_id,)
            ).fetchall()
        return [_cv_version(r) for r in rows]

    def cv_history(self, cv_id: str) -> list[tuple[int, float, str]]:
        """(version, date, source) of every version of a CV, newest first (no data: a CV may have thousands)."""
        with self.storage.read() as conn:
            return [
                (int(r[0]), float(r[1]), str(r[2]))
                for r in conn.execute(
                    "SELECT version, created, source FROM ws_cv_versions WHERE cv_id = ? ORDER BY version DESC",
                    (cv_id,),
                )
            ]

    def cv_version(self, cv_id: str, version: int) -> CVVersion | None:
        with self.storage.read() as conn:
            row = conn.execute(
                f"SELECT {_VERSION} FROM ws_cv_versions v WHERE v.cv_id = ? AND v.version = ?", (cv_id, int(version))
            ).fetchone()
        return None if row is None else _cv_version(row)

    def restore_version(self, cv_id: str, version: int, *, user_id: str | None = None) -> CVVersion:
        """Make an old version current again: it is saved as the CV's newest version (nothing is rewritten, so
        the history keeps what came between)."""
        old = self.cv_version(cv_id, version)
        if old is None:
            raise InputError("That version is no longer in your workspace.")
        return self.save_cv(
            old.data, user_id=user_id, cv_text=old.cv_text, source=f"restore of v{version}", cv_id=cv_id
        )

    def cvs(self, user_id: str | None = None) -> list[tuple[str, str, int]]:
        """(cv id, name, versions) of this profile's CVs, most recently changed first."""
        with self.storage.read() as conn:
            return [
                (r[0], r[1], r[2])
                for r in conn.execute(
                    "SELECT c.id, c.name, (SELECT COUNT(*) FROM ws_cv_versions v WHERE v.cv_id = c.id) FROM ws_cvs c"
                    " WHERE c.user_id = ? ORDER BY c.updated DESC",
                    (_owner(user_id),),
                )
            ]

    # --- applications -----------------------------------------------------------------------------------------

    def create_application(
        self,
        *,
        user_id: str | None = None,
        job_text: str = "",
        company: str = "",
        role: str = "",
        link: str = "",
        cv_id: str | None = None,
        status: str = "saved",
        notes: str = "",
        application_id: str | None = None,
    ) -> str:
        app_id = application_id or uuid.uuid4().hex
        now = self._clock()
        guessed_role, guessed_company = _guess_title(job_text)
        with self.storage.write() as conn:
            conn.execute(
                "INSERT INTO ws_applications (id, user_id, cv_id, company, role, job_text, link, status, created,"
                " updated, status_changed, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    app_id, _owner(user_id), cv_id, (company or guessed_company)[:200], (role or guessed_role)[:200],
                    job_text, link[:2000], _check_status(status), now, now, now, notes,
                ),
            )  # fmt: skip
        return app_id

    def update_application(self, application_id: str, **fields: str) -> None:
        """Change company, role, link, notes, job_text or status (a status change is dated)."""
        allowed = {"company", "role", "link", "notes", "job_text", "status"}
        unknown = set(fields) - allowed
        if unknown:
            raise InputError(f"Cannot change {', '.join(sorted(unknown))}.")
        if "status" in fields:
            _check_status(fields["status"])
        now = self._clock()
        sets = [f"{k} = ?" for k in fields] + ["updated = ?"]
        values: list[Any] = [*fields.values(), now]
        if "status" in fields:
            sets.append("status_changed = ?")
            values.append(now)
        with self.storage.write() as conn:
            conn.execute(f"UPDATE ws_applications SET {', '.join(sets)} WHERE id = ?", (*values, application_id))

    def save_document(
        self,
        application_id: str,
        kind: str,
        content: Any,
        *,
        calls: Sequence[tuple[str, str, str, float]] = (),
        cache_keys: Iterable[str] = (),
    ) -> float | None:
        """Store (replacing) the application's `kind` document and, in the same transaction, its calls' costs
        ((task, provider, model, cost) each) and the cache keys they touched. Returns the document's date, or None
        when the application was deleted meanwhile (nothing is stored)."""
        if kind not in DOC_KINDS:
            raise InputError(f"Unknown document {kind!r}.")
        now = self._clock()
        with self.storage.write() as conn:
            found = conn.execute("SELECT 1 FROM ws_applications WHERE id = ? /* FOR UPDATE */", (application_id,))
            if found.fetchone() is None:
                return None  # deleted while the result was being made: nothing to attach it to
            conn.execute(
                "INSERT INTO ws_documents (application_id, kind, content, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (application_id, kind) DO UPDATE SET content = excluded.content,"
                " created = excluded.created",
                (application_id, kind, json.dumps(content, ensure_ascii=False, default=str), now),
            )
            conn.executemany(
                "INSERT INTO ws_calls (application_id, kind, task, provider, model, cost_usd, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(application_id, kind, t, p, m, float(c), now) for t, p, m, c in calls],
            )
            conn.executemany(_ADD_CACHE_KEY, [(application_id, k) for k in cache_keys])
            conn.execute("UPDATE ws_applications SET updated = ? WHERE id = ?", (now, application_id))
        return float(now)

    def latest_document(self, user_id: str | None, kind: str) -> tuple[str, float] | None:
        """(application id, date) of this profile's most recent `kind` document: how a session tells that a result
        was saved without it (another tab, or a call that finished after the user left its page)."""
        with self.storage.read() as conn:
            row = conn.execute(
                "SELECT d.application_id, d.created FROM ws_documents d JOIN ws_applications a"
                " ON a.id = d.application_id WHERE a.user_id = ? AND d.kind = ? ORDER BY d.created DESC LIMIT 1",
                (_owner(user_id), kind),
            ).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def latest_cv_version(self, user_id: str | None = None) -> tuple[str, int] | None:
        """(cv id, version) of `latest_cv`, without loading it (a cheap check on every page run)."""
        with self.storage.read() as conn:
            row = conn.execute(
                "SELECT c.id, (SELECT MAX(v.version) FROM ws_cv_versions v WHERE v.cv_id = c.id) FROM ws_cvs c"
                " WHERE c.user_id = ? ORDER BY c.updated DESC LIMIT 1",
                (_owner(user_id),),
            ).fetchone()
        return None if row is None or row[1] is None else (str(row[0]), int(row[1]))

    def applications(
        self, user_id: str | None = None, *, status: str | None = None, search: str = ""
    ) -> list[ApplicationRow]:
        """This profile's applications, most recently changed first, with their cost and document kinds."""
        where, params = ["a.user_id = ?"], [_owner(user_id)]
        if status:
            where.append("a.status = ?")
            params.append(_check_status(status))
        if search.strip():
            # LOWER on both sides: SQLite's LIKE ignores (ASCII) case, PostgreSQL's does not
            where.append("(LOWER(a.company) LIKE LOWER(?) ESCAPE '\\' OR LOWER(a.role) LIKE LOWER(?) ESCAPE '\\')")
            like = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [like, like]
        sql = (
            "SELECT a.id, a.company, a.role, a.status, a.created, a.updated, a.link,"
            " (SELECT COALESCE(SUM(cost_usd), 0) FROM ws_calls c WHERE c.application_id = a.id),"
            " (SELECT GROUP_CONCAT(kind, ',') FROM ws_documents d WHERE d.application_id = a.id)"
            f" FROM ws_applications a WHERE {' AND '.join(where)} ORDER BY a.updated DESC"
        )
        with self.storage.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [
            ApplicationRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                float(r[7]),
                tuple(sorted((r[8] or "").split(",")) if r[8] else ()),
            )
            for r in rows
        ]

    def application(self, application_id: str) -> Application | None:
        with self.storage.read() as conn:
            row = conn.execute(
                "SELECT id, user_id, cv_id, company, role, job_text, link, status, created, updated, status_changed,"
                " notes FROM ws_applications WHERE id = ?",
                (application_id,),
            ).fetchone()
            if row is None:
                return None
            docs = {
                k: Document(k, json.loads(c), t)
                for k, c, t in conn.execute(
                    "SELECT kind, content, created FROM ws_documents WHERE application_id = ?", (application_id,)
                )
            }
            calls = tuple(
                (r[0], r[1], r[2], float(r[3]))
                for r in conn.execute(
                    "SELECT kind, task, provider, cost_usd FROM ws_calls WHERE application_id = ? ORDER BY id",
                    (application_id,),
                )
            )
        (app_id, user, cv_id, company, role, job_text, link, status, created, updated, changed, notes) = row
        return Application(
            app_id, user, cv_id, company, role, job_text, link, status, created, updated, changed, notes, docs, calls
        )

    def total_cost(self, user_id: str | None = None) -> float:
        """What this profile's applications cost in AI calls, all together."""
        with self.storage.read() as conn:
            row = conn.execute(
                "SELECT COALESCE(SUM(c.cost_usd), 0) FROM ws_calls c JOIN ws_applications a ON a.id = c.application_id"
                " WHERE a.user_id = ?",
                (_owner(user_id),),
            ).fetchone()
        return float(row[0])

    # --- match lists ------------------------------------------------------------------------------------------

    def save_match_list(
        self,
        rows: Sequence[dict[str, Any]],
        labels: Sequence[str] = (),
        *,
        user_id: str | None = None,
        cv_id: str | None = None,
        cost_usd: float = 0.0,
        cache_keys: Iterable[str] = (),
    ) -> str:
        """Save a ranking of several jobs (and the cache keys its call touched); its id."""
        list_id = uuid.uuid4().hex
        with self.storage.write() as conn:
            conn.execute(
                "INSERT INTO ws_match_lists (id, user_id, cv_id, created, rows, labels, cost_usd)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    list_id, _owner(user_id), cv_id, self._clock(), json.dumps(list(rows), ensure_ascii=False,
                    default=str), json.dumps(list(labels), ensure_ascii=False), float(cost_usd),
                ),
            )  # fmt: skip
            conn.executemany(_ADD_CACHE_KEY, [(list_id, k) for k in cache_keys])
        return list_id

    def match_lists(self, user_id: str | None = None, *, limit: int = 50) -> list[MatchList]:
        """This profile's saved match lists, newest first."""
        with self.storage.read() as conn:
            rows = conn.execute(
                "SELECT id, user_id, cv_id, created, rows, labels, cost_usd FROM ws_match_lists WHERE user_id = ?"
                " ORDER BY created DESC LIMIT ?",
                (_owner(user_id), int(limit)),
            ).fetchall()
        return [MatchList(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), float(r[6])) for r in rows]

    def latest_match_list_id(self, user_id: str | None = None) -> str | None:
        with self.storage.read() as conn:
            row = conn.execute(
                "SELECT id FROM ws_match_lists WHERE user_id = ? ORDER BY created DESC LIMIT 1", (_owner(user_id),)
            ).fetchone()
        return None if row is None else str(row[0])

    # --- deleting ---------------------------------------------------------------------------------------------

    def delete_application(self, application_id: str) -> Deleted:
        return self._delete(apps=[application_id])

    def delete_cv(self, cv_id: str) -> Deleted:
        """The CV, every version of it, and the cached answers its parses wrote (applications made from it stay)."""
        return self._delete(cvs=[cv_id])

    def delete_match_list(self, list_id: str) -> Deleted:
        return self._delete(lists=[list_id])

    def delete_everything(self, user_id: str | None = None, *, usage_rows: bool = False) -> Deleted:
        """Every CV (all versions), application (documents, costs), match list and local profile entry of this
        profile, the cached answers that quote them and, with `usage_rows`, the profile's usage rows (tokens and
        costs of its AI calls; the usage rollups are rebuilt for the hours and days they were in). Flush the
        tracker's write-behind buffer first, so rows still in memory are not written back afterwards."""
        user = _owner(user_id)
        return self._delete(profile=user, usage_of=user if usage_rows else None)

    def _delete(
        self,
        apps: Sequence[str] = (),
        cvs: Sequence[str] = (),
        lists: Sequence[str] = (),
        *,
        profile: str | None = None,
        usage_of: str | None = None,
    ) -> Deleted:
        """Delete the given rows, or with `profile` everything of that profile (found inside the same transaction,
        so a save that commits first is deleted too, and one that waits finds its application or CV gone)."""
        count: dict[str, int] = dict.fromkeys(Deleted.__dataclass_fields__, 0)

        def run(field: str | None, sql: str, params: Sequence[Any]) -> None:
            n = int(conn.execute(sql, params).rowcount)
            if field is not None:
                count[field] += max(n, 0)

        def ids(table: str, column: str, values: Sequence[str]) -> list[str]:
            found: list[str] = []
            for chunk in _chunks(values):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT id FROM {table} WHERE {column} IN ({marks}) ORDER BY id /* FOR UPDATE */"
                found += [r[0] for r in conn.execute(sql, chunk)]
            return found

        with self.storage.write() as conn:
            if profile is not None:
                apps, cvs, lists = (
                    ids(t, "user_id", [profile]) for t in ("ws_applications", "ws_cvs", "ws_match_lists")
                )
            elif self.dialect == "postgresql":  # a save of one of these on another replica waits, then finds it gone
                ids("ws_applications", "id", apps)
                ids("ws_cvs", "id", cvs)
            owners = [*apps, *cvs, *lists]
            tables = {r[0] for r in conn.execute(_TABLES)}
            for chunk in _chunks(owners):
                marks = ",".join("?" * len(chunk))
                if "response_cache" in tables:
                    run(
                        "cached_answers",
                        "DELETE FROM response_cache WHERE key IN"
                        f" (SELECT key FROM ws_cache_keys WHERE owner IN ({marks}))",
                        chunk,
                    )
                run(None, f"DELETE FROM ws_cache_keys WHERE owner IN ({marks})", chunk)
            for chunk in _chunks(apps):
                marks = ",".join("?" * len(chunk))
                run("documents", f"DELETE FROM ws_documents WHERE application_id IN ({marks})", chunk)
                run(None, f"DELETE FROM ws_calls WHERE application_id IN ({marks})", chunk)
                run("applications", f"DELETE FROM ws_applications WHERE id IN ({marks})", chunk)
                if "usage" in tables and usage_of is None:
                    run(None, f"UPDATE usage SET application_id = NULL WHERE application_id IN ({marks})", chunk)
            for chunk in _chunks(cvs):
                marks = ",".join("?" * len(chunk))
                run("versions", f"DELETE FROM ws_cv_versions WHERE cv_id IN ({marks})", chunk)
                run("cvs", f"DELETE FROM ws_cvs WHERE id IN ({marks})", chunk)
                run(None, f"UPDATE ws_applications SET cv_id = NULL WHERE cv_id IN ({marks})", chunk)
            for chunk in _chunks(lists):
                marks = ",".join("?" * len(chunk))
                run("match_lists", f"DELETE FROM ws_match_lists WHERE id IN ({marks})", chunk)
            if profile is not None:
                run(None, "DELETE FROM ws_profiles WHERE user_id = ?", (profile,))
            if usage_of is not None and "usage" in tables:
                count["usage_rows"] = _delete_usage(conn, usage_of)
        return Deleted(**count)

    def counts(self, user_id: str | None = None) -> Deleted:
        """What `delete_everything` would remove for this profile, counted (usage rows included)."""
        user = _owner(user_id)
        q = {
            "cvs": "SELECT COUNT(*) FROM ws_cvs WHERE user_id = ?",
            "versions": "SELECT COUNT(*) FROM ws_cv_versions v JOIN ws_cvs c ON c.id = v.cv_id WHERE c.user_id = ?",
            "applications": "SELECT COUNT(*) FROM ws_applications WHERE user_id = ?",
            "documents": "SELECT COUNT(*) FROM ws_documents d JOIN ws_applications a ON a.id = d.application_id"
            " WHERE a.user_id = ?",
            "match_lists": "SELECT COUNT(*) FROM ws_match_lists WHERE user_id = ?",
        }
        owners = (
            "SELECT id FROM ws_cvs WHERE user_id = ? UNION ALL SELECT id FROM ws_applications WHERE user_id = ?"
            " UNION ALL SELECT id FROM ws_match_lists WHERE user_id = ?"
        )
        with self.storage.read() as conn:
            found = {k: int(conn.execute(sql, (user,)).fetchone()[0]) for k, sql in q.items()}
            tables = {r[0] for r in conn.execute(_TABLES)}
            cached = 0
            if "response_cache" in tables:
                cached = int(
                    conn.execute(
                        "SELECT COUNT(*) FROM response_cache WHERE key IN"
                        f" (SELECT key FROM ws_cache_keys WHERE owner IN ({owners}))",
                        (user, user, user),
                    ).fetchone()[0]
                )
        return Deleted(**found, cached_answers=cached, usage_rows=self.usage_of(user)[0])

    def usage_of(self, user_id: str | None = None) -> tuple[int, float]:
        """(rows, dollars) of this profile's usage rows: what "delete my usage history" would remove."""
        with self.storage.read() as conn:
            tables = {r[0] for r in conn.execute(_TABLES)}
            if "usage" not in tables:
                return 0, 0.0
            row = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM usage WHERE user_id = ?", (_owner(user_id),)
            ).fetchone()
        return int(row[0]), float(row[1])


def _delete_usage(conn: Any, user: str) -> int:
    """Delete a user's usage rows and rebuild every rollup over the time they span (the other users' sums stay)."""
    from core.tracker.schema import ROLLUPS

    first, last = conn.execute("SELECT MIN(ts), MAX(ts) FROM usage WHERE user_id = ?", (user,)).fetchone()
    if first is None:
        return 0
    deleted = int(conn.execute("DELETE FROM usage WHERE user_id = ?", (user,)).rowcount)
    for rollup in ROLLUPS:
        start = int(first // rollup.seconds) * rollup.seconds
        end = (int(last // rollup.seconds) + 1) * rollup.seconds
        rollup.rebuild_range(conn, start, end)
    return deleted


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _guess_title(job_text: str) -> tuple[str, str]:
    """(role, company) from a job advert's first lines: "Role at Company" / "Role - Company", else the first line."""
    lines = [line.strip(" #*-\t") for line in job_text.splitlines() if line.strip(" #*-\t")]
    if not lines:
        return "", ""
    first = lines[0][:200]
    for sep in (" at ", " @ ", " — ", " – ", " - ", " | "):
        if sep in first:
            role, company = first.split(sep, 1)
            return role.strip(), company.strip()
    for line in lines[1:6]:
        low = line.lower()
        if low.startswith("company:"):
            return first, line.split(":", 1)[1].strip()
    return first, ""
