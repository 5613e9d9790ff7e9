"""CV: paste, upload or try a sample; parse it; edit the result; download or import JSON Resume."""

from __future__ import annotations

import json
import logging
from typing import Any

import streamlit as st

from core import resume
from core.base import TaskType
from ui import preview, state, waiting, widgets
from ui import workspace as wsui

FORM_PREFIX = "cvf_"
log = logging.getLogger("cv_copilot.pages.cv")


def _load_sample() -> None:
    """Button callback: put the first sample CV in the text box and ask for it to be parsed."""
    found = widgets.samples("cv")
    choice = st.session_state.get("cv_sample_choice")
    path = found.get(choice) if choice in found else next(iter(found.values()), None)
    if path is None:
        st.session_state["cv_notice"] = "No sample CV is installed (data/samples is empty)."
        return
    st.session_state["cv_paste"] = widgets.read_sample(path)
    st.session_state["cv_parse_requested"] = True


def _forget_form() -> None:
    """A new CV replaces the form's values: drop the old widget states."""
    for key in [k for k in st.session_state if str(k).startswith(FORM_PREFIX)]:
        del st.session_state[key]


def _store(cv: dict[str, Any], text: str | None) -> None:
    _forget_form()
    state.set_current_cv(cv, text)
    st.session_state["cv_meta"] = cv.get("meta", {})
    wsui.save_cv(cv, text)  # autosave: every edit or import is a version


def _parse(text: str) -> None:
    """Parse, showing who it waits for (with a way to stop waiting). The parse saves itself as a CV version when it
    ends, even if the user has gone to another page meanwhile: that page then shows the CV (ui.workspace.restore)."""
    st.session_state["cv_parsing"] = text  # what "Stop waiting" parses again offline
    wait = waiting.runner("cv", TaskType.CV_PARSING)
    job = wsui.pending()
    cv = widgets.run_action(
        "Parsing your CV…",
        lambda: wait.run(wsui.parse_and_save(job, text, wait.svc.parse_cv(text, **widgets.opts()))),
        done="CV parsed",
        expanded=True,
    )
    if cv is not None:
        _forget_form()
        state.set_current_cv(cv, text)
        st.session_state["cv_meta"] = cv.get("meta", {})
        wsui.parsed(job, cv, text)


def _input_section() -> None:
    st.text_area(
        "Paste your CV",
        key="cv_paste",
        height=260,
        placeholder="Paste the text of your CV here, or upload a file below.",
    )
    upload = st.file_uploader("…or upload it (PDF, DOCX or TXT)", type=widgets.UPLOAD_TYPES, key="cv_upload")
    found = widgets.samples("cv")
    _cost_preview(upload)
    cols = st.columns([1, 1, 2])
    parse_clicked = cols[0].button("Parse CV", key="cv_parse", type="primary")
    cols[1].button("Try a sample CV", key="cv_sample", on_click=_load_sample)
    if len(found) > 1:
        cols[2].selectbox("Sample", list(found), key="cv_sample_choice", label_visibility="collapsed")
    if st.session_state.pop("cv_notice", None):
        st.warning("No sample CV is installed (data/samples is empty).")

    if st.session_state.pop("cv_parse_requested", False):
        _parse(st.session_state.get("cv_paste", ""))
    elif waiting.stopped("cv"):
        _parse(st.session_state.get("cv_parsing") or st.session_state.get("cv_paste", ""))
    elif parse_clicked:
        text = st.session_state.get("cv_paste", "")
        if upload is not None:
            text = widgets.attempt(
                lambda: widgets.read_upload(upload), "That file could not be read. Try saving it as PDF, DOCX or TXT."
            )
            if text is None:
                return
        _parse(text)


def _cost_preview(upload: Any) -> None:
    """What parsing would cost: the uploaded file's text if there is one (as "Parse CV" uses), else the pasted text."""
    text = preview.upload_text(upload) if upload is not None else None
    source = st.session_state.get("cv_paste", "") if text is None else text
    preview.render_task_preview(TaskType.CV_PARSING, lambda: preview.parse_request(source), key="cv_cost_preview")


