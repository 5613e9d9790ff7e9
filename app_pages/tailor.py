"""Tailor: the CV rewritten for one job, side by side with the original, with ATS keyword coverage before/after."""

from __future__ import annotations

import difflib
from typing import Any

import streamlit as st

from core import sanitize
from core.base import TaskType
from ui import downloads, preview, state, waiting, widgets
from ui import workspace as wsui

_DIFF_CSS = """<style>
table.diff {font-family: ui-monospace, monospace; font-size: 0.8rem; border-collapse: collapse; width: 100%;}
table.diff td {padding: 0 4px; vertical-align: top; white-space: pre-wrap; overflow-wrap: anywhere;}
table.diff th {font-weight: 600; text-align: left;}
.diff_add {background: #d7f5dd;} .diff_chg {background: #fff1c2;} .diff_sub {background: #fbd9d9;}
.diff_next, td.diff_header {display: none;}
</style>"""


def _load_sample_job() -> None:
    found = widgets.samples("job")
    choice = st.session_state.get("tailor_sample_choice")
    path = found.get(choice) if choice in found else next(iter(found.values()), None)
    if path is not None:
        st.session_state["tailor_job"] = widgets.read_sample(path)


def _markdown_of(resume: dict[str, Any]) -> str:
    from core import local

    return sanitize.clean_markdown(local.resume_to_markdown(resume), widgets.cv_urls())


def _diff_table(before: str, after: str) -> str:
    table = difflib.HtmlDiff(tabsize=4).make_table(  # the browser wraps (pre-wrap)
        before.splitlines(), after.splitlines(), fromdesc="Your CV", todesc="Tailored", context=False
    )
    return _DIFF_CSS + table.replace("&nbsp;", " ")  # real spaces let long lines wrap (cells are pre-wrap)


def _coverage(result: dict[str, Any]) -> None:
    before, after = float(result.get("coverage_before", 0.0)), float(result.get("coverage_after", 0.0))
    c1, c2 = st.columns(2)
    c1.metric("ATS keyword coverage before", f"{before:.0%}")
    c2.metric("After tailoring", f"{after:.0%}", delta=f"{(after - before) * 100:+.0f} pts")
    missing = result.get("missing_keywords") or []
    if missing:
        st.caption("Still missing (add them only if they are true): " + widgets.md(", ".join(map(str, missing[:25]))))


def _downloads(result: dict[str, Any]) -> None:
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Download Markdown",
        data=sanitize.clean_markdown(result.get("markdown", ""), widgets.cv_urls()),
        file_name="tailored_cv.md",
        mime="text/markdown",
        key="tailor_download_md",
    )
    from core.export import cv_docx, cv_pdf, first_page_png

    urls = widgets.cv_urls()
    clean, template = sanitize.clean_data(result["resume"], urls), downloads.template()
    pdf = downloads.offer(
        c3, "tailored_cv.pdf", lambda: cv_pdf(clean, template, urls), key="tailor_download_pdf", fallback="DOCX works."
    )
    if pdf is not None:
        with st.expander("PDF preview (first page)"):
            png = widgets.attempt(lambda: first_page_png(pdf, width=700), "The preview failed; the PDF is fine.")
            if png is not None:
                st.image(png)
    downloads.offer(
        c2,
        "tailored_cv.docx",
        lambda: cv_docx(clean, template, urls),
        key="tailor_download_docx",
        fallback="Markdown works.",
    )


st.title("✂️ Tailor your CV")
cv: dict[str, Any] = widgets.require_cv("tailor") or {}
if cv:
    widgets.restore("tailor_job")
    if "tailor_job" not in st.session_state and widgets.kept("letter_job"):
        st.session_state["tailor_job"] = widgets.kept("letter_job")
    st.text_area("Job description", key="tailor_job", height=220, placeholder="Paste the job advert here.")
    found = widgets.samples("job")
    preview.render_task_preview(
        TaskType.CV_TAILORING,
        lambda: preview.tailor_request(cv, st.session_state.get("tailor_job", "")),
        key="tailor_cost_preview",
    )
    cols = st.columns([1, 1, 2])
    run_clicked = cols[0].button("Tailor my CV", key="tailor_run", type="primary")
    if found:
        cols[1].button("Use a sample job", key="tailor_sample", on_click=_load_sample_job)
        if len(found) > 1:
            cols[2].selectbox("Sample job", list(found), key="tailor_sample_choice", label_visibility="collapsed")
    widgets.keep("tailor_job")
    if run_clicked or waiting.stopped("tailor"):
        job = st.session_state.get("tailor_job", "")
        wait = waiting.runner("tailor", TaskType.CV_TAILORING)
        result = widgets.run_action(
            "Tailoring your CV…",
            lambda: wsui.run_saved(
                "tailored",
                job,
                wait.svc.tailor_cv(cv, job, cv_text=state.current_cv_text(), **widgets.opts()),
                run=wait.run,
            ),
            done="Tailored",
            expanded=True,
        )
        if result is not None:
            st.session_state["tailor_result"] = result
            st.session_state["tailor_source"] = cv

    result = st.session_state.get("tailor_result")
    if result and st.session_state.get("tailor_source") is cv:
        st.divider()
        widgets.show_meta(getattr(result, "record", None) or result.get("meta"))
        _coverage(result)
        changes = result.get("changes") or []
        if changes:
            with st.expander(f"What changed ({len(changes)})", expanded=False):
                for change in changes:
                    st.markdown(f"- {widgets.md(change)}")
        side, tailored_tab = st.tabs(["Side by side", "Tailored CV"])
        tailored_md = sanitize.clean_markdown(result.get("markdown", ""), widgets.cv_urls())
        with side:
            st.html(_diff_table(_markdown_of(cv), tailored_md))
        with tailored_tab:
            st.markdown(tailored_md)
        _downloads(result)
