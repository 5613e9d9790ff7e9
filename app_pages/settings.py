"""Settings: providers and keys, task routing and strategy, prices, rate limits, budgets, cache, challenger, usage data.

Everything except keys is saved to the TOML config file (core.config.update_config_file). A key typed here lives in
this browser session only, unless the user explicitly ticks "save to .streamlit/secrets.toml". Keys are never shown
in full: the provider table carries the router's masked hint (last 4 characters at most).
"""

from __future__ import annotations

import time
from typing import Any, cast

import pandas as pd
import streamlit as st

from core.aio import run_sync
from core.base import PROVIDER_NAMES, CVCopilotError, TaskType
from core.config import (
    BUDGET_POLICIES,
    DEFAULT_TASK_ROUTING,
    KEY_ENV_VARS,
    ROUTING_STRATEGIES,
    StrategySettings,
    get_settings,
    save_secret,
    update_config_file,
    verify_password,
)
from core.pricing import prices_as_of, unpriced_models
from core.router import reset_model_router
from core.usage_tracker import get_usage_tracker
from ui import state
from ui.widgets import user_budget_updates

_FLASH = "settings_flash"
_KEYED = [name for name in PROVIDER_NAMES if name in KEY_ENV_VARS]


# --- helpers ------------------------------------------------------------------------------------------------------


def _rows_editor(rows: list[dict[str, Any]], dtypes: dict[str, str], key: str, columns: dict[str, Any]) -> pd.DataFrame:
    """A table the user adds rows to and deletes rows from. Each column keeps its type (`dtypes`) even when it is
    empty or all blank, so a price or limit cell takes a number."""
    frame = pd.DataFrame(rows, columns=list(dtypes)).astype(dtypes)
    return st.data_editor(frame, key=key, hide_index=True, width="stretch", num_rows="dynamic", column_config=columns)


def _flash(message: str, kind: str = "success") -> None:
    """Show `message` after the rerun that picks up the new settings."""
    st.session_state[_FLASH] = (kind, message)


def _show_flash() -> None:
    kind, message = st.session_state.pop(_FLASH, (None, None))
    if message:
        getattr(st, kind)(message)


def _save(updates: dict[str, Any], what: str) -> None:
    """Write the config file, rebuild settings and routers, and rerun so every widget shows the saved state."""
    try:
        path = update_config_file(updates)
    except (OSError, ValueError) as exc:
        st.error(f"Could not save {what}: {exc}")
        return
    reset_model_router()  # re-reads the settings too
    _flash(f"Saved {what} to {path}.")
    st.rerun()


def _limit(value: Any) -> float | None:
    """A number input's value as a budget: 0 or empty means no limit (None drops the key from the file)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _int_or_zero(value: Any) -> int:
    """Rate limits: empty means unlimited, written as 0 (the loader reads 0 as 'no limit')."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return max(number, 0)


# --- sections -----------------------------------------------------------------------------------------------------


def render_providers() -> None:
    st.subheader("Providers")
    settings = get_settings()
    rows = []
    for status in state.router().provider_status():
        ps = settings.providers[status["name"]]
        rows.append(
            {
                "provider": status["name"],
                "configured": bool(status["configured"]),
                "key": status["key_hint"] or "",
                "key source": status.get("key_source", "") or "",
                "model": status["model"],
                "base_url": status["base_url"],
                "rpm": ps.rpm,
                "tpm": ps.tpm,
                "timeout_s": ps.timeout,
                "USD/1K in": status["input_per_1k"],
                "USD/1K out": status["output_per_1k"],
            }
        )
    frame = pd.DataFrame(rows)
    edited = st.data_editor(
        frame,
        key="providers_editor",
        hide_index=True,
        width="stretch",
        disabled=["provider", "configured", "key", "key source", "USD/1K in", "USD/1K out"],
        column_config={
            "configured": st.column_config.CheckboxColumn("configured"),
            "rpm": st.column_config.NumberColumn("rpm", min_value=0, step=1, help="requests per minute; empty = none"),
            "tpm": st.column_config.NumberColumn("tpm", min_value=0, step=1, help="tokens per minute; empty = none"),
            "timeout_s": st.column_config.NumberColumn("timeout_s", min_value=1, max_value=600),
            "USD/1K in": st.column_config.NumberColumn("USD/1K in", format="%.6f"),
            "USD/1K out": st.column_config.NumberColumn("USD/1K out", format="%.6f"),
        },
    )
    st.caption(
        "Model, base URL, rate limits and timeout are saved to the config file; an environment variable "
        "(e.g. OPENAI_MODEL, OPENAI_BASE_URL) still wins over it. Keys never go to that file."
    )
    if st.button("Save providers and rate limits", key="save_providers"):
        _save({"providers": _provider_updates(frame, edited)}, "providers and rate limits")

    render_keys()
    render_test_connection()


