"""Steps the page tests take again and again in Streamlit's AppTest: fresh caches, a pasted CV parsed, a page's
form filled and run, and the page's text as the browser would receive it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page


def clear_caches() -> None:
    """Empty Streamlit's data and resource caches (the process's services live in the resource cache)."""
    st.cache_data.clear()
    st.cache_resource.clear()


@contextmanager
def fresh_caches() -> Iterator[None]:
    """Streamlit's caches empty before and after: each page test builds its services from its own settings."""
    clear_caches()
    yield
    clear_caches()


def parse_pasted(text: str) -> AppTest:
    """The CV page with `text` pasted and "Parse CV" pressed."""
    at = open_page("app_pages/cv.py")
    at.text_area(key="cv_paste").input(text)
    at.button(key="cv_parse").click()
    at.run()
    return at


def run_page(at: AppTest, page: str, button: str, areas: dict[str, str], inputs: dict[str, str] | None = None) -> None:
    """Go to `page`, type into its text areas and text inputs (by key), press `button` and let the page run."""
    at.switch_page(page)
    at.run()
    for key, text in areas.items():
        at.text_area(key=key).input(text)
    for key, text in (inputs or {}).items():
        at.text_input(key=key).input(text)
    at.button(key=button).click()
    at.run()


def page_text(at: AppTest) -> str:
    """Every element's protobuf as text (markdown, captions, alerts, labels, HTML, widgets, table data as Arrow bytes):
    what the browser would receive."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)
