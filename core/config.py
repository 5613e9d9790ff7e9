"""Settings: the one place that reads the environment, `.env`, `.streamlit/secrets.toml` and the TOML config file.

Keys are resolved explicit → secrets/alias → environment, as a user expects: a key typed into the settings page
for this session wins over one stored on disk, which wins over the shell's. Other values (the DB path, the API
token, base URLs) are resolved environment → `.env` → `secrets.toml`. The config file is validated with pydantic
(core.config_file): a wrong value fails loudly with the key and the file, instead of quietly becoming a default.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from core.config_file import RouterFile

#: The project folder: `.env`, `.streamlit/secrets.toml`, `cv_copilot.toml` and `data/` live here by default.
REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_ROOT = REPO_ROOT

__all__ = [
    "BASE_URL_ENV_VARS", "DEFAULT_BASE_URLS", "DEFAULT_CONTEXT_WINDOWS", "DEFAULT_MODELS", "FALLBACK_CONTEXT_WINDOW",
    "KEY_ENV_VARS", "MODEL_ENV_VARS", "ROUTING_STRATEGIES", "AlertSettings", "BudgetSettings", "ConfigError",
    "ProviderSettings", "Secret", "Settings", "StrategySettings", "load_settings",
]  # fmt: skip

#: The seed's task → provider defaults (from the one task table).
DEFAULT_TASK_ROUTING: dict[TaskType, str] = {task: s.default_provider for task, s in TASKS.items()}

BUDGET_POLICIES = ("downgrade", "block")
DEFAULT_CALL_TIMEOUT_SECONDS = 90.0
DEFAULT_ALERT_THRESHOLDS = (0.5, 0.8, 1.0)
#: `[router] strategy`: "cost" (the task's default, then cheapest) or "balanced" (price, p50 latency, error rate).
ROUTING_STRATEGIES = ("cost", "balanced")
#: Environment variables only Settings reads (besides the provider keys, base URLs and models of the catalogue).
DB_ENV_VAR = "CV_COPILOT_DB"
#: With CV_COPILOT_DB a PostgreSQL URL: this machine's own SQLite file (default data/usage.db).
LOCAL_DB_ENV_VAR = "CV_COPILOT_LOCAL_DB"
TOKEN_ENV_VAR = "CV_COPILOT_API_TOKEN"
REDIS_ENV_VAR = "CV_COPILOT_REDIS_URL"
#: How many app/API processes share one Redis: each takes 1/N of a limit while Redis is down (`[limits] replicas`).
REPLICAS_ENV_VAR = "CV_COPILOT_REPLICAS"
LIMITS_BACKENDS = ("sqlite", "memory", "redis")
CONFIG_ENV_VAR = "CV_COPILOT_CONFIG"
NO_DOTENV_ENV_VAR = "CV_COPILOT_NO_DOTENV"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the key and the file (or variable) it came from."""


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

    @functools.cached_property
    def any_set(self) -> bool:  # read on every routed call; the settings are immutable
        limits = (self.global_daily_usd, self.global_monthly_usd, self.user_daily_usd, self.user_monthly_usd)
        return any(v is not None for v in limits) or bool(self.per_user)


@dataclass(frozen=True)
class AlertSettings:
    """`[alerts]`: where to post budget alerts, and at which fractions of a budget."""

    webhook_url: str | None = None
    thresholds: tuple[float, ...] = DEFAULT_ALERT_THRESHOLDS


@dataclass(frozen=True)
class StrategySettings:
    """`[router] strategy`, `[router.weights]` and the A/B-vote switch: how the router orders its candidates.

    Under "balanced" each candidate's score is a weighted mean of its price, its p50 latency and its recent error
    rate (each scaled to 0..1), read from the usage rows of the last `window_hours`, at most `last_calls` per
    provider, refreshed in the background every `refresh_seconds`. With `prefer_ab_winner`, a task with at least
    `ab_min_votes` A/B votes goes first to the winner by win rate per dollar.
    """

    name: str = "cost"
    price_weight: float = 1.0
    latency_weight: float = 1.0
    errors_weight: float = 2.0
    window_hours: float = 24.0
    last_calls: int = 200
    min_calls: int = 5
    refresh_seconds: float = 30.0
    prefer_ab_winner: bool = False
    ab_min_votes: int = 20

    @property
    def active(self) -> bool:
        """True when routing needs more than the price ranking (the hot path checks this first)."""
        return self.name != "cost" or self.prefer_ab_winner


