"""Autosave and restore: the session's CV and every result go to the workspace as they are made (core.workspace).

Pages call one helper each: `save_cv` when a CV is parsed, edited or imported; `run_saved` around a tailoring or
match call (it tags the call's usage rows and cache keys with the job's application and saves the result);
`save_letter` when a letter is finished. `restore` (from the sidebar, on every page) puts the profile's latest CV
and application back into a fresh session. A failed save is a warning on the page, never a broken page.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import streamlit as st

from core.ai_service import record_of
from core.aio import run_sync
from core.base import CallRecord, CVCopilotError
from core.workspace import Workspace
from core.workspace_context import Attribution, attributed
from ui import state

log = logging.getLogger("cv_copilot.ui.workspace")
T = TypeVar("T")

_CV_ID = "ws_cv_id"
_APPS = "ws_app_by_job"  # job text hash -> application id, for this session
_RESTORED = "ws_restored_for"


def workspace() -> Workspace:
    return state.services().workspace


def _warn(what: str, exc: Exception) -> None:
    log.warning("workspace: %s failed", what, exc_info=True)
    message = str(exc) if isinstance(exc, CVCopilotError) else "the workspace database could not be written"
    st.warning(f"Not saved ({what}): {message}. Your work is still on this page.")


def _job_key(job_text: str) -> str:
    return hashlib.sha256(job_text.strip().encode()).hexdigest()


def restore() -> None:
    """Once per session and profile: the profile's latest CV and application back into the session."""
    user = state.user_id()
    s = st.session_state
    if s.get(_RESTORED) == user:
        return
    s[_RESTORED] = user
    try:
        ws = workspace()
        latest = ws.latest_cv(user)
        if latest is not None and not s.get("cv"):
            cv = {**latest.data, "meta": {}}
            state.set_current_cv(cv, latest.cv_text)
            s[_CV_ID] = latest.cv_id
            apps = ws.applications(user)
            app = ws.application(apps[0].id) if apps else None
            if app is not None and "tailored" in app.documents and "tailor_result" not in s:
                s[_APPS] = {_job_key(app.job_text): app.id}
                s["tailor_result"] = app.documents["tailored"].content
                s["tailor_source"] = cv
                s["_kept_tailor_job"] = app.job_text
    except Exception as exc:  # noqa: BLE001 - the app works without its workspace
        _warn("restoring your workspace", exc)


def save_cv(cv: dict[str, Any], text: str | None) -> None:
    """A parse (text given) or an edit of the session's CV: its next version."""
    s = st.session_state
    keys = s.pop("_ws_parse_keys", ())
    try:
        version = workspace().save_cv(
            cv, user_id=state.user_id(), cv_text=text or "", source="parse" if text is not None else "edit",
            cv_id=s.get(_CV_ID) if text is None else None, cache_keys=keys,
        )  # fmt: skip
        s[_CV_ID] = version.cv_id
    except Exception as exc:  # noqa: BLE001
        _warn("your CV", exc)


def application_for(job_text: str) -> str | None:
    """The session's application for this job text, if one was made."""
    return dict(st.session_state.get(_APPS, {})).get(_job_key(job_text))


def _calls(record: CallRecord | None) -> list[tuple[str, str, str, float]]:
    if record is None:
        return []
    parts = record.calls or [record]
    return [(c.task, c.provider, c.model, float(c.cost_usd)) for c in parts]


def _ensure_application(job_text: str, app_id: str) -> str | None:
    s = st.session_state
    ws = workspace()
    if ws.application(app_id) is None:
        ws.create_application(user_id=state.user_id(), job_text=job_text, cv_id=s.get(_CV_ID), application_id=app_id)
    s[_APPS] = {**s.get(_APPS, {}), _job_key(job_text): app_id}
    s["ws_open_application"] = app_id
    return app_id


def run_saved(
    kind: str, job_text: str, coro: Coroutine[Any, Any, T], *, run: Callable[[Coroutine[Any, Any, T]], T] = run_sync
) -> T:
    """Run a service call for one job (tailoring, matching) tagged with its application, then save the result.

    The application is made when the first result for the job arrives (a failed call leaves nothing behind)."""
    import uuid

    app_id = application_for(job_text) or uuid.uuid4().hex
    tag = Attribution(application_id=app_id, cv_id=st.session_state.get(_CV_ID))
    result = run(attributed(tag, coro))
    try:
        _ensure_application(job_text, app_id)
        content: Any = (
            dict(result) if isinstance(result, dict) else list(result) if isinstance(result, list) else result
        )
        if isinstance(content, dict):
            content.pop("meta", None)
        workspace().save_document(app_id, kind, content, calls=_calls(record_of(result)), cache_keys=tag.cache_keys)
    except Exception as exc:  # noqa: BLE001
        _warn(f"the {kind} result", exc)
    return result


def save_letter(job_text: str, text: str, record: CallRecord | None) -> None:
    """A finished letter, on the job's application (made now if this job has none yet)."""
    import uuid

    try:
        app_id = _ensure_application(job_text, application_for(job_text) or uuid.uuid4().hex)
        if app_id is not None:
            workspace().save_document(app_id, "letter", text, calls=_calls(record))
    except Exception as exc:  # noqa: BLE001
        _warn("your letter", exc)


def run_parse(coro: Coroutine[Any, Any, T]) -> T:
    """A CV parse, remembering the cache keys it touched so deleting the CV deletes its cached answers."""
    tag = Attribution()
    result = run_sync(attributed(tag, coro))
    st.session_state["_ws_parse_keys"] = set(tag.cache_keys)
    return result


def run_match(jobs: list[str], coro: Coroutine[Any, Any, T]) -> T:
    """A match against one job is saved on that job's application; a match of several jobs is not filed."""
    return run_saved("match", jobs[0], coro) if len(jobs) == 1 else run_sync(coro)


def use_profile() -> None:
    """The sidebar's profile: registered as a local profile (a new name is a new, empty workspace), then restored."""
    user = state.user_id()
    if st.session_state.get("_ws_profile") != user:
        try:
            workspace().add_profile(user)
            st.session_state["_ws_profile"] = user
        except Exception as exc:  # noqa: BLE001
            _warn("your profile", exc)
    restore()
