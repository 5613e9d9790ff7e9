"""Job match: one or several jobs → a ranked table with score, matched and missing skills, and why."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.aio import run_sync
from core.base import TaskType
from ui import preview, state, widgets


def _load_sample_jobs() -> None:
    texts = [widgets.read_sample(p) for p in widgets.samples("job").values()]
    if texts:
        st.session_state["match_jobs"] = "\n\n---\n\n".join(t.strip() for t in texts)


def _collect_jobs(uploads: list) -> list[str] | None:
    jobs = widgets.split_jobs(st.session_state.get("match_jobs", ""))
    for upload in uploads or []:
        text = widgets.attempt(
            lambda u=upload: widgets.read_upload(u), f"{upload.name} could not be read. Try PDF, DOCX or plain text."
        )
        if text is None:
            return None
        jobs.append(text)
    return jobs


def _preview_jobs(uploads: list) -> list[str]:
    """The jobs "Match" would send, for the cost preview (a file that cannot be read is left out, not reported)."""
    texts = (preview.upload_text(upload) for upload in uploads or [])
    return [*widgets.split_jobs(st.session_state.get("match_jobs", "")), *(t for t in texts if t is not None)]


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Rank": rank,
                "Job": row.get("title") or f"Job {row['index']}",
                "Score": float(row.get("score", 0.0)),
                "Matched skills": ", ".join(map(str, row.get("matched_skills") or [])),
                "Missing skills": ", ".join(map(str, row.get("missing_skills") or [])),
                "Why": row.get("explanation", ""),
            }
            for rank, row in enumerate(rows, start=1)
        ]
    )


st.title("🎯 Job match")
cv = widgets.require_cv("match")
if cv:
    widgets.restore("match_jobs")
    st.text_area(
        "Job descriptions (separate several with a line of ---)",
        key="match_jobs",
        height=240,
        placeholder="Paste one job advert, or several separated by a line containing only ---",
    )
    uploads = st.file_uploader(
        "…or upload job descriptions", type=widgets.UPLOAD_TYPES, accept_multiple_files=True, key="match_files"
    )
    widgets.keep("match_jobs")
    preview.render_task_preview(
        TaskType.JOB_MATCHING, lambda: preview.match_request(cv, _preview_jobs(uploads)), key="match_cost_preview"
    )
    b1, b2, _ = st.columns([1, 1, 2])
    run_clicked = b1.button("Match", key="match_run", type="primary")
    if widgets.samples("job"):
        b2.button("Use the sample jobs", key="match_sample", on_click=_load_sample_jobs)
    if run_clicked:
        jobs = _collect_jobs(uploads)
        if jobs is not None:
            rows = widgets.run_action(
                f"Matching {len(jobs)} job(s)…",
                lambda: run_sync(
                    widgets.service().match_jobs(cv, jobs, cv_text=state.current_cv_text(), **widgets.opts())
                ),
                done="Matched",
            )
            if rows is not None:
                st.session_state["match_result"] = {"rows": list(rows), "meta": rows.meta}

    result = st.session_state.get("match_result")
    if result:
        st.divider()
        widgets.show_meta(result["meta"])
        st.dataframe(
            _table(result["rows"]),
            hide_index=True,
            width="stretch",
            column_config={
                "Score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f"),
                "Why": st.column_config.TextColumn("Why", width="large"),
            },
            key="match_table",
        )
        for rank, row in enumerate(result["rows"], start=1):
            with st.expander(f"{rank}. {row.get('title') or 'Job'}: {float(row.get('score', 0)):.0f}/100"):
                st.write(row.get("explanation", ""))
                st.markdown(f"**Matched:** {', '.join(row.get('matched_skills') or []) or 'none'}")
                st.markdown(f"**Missing:** {', '.join(row.get('missing_skills') or []) or 'none'}")
