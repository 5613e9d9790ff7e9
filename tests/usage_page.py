"""The usage page in AppTest: its path and its sections (expanders that run their content only while open)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from ui.plotly_lite import COMPONENT as LITE_CHART
from ui.usage_data import SECTIONS

USAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "usage.py")
#: Every section, and the request detail inside Recent calls (an expander that also runs only while open).
ALL_SECTIONS = (*(key for key, _label, _open in SECTIONS), "usage_open_detail")


@pytest.fixture(autouse=True)
def fresh_streamlit_cache() -> None:
    """Each test has its own DB: cached aggregates from another test must not leak in (autouse where imported)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def open_sections(at: AppTest, keys: tuple[str, ...] = ALL_SECTIONS) -> AppTest:
    """Open `keys` as a click on their expanders would, from the next run on."""
    for key in keys:
        at.session_state[key] = True
    return at


def usage_app(keys: tuple[str, ...] = ALL_SECTIONS) -> AppTest:
    """A new session of the usage page with the sections `keys` open (every one by default), not run yet."""
    return open_sections(AppTest.from_file(USAGE, default_timeout=30), keys)


_CLICKS = itertools.count(1)


@dataclass(frozen=True)
class Chart:
    """One chart of the page as the browser receives it: st.plotly_chart's, or the page's own chart component's
    (ui/plotly_lite, bars and lines)."""

    id: str
    spec: str  # the figure's JSON
    lite: bool

    @property
    def key(self) -> str:
        return self.id.rsplit("-", 1)[-1]

    @property
    def figure(self) -> dict[str, Any]:
        return json.loads(self.spec)  # type: ignore[no-any-return]

    @property
    def title(self) -> str:
        return str(self.figure["layout"]["title"]["text"])


def _elements(node: Any) -> Iterator[Any]:
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from _elements(child)


def page_charts(at: AppTest) -> list[Chart]:
    """Every chart of the last run, in page order."""
    out = []
    for element in _elements(at._tree):
        if element.type == "plotly_chart":
            out.append(Chart(element.proto.id, element.proto.spec, lite=False))
        elif element.type == "component_instance" and element.proto.component_name == LITE_CHART:
            out.append(Chart(element.proto.id, json.loads(element.proto.json_args)["figure"], lite=True))
    return out


def click(at: AppTest, title: str, *points: dict[str, Any]) -> AppTest:
    """A click on `points` of the chart titled `title`, and the run it starts (the page's callback runs, as in a
    real session)."""
    press(at, title, *points)
    at.run()
    assert not at.exception, at.exception
    return at


def press(at: AppTest, title: str, *points: dict[str, Any]) -> None:
    """What the browser sends on the next run when a point of a chart is clicked: the chart's click as a widget
    value. Each call is a new click, as in the browser, even on the same point."""
    chart = next(c for c in page_charts(at) if title in c.spec)
    states = at._tree.get_widget_states
    assert chart.lite, "only the page's chart component takes clicks"
    value = {"selection": {"points": list(points)}, "click": next(_CLICKS)}  # as ui/plotly_lite/frontend/chart.js
    with_click = WidgetState(id=chart.id, json_value=json.dumps(value))

    def patched():  # type: ignore[no-untyped-def]
        out = states()
        out.widgets.append(with_click)
        return out

    at._tree.get_widget_states = patched  # type: ignore[method-assign]


def forget_click(at: AppTest) -> None:
    """The browser sends a click once: later runs carry the widgets' own states only."""
    at._tree.get_widget_states = type(at._tree).get_widget_states.__get__(at._tree)  # type: ignore[method-assign]


class _Tiles(HTMLParser):
    """Reads the headline's tiles back from the page's HTML: label, value, delta and tooltip of each."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: list[dict[str, str]] = []
        self._part: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if cls == "tile":
            self.tiles.append({"label": "", "value": "", "delta": "", "exact": dict(attrs).get("title") or ""})
        elif cls.startswith("tile-"):
            self._part = cls.removeprefix("tile-")

    def handle_endtag(self, tag: str) -> None:
        self._part = None

    def handle_data(self, data: str) -> None:
        if self._part and self.tiles:
            self.tiles[-1][self._part] += data


def headline(at: AppTest) -> dict[str, dict[str, str]]:
    """The headline tiles by label: {"value", "delta" (without its arrow; "" when none), "exact"}."""
    block = next(m.value for m in at.markdown if 'class="usage-headline"' in m.value)
    parser = _Tiles()
    parser.feed(block)
    return {t["label"]: {**t, "delta": t["delta"].lstrip("▲▼ ")} for t in parser.tiles}
