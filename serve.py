"""`streamlit run serve.py`: the app of `streamlit run app.py`, warmed before it takes its first session.

Streamlit runs app.py only when a browser connects, so the first session after a start pays the imports and the
usage page's first aggregates. Here Streamlit's own `st.App` starts the same app, and its lifespan hook
(`ui.usage_data.lifespan`) does that work first: the server answers its health check once it is done (about a
second on a 1M-row DB). A warm-up that fails is logged and the server starts anyway, cold.
"""

from __future__ import annotations

import streamlit as st

from ui.usage_data import lifespan

app = st.App("app.py", lifespan=lifespan)
