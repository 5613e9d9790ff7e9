"""Plotly figures drawn by plotly.js's basic bundle (bar, pie, scatter) in a Streamlit component.

Why: `st.plotly_chart` loads the full plotly.js (4.8 MB), which costs a new browser session of the usage page about
0.6 s on a 2-core machine; the basic bundle is a quarter of it. A click returns the clicked points in
`st.plotly_chart`'s selection shape.

The bundle is plotly.js-basic-dist-min from npm, of the plotly.js version the installed plotly package draws with
(`plotly.offline.get_plotlyjs_version()`); tests/test_plotly_lite.py pins both. To move to a new version:
`npm pack plotly.js-basic-dist-min@<version>`, copy its plotly-basic.min.js to frontend/, update BUNDLE_*.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly.io as pio
import streamlit.components.v1 as components
from streamlit.runtime.scriptrunner import get_script_run_ctx

#: The trace types of plotly.js's basic bundle.
BASIC_TRACES = frozenset({"bar", "pie", "scatter"})
FRONTEND = Path(__file__).parent / "frontend"
BUNDLE_VERSION = "4.1.1"
BUNDLE_SHA256 = "99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba"

#: The component's name on the page (the title of its frames).
COMPONENT = f"{__name__}.chart"


_component: Any = None


def _declared() -> Any:
    """The component, declared by the first chart drawn in a session's run. Streamlit registers a component with
    the server only inside a run, so one declared at import by a warm-up outside any session (serve.py) would never
    be served; declaring on every call would cost a look up the call stack (about 1.5 ms) per chart."""
    global _component
    if _component is None:
        component = components.declare_component("chart", path=str(FRONTEND))
        if get_script_run_ctx() is None:  # not registered: declare again on the next call
            return component
        _component = component
    return _component


def drawable(fig: Any) -> bool:
    """Whether the basic bundle draws every trace of `fig`."""
    return all(trace.type in BASIC_TRACES for trace in fig.data)


def figure_json(fig: Any) -> str:
    """`fig` as the browser receives it (not validated again: the figure objects validated it when built)."""
    return str(pio.to_json(fig, validate=False))


def chart(
    fig: Any, key: str, config: Mapping[str, Any] | None = None, on_click: Callable[[], None] | None = None
) -> Any:
    """Draw `fig`; with `on_click`, a click stores {"selection": {"points": [...]}, "click": n} under `key` and
    calls it."""
    return _declared()(
        figure=figure_json(fig),
        config=dict(config or {}),
        clickable=on_click is not None,
        key=key,
        on_change=on_click,
        default=None,
    )
