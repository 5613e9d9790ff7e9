"""CV Copilot: the Streamlit entry point. Pages are thin; everything they do lives in core/."""

from __future__ import annotations

import streamlit as st

from ui.sidebar import render_sidebar

st.set_page_config(page_title="CV Copilot", page_icon="📄", layout="wide")

PAGES = {
    "Job seeker": [
        st.Page("app_pages/cv.py", title="CV", icon="📄", default=True),
        st.Page("app_pages/tailor.py", title="Tailor", icon="✂️"),
        st.Page("app_pages/cover_letter.py", title="Cover letter", icon="✉️"),
        st.Page("app_pages/match.py", title="Job match", icon="🎯"),
        st.Page("app_pages/applications.py", title="Applications", icon="🗂️"),
    ],
    "Costs": [
        st.Page("app_pages/compare.py", title="Compare providers", icon="⚖️"),
        st.Page("app_pages/usage.py", title="Usage", icon="📊"),
        st.Page("app_pages/settings.py", title="Settings", icon="⚙️"),
    ],
}

page = st.navigation(PAGES)
render_sidebar()
page.run()
