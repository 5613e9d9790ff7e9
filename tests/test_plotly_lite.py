"""ui/plotly_lite: which figures it draws, what it sends the browser, what a click gives back, and the pinned bundle.
The drawing itself is checked in Chromium (tests/e2e/test_usage_browser.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from core import charts
from ui import plotly_lite


@pytest.mark.parametrize(
    ("traces", "expected"),
    [
        ([], True),
        ([go.Bar(x=["a"], y=[1])], True),
        ([go.Scatter(x=[1], y=[1]), go.Bar(x=[1], y=[2])], True),
        ([go.Pie(labels=["a"], values=[1])], True),
        ([go.Indicator(mode="gauge+number", value=1)], False),
        ([go.Bar(x=["a"], y=[1]), go.Heatmap(z=[[1]])], False),
    ],
)
def test_drawable_only_when_the_basic_bundle_has_every_trace(traces: list[object], expected: bool) -> None:
    assert expected == plotly_lite.drawable(go.Figure(traces))


def test_a_budget_gauge_is_drawn_by_the_basic_bundle() -> None:
    assert plotly_lite.drawable(charts.budget_gauge(scope="global", limit_usd=2.0, spent_usd=1.0))


def test_the_bundle_is_the_pinned_basic_build_of_the_plotly_js_that_plotly_draws_with() -> None:
    from plotly.offline import get_plotlyjs_version

    bundle = plotly_lite.FRONTEND / "plotly-basic.min.js"
    assert plotly_lite.BUNDLE_SHA256 == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert f"plotly.js (basic - minified) v{plotly_lite.BUNDLE_VERSION}" in bundle.read_text()[:200]
    assert plotly_lite.BUNDLE_VERSION == get_plotlyjs_version()
    assert "MIT License" in (plotly_lite.FRONTEND / "LICENSE-plotly.js.txt").read_text()


def test_the_page_loads_only_its_own_files() -> None:
    html = (plotly_lite.FRONTEND / "index.html").read_text()
    assert ["plotly-basic.min.js", "chart.js"] == [s.split('"')[1] for s in html.split("<script src=")[1:]]
    assert "http" not in html and "http" not in (plotly_lite.FRONTEND / "chart.js").read_text()


_APP = """
import plotly.graph_objects as go
import streamlit as st

from ui import plotly_lite

fig = go.Figure(go.Bar(x=["openai", "groq"], y=[1, 2], customdata=[["provider", "openai"], ["provider", "groq"]]))
fig.update_layout(title="Cost by provider", height=300)


def clicked():
    st.session_state["clicks"] = st.session_state.get("clicks", 0) + 1


plotly_lite.chart(fig, "bars", config={"displaylogo": False}, on_click=clicked)
plotly_lite.chart(go.Figure(go.Scatter(x=[1], y=[1])), "line")
st.write("clicks", st.session_state.get("clicks", 0))
"""


def _app(tmp_path: Path) -> AppTest:
    script = tmp_path / "lite_app.py"
    script.write_text(_APP)
    return AppTest.from_file(str(script), default_timeout=30).run()


def _sent(at: AppTest) -> list[tuple[str, dict[str, object]]]:
    return [(e.proto.id, json.loads(e.proto.json_args)) for e in at.get("component_instance")]


def test_the_browser_gets_the_figure_the_config_and_whether_a_click_counts(tmp_path: Path) -> None:
    at = _app(tmp_path)
    (bars_id, bars), (_line_id, line) = _sent(at)
    assert plotly_lite.COMPONENT == at.get("component_instance")[0].proto.component_name
    assert bars_id.endswith("-bars")
    assert pio.from_json(bars["figure"]).layout.title.text == "Cost by provider"
    assert {"displaylogo": False} == bars["config"]
    assert (True, False) == (bars["clickable"], line["clickable"])


def _click(at: AppTest, widget_id: str, value: object) -> None:
    states = type(at._tree).get_widget_states.__get__(at._tree)

    def with_click():  # type: ignore[no-untyped-def]
        out = states()
        out.widgets.append(WidgetState(id=widget_id, json_value=json.dumps(value)))
        return out

    at._tree.get_widget_states = with_click  # type: ignore[method-assign]
    at.run()


def test_a_click_runs_the_callback_once_and_is_the_charts_value(tmp_path: Path) -> None:
    at = _app(tmp_path)
    bars_id = _sent(at)[0][0]
    click = {"selection": {"points": [{"customdata": ["provider", "groq"]}]}, "click": 1}
    _click(at, bars_id, click)
    assert click == at.session_state["bars"]
    assert 1 == at.session_state["clicks"]
    at.run()  # the same value again (a rerun): not a new click
    assert 1 == at.session_state["clicks"]
    _click(at, bars_id, {**click, "click": 2})  # the same point clicked again: a new click
    assert 2 == at.session_state["clicks"]


def test_a_declaration_outside_a_session_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm-up (serve.py) runs outside any session, where Streamlit does not register the component with the
    server: the first chart drawn in a session must declare it again."""
    monkeypatch.setattr(plotly_lite, "_component", None)
    assert plotly_lite.COMPONENT == plotly_lite._declared().name
    assert plotly_lite._component is None
