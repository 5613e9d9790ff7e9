"""Both storage backends for contract tests: a real SQLite file and a real PostgreSQL (`tests/pg.py`).

A test that takes the `db` fixture runs twice, `[sqlite]` and `[postgresql]`; the PostgreSQL run is skipped, with
the reason, when the binaries are missing. Import `pg_url` too in the test module (the fixture asks for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.alerts import AlertStore
from core.cache import ResponseCache
from core.usage_tracker import UsageTracker
from core.workspace import Workspace
from tests.pg import needs_pg

__all__ = ["Db", "db_fixture"]


class Db:
    """One backend under test: a SQLite file, or a PostgreSQL URL (with this machine's own file beside it)."""

    def __init__(self, target: str | Path, local: Path) -> None:
        self.target, self.local = target, local
        self.postgresql = isinstance(target, str)
        self._opened: list[Any] = []

    def _keep(self, part: Any) -> Any:
        self._opened.append(part)
        return part

    def workspace(self, **kw: Any) -> Workspace:
        return self._keep(Workspace(self.target, local_path=self.local, **kw))  # type: ignore[no-any-return]

    def cache(self) -> ResponseCache:
        return self._keep(ResponseCache(self.target, local_path=self.local))  # type: ignore[no-any-return]

    def tracker(self, **kw: Any) -> UsageTracker:
        return self._keep(UsageTracker(self.target, local_path=self.local, **kw))  # type: ignore[no-any-return]

    def alerts(self) -> AlertStore:
        return self._keep(AlertStore(self.target, local_path=self.local))  # type: ignore[no-any-return]

    def env(self) -> dict[str, str]:
        """The environment of an app run on this backend."""
        if self.postgresql:
            return {"CV_COPILOT_DB": str(self.target), "CV_COPILOT_LOCAL_DB": str(self.local)}
        return {"CV_COPILOT_DB": str(self.target)}

    def close(self) -> None:
        for part in reversed(self._opened):
            try:
                part.close()
            except Exception:  # noqa: BLE001 - a test that closed it itself
                pass


@pytest.fixture(name="db", params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def db_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        found = Db(tmp_path / "usage.db", tmp_path / "usage.db")
    else:
        found = Db(request.getfixturevalue("pg_url"), tmp_path / "local.db")
    yield found
    found.close()
