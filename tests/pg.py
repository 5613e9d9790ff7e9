"""Real PostgreSQL servers for tests: `initdb` + `pg_ctl start` on a free loopback port, in a temporary folder.

PostgreSQL refuses to run as root (as the tests and CI do), so the server runs as an unprivileged user: the
`postgres` system user that Debian's package creates (or `CV_COPILOT_TEST_PG_USER`), through `runuser`. Run as
any other user, the server runs as that user. Skipped, with the reason, when the binaries are missing.

- `shared_pg_server()`: one server for the whole run (started on first use, stopped at exit).
- the `pg_url` fixture: a URL of its own for each test (a fresh schema on the shared server, dropped afterwards),
  with a password, as a deployment's would be.
- `PgServer(...).start()`: a server of a test's own, which it may stop and start again.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

USER = "cv"
PASSWORD = "s3cret-pw"
DATABASE = "cv"


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _os_user() -> str | None:
    """Who runs the server: ourselves unless we are root, else an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("CV_COPILOT_TEST_PG_USER", "postgres")


def _skip_reason() -> str:
    if _bin_dir() is None:
        return "PostgreSQL is not installed (apt-get install -y postgresql)"
    if importlib.util.find_spec("psycopg") is None or importlib.util.find_spec("psycopg_pool") is None:
        return "psycopg is not installed (pip install -r requirements.txt)"
    user = _os_user()
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"running as root and there is no user {user!r} to run PostgreSQL as (useradd --system {user})"
        if shutil.which("runuser") is None:
            return "running as root and runuser (util-linux) is missing"
    return ""


SKIP_REASON = _skip_reason()
needs_pg = pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON or "PostgreSQL available")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (fsync off: test data), which a test may stop and start again."""

    def __init__(self, port: int | None = None) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None, SKIP_REASON
        self.bin = bin_dir
        self.port = port or _free_port()
        self.os_user = _os_user()
        self.folder = Path(tempfile.mkdtemp(prefix="cv-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._initialised = False

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.os_user is not None:
            command = ["runuser", "-u", self.os_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.folder)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr or result.stdout}\n{log}")
        return result

    def url(self, database: str = DATABASE, **options: str) -> str:
        query = "&".join(f"{k}={quote(v)}" for k, v in options.items())
        return f"postgresql://{USER}:{quote(PASSWORD)}@127.0.0.1:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def start(self) -> PgServer:
        if not self._initialised:
            pwfile = self.folder / "pw"
            pwfile.write_text(PASSWORD)
            if self.os_user is not None:
                entry = pwd.getpwnam(self.os_user)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "-A", "scram-sha-256",
                      "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
            pwfile.unlink()
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        if not self._initialised:
            self._initialised = True
            self.execute(f"CREATE DATABASE {DATABASE}", database="postgres")
        return self

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop", timeout=60)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def execute(self, sql: str, database: str = DATABASE) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


_shared: PgServer | None = None


def shared_pg_server() -> PgServer:
    """One PostgreSQL server for the whole test run (started on first use, stopped and removed at exit)."""
    global _shared
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    if _shared is None:
        _shared = PgServer().start()
        atexit.register(_shared.destroy)
    return _shared


def fresh_schema_url(server: PgServer) -> tuple[str, str]:
    """A URL whose connections use a new, empty schema of the shared database (its name is returned too)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    server.execute(f"CREATE SCHEMA {schema}")
    return server.url(options=f"-c search_path={schema}"), schema


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL of this test's own (a fresh schema on the run's shared server)."""
    server = shared_pg_server()
    url, schema = fresh_schema_url(server)
    yield url
    _close_pg_writers()
    with contextlib.suppress(Exception):
        server.execute(f"DROP SCHEMA {schema} CASCADE")


def _close_pg_writers() -> None:
    """Flush and close the pools this process opened (a test's trackers), so dropping their schema never waits."""
    from core.tracker import writer

    for w in list(writer._WRITERS.values()):
        storage = w.storage
        if getattr(storage, "dialect", "") == "postgresql":
            with contextlib.suppress(Exception):
                w.flush()
            storage.close()


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False