def _editable_form(cv: dict[str, Any]) -> None:
    """The parsed CV as a form. Saving applies only what the user changed (core.resume.apply_form), so an untouched
    form saves the CV exactly as it was: every skill, date and extra field kept."""
    values = resume.form_values(cv)
    p = FORM_PREFIX

    def text(widget: Any, label: str, key: str, **kw: Any) -> None:
        widget(label, value=values.get(key, ""), key=f"{p}{key}", **kw)

    work = [j for j in cv.get("work") or [] if isinstance(j, dict)]
    education = [e for e in cv.get("education") or [] if isinstance(e, dict)]
    with st.form("cv_form"):
        st.subheader("Basics")
        c1, c2 = st.columns(2)
        text(c1.text_input, "Name", "name")
        text(c2.text_input, "Headline", "label")
        text(c1.text_input, "E-mail", "email")
        text(c2.text_input, "Phone", "phone")
        text(c1.text_input, "Website", "url")
        text(c2.text_input, "City", "city")
        text(st.text_area, "Summary", "summary")

        st.subheader("Experience")
        for i, job in enumerate([*work, {}]):
            title = " at ".join(str(x) for x in (job.get("position", ""), job.get("name", "")) if x) or "Add a job"
            with st.expander(widgets.md(title), expanded=False):
                a, b = st.columns(2)
                text(a.text_input, "Employer", f"work_{i}_name")
                text(b.text_input, "Position", f"work_{i}_position")
                text(a.text_input, "Start (YYYY-MM)", f"work_{i}_startDate")
                text(b.text_input, "End (empty if current)", f"work_{i}_endDate")
                text(st.text_area, "Highlights (one per line)", f"work_{i}_highlights")

        st.subheader("Education")
        for i, school in enumerate([*education, {}]):
            with st.expander(widgets.md(school.get("institution") or "Add a school"), expanded=False):
                a, b = st.columns(2)
                text(a.text_input, "Institution", f"edu_{i}_institution")
                text(b.text_input, "Degree", f"edu_{i}_studyType")
                text(a.text_input, "Field", f"edu_{i}_area")
                text(b.text_input, "End", f"edu_{i}_endDate")

        st.subheader("Skills")
        text(
            st.text_area,
            "One per line: 'Group: skill, skill' for a group, or a single skill on its own line",
            "skills",
        )
        saved = st.form_submit_button("Save changes")
    if saved:
        typed = {
            str(k)[len(p) :]: str(v) for k, v in st.session_state.items() if str(k).startswith(p) and v is not None
        }
        updated = resume.apply_form(cv, typed)
        if updated != cv:
            updated["meta"] = {**(cv.get("meta") or {}), "edited": True}
        _store(updated, None)
        st.session_state["cv_notice_ok"] = "Saved. The other pages now use this version."
        st.rerun()  # the form again, drawn from the saved CV


def _uncaptured_finder() -> Any:
    """The offline parser's "what went into no field" (core.local), or None in a build without it."""
    import importlib

    for module in ("core.local", "core.local.parser"):
        found = getattr(importlib.import_module(module), "uncaptured_lines", None)
        if found is not None:
            return found
    return None


def _not_captured(cv: dict[str, Any]) -> None:
    """The source lines that went into no field, so nothing vanishes silently."""
    find = _uncaptured_finder()
    text = state.current_cv_text()
    if find is None or not text:
        return
    try:
        lines = [str(line) for line in find(text, widgets.cv_without_meta(cv))]
    except Exception:  # a view for the user's peace of mind; the CV itself is fine
        log.exception("listing the lines the parser did not capture failed")
        return
    if not lines:
        st.caption("Every line of your CV went into a field.")
        return
    with st.expander(f"What was not captured ({len(lines)} lines)", expanded=False):
        st.caption("These lines of your CV went into no field. Add what matters in the form above.")
        st.code("\n".join(lines), language=None, wrap_lines=True)


def _import_section() -> None:
    with st.expander("Import a JSON Resume"):
        upload = st.file_uploader("JSON Resume file", type=["json"], key="cv_import")
        if st.button("Import", key="cv_import_run", disabled=upload is None) and upload is not None:
            from core.documents import load_json_resume

            def load() -> dict[str, Any]:
                data = upload.getvalue()
                resume.check_json_depth(data)  # before any json.loads: a file nested 100,000 deep is refused
                return resume.check_cv(load_json_resume(data))

            cv = widgets.attempt(load, "That file is not a JSON Resume CV Copilot can read.")
            if cv is None:
                return
            cv.setdefault("meta", {})
            _store(cv, json.dumps(widgets.cv_without_meta(cv), ensure_ascii=False))
            st.session_state["cv_meta"] = {}
            st.success("Imported.")


