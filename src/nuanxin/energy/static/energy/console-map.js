// Cabinets on the console map: coordinates arrive already in the tiles' datum (GCJ-02 for
// Chinese tiles). Green: online with batteries to take; amber: online, none to take; grey:
// offline; red ring: an alarm nobody has resolved. The tooltip says the same in words,
// which the template provides translated in data-* attributes.
(function () {
  "use strict";
  var el = document.getElementById("energy-map");
  var dataEl = document.getElementById("energy-map-data");
  if (!el || !dataEl || !window.L || !window.NX) return;
  var data = JSON.parse(dataEl.textContent);
  var words = el.dataset;
  var map = NX.map(el);
  var markers = NX.cluster(map);
  var points = [];
  data.markers.forEach(function (m) {
    var fill = !m.online ? "#8c959f" : (m.available > 0 ? "#1a7f37" : "#b35900");
    var marker = L.circleMarker([m.lat, m.lng], {
      radius: 10, color: m.alarms ? "#b3261e" : fill, weight: m.alarms ? 4 : 2,
      fillColor: fill, fillOpacity: 0.85,
    });
    NX.tooltip(marker, m.name + " · " + (m.online ? words.online : words.offline) +
      " · " + words.available + " " + m.available +
      (m.alarms ? " · " + words.alarms + " " + m.alarms : ""));
    marker.on("click", function () { window.location.href = m.url; });
    markers.addLayer(marker);
    points.push([m.lat, m.lng]);
  });
  NX.show(map, NX.config(), points, 15);
})();