@dataclass(frozen=True)
class Settings:
    providers: Mapping[str, ProviderSettings]
    task_routing: Mapping[TaskType, str]
    db_path: Path
    config_path: Path
    api_token: Secret | None = None
    price_overrides: Mapping[str, tuple[float, ...]] = field(
        default_factory=dict
    )  # model → (in, out[, cached, write]) per 1K
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
    call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS
    alerts: AlertSettings = field(default_factory=AlertSettings)
    #: `[security] settings_password_hash`: required to open the Settings page when the app is served on a network.
    settings_password_hash: str | None = None
    #: Where `CV_COPILOT_DB` came from: "environment", a file path, or "default".
    db_source: str = "default"
    #: CV_COPILOT_DB as a postgresql:// URL: the tracker (and what else `core.tracker.pg_storage` holds) lives in
    #: PostgreSQL, shared by several machines; `db_path` is then this machine's file (the journal of rows waiting
    #: for PostgreSQL, and what stays local). May hold a password: show `db_display` instead.
    db_url: Secret | None = None
    #: `[limits] backend`: where rate-limit windows and budget holds live (None: the usage DB, or Redis when set).
    limits_backend: str | None = None
    #: CV_COPILOT_REDIS_URL: limits and budget holds on Redis, shared by several machines (may hold a password).
    redis_url: Secret | None = None
    #: `[limits] replicas` / CV_COPILOT_REPLICAS: processes sharing Redis (None: core.limits' default).
    limits_replicas: int | None = None
    #: The secrets file keys are saved to (and read from, unless CV_COPILOT_NO_DOTENV is set).
    secrets_path: Path = field(default_factory=lambda: default_secrets_path())
    #: `[router] strategy`, `[router.weights]`, the stats window and the A/B-vote switch.
    strategy: StrategySettings = field(default_factory=StrategySettings)

    def provider(self, name: str) -> ProviderSettings:
        return self.providers[name]

    @property
    def db_display(self) -> str:
        """Where usage is stored, fit for a page or a log line (a URL's password replaced by ***)."""
        return redact_db_url(self.db_url) if self.db_url else str(self.db_path)

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


def _check_url(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


# --- reading sources ------------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read settings file {path}: {exc}") from None


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def default_secrets_path() -> Path:
    return PROJECT_ROOT / ".streamlit" / "secrets.toml"


def default_dotenv_path() -> Path:
    return PROJECT_ROOT / ".env"


def config_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(CONFIG_ENV_VAR) or PROJECT_ROOT / "cv_copilot.toml")


#: `CV_COPILOT_DB` values that name a PostgreSQL server rather than a SQLite file.
DB_URL_SCHEMES = ("postgresql://", "postgres://")


def is_db_url(value: str) -> bool:
    """True for a postgresql:// (or postgres://) URL: anything else is a SQLite file path, as before."""
    return value.strip().lower().startswith(DB_URL_SCHEMES)


