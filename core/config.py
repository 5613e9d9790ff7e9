"""Settings from (highest first) explicit values, environment, `.env`, `.streamlit/secrets.toml` and a TOML file.

Keys are resolved explicit → secrets/alias → environment, as a user expects: a key typed into the settings page
for this session wins over one stored on disk, which wins over the shell's.
"""

from __future__ import annotations

import copy
import os
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.base import PROVIDER_NAMES, TaskType
from core.providers.catalog import (
    BASE_URL_ENV_VARS,
    DEFAULT_BASE_URLS,
    DEFAULT_CONTEXT_WINDOWS,
    DEFAULT_MODELS,
    FALLBACK_CONTEXT_WINDOW,
    KEY_ENV_VARS,
    MODEL_ENV_VARS,
)
from core.tasks import TASKS

REPO_ROOT = Path(__file__).resolve().parent.parent

__all__ = [
    "BASE_URL_ENV_VARS", "DEFAULT_BASE_URLS", "DEFAULT_CONTEXT_WINDOWS", "DEFAULT_MODELS", "FALLBACK_CONTEXT_WINDOW",
    "KEY_ENV_VARS", "MODEL_ENV_VARS",
]  # fmt: skip

#: The seed's task → provider defaults (from the one task table).
DEFAULT_TASK_ROUTING: dict[TaskType, str] = {task: s.default_provider for task, s in TASKS.items()}

BUDGET_POLICIES = ("downgrade", "block")


class Secret(str):
    """A str that never shows itself in repr, logs or f-string debugging."""

    def __repr__(self) -> str:
        return "Secret(****)"

    def masked(self) -> str:
        return f"…{self[-4:]}" if len(self) >= 12 else "set"


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    api_key: Secret | None
    base_url: str
    model: str
    rpm: int | None = 60
    tpm: int | None = None
    context_window: int | None = None
    timeout: float = 60.0
    key_source: str = ""

    @property
    def configured(self) -> bool:
        if self.name == "local":
            return True
        if self.name == "custom":
            return bool(self.base_url)
        return bool(self.api_key)

    def __repr__(self) -> str:
        key = "set" if self.api_key else "none"
        return f"ProviderSettings(name={self.name!r}, model={self.model!r}, base_url={self.base_url!r}, key={key})"


@dataclass(frozen=True)
class BudgetSettings:
    policy: str = "downgrade"
    global_daily_usd: float | None = None
    global_monthly_usd: float | None = None
    user_daily_usd: float | None = None
    user_monthly_usd: float | None = None
    per_user: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def limits_for(self, user_id: str) -> dict[str, float | None]:
        own = self.per_user.get(user_id, {})
        return {
            "user_daily_usd": own.get("daily_usd", self.user_daily_usd),
            "user_monthly_usd": own.get("monthly_usd", self.user_monthly_usd),
            "global_daily_usd": self.global_daily_usd,
            "global_monthly_usd": self.global_monthly_usd,
        }

    @property
    def any_set(self) -> bool:
        limits = (self.global_daily_usd, self.global_monthly_usd, self.user_daily_usd, self.user_monthly_usd)
        return any(v is not None for v in limits) or bool(self.per_user)


@dataclass(frozen=True)
class Settings:
    providers: Mapping[str, ProviderSettings]
    task_routing: Mapping[TaskType, str]
    db_path: Path
    config_path: Path
    api_token: Secret | None = None
    price_overrides: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # model → (in, out) per 1K
    unknown_price_per_1k: tuple[float, float] = (0.01, 0.03)
    budgets: BudgetSettings = field(default_factory=BudgetSettings)
    cache_enabled: bool = True
    cache_ttl_seconds: float = 7 * 86400
    max_retries: int = 1
    retry_after_cap_seconds: float = 5.0
    cooldown_failures: int = 3
    cooldown_seconds: float = 60.0
    challenger_provider: str | None = None
    challenger_percent: float = 0.0
    retention_days: float | None = None

    def provider(self, name: str) -> ProviderSettings:
        return self.providers[name]

    @property
    def configured_providers(self) -> list[str]:
        return [name for name, p in self.providers.items() if p.configured]

    def with_keys(self, keys: Mapping[str, str | None]) -> Settings:
        """A copy with session-only keys (explicit) applied on top."""
        providers = dict(self.providers)
        for name, key in keys.items():
            if name in providers and key:
                providers[name] = replace(providers[name], api_key=Secret(key.strip()), key_source="session")
        return replace(self, providers=providers)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"Cannot read settings file {path}: {exc}") from None


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def config_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("CV_COPILOT_CONFIG") or REPO_ROOT / "cv_copilot.toml")


def _float_or_none(value: Any) -> float | None:
    if value in (None, "", 0, 0.0):
        return None
    return float(value)


