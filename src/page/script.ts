// The page's own script (runs in the browser, after uPlot): one chart per entry of the "charts"
// JSON. Times are shown in UTC, as the device logs them; hovering shows a datapoint's time and
// value in the legend. Alarms are shaded behind the series, from in-alarm to its end.
// The charts are left on window.defenderCharts for whoever inspects the page.

export const PAGE_SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById("charts").textContent);
  var charts = [];
  var utc = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  specs.forEach(function (s) {
    var c = s.chart;
    var el = document.getElementById(s.id);
    var xs = c.times.map(function (t) { return t / 1e3; });
    var data = [xs, c.values];
    var series = [{ label: "time (UTC)" }, { label: c.title, stroke: "#1a73e8", width: 1.5, points: { show: true, size: 5, fill: "#1a73e8" } }];
    c.lines.forEach(function (l) {
      data.push(l.values);
      series.push({ label: l.label, stroke: "#d93025", width: 1.5, dash: [6, 4], points: { show: false } });
    });
    var bands = [];
    c.bands.forEach(function (b) {
      var high = data.length;
      data.push(b.high, b.low, b.expected);
      series.push(
        { label: b.label + " high", stroke: "#34a853", width: 1, points: { show: false } },
        { label: b.label + " low", stroke: "#34a853", width: 1, points: { show: false } },
        { label: b.label + " expected", stroke: "#34a853", width: 1, dash: [2, 3], points: { show: false } }
      );
      bands.push({ series: [high, high + 1], fill: "rgba(52, 168, 83, 0.18)" });
    });
    var shade = function (u) {
      var ctx = u.ctx;
      ctx.save();
      ctx.fillStyle = "#f4c7c3";
      c.alarms.forEach(function (a) {
        var x0 = Math.max(u.bbox.left, u.valToPos(a.from / 1e3, "x", true));
        var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(a.to / 1e3, "x", true));
        ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
      });
      ctx.restore();
    };
    var opts = {
      width: Math.min(1000, Math.max(480, el.clientWidth || 900)),
      height: 360,
      tzDate: utc,
      scales: { x: { time: true, range: [c.from / 1e3, c.to / 1e3] }, y: { range: function (u, lo, hi) { return [Math.min(0, lo), hi > 0 ? hi * 1.1 : 1]; } } },
      series: series,
      bands: bands,
      hooks: { drawClear: [shade] },
    };
    charts.push(new uPlot(opts, data, el));
  });
  window.defenderCharts = charts;
})();
`;
