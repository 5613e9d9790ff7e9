"""Autosave and restore: the session's CV and every result go to the workspace as they are made (core.workspace).

Pages call one helper each: `parse_and_save` around a parse, `save_cv` when a CV is edited or imported,
`run_saved` around a tailoring or match call (it tags the call's usage rows and cache keys with the job's
application and saves the result), `save_letter` when a letter is finished. The saves of AI results happen inside
the call's coroutine, touching no session state: Streamlit stops a page's script when the user goes to another page,
and the result must not be lost with it. `restore` (from the sidebar, on every page run) then brings into the session
whatever the workspace holds that the session does not show: after a reload, or after such a call.
A failed save is a warning on the page, never a broken page.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
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
_SEEN = "ws_seen"  # (user, latest CV version, latest tailored document) this session last showed
_FORM_PREFIX = "cvf_"  # the CV page's form widgets (they hold the values of the CV they were drawn for)


def workspace() -> Workspace:
    return state.services().workspace


def _warn(what: str, exc: BaseException) -> None:
    log.warning("workspace: %s failed", what, exc_info=exc)
    message = str(exc) if isinstance(exc, CVCopilotError) else "the workspace database could not be written"
    st.warning(f"Not saved ({what}): {message}. Your work is still on this page.")


def _job_key(job_text: str) -> str:
    return hashlib.sha256(job_text.strip().encode()).hexdigest()


_Marks = tuple[str, tuple[str, int] | None, tuple[str, float] | None, str | None]


def _marks(ws: Workspace, user: str) -> _Marks:
    """What the workspace holds last, cheaply: its latest CV version, tailored CV and match list."""
    return user, ws.latest_cv_version(user), ws.latest_document(user, "tailored"), ws.latest_match_list_id(user)


def mark_seen() -> None:
    """This session shows what the workspace holds now (after its own save or delete): nothing to restore."""
    try:
        st.session_state[_SEEN] = _marks(workspace(), state.user_id())
    except Exception:
        log.warning("workspace: reading the latest versions failed", exc_info=True)


def restore() -> None:
    """On every page run: what the workspace holds that this session does not show yet comes back into it.

    That is the profile's latest CV and latest tailored CV on a fresh session (a reload), and also a result saved
    while this session was elsewhere: a parse or tailoring goes on when the user leaves its page, and saves itself
    when it ends (Streamlit stops the page's script, not the call). Two small indexed queries per run."""
    from ui import waiting

    waiting.finish_in_flight()
    user = state.user_id()
    s = st.session_state
    try:
        ws = workspace()
        now = _marks(ws, user)
        seen = s.get(_SEEN)
        if seen == now:
            return
        s[_SEEN] = now
        _, cv_mark, doc_mark, list_mark = now
        old_cv, old_doc, old_list = (seen[1], seen[2], seen[3]) if seen and seen[0] == user else (None, None, None)
        first = seen is None  # a new session: what it was given before its first run stays
        if cv_mark is not None and cv_mark != old_cv and not (first and s.get("cv")):
            latest = ws.latest_cv(user)
            if latest is not None:
                for key in [k for k in s if str(k).startswith(_FORM_PREFIX)]:
                    del s[key]
                state.set_current_cv({**latest.data, "meta": {}}, latest.cv_text)
                s["cv_meta"] = {}
                s[_CV_ID] = latest.cv_id
        if doc_mark is not None and doc_mark != old_doc and s.get("cv") and not (first and "tailor_result" in s):
            app = ws.application(doc_mark[0])
            if app is not None and "tailored" in app.documents:
                s[_APPS] = {**s.get(_APPS, {}), _job_key(app.job_text): app.id}
                s["tailor_result"] = app.documents["tailored"].content
                s["tailor_source"] = s["cv"]
                s["_kept_tailor_job"] = app.job_text
        if list_mark is not None and list_mark != old_list and not (first and "match_result" in s):
            found = ws.match_lists(user, limit=1)
            if found:
                s["match_result"] = {"rows": found[0].rows, "record": None, "labels": found[0].labels, "skipped": []}
    except Exception as exc:  # noqa: BLE001 - the app works without its workspace
        _warn("restoring your workspace", exc)


@dataclass
class Pending:
    """What a save needs, read from the session before the call: the save itself then touches no session state, so
    it happens even when Streamlit stops the page's script (the user went to another page) while the call runs."""

    ws: Workspace
    user: str
    cv_id: str | None
    record: CallRecord | None = None  # the calls' record, when the result does not carry it (a letter)
    saved: Any = None  # the CV version or the document's date, once saved
    error: BaseException | None = None


def pending() -> Pending:
    return Pending(ws=workspace(), user=state.user_id(), cv_id=st.session_state.get(_CV_ID))


def _save_parse(ws: Workspace, job: Pending, cv: dict[str, Any], text: str, keys: set[str]) -> None:
    try:
        job.saved = ws.save_cv(cv, user_id=job.user, cv_text=text, source="parse", cache_keys=keys)
    except Exception as exc:
        log.warning("workspace: saving a parsed CV failed", exc_info=True)
        job.error = exc


async def parse_and_save(job: Pending, text: str, coro: Coroutine[Any, Any, T]) -> T:
    """A CV parse, saved as a new CV version as soon as it ends (with the cache keys it touched, so deleting the CV
    deletes its cached answers)."""
    tag = Attribution()
    result = await attributed(tag, coro)
    if isinstance(result, dict):
        await asyncio.to_thread(_save_parse, job.ws, job, result, text, set(tag.cache_keys))
    return result


def parsed(job: Pending, cv: dict[str, Any], text: str) -> None:
    """Back on the page after a parse: the session now shows the saved version."""
    if job.error is not None:
        _warn("your CV", job.error)
        return
    if job.saved is not None:
        st.session_state[_CV_ID] = job.saved.cv_id
    mark_seen()


def save_cv(cv: dict[str, Any], text: str | None, *, source: str | None = None) -> None:
    """An import (text given) or an edit of the session's CV (text None): its next version."""
    s = st.session_state
    try:
        version = workspace().save_cv(
            cv, user_id=state.user_id(), cv_text=text or "",
            source=source or ("import" if text is not None else "edit"), cv_id=s.get(_CV_ID) if text is None else None,
        )  # fmt: skip
        s[_CV_ID] = version.cv_id
        mark_seen()
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


def _ensure_application(ws: Workspace, job: Pending, job_text: str, app_id: str) -> None:
    if ws.application(app_id) is None:
        ws.create_application(user_id=job.user, job_text=job_text, cv_id=job.cv_id, application_id=app_id)


def _file(ws: Workspace, job: Pending, job_text: str, app_id: str, kind: str, result: Any, keys: set[str]) -> None:
    """Save one result on the job's application (made now if the job has none): plain DB writes, off the script."""
    try:
        _ensure_application(ws, job, job_text, app_id)
        content: Any = (
            dict(result) if isinstance(result, dict) else list(result) if isinstance(result, list) else result
        )
        if isinstance(content, dict):
            content.pop("meta", None)
        job.saved = ws.save_document(
            app_id, kind, content, calls=_calls(job.record or record_of(result)), cache_keys=keys
        )
    except Exception as exc:
        log.warning("workspace: saving the %s result failed", kind, exc_info=True)
        job.error = exc


async def _saved(ws: Workspace, job: Pending, kind: str, job_text: str, app_id: str, coro: Coroutine[Any, Any, T]) -> T:
    tag = Attribution(application_id=app_id, cv_id=job.cv_id)
    result = await attributed(tag, coro)
    await asyncio.to_thread(_file, ws, job, job_text, app_id, kind, result, set(tag.cache_keys))
    return result


def run_saved(
    kind: str, job_text: str, coro: Coroutine[Any, Any, T], *, run: Callable[[Coroutine[Any, Any, T]], T] = run_sync
) -> T:
    """Run a service call for one job (tailoring, matching) tagged with its application; the result is saved on it
    as soon as the call ends, even if the user has left the page by then (see `restore`).

    The application is made when the first result for the job arrives (a failed call leaves nothing behind)."""
    job = pending()
    app_id = application_for(job_text) or uuid.uuid4().hex
    result = run(_saved(job.ws, job, kind, job_text, app_id, coro))
    if job.error is not None:
        _warn(f"the {kind} result", job.error)
    elif job.saved is not None:
        s = st.session_state
        s[_APPS] = {**s.get(_APPS, {}), _job_key(job_text): app_id}
        s["ws_open_application"] = app_id
        mark_seen()
    return result


def save_letter(
    job_text: str,
    text: str,
    record: CallRecord | None,
    application_id: str | None = None,
    *,
    cache_keys: set[str] | frozenset[str] = frozenset(),
) -> None:
    """A finished letter, on the job's application (`application_id`, made now if it does not exist yet)."""
    job = pending()
    job.record = record
    app_id = application_id or application_for(job_text) or uuid.uuid4().hex
    _file(job.ws, job, job_text, app_id, "letter", text, set(cache_keys))
    if job.error is not None:
        _warn("your letter", job.error)
        return
    s = st.session_state
    s[_APPS] = {**s.get(_APPS, {}), _job_key(job_text): app_id}
    s["ws_open_application"] = app_id


def letter_application(job_text: str) -> str:
    """The application a letter for this job is written for: the job's own, or a new id (made when it is saved).
    Passed to the stream, so every usage row of the letter's calls carries it."""
    return application_for(job_text) or uuid.uuid4().hex


def _save_list(job: Pending, rows: list[Any], labels: list[str], keys: set[str], filed: bool) -> None:
    try:
        record = record_of(rows)
        cost = 0.0 if filed or record is None else sum(c[3] for c in _calls(record))
        job.saved = job.ws.save_match_list(
            rows, labels, user_id=job.user, cv_id=job.cv_id, cost_usd=cost, cache_keys=() if filed else keys
        )
    except Exception as exc:
        log.warning("workspace: saving the match list failed", exc_info=True)
        job.error = exc


async def _matched(
    job: Pending, jobs: list[str], labels: list[str], app_id: str | None, coro: Coroutine[Any, Any, T]
) -> T:
    tag = Attribution(application_id=app_id, cv_id=job.cv_id)
    result = await attributed(tag, coro)
    keys = set(tag.cache_keys)

    def save() -> None:
        if app_id is not None:  # one job: its score and keyword report go on its application, with the cost
            _file(job.ws, job, jobs[0], app_id, "match", result, keys)
        if job.error is None and isinstance(result, list):
            _save_list(job, list(result), labels, keys, filed=app_id is not None)

    await asyncio.to_thread(save)
    return result


def run_match(
    jobs: list[str],
    labels: list[str],
    coro: Coroutine[Any, Any, T],
    *,
    run: Callable[[Coroutine[Any, Any, T]], T] = run_sync,
) -> T:
    """A match is saved as a match list (the ranking the Job match page shows again after a reload); a match
    against one job also goes on that job's application (its score and keyword report, and the call's cost)."""
    job = pending()
    app_id = (application_for(jobs[0]) or uuid.uuid4().hex) if len(jobs) == 1 else None
    result = run(_matched(job, jobs, labels, app_id, coro))
    if job.error is not None:
        _warn("the match", job.error)
        return result
    if app_id is not None:
        s = st.session_state
        s[_APPS] = {**s.get(_APPS, {}), _job_key(jobs[0]): app_id}
    mark_seen()
    return result


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


#: What the session keeps of the job seeker's data (besides `_kept_*` copies): cleared when it is deleted.
_SESSION_DATA = (
    "cv", "cv_text", "cv_meta", "cv_paste", "cv_parsing", _CV_ID, _APPS, "tailor_result", "tailor_source",
    "tailor_job", "letter_edit", "letter_meta", "letter_job", "letter_company", "letter_role", "match_result",
    "match_jobs", "ws_open_application",
)  # fmt: skip


def forget_session(*, cv_only: bool = False) -> None:
    """Drop the deleted data from this session too (the page, its form and the kept copies of its fields)."""
    s = st.session_state
    keys = ("cv", "cv_text", "cv_meta", _CV_ID, "tailor_result", "tailor_source") if cv_only else _SESSION_DATA
    for key in [*keys, *(k for k in s if str(k).startswith(_FORM_PREFIX))]:
        s.pop(key, None)
    if not cv_only:
        for key in [k for k in s if str(k).startswith("_kept_")]:
            s.pop(key, None)
    mark_seen()
