"""Plotly figures drawn by plotly.js's basic bundle (bar, pie, scatter) in a Streamlit component.

Why: `st.plotly_chart` loads the full plotly.js (4.8 MB), which alone costs a new browser session about a second on a
small machine; the basic bundle is a quarter of that. Figures with other traces (a gauge) still go to
`st.plotly_chart`. A click returns the clicked points in `st.plotly_chart`'s selection shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly.io as pio
import streamlit.components.v1 as components

#: The trace types of plotly.js's basic bundle (ui/plotly_lite/frontend/plotly-basic.min.js, v4.1.1).
BASIC_TRACES = frozenset({"bar", "pie", "scatter"})

_component = components.declare_component("chart", path=str(Path(__file__).parent / "frontend"))


def drawable(fig: Any) -> bool:
    """Whether the basic bundle draws every trace of `fig`."""
    return all(trace.type in BASIC_TRACES for trace in fig.data)


def chart(
    fig: Any, key: str, config: Mapping[str, Any] | None = None, on_click: Callable[[], None] | None = None
) -> Any:
    """Draw `fig`; with `on_click`, a click stores {"selection": {"points": [...]}, "click": n} under `key` and
    calls it."""
    return _component(
        figure=pio.to_json(fig, validate=False),
        config=dict(config or {}),
        clickable=on_click is not None,
        key=key,
        on_change=on_click,
        default=None,
    )
