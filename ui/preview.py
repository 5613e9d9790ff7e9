"""The cost preview: what a task would cost on each configured provider, before running it, with no API call.

Cheap enough to redraw on every keystroke: it only counts tokens with tiktoken and multiplies by prices
(see bench/preview_speed.py for the figures on a two-page CV).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.base import TaskType
from ui import state


def preview_rows(
    router: Any,
    task_type: TaskType | str,
    prompt: str,
    *,
    max_tokens: int = 1024,
    system: str | None = None,
    providers: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The table's rows: router.estimate, optionally narrowed to `providers`, with display-ready columns."""
    rows = router.estimate(task_type, prompt, max_tokens=max_tokens, system=system)
    if providers is not None:
        wanted = set(providers)
        rows = [r for r in rows if r["provider"] in wanted]
    out = []
    for r in rows:
        approx = "~" if r["tokens_estimated"] else ""
        flag = " (price unknown, estimated)" if r["price_estimated"] else ""
        out.append(
            {
                "Provider": r["provider"] + (" ★" if r["default_for_task"] else ""),
                "Model": r["model"] + flag,
                "Input tokens": f"{approx}{r['input_tokens']:,}",
                "Expected output": f"{r['expected_output_tokens']:,}",
                "Estimated cost": _usd(r["estimated_cost_usd"]),
                "Worst case": _usd(r["worst_case_cost_usd"]),
            }
        )
    return out


def _usd(value: float) -> str:
    if value == 0:
        return "$0 (free)"
    return f"${value:.4f}" if value >= 0.0001 else "< $0.0001"


def render_cost_preview(
    task_type: TaskType | str,
    prompt: str,
    *,
    max_tokens: int = 1024,
    system: str | None = None,
    providers: Sequence[str] | None = None,
    key: str = "cost_preview",
) -> list[dict[str, Any]]:
    """Draw the preview table for `prompt` (the full text that would be sent). Returns the rows it drew."""
    with st.container(key=key):
        if not prompt or not prompt.strip():
            st.caption("Cost preview: add your text to see what this would cost on each provider.")
            return []
        try:
            rows = preview_rows(
                state.router(), task_type, prompt, max_tokens=max_tokens, system=system, providers=providers
            )
        except Exception as exc:  # noqa: BLE001 - a preview must never break the page it sits on
            st.caption(f"Cost preview unavailable: {exc}")
            return []
        st.caption(
            "Cost preview (no API call): input counted with tiktoken, output at this task's typical length; "
            "worst case is the full output limit. ★ marks the task's default provider."
        )
        st.dataframe(rows, hide_index=True)
        return rows
