"""The team settings: how many processes share one Redis (`[limits] replicas`, CV_COPILOT_REPLICAS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("file", "env", "replicas"),
    [("", None, None), ("[limits]\nreplicas = 3\n", None, 3), ("[limits]\nreplicas = 3\n", "4", 4), ("", " 8 ", 8)],
)
def test_replicas_from_the_file_or_the_environment(tmp_path: Path, file: str, env: str | None, replicas: int) -> None:
    config = tmp_path / "c.toml"
    config.write_text(file)
    values = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_CONFIG": str(config)}
    if env is not None:
        values["CV_COPILOT_REPLICAS"] = env
    assert replicas == load_settings(values).limits_replicas


@pytest.mark.parametrize(("file", "env"), [("[limits]\nreplicas = 0\n", None), ("", "two"), ("", "0"), ("", "-3")])
def test_a_bad_replica_count_is_a_clear_error(tmp_path: Path, file: str, env: str | None) -> None:
    config = tmp_path / "c.toml"
    config.write_text(file)
    values = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_CONFIG": str(config)}
    if env is not None:
        values["CV_COPILOT_REPLICAS"] = env
    with pytest.raises(ConfigError, match=r"(?i)replicas"):
        load_settings(values)


def test_the_redis_limiter_takes_the_replica_count_from_the_settings() -> None:
    pytest.importorskip("redis")
    from core import services

    settings = load_settings(
        {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_REDIS_URL": "redis://127.0.0.1:1/0", "CV_COPILOT_REPLICAS": "3"}
    )
    assert 3 == services.build_limiter(settings).replicas  # type: ignore[attr-defined]