def _when(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _versions_section() -> None:
    """Every saved version of the profile's CVs: open one, see what changed from the one before, make it current
    again, or delete the CV."""
    ws = wsui.workspace()
    cvs = widgets.attempt(lambda: ws.cvs(state.user_id()), "Your saved CVs could not be read.")
    if not cvs:
        return
    s = st.session_state
    with st.expander(f"Versions and saved CVs ({len(cvs)} CV{'s' if len(cvs) > 1 else ''})", expanded=False):
        names = {cv_id: f"{name} ({n} version{'s' if n > 1 else ''})" for cv_id, name, n in cvs}
        ids = list(names)
        current = s.get("ws_cv_id")
        cv_id = st.selectbox(
            "CV", ids, index=ids.index(current) if current in ids else 0, format_func=lambda i: widgets.md(names[i]),
            key="cv_versions_cv",
        )  # fmt: skip
        history = ws.cv_history(cv_id)
        st.dataframe(
            [{"Version": v, "Saved": _when(t), "How": src} for v, t, src in history],
            hide_index=True, width="stretch", key="cv_versions_table",
        )  # fmt: skip
        labels = {v: f"v{v} · {_when(t)} · {src}" for v, t, src in history}
        version = st.selectbox(  # keyed by the newest version: a new save starts the choice again
            "Open a version", list(labels), index=None, placeholder="Choose a version to see what changed in it",
            format_func=labels.__getitem__, key=f"cv_versions_pick_{history[0][0]}",
        )  # fmt: skip
        opened = ws.cv_version(cv_id, int(version)) if version is not None else None
        if opened is not None:
            st.caption("What changed from the version before (JSON Resume, + added, - removed):")
            st.code(opened.diff or "(the first version)", language="diff")
            is_current = cv_id == current and version == history[0][0]
            if st.button("Make this version current", key="cv_versions_restore", disabled=is_current):
                restored = widgets.attempt(
                    lambda: ws.restore_version(cv_id, opened.version, user_id=state.user_id()),
                    "That version could not be restored.",
                )
                if restored is not None:
                    _forget_form()
                    state.set_current_cv({**restored.data, "meta": {}}, restored.cv_text)
                    s["cv_meta"] = {}
                    s["ws_cv_id"] = restored.cv_id
                    wsui.mark_seen()
                    s["cv_notice_ok"] = (
                        f"Version {opened.version} is current again (saved as version {restored.version})."
                    )
                    st.rerun()
        st.divider()
        name = next(n for i, n, _ in cvs if i == cv_id)
        st.markdown(
            f"**Delete this CV**: {widgets.md(names[cv_id])}, every version of it, its text and the cached AI answers "
            "its parses left. Applications tailored from it stay (with their own copy of the tailored CV)."
        )
        typed = st.text_input(f"Type the CV's name ({widgets.md(name)}) to confirm", key="cv_delete_confirm")
        if st.button("Delete this CV", key="cv_delete", disabled=typed.strip() != name.strip()):
            gone = widgets.attempt(lambda: ws.delete_cv(cv_id), "The CV could not be deleted.")
            if gone is not None:
                if cv_id == current:
                    wsui.forget_session(cv_only=True)
                else:
                    wsui.mark_seen()
                s.pop("cv_delete_confirm", None)
                s["cv_notice_ok"] = (
                    f"Deleted: {gone.cvs} CV, {gone.versions} versions and {gone.cached_answers} cached answers."
                )
                st.rerun()


st.title("📄 Your CV")
st.write("Paste or upload your CV, or try a sample. CV Copilot turns it into structured data you can edit.")
if st.session_state.get("cv_notice_ok"):
    st.success(st.session_state.pop("cv_notice_ok"))
_input_section()
_import_section()

current = state.current_cv()
if current:
    st.divider()
    raw_basics = current.get("basics")
    basics: dict[str, Any] = raw_basics if isinstance(raw_basics, dict) else {}
    st.subheader(f"Parsed CV: {widgets.md(basics.get('name') or 'unnamed')}")
    if basics.get("email"):
        st.markdown(f"E-mail: **{widgets.md(basics['email'])}**")
    meta = st.session_state.get("cv_meta") or {}
    widgets.show_meta(meta)
    shown = set(meta.get("warnings", []))
    for warning in (current.get("meta") or {}).get("warnings", []):
        if warning not in shown:
            st.warning(widgets.md(warning))
    _not_captured(current)
    _editable_form(current)
    st.download_button(
        "Download JSON Resume",
        data=json.dumps(widgets.cv_without_meta(current), indent=2, ensure_ascii=False),
        file_name="resume.json",
        mime="application/json",
        key="cv_download_json",
    )
_versions_section()
