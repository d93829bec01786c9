// Fleet health as columns: the last bucket (under 80 %, due for retirement) in red.
(function () {
  "use strict";
  var box = document.getElementById("health-chart");
  var source = document.getElementById("health-data");
  if (!box || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var chart = window.echarts.init(box, null, { renderer: "svg" });
  chart.setOption({
    grid: { left: 40, right: 10, top: 20, bottom: 40 },
    // Short labels ("<80%"): all five fit side by side at 360 px; should a translation run
    // longer, labels that would still collide are hidden rather than drawn over each other.
    xAxis: { type: "category", data: data.labels,
      axisLabel: { interval: 0, hideOverlap: true, fontSize: 11 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: data.counts, label: { show: true, position: "top" },
      itemStyle: { color: function (p) {
        return p.dataIndex === data.counts.length - 1 ? "#b3261e" : "#1a7f37";
      } } }],
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
