from pathlib import Path

import pytest

from core.base import TaskType
from core.config import (
    DEFAULT_BASE_URLS,
    DEFAULT_TASK_ROUTING,
    ConfigError,
    hash_password,
    load_settings,
    save_secret,
    update_config_file,
    verify_password,
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


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[budgets]\npolicy = "blok"\n', ["[budgets] policy", "'downgrade'", "'block'"]),
        ('[routing]\nnot_a_task = "openai"\n', ["[routing]", "unknown task 'not_a_task'"]),
        ('[routing]\ncv_parsing = "nonsense"\n', ["[routing]", "cv_parsing", "unknown provider"]),
        ("[providers.opneai]\nrpm = 5\n", ["[providers]", "unknown provider 'opneai'"]),
        ("[providers.groq]\nrpm = -1\n", ["[providers.groq] rpm", "-1"]),
        ('[providers.groq]\ntimeout = "slow"\n', ["[providers.groq] timeout", "'slow'"]),
        ("[providers.groq]\ntimeout = 0\n", ["[providers.groq] timeout"]),
        ("[providers.groq]\nrmp = 5\n", ["[providers.groq] rmp", "unknown key"]),
        ('[providers.custom]\nbase_url = "localhost:11434"\n', ["[providers.custom] base_url", "http"]),
        ("[budgets]\nuser_daily_usd = -5\n", ["[budgets] user_daily_usd"]),
        ("[budgets.users.ana]\ndaily = 1\n", ["[budgets.users.ana] daily", "unknown key"]),
        ("[router]\ncall_timeout = -1\n", ["[router] call_timeout"]),
        ('[router]\ncall_timeout = "90s"\n', ["[router] call_timeout", "'90s'"]),
        ('[router]\nchallenger_provider = "gorq"\n', ["[router] challenger_provider", "'gorq'"]),
        ("[router]\nchallenger_percent = 150\n", ["[router] challenger_percent"]),
        ("[cache]\nttl_days = 0\n", ["[cache] ttl_days"]),
        ('[alerts]\nwebhook_url = "hooks.example.com/x"\n', ["[alerts] webhook_url"]),
        ("[alerts]\nthresholds = [0.5, -1]\n", ["[alerts] thresholds", "-1"]),
        ('[alerts]\nthresholds = "0.5"\n', ["[alerts] thresholds"]),
        ("[budget]\npolicy = 1\n", ["[budget]", "unknown table"]),
        ('[security]\nsettings_password_hash = "hunter2"\n', ["[security] settings_password_hash", "hash-password"]),
    ],
)
def test_a_bad_value_fails_naming_the_key_and_the_file(tmp_path, toml, named):
    path = tmp_path / "cv_copilot.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, config_path=path)
    message = str(caught.value)
    assert [str(path), *named] == [part for part in [str(path), *named] if part in message]


def test_a_bad_update_is_refused_and_the_file_kept(tmp_path):
    path = tmp_path / "cv_copilot.toml"
    update_config_file({"budgets": {"policy": "block"}}, path)
    before = path.read_text()
    with pytest.raises(ConfigError, match=r"\[budgets\] policy"):
        update_config_file({"budgets": {"policy": "stop"}}, path)
    assert before == path.read_text()


def test_zero_limits_mean_none(tmp_path):
    """What the settings page writes for an empty cell (0) reads back as 'no limit'."""
    path = tmp_path / "c.toml"
    update_config_file({"providers": {"groq": {"rpm": 0, "tpm": 0}}, "budgets": {"user_daily_usd": 0}}, path)
    settings = load_settings(env={}, config_path=path)
    assert (None, None, None) == (
        settings.providers["groq"].rpm,
        settings.providers["groq"].tpm,
        settings.budgets.user_daily_usd,
    )


def test_call_timeout_and_alerts(tmp_path):
    path = tmp_path / "c.toml"
    assert 90.0 == load_settings(env={}, config_path=path).call_timeout_seconds
    path.write_text(
        '[router]\ncall_timeout = 30\n[alerts]\nwebhook_url = "https://hooks.example.com/x"\n'
        "thresholds = [1.0, 0.5, 0.8]\n"
    )
    settings = load_settings(env={}, config_path=path)
    assert (30.0, "https://hooks.example.com/x", (0.5, 0.8, 1.0)) == (
        settings.call_timeout_seconds,
        settings.alerts.webhook_url,
        settings.alerts.thresholds,
    )


@pytest.mark.parametrize("var", ["OPENAI_BASE_URL", "OPENAI_COMPAT_BASE_URL"])
def test_a_bad_base_url_in_the_environment_names_the_variable(tmp_path, var):
    with pytest.raises(ConfigError, match=f"{var}.*environment.*not an http"):
        load_settings(env={var: "localhost:11434/v1"}, config_path=tmp_path / "c.toml")


@pytest.mark.parametrize("where", ["dotenv", "secrets"])
def test_db_path_and_token_come_from_either_file(tmp_path, where):
    dotenv, secrets = tmp_path / ".env", tmp_path / "secrets.toml"
    if where == "dotenv":
        dotenv.write_text(f"CV_COPILOT_DB={tmp_path / 'from-file.db'}\nCV_COPILOT_API_TOKEN=t-{'x' * 40}\n")
    else:
        secrets.write_text(f'CV_COPILOT_DB = "{tmp_path / "from-file.db"}"\nCV_COPILOT_API_TOKEN = "t-{"x" * 40}"\n')
    settings = load_settings(env={}, config_path=tmp_path / "c.toml", dotenv_path=dotenv, secrets_path=secrets)
    source = dotenv if where == "dotenv" else secrets
    assert (tmp_path / "from-file.db", str(source), "t-" + "x" * 40) == (
        settings.db_path,
        settings.db_source,
        settings.api_token,
    )


def test_the_environment_beats_the_files_for_the_db_path(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("CV_COPILOT_DB=/tmp/from-dotenv.db\n")
    env = {"CV_COPILOT_DB": str(tmp_path / "env.db")}
    settings = load_settings(env=env, config_path=tmp_path / "c.toml", dotenv_path=dotenv)
    assert (tmp_path / "env.db", "environment") == (settings.db_path, settings.db_source)


def test_password_hash_round_trip():
    stored = hash_password("correct horse")
    assert (True, False, False) == (
        verify_password("correct horse", stored),
        verify_password("correct hors", stored),
        verify_password("", stored),
    )
    assert stored != hash_password("correct horse")  # salted


def test_save_secret_is_private(tmp_path):
    path = save_secret("GROQ_API_KEY", "gsk-abc", tmp_path / ".streamlit" / "secrets.toml")
    assert 'GROQ_API_KEY = "gsk-abc"' in path.read_text()
    assert 0o600 == path.stat().st_mode & 0o777


def test_env_db_path(tmp_path):
    assert Path("/tmp/x.db") == load_settings(env={"CV_COPILOT_DB": "/tmp/x.db"}, config_path=tmp_path / "c").db_path
