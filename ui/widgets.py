"""Small Streamlit pieces the job-seeker pages share: run an AI action safely, show who answered and what it cost,
sample files, uploads and the "no CV yet" notice."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from core import sanitize
from core.ai_service import AIService
from core.base import CallRecord, CVCopilotError
from ui import state

log = logging.getLogger("cv_copilot.ui")
T = TypeVar("T")

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"
GENERIC_ERROR = "Something went wrong on our side; the details are in the server log. Please try again."
UPLOAD_TYPES = ["pdf", "docx", "txt", "md"]


def service() -> AIService:
    """The service on this session's router (session-only keys included)."""
    return AIService(state.router())


def opts() -> dict[str, Any]:
    """The per-user options every AI call takes."""
    return {"user_id": state.user_id(), "optimize_cost": state.optimize_cost()}


def run_action(label: str, action: Callable[[], T], *, done: str = "Done", expanded: bool = False) -> T | None:
    """Run `action` inside st.status. A CVCopilotError is shown as its own (readable) message, anything else as a
    generic one and logged. Returns None on failure, so a page can simply stop drawing the result."""
    error: str | None = None
    result: T | None = None
    with st.status(label, expanded=expanded) as status:
        try:
            result = action()
        except CVCopilotError as exc:
            error = str(exc)
        except Exception:
            log.exception("%s failed", label)
            error = GENERIC_ERROR
        if error is None:
            status.update(label=done, state="complete", expanded=expanded)
        else:
            status.update(label=f"{label.rstrip('…. ')}: failed", state="error", expanded=False)
    if error is not None:
        st.error(error)
    return result


def restore(*keys: str) -> None:
    """Streamlit forgets a widget's value when the user leaves its page. Call before drawing the widgets: a value
    kept by `keep` on an earlier visit is put back."""
    for key in keys:
        kept = f"_kept_{key}"
        if key not in st.session_state and kept in st.session_state:
            st.session_state[key] = st.session_state[kept]


def keep(*keys: str) -> None:
    """Call after drawing the widgets: remember their values for the next visit (see `restore`)."""
    for key in keys:
        if key in st.session_state:
            st.session_state[f"_kept_{key}"] = st.session_state[key]


def kept(key: str, default: Any = None) -> Any:
    """The value a widget had, on this page or when its page was last drawn."""
    return st.session_state.get(key, st.session_state.get(f"_kept_{key}", default))


def attempt(action: Callable[[], T], failure: str) -> T | None:
    """Run a non-AI step (reading a file, exporting): a CVCopilotError shows its own message, anything else
    `failure` (logged). Returns None on failure."""
    try:
        return action()
    except CVCopilotError as exc:
        st.error(str(exc))
    except Exception:
        log.exception(failure)
        st.error(failure)
    return None


def _record(meta: CallRecord | dict[str, Any] | None) -> CallRecord | None:
    if isinstance(meta, CallRecord):
        return meta
    return CallRecord.from_meta(meta) if meta else None


def meta_line(meta: CallRecord | dict[str, Any] | None) -> str:
    """'local · cv-copilot-offline · 1,234 tokens (1,000 in / 234 out) · $0.0000 · 0.2 s'."""
    record = _record(meta)
    if record is None:
        return ""
    approx = "≈" if record.tokens_estimated else ""
    parts = [
        record.provider or "?",
        record.model or "?",
        f"{approx}{record.total_tokens:,} tokens ({record.input_tokens:,} in / {record.output_tokens:,} out)",
        f"${record.cost_usd:.4f}{' (estimated price)' if record.price_estimated else _prices_date()}",
        f"{record.latency_ms / 1000:.1f} s",
    ]
    if record.cached:
        parts.append("cached")
    if len(record.attempts) > 1:
        parts.append("tried " + " → ".join(record.attempts))
    return " · ".join(parts)


def _prices_date() -> str:
    """' (prices as of 2026-11-03)': the date of the price catalogue costs were computed with."""
    from core.pricing import prices_as_of

    as_of = prices_as_of()
    return f" (prices as of {as_of:%Y-%m-%d})" if as_of else ""


def show_meta(meta: CallRecord | dict[str, Any] | None, *, warnings: bool = True) -> None:
    """Who answered, tokens, cost and time; then the result's warnings (fallbacks, grounding, injection).
    Everything drawn passes the sanitiser: warnings quote model output."""
    record = _record(meta)
    if record is None:
        return
    st.caption(f"Answered by {md(meta_line(record))}")
    if record.route_reason:
        st.caption(f"Why this provider: {md(record.route_reason)}")
    if record.notice:
        st.info(f"Answered by the {md(record.notice)}.")
    if warnings:
        for line in record.warnings:
            st.warning(md(line))


