"""The export downloads of the Tailor, Cover letter and Applications pages: one template choice shared by the first
two, and a download offered only when its file could be built (a failed export says so; the page's other downloads
still work)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ui import widgets


def template() -> str:
    """The template both pages export with (one widget key, so a choice made on one page holds on the other)."""
    from core.export import TEMPLATES  # the exporters load with the first download, not with the page

    names: list[str] = list(TEMPLATES)
    return st.selectbox("PDF template", names, format_func=TEMPLATES.__getitem__, key="export_template") or names[0]


def offer(
    where: DeltaGenerator,
    name: str,
    build: Callable[[], bytes],
    *,
    key: str,
    fallback: str,
    label: str | None = None,
) -> bytes | None:
    """Build the file `name` (.pdf or .docx) and offer it in `where` as `label` (by default 'Download PDF' or
    'Download DOCX'). If building fails, say so and which download still works (`fallback`), and offer nothing.
    Returns the file's bytes."""
    from core.export import DOCX_MIME

    kind = PurePath(name).suffix.lstrip(".").upper()
    data = widgets.attempt(build, f"The {kind} export failed; {fallback}")
    if data is not None:
        mime = {"PDF": "application/pdf", "DOCX": DOCX_MIME}[kind]
        where.download_button(label or f"Download {kind}", data, name, mime, key=key)
    return data
