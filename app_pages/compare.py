"""Compare providers: one task, same CV and job, 2–4 providers side by side; the user votes for the best answer."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core import ab, sanitize
from core.aio import run_sync
from core.base import TaskType
from ui import state, widgets
from ui.preview import render_cost_preview

TASK_LABELS: dict[TaskType, str] = {
    TaskType.CV_TAILORING: "Tailor the CV to the job",
    TaskType.COVER_LETTER: "Cover letter",
    TaskType.FAST_SUMMARY: "CV summary",
    TaskType.JOB_ANALYSIS: "Job analysis",
}
RUN_KEY = "cmp_run"


def _challenger_note(settings: Any) -> None:
    name, pct = settings.challenger_provider, settings.challenger_percent
    if name and pct > 0:
        live = "" if name in settings.configured_providers else f" ({name} has no key yet, so it is not used)"
        st.caption(
            f"Challenger routing is **on**: {pct:g}% of real calls go to **{name}** and are recorded as challenger "
            f"calls{live}. Change it in Settings."
        )
    else:
        st.caption(
            "Challenger routing is **off**. In Settings you can send a small share of real calls to a challenger "
            "provider, so that comparisons accumulate without extra clicks."
        )


def _per_dollar(row: dict[str, Any]) -> str:
    if not row["wins"]:
        return "–"
    return "free" if row["cost_usd"] <= 0 else f"{row['wins'] / row['cost_usd']:,.0f}"


def _show_evidence(task: TaskType, settings: Any) -> None:
    """What the votes of this task say, and whether routing follows them (`[router] prefer_ab_winner`)."""
    store = ab.get_vote_store(settings.db_path)
    strategy = settings.strategy
    found = ab.evidence(store.win_rates(task_type=task), store.vote_counts(), task, strategy.ab_min_votes)
    label = TASK_LABELS[task].lower()
    if not found.votes:
        st.caption(f"No votes yet for {label}. Once it has {strategy.ab_min_votes}, routing can follow them.")
        return
    st.markdown(f"**What the votes say: {label}**")
    st.table(
        [
            {
                "Provider": r["provider"] + (" ★" if r["provider"] == found.winner else ""),
                "Comparisons": r["comparisons"],
                "Wins": r["wins"],
                "Win rate": f"{r['win_rate']:.0%}",
                "Cost per win": "–" if r["cost_per_win"] is None else f"${r['cost_per_win']:.5f}",
                "Wins per $": _per_dollar(r),
            }
            for r in found.rows
        ]
    )
    used = (
        "Routing by votes is **on**: real calls for this task go to ★ first."
        if strategy.prefer_ab_winner and found.winner
        else "Routing by votes is **on**."
        if strategy.prefer_ab_winner
        else "Routing by votes is **off** (turn it on in Settings)."
    )
    st.caption(f"{widgets.md(found.sentence())}. {used} ★: the best win rate per dollar.")


def _vote(winner: str) -> None:
    """Button callback: store the vote for the run on screen, once."""
    run = st.session_state.get(RUN_KEY)
    if not run or run.get("vote"):
        return
    answered = [r for r in run["results"] if not r["error"]]
    ab.get_vote_store(state.router().settings.db_path).record_vote(
        task_type=run["task"],
        providers=[r["provider"] for r in answered],
        winner=winner,
        costs={r["provider"]: r["cost_usd"] for r in answered},
        latencies={r["provider"]: r["latency_ms"] for r in answered},
        user_id=state.user_id(),
    )
    run["vote"] = winner


def _show_answer(result: dict[str, Any], json_mode: bool) -> None:
    st.subheader(result["provider"])
    st.caption(result["model"] or "")
    if result["error"]:
        st.error(widgets.md(result["error"]))
        return
    with st.container(height=360, border=True):
        content = sanitize.clean_text(result["content"], widgets.cv_urls())
        if json_mode:
            try:
                st.json(json.loads(content), expanded=2)
            except ValueError:
                st.code(content, language="json", wrap_lines=True)
        else:
            st.markdown(widgets.md(content))
    cost = "$0 (free)" if result["cost_usd"] == 0 else f"${result['cost_usd']:.5f}"
    st.caption(
        f"{cost} · {result['input_tokens']:,} in / {result['output_tokens']:,} out tokens · "
        f"{result['latency_ms'] / 1000:.2f} s"
    )


def _show_run(run: dict[str, Any]) -> None:
    results = run["results"]
    answered = [r for r in results if not r["error"]]
    voted = run.get("vote")
    st.markdown(f"**Results: {TASK_LABELS[TaskType(run['task'])].lower()}**")
    for column, result in zip(st.columns(len(results)), results, strict=True):
        with column:
            _show_answer(result, run["json_mode"])
            if not result["error"] and len(answered) >= 2:
                st.button(
                    "Best" if voted != result["provider"] else "Your pick",
                    key=f"cmp_vote_{result['provider']}",
                    on_click=_vote,
                    args=(result["provider"],),
                    disabled=bool(voted),
                    icon="👍",
                    type="primary" if voted == result["provider"] else "secondary",
                )
    if len(answered) < 2:
        st.caption("Voting needs at least two answers.")
        return
    st.button("It's a tie", key="cmp_vote_tie", on_click=_vote, args=(ab.TIE,), disabled=bool(voted), icon="🤝")
    if voted:
        st.success("Vote saved: thank you." if voted == ab.TIE else f"Vote saved for {voted}.")
        _show_win_rates(run["task"])


def _show_win_rates(task: str) -> None:
    rows = ab.get_vote_store(state.router().settings.db_path).win_rates(task_type=task)
    st.markdown(f"**Win rates for {TASK_LABELS[TaskType(task)].lower()}** (all votes; the Usage page has the rest)")
    st.dataframe(
        [
            {
                "Provider": r["provider"],
                "Comparisons": r["comparisons"],
                "Wins": r["wins"],
                "Ties": r["ties"],
                "Win rate": f"{r['win_rate']:.0%}",
                "Cost (USD)": f"${r['cost_usd']:.5f}",
                "Cost per win": "–" if r["cost_per_win"] is None else f"${r['cost_per_win']:.5f}",
            }
            for r in rows
        ],
        hide_index=True,
    )


def main() -> None:
    st.title("Compare providers")
    st.caption(
        "Run one task on several providers at once, with the same CV and job, and vote for the best answer. "
        "Votes build a win rate and a cost per win for each provider and task. Comparisons skip the cache and "
        "are charged like any other call."
    )
    router = state.router()
    configured = router.settings.configured_providers
    llms = [p for p in configured if p != "local"]
    _challenger_note(router.settings)

    task = st.selectbox("Task", list(TASK_LABELS), format_func=TASK_LABELS.__getitem__, key="cmp_task")
    if "cmp_cv" not in st.session_state:
        st.session_state["cmp_cv"] = state.current_cv_text()
    left, right = st.columns(2)
    with left:
        cv_text = st.text_area("CV", key="cmp_cv", height=220, help="Taken from the CV page when you have one.")
    with right:
        job = st.text_area("Job description", key="cmp_job", height=220)

    if not llms:
        st.info(
            "Only the offline engine is available, since no API key is set. Add a key in **Settings** to compare "
            "providers side by side; meanwhile you can still run the offline engine alone."
        )
    default = (llms[:2] if len(llms) >= 2 else [*llms, "local"]) if llms else ["local"]
    chosen = st.multiselect(
        "Providers (up to 4)", configured, default=default, max_selections=ab.MAX_PROVIDERS, key="cmp_providers"
    )

    needs_cv = task is not TaskType.JOB_ANALYSIS
    needs_job = task is not TaskType.FAST_SUMMARY
    inputs = (("a CV", needs_cv, cv_text), ("a job description", needs_job, job))
    missing = [what for what, needed, text in inputs if needed and not text.strip()]
    request = None
    if not missing:
        parsed = state.current_cv() if cv_text == state.current_cv_text() else None
        request = ab.task_request(task, cv=parsed, cv_text=cv_text, job_description=job)
        render_cost_preview(
            task, request["prompt"], system=request["system"], max_tokens=request["max_tokens"], providers=chosen,
            key="cmp_preview",
        )  # fmt: skip
    else:
        st.caption(f"Add {' and '.join(missing)} to run this task.")

    if st.button("Run side by side", type="primary", disabled=request is None or not chosen, key="cmp_go"):
        assert request is not None
        with st.spinner(f"Running on {', '.join(chosen)}…"):
            results = run_sync(
                ab.compare(
                    router, task, request["prompt"], chosen, user_id=state.user_id(), payload=request["payload"],
                    max_tokens=request["max_tokens"], system=request["system"], json_mode=request["json_mode"],
                )
            )  # fmt: skip
        st.session_state[RUN_KEY] = {
            "task": task.value,
            "results": results,
            "json_mode": request["json_mode"],
            "vote": None,
        }
    run = st.session_state.get(RUN_KEY)
    if run:
        _show_run(run)
    _show_evidence(task, router.settings)


main()
