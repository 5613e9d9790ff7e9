"""Applications: every job the CV was tailored, matched or written to, by status, with its documents and costs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import streamlit as st

from core import export, sanitize
from core.workspace import STATUSES, Application, ApplicationRow, Workspace
from ui import downloads, state, widgets
from ui import workspace as wsui


def load(ws: Workspace, user: str, status: str | None, search: str) -> tuple[list[ApplicationRow], float]:
    """The page's data: this profile's applications (filtered) and the total AI spend on them."""
    return ws.applications(user, status=status, search=search), ws.total_cost(user)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _table(rows: list[ApplicationRow]) -> list[dict[str, Any]]:
    return [
        {
            "Company": sanitize.clean_text(r.company) or "—",
            "Role": sanitize.clean_text(r.role) or "—",
            "Status": r.status,
            "Documents": ", ".join(r.documents) or "none yet",
            "Cost (USD)": round(r.cost_usd, 4),
            "Updated": _when(r.updated),
        }
        for r in rows
    ]


def _documents(app: Application) -> None:
    urls = widgets.cv_urls()
    tailored = app.documents.get("tailored")
    if tailored is not None and isinstance(tailored.content, dict):
        st.subheader("Tailored CV")
        markdown = sanitize.clean_markdown(str(tailored.content.get("markdown", "")), urls)
        with st.expander("Show the tailored CV", expanded=False):
            st.markdown(markdown)
        template = st.selectbox("Template", export.TEMPLATES, key=f"app_template_{app.id}")
        c1, c2, c3 = st.columns(3)
        c1.download_button("Markdown", markdown, "tailored_cv.md", "text/markdown", key=f"app_md_{app.id}")
        resume = tailored.content.get("resume")
        if isinstance(resume, dict):
            clean = sanitize.clean_data(resume, urls)
            works = "the Markdown download works."
            downloads.offer(
                c2, "tailored_cv.docx", lambda: export.cv_docx(clean, template, urls), key=f"app_docx_{app.id}",
                fallback=works, label="DOCX",
            )  # fmt: skip
            downloads.offer(
                c3, "tailored_cv.pdf", lambda: export.cv_pdf(clean, template, urls), key=f"app_pdf_{app.id}",
                fallback=works, label="PDF",
            )  # fmt: skip
    letter = app.documents.get("letter")
    if letter is not None:
        st.subheader("Cover letter")
        text = sanitize.clean_text(str(letter.content), urls)
        st.text(text)
        l1, l2 = st.columns(2)
        l1.download_button("Letter (TXT)", text, "cover_letter.txt", "text/plain", key=f"app_letter_{app.id}")
        downloads.offer(
            l2, "cover_letter.pdf", lambda: export.letter_pdf(text, state.current_cv(), "classic", urls),
            key=f"app_letter_pdf_{app.id}", fallback="the TXT one works.", label="Letter (PDF)",
        )  # fmt: skip
    match = app.documents.get("match")
    if match is not None and isinstance(match.content, list) and match.content:
        row = match.content[0] if isinstance(match.content[0], dict) else {}
        st.subheader(f"Match score: {float(row.get('score', 0)):.0f}/100")
        st.caption("Matched: " + widgets.md(", ".join(map(str, row.get("matched_skills") or [])) or "none"))
        st.caption("Missing: " + widgets.md(", ".join(map(str, row.get("missing_skills") or [])) or "none"))
        st.download_button(
            "Keyword report (JSON)",
            json.dumps(match.content, indent=2, ensure_ascii=False),
            "match_report.json",
            "application/json",
            key=f"app_match_{app.id}",
        )
    if not app.documents:
        st.caption("No documents yet.")


def _open(ws: Workspace, app: Application) -> None:
    st.divider()
    st.subheader(widgets.md(f"{app.role or 'Role'} at {app.company or 'company'}"))
    c1, c2 = st.columns(2)
    status = c1.selectbox("Status", STATUSES, index=STATUSES.index(app.status), key=f"app_status_{app.id}")
    if status != app.status:
        widgets.attempt(lambda: ws.update_application(app.id, status=status), "The status could not be saved.")
    c2.metric("Cost of this application", f"${app.cost_usd:.4f}")
    if app.calls:
        st.caption(" · ".join(f"{kind}: {provider} ${cost:.4f}" for kind, _task, provider, cost in app.calls))
    _documents(app)
    with st.expander("Job description", expanded=False):
        st.text(sanitize.clean_text(app.job_text))
    if st.button("Delete this application", key="app_delete", type="secondary"):

        def delete() -> bool:
            ws.delete_application(app.id)
            return True

        deleted = widgets.attempt(delete, "The application could not be deleted.")
        if deleted:
            st.session_state.pop("ws_open_application", None)
            for key in ("tailor_result", "tailor_source"):
                st.session_state.pop(key, None)
            wsui.mark_seen()  # an older application's tailored CV is not brought back in its place
            st.session_state["app_deleted"] = True
            st.rerun()


def _delete_everything(ws: Workspace, user: str) -> None:
    """Everything this profile has in the workspace, with a typed confirmation and a plain list of what goes."""
    with st.expander("Delete all my data", expanded=False):
        found = widgets.attempt(lambda: ws.counts(user), "Your data could not be counted.")
        if found is None:
            return
        rows, dollars = ws.usage_of(user)
        where = "the team's shared database" if ws.dialect == "postgresql" else "this computer's database"
        st.markdown(
            f"This deletes, for the profile **{widgets.md(user)}**, from {where}:\n"
            f"- {found.cvs} CV(s) with all {found.versions} of their versions (the parsed data and the CV text);\n"
            f"- {found.applications} application(s) with their {found.documents} document(s): tailored CVs, letters,"
            " match scores and keyword reports, job descriptions, notes and their AI costs;\n"
            f"- {found.match_lists} saved job match list(s);\n"
            f"- {found.cached_answers} cached AI answer(s) that quote your CV or a job of yours;\n"
            "- this profile's entry, and what this browser tab still shows of it."
        )
        usage = st.checkbox(
            f"Also delete my usage history: {rows} AI call record(s), ${dollars:.4f} in all (dates, providers, "
            "models, tokens and costs; no text). Budgets and the Usage page then no longer count these calls.",
            value=True,
            key="wipe_usage",
        )
        st.caption(
            "Not deleted: other profiles' data, the settings and API keys, and budget alerts already sent. "
            "Files you downloaded stay where you saved them."
        )
        typed = st.text_input(f"Type your profile name ({widgets.md(user)}) to confirm", key="wipe_confirm")
        if st.button("Delete all my data", key="wipe_run", type="primary", disabled=typed.strip() != user):

            def wipe() -> Any:
                state.router().tracker.flush()  # rows still in memory would be written back after the delete
                return ws.delete_everything(user, usage_rows=usage)

            gone = widgets.attempt(wipe, "Your data could not be deleted; nothing was changed.")
            if gone is not None:
                wsui.forget_session()
                for key in ("wipe_confirm", "wipe_usage", "app_open", "app_filter_search"):
                    st.session_state.pop(key, None)
                st.session_state["app_wiped"] = (
                    f"Deleted: {gone.cvs} CV(s), {gone.versions} version(s), {gone.applications} application(s), "
                    f"{gone.documents} document(s), {gone.match_lists} match list(s), {gone.cached_answers} cached "
                    f"answer(s) and {gone.usage_rows} usage record(s)."
                )
                st.rerun()


st.title("🗂️ Applications")
ws = wsui.workspace()
user = state.user_id()
if st.session_state.pop("app_deleted", False):
    st.success("Deleted: the application, its documents and its cached answers are gone.")
if st.session_state.get("app_wiped"):
    st.success(st.session_state.pop("app_wiped"))
f1, f2, f3 = st.columns([1, 2, 1])
chosen = f1.selectbox("Status", ["all", *STATUSES], key="app_filter_status")
search = f2.text_input("Search company or role", key="app_filter_search")
if f3.button("Tailor for a new job", key="app_new", disabled=not state.current_cv()):
    for key in ("tailor_job", "_kept_tailor_job", "tailor_result", "tailor_source"):
        st.session_state.pop(key, None)
    st.switch_page("app_pages/tailor.py")

rows, total = load(ws, user, None if chosen == "all" else chosen, search)
st.metric("Your total AI spend on applications", f"${total:.4f}")
if not rows:
    st.info("No applications yet. Tailor your CV for a job and it is saved here automatically.")
else:
    st.dataframe(_table(rows), hide_index=True, width="stretch", key="app_table")
    labels = {r.id: f"{r.role or 'Role'} at {r.company or 'company'} ({r.status})" for r in rows}
    ids = list(labels)
    opened = st.session_state.get("ws_open_application")
    st.selectbox(
        "Open an application",
        ids,
        index=ids.index(opened) if opened in ids else 0,
        format_func=lambda i: sanitize.clean_text(labels[i]),
        key="app_open",
    )
    app = ws.application(st.session_state["app_open"])
    if app is not None:
        st.session_state["ws_open_application"] = app.id
        _open(ws, app)

_delete_everything(ws, user)
