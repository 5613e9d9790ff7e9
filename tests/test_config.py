from pathlib import Path

import pytest

from core.base import TaskType
from core.config import (
    DEFAULT_BASE_URLS,
    DEFAULT_TASK_ROUTING,
    load_settings,
    save_secret,
    update_config_file,
)


def test_defaults_with_no_keys(tmp_path):
    settings = load_settings(env={}, config_path=tmp_path / "none.toml")
    assert ["local"] == settings.configured_providers
    assert DEFAULT_TASK_ROUTING == dict(settings.task_routing)
    assert DEFAULT_BASE_URLS["gemini"] == settings.providers["gemini"].base_url


def test_seed_task_defaults():
    assert {
        "cv_parsing": "openai",
        "cv_tailoring": "openai",
        "cover_letter": "openai",
        "email_drafting": "grok",
        "fast_summary": "groq",
        "job_analysis": "gemini",
        "job_matching": "gemini",
    } == {task.value: provider for task, provider in DEFAULT_TASK_ROUTING.items()}


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"OPENAI_API_KEY": "sk-test-1234567890"}, "openai"),
        ({"GEMINI_API_KEY": "g-test-1234567890"}, "gemini"),
        ({"GROQ_API_KEY": "gsk-test-123456789"}, "groq"),
        ({"GROK_API_KEY": "xai-test-123456789"}, "grok"),
        ({"XAI_API_KEY": "xai-test-123456789"}, "grok"),
        ({"OPENAI_COMPAT_BASE_URL": "http://localhost:11434/v1"}, "custom"),
    ],
)
def test_env_configures_provider(tmp_path, env, provider):
    settings = load_settings(env=env, config_path=tmp_path / "none.toml")
    assert [provider, "local"] == settings.configured_providers


def test_base_url_and_model_overrides(tmp_path):
    env = {
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1/",
        "OPENAI_COMPAT_BASE_URL": "http://localhost:11434/v1",
        "OPENAI_COMPAT_MODEL": "qwen2.5",
    }
    settings = load_settings(env=env, config_path=tmp_path / "none.toml")
    assert "http://127.0.0.1:9/v1" == settings.providers["openai"].base_url
    assert ("http://localhost:11434/v1", "qwen2.5") == (
        settings.providers["custom"].base_url,
        settings.providers["custom"].model,
    )


def test_key_never_in_repr(tmp_path):
    settings = load_settings(env={"OPENAI_API_KEY": "sk-secret-abcdefgh1234"}, config_path=tmp_path / "x.toml")
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in repr(settings.providers["openai"])
    assert "…1234" == settings.providers["openai"].api_key.masked()


def test_explicit_key_beats_secrets_beats_env(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "from-secrets-file-0000"\n')
    env = {"OPENAI_API_KEY": "from-environment-1111"}
    loaded = load_settings(env=env, config_path=tmp_path / "x.toml", secrets_path=secrets)
    assert "from-environment-1111" == loaded.providers["openai"].api_key
    explicit = loaded.with_keys({"openai": "typed-in-session-2222"})
    assert ("typed-in-session-2222", "session") == (
        explicit.providers["openai"].api_key,
        explicit.providers["openai"].key_source,
    )


def test_missing_secrets_file_is_not_an_error(tmp_path):
    settings = load_settings(env={}, config_path=tmp_path / "x.toml", secrets_path=tmp_path / "absent.toml")
    assert ["local"] == settings.configured_providers


def test_broken_config_file_names_its_path(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(ValueError, match=r"bad\.toml"):
        load_settings(env={}, config_path=bad)


def test_config_file_round_trip(tmp_path):
    path = tmp_path / "cv_copilot.toml"
    update_config_file({"routing": {"cv_parsing": "gemini"}, "providers": {"groq": {"rpm": 5}}}, path)
    update_config_file(
        {"budgets": {"policy": "block", "user_daily_usd": 0.5}, "prices": {"gpt-4o": {"input": 1}}}, path
    )
    settings = load_settings(env={}, config_path=path)
    assert "gemini" == settings.task_routing[TaskType.CV_PARSING]
    assert 5 == settings.providers["groq"].rpm
    assert ("block", 0.5) == (settings.budgets.policy, settings.budgets.user_daily_usd)
    assert (1.0, 0.0) == settings.price_overrides["gpt-4o"]


def test_unknown_routing_values_are_ignored(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[routing]\ncv_parsing = "nonsense"\nnot_a_task = "openai"\n')
    assert "openai" == load_settings(env={}, config_path=path).task_routing[TaskType.CV_PARSING]


def test_save_secret_is_private(tmp_path):
    path = save_secret("GROQ_API_KEY", "gsk-abc", tmp_path / ".streamlit" / "secrets.toml")
    assert 'GROQ_API_KEY = "gsk-abc"' in path.read_text()
    assert 0o600 == path.stat().st_mode & 0o777


def test_env_db_path(tmp_path):
    assert Path("/tmp/x.db") == load_settings(env={"CV_COPILOT_DB": "/tmp/x.db"}, config_path=tmp_path / "c").db_path
