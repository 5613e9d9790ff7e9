"""Job match: one or several jobs → a ranked table with score, matched and missing skills, and why."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import streamlit as st

from core import sanitize
from core.ai_service import MAX_JOB_CHARS, check_text
from core.base import CVCopilotError, TaskType
from ui import preview, state, waiting, widgets
from ui import workspace as wsui

log = logging.getLogger("cv_copilot.pages.match")


def _load_sample_jobs() -> None:
    texts = [widgets.read_sample(p) for p in widgets.samples("job").values()]
    if texts:
        st.session_state["match_jobs"] = "\n\n---\n\n".join(t.strip() for t in texts)


def _collect_jobs(uploads: list[Any]) -> tuple[list[str], list[str], list[str]]:
    """(job texts, their labels, problems): a file that cannot be read is skipped and named, the others go on."""
    jobs = widgets.split_jobs(st.session_state.get("match_jobs", ""))
    labels = [f"Pasted job {i}" for i in range(1, len(jobs) + 1)]
    problems: list[str] = []
    for upload in uploads or []:
        try:
            text = widgets.read_upload(upload)
            check_text(text, f"job description in {upload.name}", max_chars=MAX_JOB_CHARS)
        except CVCopilotError as exc:
            problems.append(f"{upload.name}: {exc}")
            continue
        except Exception:
            log.exception("reading job file %s failed", upload.name)
            problems.append(f"{upload.name}: could not be read. Try PDF, DOCX or plain text.")
            continue
        jobs.append(text)
        labels.append(upload.name)
    return jobs, labels, problems


def _preview_jobs(uploads: list[Any]) -> list[str]:
    """The jobs "Match" would send, for the cost preview (a file that cannot be read is left out, not reported)."""
    texts = (preview.upload_text(upload) for upload in uploads or [])
    return [*widgets.split_jobs(st.session_state.get("match_jobs", "")), *(t for t in texts if t is not None)]


def _table(rows: list[dict[str, Any]], labels: list[str]) -> pd.DataFrame:
    def label(row: dict[str, Any]) -> str:
        i = int(row.get("index", 0))
        return labels[i - 1] if 0 < i <= len(labels) else ""

    return pd.DataFrame(
        [
            {
                "Rank": rank,
                "Job": sanitize.clean_text(row.get("title") or f"Job {row['index']}"),
                "Source": label(row),
                "Score": float(row.get("score", 0.0)),
                "Matched skills": sanitize.clean_text(", ".join(map(str, row.get("matched_skills") or []))),
                "Missing skills": sanitize.clean_text(", ".join(map(str, row.get("missing_skills") or []))),
                "Why": sanitize.clean_text(row.get("explanation", "")),
            }
            for rank, row in enumerate(rows, start=1)
        ]
    )


st.title("🎯 Job match")
cv: dict[str, Any] = widgets.require_cv("match") or {}
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
    stopped = waiting.stopped("match")
    if run_clicked or stopped:
        jobs, labels, problems = _collect_jobs(uploads)
        st.session_state.pop("match_result", None)
        if problems:
            skipped = "; ".join(problems)
            if jobs:
                st.warning(widgets.md(f"Skipped {len(problems)} file(s) that could not be used: {skipped}"))
            else:
                st.error(widgets.md(f"No job could be read: {skipped}"))
        if jobs or not problems:  # nothing at all: the service says what to add
            wait = waiting.runner("match", TaskType.JOB_MATCHING)
            rows = widgets.run_action(
                f"Matching {len(jobs)} job(s)…",
                lambda: wsui.run_match(
                    jobs,
                    labels,
                    wait.svc.match_jobs(cv, jobs, cv_text=state.current_cv_text(), **widgets.opts()),
                    run=wait.run,
                ),
                done="Matched",
                expanded=True,
            )
            if rows is not None:
                st.session_state["match_result"] = {
                    "rows": list(rows), "record": rows.record, "labels": labels, "skipped": problems,
                }  # fmt: skip

    result = st.session_state.get("match_result")
    if result:
        st.divider()
        widgets.show_meta(result.get("record") or result.get("meta"))
        if result.get("skipped") and not run_clicked:
            st.warning(widgets.md("Skipped: " + "; ".join(result["skipped"])))
        st.dataframe(
            _table(result["rows"], result.get("labels") or []),
            hide_index=True,
            width="stretch",
            column_config={
                "Score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f"),
                "Why": st.column_config.TextColumn("Why", width="large"),
            },
            key="match_table",
        )
        for rank, row in enumerate(result["rows"], start=1):
            title = widgets.md(row.get("title") or "Job")
            with st.expander(f"{rank}. {title}: {float(row.get('score', 0)):.0f}/100"):
                st.markdown(widgets.md(row.get("explanation", "")))
                st.markdown(f"**Matched:** {widgets.md(', '.join(row.get('matched_skills') or []) or 'none')}")
                st.markdown(f"**Missing:** {widgets.md(', '.join(row.get('missing_skills') or []) or 'none')}")
