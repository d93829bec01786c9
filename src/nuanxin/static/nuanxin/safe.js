// Leaflet (tooltips, popups, divIcon html) and ECharts (formatters) treat strings as HTML,
// and station, cabinet and option names are typed by people: they reach those sinks only
// through these two helpers, as a text node or escaped.
(function () {
  "use strict";
  var NX = window.NX = window.NX || {};
  var ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  NX.escape = function (value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return ENTITIES[c];
    });
  };

  NX.text = function (value, className) {
    var span = document.createElement("span");
    if (className) span.className = className;
    span.textContent = value == null ? "" : String(value);
    return span;
  };
})();
