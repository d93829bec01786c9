/* Survey result charts (ECharts): horizontal bars for choice questions, columns for
   ratings. Redrawn when the results block refreshes itself (htmx, every 30 s). */
(function () {
  "use strict";
  var charts = [];

  function draw() {
    if (!window.echarts || !window.NX) return;
    charts.forEach(function (chart) { chart.dispose(); });
    charts = [];
    var source = document.getElementById("chart-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    data.forEach(function (q) {
      var box = document.querySelector('[data-chart="' + q.id + '"]');
      if (!box) return;
      var rating = q.kind === "rating";
      var rows = q.labels.length;
      box.style.height = rating ? "220px" : Math.max(160, 34 * rows + 50) + "px";
      var chart = window.echarts.init(box, null, { renderer: "svg" });
      var category = { type: "category", data: q.labels, inverse: !rating,
                       axisLabel: { width: 150, overflow: "truncate" } };
      var value = { type: "value", max: 100, axisLabel: { formatter: "{value}%" } };
      chart.setOption({
        animation: false,
        grid: { left: rating ? 40 : 160, right: 60, top: 10, bottom: 30 },
        // The formatter's string is HTML and option labels are typed by staff: escape.
        tooltip: { trigger: "item", formatter: function (p) {
          return window.NX.escape(p.name) + "：" + q.counts[p.dataIndex] + "（" + p.value + "%）";
        } },
        xAxis: rating ? category : value,
        yAxis: rating ? value : category,
        series: [{ type: "bar", data: q.percents, itemStyle: { color: "#c8102e" },
                   barMaxWidth: 28,
                   label: { show: true, position: rating ? "top" : "right",
                            formatter: function (p) { return q.counts[p.dataIndex]; } } }]
      });
      charts.push(chart);
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSettle", draw);
  if (document.readyState !== "loading") draw();
})();
