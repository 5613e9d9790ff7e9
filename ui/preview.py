"""The cost preview: what a task would cost on each configured provider, before running it, with no API call.

Cheap enough to redraw on every keystroke: it only counts tokens with tiktoken and multiplies by prices
(see bench/preview_speed.py for the figures on a two-page CV).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from core.ai_service import (  # the pages build their previews with the service's own request builders
    MAX_OUTPUT_TOKENS,
    letter_request,
    match_request,
    parse_request,
    tailor_request,
)
from core.base import CVCopilotError, InputError, TaskType
from ui import state

__all__ = [
    "letter_request",
    "match_request",
    "max_tokens_for",
    "parse_request",
    "preview_rows",
    "render_cost_preview",
    "render_task_preview",
    "tailor_request",
    "upload_text",
]

#: (system, prompt): what a page's main action will send, built exactly as core.ai_service builds it.
Request = tuple[str, str]


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


# --- the job-seeker pages' requests -------------------------------------------------------------------------------


def max_tokens_for(task_type: TaskType | str) -> int:
    """The output limit the service gives this task (so the worst case in the preview is the one budgets reserve)."""
    return MAX_OUTPUT_TOKENS[TaskType(task_type)]


@st.cache_data(max_entries=16, show_spinner=False)
def _upload_text(data: bytes, name: str) -> str | None:
    from core.documents import extract_text

    try:
        return extract_text(data, name)
    except Exception:  # noqa: BLE001 - the page's own action reports an unreadable file; a preview stays quiet
        return None


def upload_text(upload: Any) -> str | None:
    """Text of an uploaded file for the preview, extracted once per file content (None if it cannot be read)."""
    if upload is None:
        return None
    return _upload_text(upload.getvalue(), upload.name)


def render_task_preview(
    task_type: TaskType | str, build: Callable[[], Request], *, key: str, note: str | None = None
) -> list[dict[str, Any]]:
    """An "Estimated cost" expander for a page's main action: `build` returns the (system, prompt) the service will
    send. Input the service would refuse shows its reason as a hint instead of a table; nothing here calls an API."""
    with st.expander("Estimated cost", expanded=False, icon="🧮"):
        try:
            system, prompt = build()
        except InputError as exc:
            st.caption(f"Cost preview: {exc}")
            return []
        except CVCopilotError as exc:
            st.caption(f"Cost preview unavailable: {exc}")
            return []
        rows = render_cost_preview(task_type, prompt, system=system, max_tokens=max_tokens_for(task_type), key=key)
        if note:
            st.caption(note)
        return rows
