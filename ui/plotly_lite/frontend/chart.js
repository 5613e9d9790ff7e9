// One Plotly figure, drawn by plotly.js's basic bundle, speaking Streamlit's component protocol: "componentReady"
// once, a "render" per script run (the figure as JSON), "setFrameHeight" when the height is known, and
// "setComponentValue" per click, in st.plotly_chart's selection shape.
(() => {
  "use strict";
  const chart = document.getElementById("chart");
  let drawn = null; // the figure JSON and theme last drawn: a rerun that changes neither draws nothing
  let height = -1;
  let clicks = 0;
  const post = (type, fields) => window.parent.postMessage({ isStreamlitMessage: true, type, ...fields }, "*");

  function fitFrame(h) {
    h = Math.ceil(h === undefined ? chart.getBoundingClientRect().height : h);
    if (h > 0 && h !== height) {
      height = h;
      post("streamlit:setFrameHeight", { height: h });
    }
  }

  // Streamlit's Plotly template ("streamlit") names its colours by placeholders #000001...#000040 that the page
  // replaces by the theme's; these are Streamlit's own light and dark values.
  const CATEGORICAL = {
    light: ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5"],
    dark: ["#83c9ff", "#0068c9", "#ffabab", "#ff2b2b", "#7defa1", "#29b09d", "#ffd16a", "#ff8700", "#6d3fc0", "#d5dae5"],
  };
  const SEQUENTIAL = ["#e4f5ff", "#c7ebff", "#a6dcff", "#83c9ff", "#60b4ff", "#3d9df3", "#1c83e1", "#0068c9", "#0054a3", "#004280"];
  const DIVERGING = ["#7d353b", "#bd4043", "#ff4b4b", "#ff8c8c", "#ffc7c7", "#a6dcff", "#60b4ff", "#1c83e1", "#0054a3", "#004280"];

  function palette(theme) {
    const dark = theme.base === "dark";
    const text = theme.textColor || (dark ? "#fafafa" : "#31333f");
    const colors = {};
    const put = (first, list) => list.forEach((c, i) => { colors["#0000" + String(first + i).padStart(2, "0")] = c; });
    put(1, CATEGORICAL[dark ? "dark" : "light"]);
    put(11, SEQUENTIAL);
    put(21, DIVERGING);
    Object.assign(colors, {
      "#000032": "#29b09d", // increasing
      "#000033": "#ff2b2b", // decreasing
      "#000034": "#0068c9", // total
      "#000036": dark ? "#555867" : "#a3a8b8", // gray 70
      "#000037": dark ? "#31333f" : "#e6eaf1", // gray 90
      "#000038": theme.backgroundColor || (dark ? "#0e1117" : "#ffffff"),
      "#000039": dark ? "rgba(250,250,250,0.05)" : "rgba(49,51,63,0.05)",
      "#000040": theme.secondaryBackgroundColor || (dark ? "#262730" : "#f0f2f6"),
    });
    return { colors, text, grid: colors["#000037"], font: theme.font || "sans-serif" };
  }

  function themed(json, theme) {
    const p = palette(theme || {});
    const figure = JSON.parse(json.replace(/"#0000[0-4][0-9]"/g, (c) => JSON.stringify(p.colors[c.slice(1, -1)] || c.slice(1, -1))));
    const layout = figure.layout || {};
    const axis = (a) => ({ gridcolor: p.grid, linecolor: p.grid, zerolinecolor: p.grid, ...(a || {}) });
    return {
      data: figure.data || [],
      layout: {
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        ...layout,
        font: { family: p.font, color: p.text, size: 12, ...(layout.font || {}) },
        xaxis: axis(layout.xaxis),
        yaxis: axis(layout.yaxis),
      },
    };
  }

  function onClick(event) {
    const points = event.points.map((p) => ({
      customdata: p.customdata === undefined ? null : p.customdata,
      curve_number: p.curveNumber,
      point_index: p.pointIndex,
      x: p.x,
      y: p.y,
    }));
    clicks += 1;
    post("streamlit:setComponentValue", { value: { selection: { points }, click: clicks }, dataType: "json" });
  }

  window.addEventListener("message", (event) => {
    const message = event.data;
    if (event.source !== window.parent || !message || message.type !== "streamlit:render") return; // the page only
    const args = message.args || {};
    const key = JSON.stringify([args.figure, message.theme]);
    if (key === drawn) return;
    drawn = key;
    const figure = themed(args.figure, message.theme);
    if (figure.layout.height) fitFrame(figure.layout.height); // the frame takes its height before the drawing
    const config = { responsive: true, displaylogo: false, ...(args.config || {}) };
    Plotly.react(chart, figure.data, figure.layout, config).then(() => {
      if (args.clickable && !chart.dataset.clickable) {
        chart.dataset.clickable = "1";
        chart.on("plotly_click", onClick);
      }
      fitFrame();
    });
  });
  // Plotly draws <a href> written in any text as a link: labels are data (a user's name, say), so no chart shows a
  // link. Each one is replaced by its text as soon as it is drawn, hover labels included.
  const unlink = () => chart.querySelectorAll("a").forEach((a) => a.replaceWith(...a.childNodes));
  new MutationObserver(unlink).observe(chart, { childList: true, subtree: true });
  window.addEventListener("resize", () => fitFrame());
  post("streamlit:componentReady", { apiVersion: 1 });
})();