def _int_or_none(value: Any) -> int | None:
    if value in (None, "", 0):
        return None
    return int(value)


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_path: Path | None = None,
    secrets_path: Path | None = None,
    dotenv_path: Path | None = None,
    keys: Mapping[str, str | None] | None = None,
) -> Settings:
    """Build Settings from every source. A missing file is not an error; a broken one is, with its path."""
    env = dict(os.environ if env is None else env)
    use_files = not env.get("CV_COPILOT_NO_DOTENV")
    lookup: dict[str, str] = {}
    if use_files or secrets_path is not None:
        secrets_file = secrets_path or REPO_ROOT / ".streamlit" / "secrets.toml"
        secrets = _read_toml(secrets_file)
        lookup.update({k: str(v) for k, v in secrets.items() if isinstance(v, str | int | float)})
    if use_files or dotenv_path is not None:
        lookup.update(_read_dotenv(dotenv_path or REPO_ROOT / ".env"))
    lookup.update({k: v for k, v in env.items() if v != ""})

    config_path = config_path or config_path_from_env(env)
    file_cfg = _read_toml(config_path)
    provider_cfg: Mapping[str, Any] = file_cfg.get("providers", {})

    providers: dict[str, ProviderSettings] = {}
    for name in PROVIDER_NAMES:
        cfg = provider_cfg.get(name, {})
        key, source = None, ""
        for var in KEY_ENV_VARS.get(name, ()):
            if lookup.get(var):
                key, source = Secret(lookup[var].strip()), var
                break
        base_url = lookup.get(BASE_URL_ENV_VARS.get(name, ""), "") or cfg.get("base_url") or DEFAULT_BASE_URLS[name]
        model = lookup.get(MODEL_ENV_VARS.get(name, ""), "") or cfg.get("model") or DEFAULT_MODELS[name]
        providers[name] = ProviderSettings(
            name=name,
            api_key=key,
            base_url=str(base_url).rstrip("/"),
            model=str(model),
            rpm=_int_or_none(cfg.get("rpm", 60)),
            tpm=_int_or_none(cfg.get("tpm")),
            context_window=_int_or_none(cfg.get("context_window")),
            timeout=float(cfg.get("timeout", 60.0)),
            key_source=source,
        )

    routing = dict(DEFAULT_TASK_ROUTING)
    for task_name, provider in file_cfg.get("routing", {}).items():
        try:
            task = TaskType(task_name)
        except ValueError:
            continue
        if provider in PROVIDER_NAMES:
            routing[task] = provider

    prices = {
        str(model): (float(p.get("input", 0.0)), float(p.get("output", 0.0)))
        for model, p in file_cfg.get("prices", {}).items()
        if isinstance(p, Mapping)
    }
    pricing_cfg = file_cfg.get("pricing", {})
    unknown = (
        float(pricing_cfg.get("unknown_input_per_1k", 0.01)),
        float(pricing_cfg.get("unknown_output_per_1k", 0.03)),
    )

    b = file_cfg.get("budgets", {})
    policy = str(b.get("policy", "downgrade"))
    budgets = BudgetSettings(
        policy=policy if policy in BUDGET_POLICIES else "downgrade",
        global_daily_usd=_float_or_none(b.get("global_daily_usd")),
        global_monthly_usd=_float_or_none(b.get("global_monthly_usd")),
        user_daily_usd=_float_or_none(b.get("user_daily_usd")),
        user_monthly_usd=_float_or_none(b.get("user_monthly_usd")),
        per_user={
            str(u): {k: float(v) for k, v in limits.items() if k in ("daily_usd", "monthly_usd") and v}
            for u, limits in b.get("users", {}).items()
            if isinstance(limits, Mapping)
        },
    )
    cache_cfg = file_cfg.get("cache", {})
    router_cfg = file_cfg.get("router", {})
    usage_cfg = file_cfg.get("usage", {})
    token = lookup.get("CV_COPILOT_API_TOKEN")
    settings = Settings(
        providers=providers,
        task_routing=routing,
        db_path=Path(lookup.get("CV_COPILOT_DB") or REPO_ROOT / "data" / "usage.db"),
        config_path=config_path,
        api_token=Secret(token) if token else None,
        price_overrides=prices,
        unknown_price_per_1k=unknown,
        budgets=budgets,
        cache_enabled=bool(cache_cfg.get("enabled", True)),
        cache_ttl_seconds=float(cache_cfg.get("ttl_days", 7)) * 86400,
        max_retries=int(router_cfg.get("max_retries", 1)),
        retry_after_cap_seconds=float(router_cfg.get("retry_after_cap_seconds", 5.0)),
        cooldown_failures=int(router_cfg.get("cooldown_failures", 3)),
        cooldown_seconds=float(router_cfg.get("cooldown_seconds", 60.0)),
        challenger_provider=router_cfg.get("challenger_provider") or None,
        challenger_percent=float(router_cfg.get("challenger_percent", 0.0)),
        retention_days=_float_or_none(usage_cfg.get("retention_days")),
    )
    return settings.with_keys(keys) if keys else settings


# --- the editable config file ---------------------------------------------------------------------------------

_write_lock = threading.Lock()


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    return _read_toml(path or config_path_from_env())


def update_config_file(updates: Mapping[str, Any], path: Path | None = None) -> Path:
    """Merge `updates` (nested tables) into the TOML config file. Keys never go here: see save_secret."""
    import tomli_w

    path = path or config_path_from_env()
    with _write_lock:
        current = _read_toml(path)
        merged = _deep_merge(current, updates)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(tomli_w.dumps(_drop_none(merged)), encoding="utf-8")
        tmp.replace(path)
    return path


def save_secret(name: str, value: str, path: Path | None = None) -> Path:
    """Store one key in `.streamlit/secrets.toml`, only when the user asks for it explicitly."""
    import tomli_w

    path = path or REPO_ROOT / ".streamlit" / "secrets.toml"
    with _write_lock:
        current = _read_toml(path)
        current[name] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(current), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return path


def _deep_merge(base: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in updates.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _drop_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


_settings: Settings | None = None
_settings_lock = threading.Lock()


def get_settings() -> Settings:
    """Process-wide settings, loaded once; `reload_settings()` after the config file changes."""
    global _settings
    with _settings_lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def reload_settings() -> Settings:
    global _settings
    with _settings_lock:
        _settings = None
    return get_settings()


def _reset_for_tests() -> None:
    global _settings
    _settings = None
