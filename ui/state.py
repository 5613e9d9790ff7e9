"""Typed access to what a browser session keeps: who the user is, their choices, their CV."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.router import ModelRouter, get_model_router

DEFAULT_USER = "anonymous"


def user_id() -> str:
    return (st.session_state.get("user_id") or DEFAULT_USER).strip() or DEFAULT_USER


def optimize_cost() -> bool:
    return bool(st.session_state.get("optimize_cost", False))


def session_keys() -> dict[str, str]:
    """Keys typed into the settings page: kept in this session only, unless the user saved them."""
    return dict(st.session_state.get("session_keys", {}))


def router() -> ModelRouter:
    return get_model_router(session_keys())


def current_cv() -> dict[str, Any] | None:
    """The parsed CV (JSON Resume dict) that the CV page left for the other pages."""
    return st.session_state.get("cv")


def set_current_cv(cv: dict[str, Any] | None, text: str | None = None) -> None:
    st.session_state["cv"] = cv
    if text is not None:
        st.session_state["cv_text"] = text


def current_cv_text() -> str:
    return st.session_state.get("cv_text", "")
