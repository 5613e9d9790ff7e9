"""The banner on every page while the Redis a team deployment shares (limits, budget holds, cooldowns) is down.

core.limits.redis_problem decides; this only draws. Without a Redis URL it draws nothing and costs nothing.
"""

from __future__ import annotations

import streamlit as st

from core.config import Settings


def render_banner(settings: Settings) -> None:
    if settings.redis_url is None:
        return
    try:
        from core.limits import redis_problem

        problem = redis_problem(settings)
    except Exception:  # noqa: BLE001 - a banner must never break a page
        return
    if problem:
        st.warning(problem, icon="⚠️")
