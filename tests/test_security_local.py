"""Local by default: the server binds to localhost, Streamlit never auto-discovers a page folder, private files."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from core.config import save_secret

ROOT = Path(__file__).resolve().parent.parent


def test_streamlit_listens_on_localhost_only() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert "localhost" == config["server"]["address"]


def test_no_pages_folder_for_streamlit_to_auto_discover() -> None:
    """Streamlit runs a `pages/` folder beside app.py as a raw multipage app until st.navigation has run once in the
    process, so a deep link opened first after a start would lose the app's navigation and sidebar."""
    assert not (ROOT / "pages").exists()
    pages = sorted(p.name for p in (ROOT / "app_pages").glob("*.py"))
    app = (ROOT / "app.py").read_text(encoding="utf-8")
    assert [] == [name for name in pages if f'"app_pages/{name}"' not in app]


def test_secrets_temp_file_is_private_from_its_first_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp file is created 0600 (not chmod-ed after the key is written), whatever the umask."""
    import os

    seen: list[int] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        seen.append(os.fstat(fd).st_mode & 0o777)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    old = os.umask(0)
    try:
        path = save_secret("GROQ_API_KEY", "gsk-abc-0123456789", tmp_path / ".streamlit" / "secrets.toml")
    finally:
        os.umask(old)
    assert ([0o600], 0o600, False) == (seen, path.stat().st_mode & 0o777, path.with_suffix(".tmp").exists())


@pytest.mark.parametrize("name", [".streamlit/secrets.toml", ".streamlit/secrets.tmp", ".env", "cv_copilot.toml"])
def test_secret_files_are_git_ignored(name: str) -> None:
    result = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, capture_output=True)
    assert 0 == result.returncode, f"{name} is not git-ignored"