def redact_db_url(url: str) -> str:
    """`url` with its password (in the authority or a `password=` parameter) replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hosts}"
    query = re.sub(r"(?i)(^|&)(password)=[^&]*", r"\1\2=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_db_url(value: str, source: str) -> str:
    """A PostgreSQL URL made sure of before anything connects: scheme, host or socket, database name; parsed as
    libpq parses it. The error names the variable and its source, never the password."""
    from urllib.parse import unquote, urlsplit

    scheme, sep, rest = value.strip().partition("://")
    url = scheme.lower() + sep + rest  # libpq knows the scheme in lower case only
    where = f"{DB_ENV_VAR} (from {source})"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"{where}: {redact_db_url(url)!r} is not a valid PostgreSQL URL") from None
    query = parts.query.lower()
    if not (parts.hostname or "host=" in query):
        raise ConfigError(f"{where}: {redact_db_url(url)!r} names no host (postgresql://user:pass@host/db)")
    if not (unquote(parts.path.lstrip("/")) or "dbname=" in query):
        raise ConfigError(f"{where}: {redact_db_url(url)!r} names no database (postgresql://user:pass@host/db)")
    return url


def _path_from(value: str, source: str) -> Path:
    """A path as the user wrote it: `~` expanded; relative ones from the project folder when set in a file."""
    path = Path(value.strip()).expanduser()
    if path.is_absolute():
        return path
    return (Path.cwd() if source == "environment" else PROJECT_ROOT) / path


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    config_path: Path | None = None,
    secrets_path: Path | None = None,
    dotenv_path: Path | None = None,
    keys: Mapping[str, str | None] | None = None,
) -> Settings:
    """Build Settings from every source. A missing file is not an error; a broken one or a bad value is."""
    env = dict(os.environ if env is None else env)
    use_files = not env.get(NO_DOTENV_ENV_VAR)
    lookup: dict[str, str] = {}
    source: dict[str, str] = {}
    secrets_file = secrets_path or default_secrets_path()
    if use_files or secrets_path is not None:
        secrets = _read_toml(secrets_file)
        found = {k: str(v) for k, v in secrets.items() if isinstance(v, str | int | float)}
        lookup.update(found)
        source.update(dict.fromkeys(found, str(secrets_file)))
    if use_files or dotenv_path is not None:
        dotenv_file = dotenv_path or default_dotenv_path()
        found = _read_dotenv(dotenv_file)
        lookup.update(found)
        source.update(dict.fromkeys(found, str(dotenv_file)))
    found = {k: v for k, v in env.items() if v != ""}
    lookup.update(found)
    source.update(dict.fromkeys(found, "environment"))

    config_path = config_path or config_path_from_env(env)
    from core.config_file import ProviderFile, validate_file  # pydantic: imported when a config is read

    cfg = validate_file(_read_toml(config_path), config_path)

    providers: dict[str, ProviderSettings] = {}
    for name in PROVIDER_NAMES:
        pcfg = cfg.providers.get(name) or ProviderFile()
        key, key_source = None, ""
        for var in KEY_ENV_VARS.get(name, ()):
            if lookup.get(var, "").strip():
                key, key_source = Secret(lookup[var].strip()), var
                break
        url_var = BASE_URL_ENV_VARS.get(name, "")
        base_url = lookup.get(url_var, "") or pcfg.base_url or DEFAULT_BASE_URLS[name]
        if url_var in lookup and _check_url_quietly(lookup[url_var]) is None:
            raise ConfigError(f"{url_var} (from {source[url_var]}): {lookup[url_var]!r} is not an http(s) URL")
        model = lookup.get(MODEL_ENV_VARS.get(name, ""), "") or pcfg.model or DEFAULT_MODELS[name]
        providers[name] = ProviderSettings(
            name=name,
            api_key=key,
            base_url=str(base_url).rstrip("/"),
            model=str(model),
            rpm=pcfg.rpm or None,
            tpm=pcfg.tpm or None,
            context_window=pcfg.context_window or None,
            timeout=pcfg.timeout,
            key_source=key_source,
        )

    routing = dict(DEFAULT_TASK_ROUTING)
    routing.update({TaskType(task): provider for task, provider in cfg.routing.items()})

    b = cfg.budgets
    budgets = BudgetSettings(
        policy=b.policy,
        global_daily_usd=b.global_daily_usd or None,
        global_monthly_usd=b.global_monthly_usd or None,
        user_daily_usd=b.user_daily_usd or None,
        user_monthly_usd=b.user_monthly_usd or None,
        per_user={
            user: {k: v for k, v in (("daily_usd", u.daily_usd), ("monthly_usd", u.monthly_usd)) if v}
            for user, u in b.users.items()
        },
    )
    db_value = lookup.get(DB_ENV_VAR, "").strip()
    token = lookup.get(TOKEN_ENV_VAR, "").strip()
    redis_url = lookup.get(REDIS_ENV_VAR, "").strip()
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{REDIS_ENV_VAR} (from {source[REDIS_ENV_VAR]}): not a redis:// or rediss:// URL")
    if cfg.limits.backend == "redis" and not redis_url:
        raise ConfigError(f"Invalid setting in {config_path}: [limits] backend = 'redis' needs {REDIS_ENV_VAR}")
    replicas = cfg.limits.replicas
    if lookup.get(REPLICAS_ENV_VAR, "").strip():
        text = lookup[REPLICAS_ENV_VAR].strip()
        if not text.isdigit() or not 1 <= int(text) <= 10000:
            raise ConfigError(
                f"{REPLICAS_ENV_VAR} (from {source[REPLICAS_ENV_VAR]}): {text!r} is not a whole number 1-10000"
            )
        replicas = int(text)
    db_url = check_db_url(db_value, source[DB_ENV_VAR]) if is_db_url(db_value) else ""
    if db_url:  # this machine's own file: CV_COPILOT_LOCAL_DB, else the default place
        db_value = lookup.get(LOCAL_DB_ENV_VAR, "").strip()
    settings = Settings(
        providers=providers,
        task_routing=routing,
        db_path=_path_from(db_value, source[LOCAL_DB_ENV_VAR if db_url else DB_ENV_VAR])
        if db_value
        else PROJECT_ROOT / "data" / "usage.db",
        db_url=Secret(db_url) if db_url else None,
        db_source=source[DB_ENV_VAR] if db_value or db_url else "default",
        config_path=config_path,
        api_token=Secret(token) if token else None,
        price_overrides={model: p.rates() for model, p in cfg.prices.items()},
        unknown_price_per_1k=(cfg.pricing.unknown_input_per_1k, cfg.pricing.unknown_output_per_1k),
        budgets=budgets,
        cache_enabled=cfg.cache.enabled,
        cache_ttl_seconds=cfg.cache.ttl_days * 86400,
        max_retries=cfg.router.max_retries,
        retry_after_cap_seconds=cfg.router.retry_after_cap_seconds,
        cooldown_failures=cfg.router.cooldown_failures,
        cooldown_seconds=cfg.router.cooldown_seconds,
        challenger_provider=cfg.router.challenger_provider,
        challenger_percent=cfg.router.challenger_percent,
        retention_days=cfg.usage.retention_days or None,
        call_timeout_seconds=cfg.router.call_timeout,
        alerts=AlertSettings(webhook_url=cfg.alerts.webhook_url or None, thresholds=cfg.alerts.thresholds),
        settings_password_hash=cfg.security.settings_password_hash,
        secrets_path=secrets_file,
        limits_backend=cfg.limits.backend,
        redis_url=Secret(redis_url) if redis_url else None,
        strategy=_strategy(cfg.router),
        limits_replicas=replicas,
    )
    return settings.with_keys(keys) if keys else settings


def _strategy(r: RouterFile) -> StrategySettings:
    return StrategySettings(
        name=r.strategy, price_weight=r.weights.price, latency_weight=r.weights.latency,
        errors_weight=r.weights.errors, window_hours=r.stats_window_hours, last_calls=r.stats_last_calls,
        min_calls=r.stats_min_calls, refresh_seconds=r.stats_refresh_seconds, prefer_ab_winner=r.prefer_ab_winner,
        ab_min_votes=r.ab_min_votes,
    )  # fmt: skip


def _check_url_quietly(value: str) -> str | None:
    try:
        return _check_url(value.strip()) or None
    except ValueError:
        return None


# --- the editable config file ---------------------------------------------------------------------------------

_write_lock = threading.Lock()


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    return _read_toml(path or config_path_from_env())


def update_config_file(updates: Mapping[str, Any], path: Path | None = None) -> Path:
    """Merge `updates` (nested tables) into the TOML config file. Keys never go here: see save_secret.

    The merged file is validated first: a bad value raises ConfigError and the file is left as it was.
    """
    import tomli_w

    path = path or config_path_from_env()
    with _write_lock:
        current = _read_toml(path)
        merged = _drop_none(_deep_merge(current, updates))
        from core.config_file import validate_file

        validate_file(merged, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(tomli_w.dumps(merged), encoding="utf-8")
        tmp.replace(path)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` through a temp file created 0600, so the secret is never readable by others."""
    tmp = path.with_suffix(".tmp")  # .streamlit/secrets.tmp: git-ignored
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)  # also when the umask is unusual
    tmp.replace(path)


