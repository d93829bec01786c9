// A small map of the listed stations. Coordinates arrive already in the tile layer's
// datum (GCJ-02 for Chinese tiles); the district outlines stand in when tiles cannot load.
(function () {
  "use strict";
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || !window.L || !window.NX) return;
  var data = JSON.parse(dataEl.textContent);
  var map = NX.map(el);
  var points = [];
  if (data.me) {
    L.circleMarker(data.me, { radius: 8, color: "#0b57d0", fillOpacity: 0.9 }).addTo(map);
    points.push(data.me);
  }
  var markers = NX.cluster(map);
  data.markers.forEach(function (m) {
    var dot = document.createElement("span");
    dot.className = "station-dot" + (m.open ? "" : " closed");
    var marker = L.marker([m.lat, m.lng], {
      icon: L.divIcon({ className: "", html: dot, iconSize: [20, 20], iconAnchor: [10, 10] }),
      keyboard: false,
    });
    NX.tooltip(marker, m.name);
    marker.on("click", function () { window.location.href = "/stations/" + m.id + "/"; });
    markers.addLayer(marker);
    points.push([m.lat, m.lng]);
  });
  NX.show(map, NX.config(), points, 15);
})();
