"""The sidebar on every page: user, optimise-cost, providers (keys masked), spend today against budget."""

from __future__ import annotations

import time

import streamlit as st

from core.budget import period_start
from ui import shared_state, state, workspace


def render_sidebar() -> None:
    shared_state.render_banner(state.services().settings)  # above the page: shared limits are down
    with st.sidebar:
        st.text_input(
            "Your name",
            key="user_id",
            placeholder=state.DEFAULT_USER,
            help="Spend, budgets and your saved CVs and applications are kept per profile (default: your user name).",
        )
        workspace.use_profile()
        st.toggle(
            "Optimise cost",
            key="optimize_cost",
            help="Send each task to the cheapest configured provider first (the offline engine stays the last resort).",
        )
        router = state.router()
        with st.expander("Providers", expanded=False):
            for row in router.provider_status():
                if not row["configured"]:
                    st.caption(f"⚪ {row['name']}: not configured")
                    continue
                hint = f" (key {row['key_hint']})" if row["key_hint"] else ""
                cooling = f", cooling down {row['cooling_down']} s" if row["cooling_down"] else ""
                st.caption(f"🟢 {row['name']}: {row['model']}{hint}{cooling}")
        _render_spend(router)


def _render_spend(router) -> None:  # type: ignore[no-untyped-def]
    user = state.user_id()
    try:
        spent_today = router.tracker.spend_usd(period_start("daily", time.time()), user)
        lines = router.budget.status(user)
    except Exception as exc:  # noqa: BLE001 - the sidebar must never break a page
        st.caption(f"Spend unavailable: {exc}")
        return
    st.metric("Your spend today", f"${spent_today:.4f}")
    _render_alert_banner(router)
    blocking = router.settings.budgets.policy == "block"
    for line in lines:
        held = f" (+${line.reserved_usd:.4f} in flight)" if line.reserved_usd else ""
        st.progress(min(line.fraction, 1.0), text=f"{line.scope}: ${line.spent_usd:.4f}{held} of ${line.limit_usd:.2f}")
        if line.fraction >= 1.0:
            then = "paid calls are refused" if blocking else "calls go to cheaper providers, down to the free engine"
            st.error(f"{line.scope} budget reached: {then} until {line.resets_at}.")
        elif line.warning:
            st.warning(f"{line.scope} budget at {line.fraction:.0%}; resets {line.resets_at}.")


def _render_alert_banner(router) -> None:  # type: ignore[no-untyped-def]
    """Budget alerts not yet acknowledged (core.alerts records them; the Usage page acknowledges them)."""
    if not router.settings.budgets.any_set:
        return
    try:
        from core.alerts import alert_store

        open_alerts = alert_store(router.tracker.db_path).alerts(unacknowledged_only=True, limit=3)
    except Exception:  # noqa: BLE001 - the sidebar must never break a page
        return
    for alert in open_alerts:
        st.warning(alert.message(), icon="🔔")
