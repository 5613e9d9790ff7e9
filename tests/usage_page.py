"""The usage page in AppTest: its path and its sections (expanders that run their content only while open)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from ui.usage_data import SECTIONS

USAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "usage.py")
#: Every section, and the request detail inside Recent calls (an expander that also runs only while open).
ALL_SECTIONS = (*(key for key, _label, _open in SECTIONS), "usage_open_detail")


def open_sections(at: AppTest, keys: tuple[str, ...] = ALL_SECTIONS) -> AppTest:
    """Open `keys` as a click on their expanders would, from the next run on."""
    for key in keys:
        at.session_state[key] = True
    return at


def usage_app(keys: tuple[str, ...] = ALL_SECTIONS) -> AppTest:
    """A new session of the usage page with the sections `keys` open (every one by default), not run yet."""
    return open_sections(AppTest.from_file(USAGE, default_timeout=30), keys)


def click(at: AppTest, title: str, *points: dict[str, Any]) -> AppTest:
    """What the browser sends when a point of a chart is clicked: the chart's selection state, as a widget value
    (it runs the page's on_select callback, as in a real session)."""
    chart = next(c for c in at.get("plotly_chart") if title in c.proto.spec)
    selection = {"selection": {"points": list(points), "point_indices": [0], "box": [], "lasso": []}}
    states = at._tree.get_widget_states
    with_click = WidgetState(id=chart.proto.id, string_value=json.dumps(selection))

    def patched():  # type: ignore[no-untyped-def]
        out = states()
        out.widgets.append(with_click)
        return out

    at._tree.get_widget_states = patched  # type: ignore[method-assign]
    at.run()
    assert not at.exception, at.exception
    return at


def forget_click(at: AppTest) -> None:
    """The browser sends a click once: later runs carry the widgets' own states only."""
    at._tree.get_widget_states = type(at._tree).get_widget_states.__get__(at._tree)  # type: ignore[method-assign]