def save_secret(name: str, value: str, path: Path | None = None) -> Path:
    """Store one key in `.streamlit/secrets.toml`, only when the user asks for it explicitly."""
    import tomli_w

    path = path or default_secrets_path()
    with _write_lock:
        current = _read_toml(path)
        current[name] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, tomli_w.dumps(current))
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


# --- the settings password ------------------------------------------------------------------------------------
# Stored as `[security] settings_password_hash`; `python -m core hash-password` prints one. scrypt (RFC 7914) from
# the standard library, with the parameters in the string so they can be raised later without breaking old hashes.

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    import base64
    import hashlib
    import secrets

    if not password:
        raise ValueError("the password is empty")
    salt = salt or secrets.token_bytes(16)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def _parse_password_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    import base64
    import binascii

    parts = stored.split("$")
    try:
        if len(parts) != 6 or parts[0] != "scrypt":
            raise ValueError
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.urlsafe_b64decode(parts[4]), base64.urlsafe_b64decode(parts[5])
        if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 16) or len(digest) < 16 or len(salt) < 8:
            raise ValueError
    except (ValueError, binascii.Error):
        raise ValueError(
            "not a password hash made by `python -m core hash-password` (scrypt$n$r$p$salt$hash)"
        ) from None
    return n, r, p, salt, digest


def check_password_hash_format(stored: str) -> None:
    _parse_password_hash(stored)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (constant-time compare)."""
    import hashlib
    import hmac

    n, r, p, salt, digest = _parse_password_hash(stored)
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=256 * n * r * p + 2**20
    )
    return hmac.compare_digest(candidate, digest)


# --- accessors of the composition root --------------------------------------------------------------------------


def get_settings() -> Settings:
    """The process's settings: those of the composition root (core.services)."""
    from core.services import get_services

    return get_services().settings


def reload_settings() -> Settings:
    """Re-read every source after the config file changed; the root rebuilds what depends on the settings."""
    from core.services import reload

    return reload().settings
