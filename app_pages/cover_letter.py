"""Cover letter: company, role, tone and length → a letter streamed as it is written, then editable and downloadable."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import sanitize
from core.base import Length, TaskType, Tone
from core.workspace_context import Attribution
from ui import downloads, preview, state, waiting, widgets
from ui import workspace as wsui

_FIELDS = ("letter_job", "letter_company", "letter_role", "letter_tone", "letter_length")


def _load_sample_job() -> None:
    found = widgets.samples("job")
    if found:
        st.session_state["letter_job"] = widgets.read_sample(next(iter(found.values())))


def _write(cv: dict[str, Any], job: str) -> None:
    """Stream the letter into a status box; keep the finished text and its metadata in the session."""
    s = st.session_state
    stream = None
    application_id = wsui.letter_application(job)  # every usage row of the letter's calls carries it
    tag = Attribution(application_id=application_id, cv_id=s.get("ws_cv_id"))

    def action() -> str:
        nonlocal stream
        svc = waiting.service("letter")
        stream = svc.stream_cover_letter(
            cv, job, s.get("letter_company") or None, role=s.get("letter_role") or None,
            tone=Tone.of(s.get("letter_tone")), length=Length.of(s.get("letter_length")),
            cv_text=state.current_cv_text(), **widgets.opts(),
        )  # fmt: skip
        shown = st.empty()
        written = ""
        pieces = waiting.stream(  # who, how long, a stop button
            stream, svc, task=TaskType.COVER_LETTER, key="letter", attribution=tag
        )
        for piece in pieces:  # drawn as text as it arrives: no image or link can form, even half-written
            written += piece
            shown.markdown(widgets.md(written))
        if stream.replaced:
            shown.markdown(widgets.md(stream.text))
        return stream.text

    text = widgets.run_action("Writing your letter…", action, done="Letter written", expanded=True)
    if text is not None and stream is not None:
        s["letter_edit"] = text
        s["letter_meta"] = stream.record
        wsui.save_letter(job, text, stream.record, application_id, cache_keys=tag.cache_keys)  # autosave


def _downloads(text: str, cv: dict[str, Any]) -> None:
    c1, c2, c3 = st.columns(3)
    text = sanitize.clean_text(text, widgets.cv_urls())
    c1.download_button("Download TXT", data=text, file_name="cover_letter.txt", mime="text/plain", key="letter_txt")
    from core.export import letter_docx, letter_pdf

    template, urls = downloads.template(), widgets.cv_urls()
    works = "the TXT one works."
    downloads.offer(
        c3, "cover_letter.pdf", lambda: letter_pdf(text, cv, template, urls), key="letter_pdf", fallback=works
    )
    downloads.offer(
        c2, "cover_letter.docx", lambda: letter_docx(text, cv, template, urls), key="letter_docx", fallback=works
    )


st.title("✉️ Cover letter")
cv: dict[str, Any] = widgets.require_cv("letter") or {}
if cv:
    widgets.restore(*_FIELDS, "letter_edit")
    st.session_state.setdefault("letter_length", "medium")
    if "letter_job" not in st.session_state and widgets.kept("tailor_job"):
        st.session_state["letter_job"] = widgets.kept("tailor_job")
    st.text_area("Job description", key="letter_job", height=200, placeholder="Paste the job advert here.")
    c1, c2 = st.columns(2)
    c1.text_input("Company", key="letter_company", placeholder="e.g. Acme Corp")
    c2.text_input("Role", key="letter_role", placeholder="e.g. Senior Backend Engineer")
    c1.selectbox("Tone", [t.value for t in Tone], key="letter_tone", format_func=str.capitalize)
    c2.select_slider("Length", [n.value for n in Length], key="letter_length")
    s = st.session_state
    preview.render_task_preview(
        TaskType.COVER_LETTER,
        lambda: preview.letter_request(
            cv,
            s.get("letter_job", ""),
            company=s.get("letter_company") or None,
            role=s.get("letter_role") or None,
            tone=s.get("letter_tone", "formal"),
            length=s.get("letter_length", "medium"),
        ),
        key="letter_cost_preview",
    )
    b1, b2, _ = st.columns([1, 1, 2])
    run_clicked = b1.button("Write my letter", key="letter_run", type="primary")
    if widgets.samples("job"):
        b2.button("Use a sample job", key="letter_sample", on_click=_load_sample_job)
    widgets.keep(*_FIELDS)
    if run_clicked or waiting.stopped("letter"):
        _write(cv, st.session_state.get("letter_job", ""))

    if "letter_edit" in st.session_state:
        st.divider()
        widgets.show_meta(st.session_state.get("letter_meta"))
        text = st.text_area("Your letter (edit freely before downloading)", key="letter_edit", height=380)
        widgets.keep("letter_edit")
        _downloads(text, cv)
