"""Typed access to what a browser session keeps: who the user is, their choices, their CV, its router.

The process's services (core.services) are held with `st.cache_resource`; a session that typed its own keys gets
its own router, cached per session and closed when the session ends (or its keys change).
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from core.router import ModelRouter
from core.services import Services, get_services
from core.workspace import default_owner

#: A local run's owner: the OS user name (core.workspace.default_owner), never "anonymous" by accident.
DEFAULT_USER = default_owner()


def user_id() -> str:
    return (st.session_state.get("user_id") or DEFAULT_USER).strip() or DEFAULT_USER


def optimize_cost() -> bool:
    return bool(st.session_state.get("optimize_cost", False))


def session_keys() -> dict[str, str]:
    """Keys typed into the settings page: kept in this session only, unless the user saved them."""
    return dict(st.session_state.get("session_keys", {}))


@st.cache_resource(show_spinner=False)
def _shared_services() -> Services:
    return get_services()


def services() -> Services:
    """The process's services: built once, shared by every session (rebuilt after the settings change)."""
    root = _shared_services()
    if root is not get_services():  # the settings were reloaded (or a test reset the root)
        _shared_services.clear()
        root = _shared_services()
    return root


def _release(router: ModelRouter) -> None:
    get_services().release_session_router(router)


@st.cache_resource(scope="session", on_release=_release, max_entries=2, show_spinner=False)
def _session_router(_root: Services, root_id: int, fingerprint: str, _keys: dict[str, str]) -> ModelRouter:
    return _root.session_router(_keys)


def router() -> ModelRouter:
    """This session's router: the shared one, or (with keys typed on the settings page) its own."""
    root = services()
    keys = session_keys()
    if not any(keys.values()):
        return root.router
    fingerprint = hashlib.sha256(repr(sorted(keys.items())).encode()).hexdigest()
    return _session_router(root, id(root), fingerprint, keys)


def current_cv() -> dict[str, Any] | None:
    """The parsed CV (JSON Resume dict) that the CV page left for the other pages."""
    return st.session_state.get("cv")


def set_current_cv(cv: dict[str, Any] | None, text: str | None = None) -> None:
    st.session_state["cv"] = cv
    if text is not None:
        st.session_state["cv_text"] = text


def current_cv_text() -> str:
    return str(st.session_state.get("cv_text", ""))
