"""`streamlit run serve.py`: the app of `streamlit run app.py`, warmed before it takes its first session.

Streamlit runs app.py only when a browser connects, so the first session after a start pays the imports and the
usage page's first aggregates. Here Streamlit's own `st.App` starts the same app, and its lifespan hook does that
work first: the server answers its health check once it is done (a few seconds on a 1M-row DB).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st


@asynccontextmanager
async def warm(_app: Any) -> AsyncIterator[None]:
    from ui import state, usage_data

    state.services()  # the router, providers and tracker every page's sidebar uses
    usage_data.warm()
    yield


app = st.App("app.py", lifespan=warm)
