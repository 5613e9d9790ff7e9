"""CV: paste, upload or try a sample; parse it; edit the result; download or import JSON Resume."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.aio import run_sync
from core.base import TaskType
from ui import preview, state, widgets

FORM_PREFIX = "cvf_"


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


def _parse(text: str) -> None:
    cv = widgets.run_action(
        "Parsing your CV…",
        lambda: run_sync(widgets.service().parse_cv(text, **widgets.opts())),
        done="CV parsed",
    )
    if cv is not None:
        _store(cv, text)


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


def _lines(text: str) -> list[str]:
    return [line.strip(" •-\t") for line in (text or "").splitlines() if line.strip(" •-\t")]


def _editable_form(cv: dict[str, Any]) -> None:
    """The parsed CV as a form; saving rebuilds the JSON Resume (other sections are kept as they are)."""
    basics = cv.get("basics") or {}
    location = basics.get("location") or {}
    p = FORM_PREFIX
    with st.form("cv_form"):
        st.subheader("Basics")
        c1, c2 = st.columns(2)
        c1.text_input("Name", value=basics.get("name", ""), key=f"{p}name")
        c2.text_input("Headline", value=basics.get("label", ""), key=f"{p}label")
        c1.text_input("E-mail", value=basics.get("email", ""), key=f"{p}email")
        c2.text_input("Phone", value=basics.get("phone", ""), key=f"{p}phone")
        c1.text_input("Website", value=basics.get("url", ""), key=f"{p}url")
        c2.text_input("City", value=location.get("city", ""), key=f"{p}city")
        st.text_area("Summary", value=basics.get("summary", ""), key=f"{p}summary")

        st.subheader("Experience")
        work = list(cv.get("work") or [])
        for i, job in enumerate([*work, {}]):
            title = " at ".join(x for x in (job.get("position", ""), job.get("name", "")) if x) or "Add a job"
            with st.expander(title, expanded=False):
                a, b = st.columns(2)
                a.text_input("Employer", value=job.get("name", ""), key=f"{p}work_{i}_name")
                b.text_input("Position", value=job.get("position", ""), key=f"{p}work_{i}_position")
                a.text_input("Start (YYYY-MM)", value=job.get("startDate", ""), key=f"{p}work_{i}_startDate")
                b.text_input("End (empty if current)", value=job.get("endDate", ""), key=f"{p}work_{i}_endDate")
                st.text_area(
                    "Highlights (one per line)",
                    value="\n".join(job.get("highlights") or []),
                    key=f"{p}work_{i}_highlights",
                )

        st.subheader("Education")
        education = list(cv.get("education") or [])
        for i, school in enumerate([*education, {}]):
            with st.expander(school.get("institution") or "Add a school", expanded=False):
                a, b = st.columns(2)
                a.text_input("Institution", value=school.get("institution", ""), key=f"{p}edu_{i}_institution")
                b.text_input("Degree", value=school.get("studyType", ""), key=f"{p}edu_{i}_studyType")
                a.text_input("Field", value=school.get("area", ""), key=f"{p}edu_{i}_area")
                b.text_input("End", value=school.get("endDate", ""), key=f"{p}edu_{i}_endDate")

        st.subheader("Skills")
        skill_lines = "\n".join(
            f"{g.get('name') or 'Skills'}: {', '.join(g.get('keywords') or [])}" for g in cv.get("skills") or []
        )
        st.text_area("One group per line, as 'Group: skill, skill'", value=skill_lines, key=f"{p}skills")
        saved = st.form_submit_button("Save changes")
    if saved:
        _store(_from_form(cv, len(work) + 1, len(education) + 1), None)
        st.success("Saved. The other pages now use this version.")


def _from_form(cv: dict[str, Any], n_work: int, n_edu: int) -> dict[str, Any]:
    s = st.session_state
    p = FORM_PREFIX
    out = json.loads(json.dumps(cv))
    basics = dict(out.get("basics") or {})
    for field in ("name", "label", "email", "phone", "url", "summary"):
        basics[field] = s.get(f"{p}{field}", "").strip()
    basics["location"] = {**(basics.get("location") or {}), "city": s.get(f"{p}city", "").strip()}
    out["basics"] = basics
    old_work = list(cv.get("work") or [])
    work = []
    for i in range(n_work):
        job = dict(old_work[i]) if i < len(old_work) else {}
        for field in ("name", "position", "startDate", "endDate"):
            job[field] = s.get(f"{p}work_{i}_{field}", "").strip()
        job["highlights"] = _lines(s.get(f"{p}work_{i}_highlights", ""))
        if job["name"] or job["position"]:
            work.append(job)
    out["work"] = work
    old_edu = list(cv.get("education") or [])
    education = []
    for i in range(n_edu):
        school = dict(old_edu[i]) if i < len(old_edu) else {}
        for field in ("institution", "studyType", "area", "endDate"):
            school[field] = s.get(f"{p}edu_{i}_{field}", "").strip()
        if school["institution"] or school["studyType"]:
            education.append(school)
    out["education"] = education
    skills = []
    for line in _lines(s.get(f"{p}skills", "")):
        name, _, rest = line.partition(":") if ":" in line else ("Skills", "", line)
        keywords = [k.strip() for k in rest.split(",") if k.strip()]
        if keywords:
            skills.append({"name": name.strip() or "Skills", "keywords": keywords})
    out["skills"] = skills
    out["meta"] = {**(cv.get("meta") or {}), "edited": True}
    return out


def _import_section() -> None:
    with st.expander("Import a JSON Resume"):
        upload = st.file_uploader("JSON Resume file", type=["json"], key="cv_import")
        if st.button("Import", key="cv_import_run", disabled=upload is None) and upload is not None:
            from core.documents import load_json_resume

            cv = widgets.attempt(
                lambda: load_json_resume(upload.getvalue()), "That file is not a JSON Resume CV Copilot can read."
            )
            if cv is None:
                return
            cv.setdefault("meta", {})
            _store(cv, json.dumps(widgets.cv_without_meta(cv), ensure_ascii=False))
            st.session_state["cv_meta"] = {}
            st.success("Imported.")


st.title("📄 Your CV")
st.write("Paste or upload your CV, or try a sample. CV Copilot turns it into structured data you can edit.")
_input_section()
_import_section()

current = state.current_cv()
if current:
    st.divider()
    basics = current.get("basics") or {}
    st.subheader(f"Parsed CV: {basics.get('name') or 'unnamed'}")
    if basics.get("email"):
        st.markdown(f"E-mail: **{basics['email']}**")
    meta = st.session_state.get("cv_meta") or {}
    widgets.show_meta(meta)
    for warning in (current.get("meta") or {}).get("warnings", []):
        if warning not in meta.get("warnings", []):
            st.warning(warning)
    _editable_form(current)
    st.download_button(
        "Download JSON Resume",
        data=json.dumps(widgets.cv_without_meta(current), indent=2, ensure_ascii=False),
        file_name="resume.json",
        mime="application/json",
        key="cv_download_json",
    )