def _provider_updates(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Only the fields the user changed, per provider."""
    updates: dict[str, dict[str, Any]] = {}
    for old, new in zip(before.to_dict("records"), after.to_dict("records"), strict=True):
        changed: dict[str, Any] = {}
        if str(new["model"] or "").strip() and new["model"] != old["model"]:
            changed["model"] = str(new["model"]).strip()
        if new["provider"] != "local" and (new["base_url"] or "") != (old["base_url"] or ""):
            changed["base_url"] = str(new["base_url"] or "").strip()
        for column in ("rpm", "tpm"):
            if _int_or_zero(new[column]) != _int_or_zero(old[column]):
                changed[column] = _int_or_zero(new[column])
        if not pd.isna(new["timeout_s"]) and float(new["timeout_s"]) != float(old["timeout_s"]):
            changed["timeout"] = float(new["timeout_s"])
        if changed:
            updates[str(new["provider"])] = changed
    return updates


def render_keys() -> None:
    with st.expander("Enter an API key", expanded=False):
        st.caption(
            "A key typed here is kept for this browser session only. Tick the box to store it in "
            "`.streamlit/secrets.toml` (git-ignored, readable by you only) so it survives a restart. "
            "The field is cleared once the key is used; only its last 4 characters are ever shown."
        )
        provider = st.selectbox("Provider", _KEYED, key="key_provider")
        st.text_input("API key", type="password", key="key_value", autocomplete="off")
        st.checkbox("Also save to .streamlit/secrets.toml", key="key_persist")
        st.button("Use this key", key="key_use", type="primary", on_click=_take_key)
        taken = st.session_state.pop(_TAKEN_KEY, None)
        if taken is not None:
            _use_key(provider, *taken)
        if state.session_keys() and st.button("Forget session keys", key="key_forget"):
            state.services().release_session_router(state.session_keys())
            st.session_state["session_keys"] = {}
            _flash("Session keys forgotten.")
            st.rerun()
        if state.session_keys():
            hints = ", ".join(f"{name} (…{value[-4:]})" for name, value in sorted(state.session_keys().items()))
            st.caption("Session keys set for: " + hints)


_TAKEN_KEY = "_key_taken"


def _take_key() -> None:
    """Runs before the rerun (a widget callback may reset widgets): move the key out of the field, which is then
    sent back to the browser empty."""
    value = str(st.session_state.get("key_value") or "").strip()
    st.session_state[_TAKEN_KEY] = (value, bool(st.session_state.get("key_persist")))
    st.session_state["key_value"] = ""
    st.session_state["key_persist"] = False


def _use_key(provider: str, value: str, persist: bool) -> None:
    if not value:
        st.error("Type a key first.")
        return
    keys = state.session_keys()
    keys[provider] = value
    st.session_state["session_keys"] = keys
    message = f"Key …{value[-4:]} for {provider} set for this session."
    if persist:
        try:
            path = save_secret(KEY_ENV_VARS[provider][0], value)
        except OSError as exc:
            st.error(f"Could not write the secrets file: {exc.strerror or type(exc).__name__}")
            return
        reset_model_router()
        message = f"Key …{value[-4:]} for {provider} saved to {path} and set for this session."
    _flash(message)
    st.rerun()


def render_test_connection() -> None:
    left, right = st.columns([2, 1])
    provider = left.selectbox("Test a provider", list(PROVIDER_NAMES), key="test_provider")
    right.write("")
    if right.button("Test connection", key="test_connection"):
        try:
            with st.spinner(f"Calling {provider}…"):
                response = run_sync(state.router().test_connection(provider))
        except CVCopilotError as exc:
            st.error(f"{provider}: {exc}")
        except Exception as exc:  # noqa: BLE001 - anything else still gets a readable line, never a traceback
            st.error(f"{provider}: unexpected {type(exc).__name__}; see the server log.")
        else:
            st.success(
                f"{response.provider} answered in {response.latency_ms:.0f} ms with {response.model} "
                f"({response.input_tokens}+{response.output_tokens} tokens, ${response.cost_usd:.6f})."
            )


def render_routing() -> None:
    st.subheader("Task routing")
    settings = get_settings()
    frame = pd.DataFrame(
        [
            {
                "task": task.value,
                "provider": settings.task_routing.get(task, DEFAULT_TASK_ROUTING[task]),
                "seed default": DEFAULT_TASK_ROUTING[task],
            }
            for task in TaskType
        ]
    )
    edited = st.data_editor(
        frame,
        key="routing_editor",
        hide_index=True,
        width="stretch",
        disabled=["task", "seed default"],
        column_config={
            "provider": st.column_config.SelectboxColumn("provider", options=list(PROVIDER_NAMES), required=True)
        },
    )
    left, right = st.columns(2)
    if left.button("Save routing", key="save_routing", type="primary"):
        routing = {row["task"]: row["provider"] for row in edited.to_dict("records") if row["provider"]}
        _save({"routing": routing}, "task routing")
    if right.button("Reset to the seed's defaults", key="reset_routing"):
        st.session_state.pop("routing_editor", None)
        _save({"routing": dict.fromkeys((t.value for t in TaskType), None)}, "default task routing")


_STRATEGY_LABELS = {
    "cost": "Cost: the task's default provider, then the cheapest",
    "balanced": "Balanced: price, speed and reliability, from your own usage",
}


def render_strategy() -> None:
    st.subheader("Routing strategy")
    current = get_settings().strategy
    strategy = st.radio(
        "Strategy", ROUTING_STRATEGIES, index=ROUTING_STRATEGIES.index(current.name),
        format_func=_STRATEGY_LABELS.__getitem__, key="route_strategy",
    )  # fmt: skip
    balanced = strategy == "balanced"
    cols = st.columns(3)
    weights = {}
    values = (("price", current.price_weight), ("latency", current.latency_weight), ("errors", current.errors_weight))
    for column, (name, value) in zip(cols, values, strict=True):
        weights[name] = column.number_input(
            f"Weight of {name}", min_value=0.0, max_value=100.0, step=0.5, value=float(value), key=f"route_w_{name}",
            disabled=not balanced,
        )  # fmt: skip
    st.caption(
        f"Balanced scores each provider from its price for a typical call, its median (p50) latency and its error "
        f"rate over the last {current.window_hours:g} h (at most {current.last_calls} calls each), and tries the "
        "best first (the task routing table above then only applies to the cost strategy). A weight of 0 ignores "
        "that part. The offline engine stays the last resort; the sidebar's optimize-cost switch still means "
        "cheapest first."
    )
    left, right = st.columns(2)
    prefer_ab = left.toggle(
        "Prefer the A/B vote winner", value=current.prefer_ab_winner, key="route_prefer_ab",
        help="Once a task has enough votes on the Compare page, its winner by win rate per dollar goes first.",
    )  # fmt: skip
    min_votes = right.number_input(
        "Votes a task needs", min_value=1, max_value=100_000, value=current.ab_min_votes, step=1,
        key="route_min_votes",
    )  # fmt: skip
    chosen = StrategySettings(
        name=strategy, price_weight=weights["price"], latency_weight=weights["latency"],
        errors_weight=weights["errors"], window_hours=current.window_hours, last_calls=current.last_calls,
        min_calls=current.min_calls, refresh_seconds=current.refresh_seconds, prefer_ab_winner=bool(prefer_ab),
        ab_min_votes=int(min_votes),
    )  # fmt: skip
    if balanced or prefer_ab:
        _render_strategy_preview(chosen)
    if st.button("Save routing strategy", key="save_strategy", type="primary"):
        _save(
            {
                "router": {
                    "strategy": strategy,
                    "weights": {k: float(v) for k, v in weights.items()},
                    "prefer_ab_winner": bool(prefer_ab),
                    "ab_min_votes": int(min_votes),
                }
            },
            "routing strategy",
        )


def _render_strategy_preview(chosen: StrategySettings) -> None:
    """The order these (unsaved) choices give now, with the figures behind it."""
    from core.routing.strategy import describe, preview

    task = st.selectbox(
        "Preview for task", list(TaskType), format_func=lambda t: t.value, key="route_preview_task",
        index=list(TaskType).index(TaskType.COVER_LETTER),
    ) or TaskType.COVER_LETTER  # fmt: skip
    try:
        ranking = preview(state.router(), task, chosen)
    except (OSError, ValueError, CVCopilotError) as exc:
        st.caption(f"Preview unavailable: {exc}")
        return
    scored = {s.name: s for s in ranking.scored}
    st.table(
        [
            {
                "Order": i,
                "Provider": name,
                "Recent record": describe(scored[name], chosen.min_calls) if name in scored else "",
                "Score (lower is better)": f"{scored[name].score:.3f}" if name in scored else "",
            }
            for i, name in enumerate(ranking.order, 1)
        ]
    )
    if ranking.evidence is not None:
        st.caption(f"A/B votes: {ranking.evidence.sentence()}")


def render_prices() -> None:
    st.subheader("Price overrides")
    settings = get_settings()
    as_of = prices_as_of()
    st.caption(
        "USD per 1,000 tokens. An override wins over the bundled price catalogue"
        + (f" (genai-prices, prices as of {as_of:%Y-%m-%d})" if as_of else "")
        + "; models in neither are charged the 'unknown model' price and marked as estimated."
    )
    rows = [{"model": m, "input": p[0], "output": p[1]} for m, p in sorted(settings.price_overrides.items())]
    unpriced = unpriced_models(state.router().provider_status(), settings.price_overrides)
    for model, provider in unpriced.items():
        st.warning(
            f"{provider} uses {model}, which has no known price: its calls are charged the 'unknown model' price "
            "and marked as estimated. Enter its price in the table below and save."
        )
        rows.append({"model": model, "input": float("nan"), "output": float("nan")})
    edited = _rows_editor(
        rows,
        {"model": "object", "input": "float64", "output": "float64"},
        "prices_editor",
        {
            "input": st.column_config.NumberColumn("input", min_value=0.0, format="%.6f"),
            "output": st.column_config.NumberColumn("output", min_value=0.0, format="%.6f"),
        },
    )
    left, right = st.columns(2)
    unknown_in = left.number_input(
        "Unknown model, input", min_value=0.0, value=float(settings.unknown_price_per_1k[0]), format="%.6f"
    )
    unknown_out = right.number_input(
        "Unknown model, output", min_value=0.0, value=float(settings.unknown_price_per_1k[1]), format="%.6f"
    )
    if st.button("Save prices", key="save_prices"):
        prices: dict[str, Any] = dict.fromkeys(settings.price_overrides)  # removed rows → None → dropped
        for row in edited.to_dict("records"):
            model = str(row.get("model") or "").strip()
            if model and not pd.isna(row.get("input")) and not pd.isna(row.get("output")):
                prices[model] = {"input": float(row["input"]), "output": float(row["output"])}
        pricing = {"unknown_input_per_1k": float(unknown_in), "unknown_output_per_1k": float(unknown_out)}
        _save({"prices": prices, "pricing": pricing}, "prices")


def render_budgets() -> None:
    st.subheader("Budgets")
    b = get_settings().budgets
    policy = st.selectbox(
        "When a budget is reached",
        list(BUDGET_POLICIES),
        index=list(BUDGET_POLICIES).index(b.policy),
        key="budget_policy",
        help="downgrade: fall back to cheaper providers, then the free offline engine; block: refuse the call.",
    )
    st.caption("USD; 0 means no limit.")
    cols = st.columns(4)
    values = {}
    for col, (name, label, current) in zip(
        cols,
        [
            ("global_daily_usd", "Everyone, per day", b.global_daily_usd),
            ("global_monthly_usd", "Everyone, per month", b.global_monthly_usd),
            ("user_daily_usd", "Each user, per day", b.user_daily_usd),
            ("user_monthly_usd", "Each user, per month", b.user_monthly_usd),
        ],
        strict=True,
    ):
        values[name] = col.number_input(label, min_value=0.0, value=float(current or 0.0), step=1.0, key=name)
    st.markdown("**Per-user budgets**")
    st.caption(
        "A row gives one user their own limits instead of the 'each user' ones above. An empty cell falls back to "
        "that default; delete the row to drop the user's own limits. Names are the ones typed in the sidebar."
    )
    saved_users = {user: dict(limits) for user, limits in sorted(b.per_user.items())}
    edited = _rows_editor(
        [
            {"user": u, "daily_usd": v.get("daily_usd"), "monthly_usd": v.get("monthly_usd")}
            for u, v in saved_users.items()
        ],
        {"user": "object", "daily_usd": "float64", "monthly_usd": "float64"},
        "user_budgets_editor",
        {
            "user": st.column_config.TextColumn("user", required=True, max_chars=64),
            "daily_usd": st.column_config.NumberColumn("per day (USD)", min_value=0.0, format="%.2f"),
            "monthly_usd": st.column_config.NumberColumn("per month (USD)", min_value=0.0, format="%.2f"),
        },
    )
    if st.button("Save budgets", key="save_budgets"):
        try:
            users = user_budget_updates(saved_users, cast("list[dict[str, Any]]", edited.to_dict("records")))
        except ValueError as exc:
            st.error(f"Could not save budgets: {exc}")
            return
        budgets: dict[str, Any] = {"policy": policy, **{k: _limit(v) for k, v in values.items()}}
        if users:
            budgets["users"] = users
        _save({"budgets": budgets}, "budgets")


def render_cache() -> None:
    st.subheader("Response cache")
    settings = get_settings()
    router = state.router()
    try:
        stats = router.cache.stats()
        st.caption(f"{stats['entries']:,} cached answers, {stats['bytes'] / 1024:,.1f} KiB.")
    except Exception as exc:  # noqa: BLE001 - stats are informative only
        st.caption(f"Cache statistics unavailable: {exc}")
    left, mid, right = st.columns(3)
    enabled = left.toggle("Cache enabled", value=settings.cache_enabled, key="cache_enabled")
    ttl_days = mid.number_input(
        "Keep answers (days)", min_value=0.01, max_value=3650.0, value=settings.cache_ttl_seconds / 86400, key="ttl"
    )
    if left.button("Save cache settings", key="save_cache"):
        _save({"cache": {"enabled": bool(enabled), "ttl_days": float(ttl_days)}}, "cache settings")
    if right.button("Clear cache", key="clear_cache"):
        removed = router.cache.clear()
        _flash(f"Removed {removed:,} cached answers.")
        st.rerun()


def render_challenger() -> None:
    st.subheader("Challenger routing (A/B)")
    settings = get_settings()
    options = ["(off)", *PROVIDER_NAMES]
    current = settings.challenger_provider if settings.challenger_provider in PROVIDER_NAMES else "(off)"
    left, right = st.columns(2)
    provider = left.selectbox("Challenger provider", options, index=options.index(current), key="challenger")
    percent = right.slider(
        "Share of calls sent to it (%)", 0.0, 50.0, float(settings.challenger_percent), 1.0, key="challenger_pct"
    )
    st.caption("A share of calls goes to the challenger first, so its cost and failures can be compared on Usage.")
    if st.button("Save challenger", key="save_challenger"):
        chosen = None if provider == "(off)" else provider
        _save(
            {"router": {"challenger_provider": chosen, "challenger_percent": float(percent) if chosen else 0.0}},
            "challenger routing",
        )


def render_usage_data() -> None:
    st.subheader("Usage data")
    tracker = get_usage_tracker()
    st.caption(f"Database: `{tracker.db_path}` (metadata of every call; never prompts, answers or keys).")
    kept = get_settings().retention_days
    left, right = st.columns([2, 1])
    days = left.number_input(
        "Keep usage records for (days; 0 = forever)",
        min_value=0.0,
        max_value=36500.0,
        value=float(kept or 0.0),
        step=1.0,
        key="retention_days",
        help="Older records are deleted automatically (checked at most once an hour). Budgets need this month's.",
    )
    b = get_settings().budgets
    monthly = b.global_monthly_usd or b.user_monthly_usd or any(v.get("monthly_usd") for v in b.per_user.values())
    if 0 < days < 31 and monthly:
        left.caption("Monthly budgets add up this month's records: keep at least 31 days for them to hold.")
    right.write("")
    if right.button("Save retention", key="save_retention"):
        _save({"usage": {"retention_days": _limit(days)}}, "usage retention")
    confirm = st.checkbox("I understand this deletes every usage record and cannot be undone", key="confirm_delete")
    if st.button("Delete all usage data", key="delete_usage", type="primary", disabled=not confirm):
        deleted = tracker.clear()
        st.session_state.pop("confirm_delete", None)
        _flash(f"Deleted {deleted:,} usage records.")
        st.rerun()


# --- who may open this page ---------------------------------------------------------------------------------------

_LOOPBACK = ("localhost", "127.0.0.1", "::1", "ip6-localhost")


def served_on_network() -> bool:
    """True unless Streamlit is bound to a loopback address (it is by default: .streamlit/config.toml)."""
    address = str(st.get_option("server.address") or "").strip().strip("[]").lower()
    return not (address in _LOOPBACK or address.startswith("127."))


def _unlocked(password_hash: str | None) -> bool:
    """Served on a network, the page asks for the password whose hash is `[security] settings_password_hash`."""
    if not served_on_network() or st.session_state.get("settings_unlocked"):
        return True
    if not password_hash:
        st.error(
            "This app is served on a network, so the Settings page needs a password. Run "
            "`python -m core hash-password`, put the line it prints under `[security]` in the config file, "
            "and restart the app."
        )
        return False
    with st.form("settings_login", clear_on_submit=True):
        password = st.text_input("Settings password", type="password", key="settings_password", autocomplete="off")
        submitted = st.form_submit_button("Unlock settings", key="settings_unlock", type="primary")
    if submitted:
        if verify_password(password or "", password_hash):
            st.session_state["settings_unlocked"] = True
            st.rerun()
        time.sleep(1.0)  # a guess costs a second
        st.error("Wrong password.")
    return False


def main() -> None:
    st.title("⚙️ Settings")
    _show_flash()
    try:
        settings = get_settings()
    except ValueError as exc:
        st.error(str(exc))
        return
    if not _unlocked(settings.settings_password_hash):
        return
    render_providers()
    render_routing()
    render_strategy()
    render_prices()
    render_budgets()
    render_cache()
    render_challenger()
    render_usage_data()


main()