def md(text: Any) -> str:
    """Model (or job-description) text for st.markdown, captions, alerts and labels: shown as text, no images,
    no links but the CV's own."""
    return sanitize.to_markdown(text, cv_urls())


def cv_urls() -> frozenset[str]:
    """The current CV's own URLs: the only links model text may keep."""
    cv = state.current_cv()
    return sanitize.cv_urls(cv if isinstance(cv, dict) else None, state.current_cv_text() or "")


def samples(kind: str) -> dict[str, Path]:
    """Shipped samples of one kind ('cv' or 'job'), label → path. Files are data/samples/<kind>*.txt."""
    if not SAMPLES_DIR.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(SAMPLES_DIR.glob("*.txt")):
        name = path.stem.lower()
        is_job = "job" in name
        is_cv = not is_job and ("cv" in name or "resume" in name)
        if (kind == "job" and is_job) or (kind == "cv" and is_cv):
            label = re.sub(r"^(?:cv|resume|job)[_-]*", "", path.stem, flags=re.I).replace("_", " ").replace("-", " ")
            found[label.strip().capitalize() or path.stem] = path
    return found


def read_sample(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def read_upload(upload: Any) -> str:
    """Text of an uploaded PDF, DOCX or TXT file. Raises InputError (readable) when it has none."""
    from core.documents import extract_text

    return extract_text(upload.getvalue(), upload.name)


def split_jobs(text: str) -> list[str]:
    """Several job descriptions pasted into one box, separated by a line of three or more dashes."""
    return [part.strip() for part in re.split(r"^\s*-{3,}\s*$", text or "", flags=re.MULTILINE) if part.strip()]


def require_cv(prefix: str) -> dict[str, Any] | None:
    """The session's CV, or a notice with a link to the CV page and a one-click sample; None when there is none."""
    cv = state.current_cv()
    if cv:
        basics = cv.get("basics") if isinstance(cv.get("basics"), dict) else {}
        name = md((basics or {}).get("name") or "your CV")
        st.caption(f"Using the CV of **{name}** (change it on the CV page).")
        return cv
    st.info("There is no CV yet. Parse or import one on the CV page, or load a sample here.")
    cols = st.columns(2)
    with cols[0]:
        st.page_link("app_pages/cv.py", label="Go to the CV page", icon="📄")
    cv_samples = samples("cv")
    if cv_samples:
        with cols[1]:
            if st.button("Use a sample CV", key=f"{prefix}_sample_cv"):
                text = read_sample(next(iter(cv_samples.values())))
                parsed = run_action("Parsing the sample CV…", lambda: _parse(text), done="Sample CV parsed")
                if parsed is not None:
                    state.set_current_cv(parsed, text)
                    st.session_state["cv_meta"] = parsed.get("meta", {})
                    st.rerun()
    return None


def _parse(text: str) -> dict[str, Any]:
    from core.aio import run_sync

    return run_sync(service().parse_cv(text, **opts()))


def cv_without_meta(cv: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cv.items() if k != "meta"}


def user_budget_updates(
    before: dict[str, dict[str, float]], rows: list[dict[str, Any]]
) -> dict[str, dict[str, float | None] | None]:
    """The `[budgets.users]` update for the config file from the per-user budget editor's rows.

    `before` is the saved table (user → {daily_usd, monthly_usd}). A user whose row was deleted, or whose limits are
    both empty or 0, maps to None (the table is dropped); a cleared limit maps to None (the key is dropped, so the
    "each user" default applies again). Raises ValueError for a negative limit or a user named twice."""
    out: dict[str, dict[str, float | None] | None] = dict.fromkeys(before)
    seen: set[str] = set()
    for row in rows:
        user = str(row.get("user") or "").strip()
        limits = {name: _positive(row.get(name), user, name) for name in ("daily_usd", "monthly_usd")}
        if not user:
            if any(v is not None for v in limits.values()):
                raise ValueError("a row with a budget has no user name")
            continue
        if user in seen:
            raise ValueError(f"{user!r} is listed twice")
        seen.add(user)
        out[user] = limits if any(v is not None for v in limits.values()) else None
    return out


def _positive(value: Any, user: str, name: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = float(value)
    if number != number:  # NaN: an empty cell of a float column
        return None
    if number < 0:
        raise ValueError(f"{name} for {user or 'a row'} must be 0 or more, got {number:g}")
    return number or None
