// Cabinets on a small map, each marker showing how many batteries the rider could take
// now. Coordinates arrive already in the tile layer's datum (GCJ-02 for Chinese tiles);
// the district outlines stand in when tiles cannot load.
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
    var badge = document.createElement("div");
    badge.className = "cab-marker" + (!m.online ? " offline" : m.available ? "" : " none");
    badge.textContent = m.online ? String(m.available) : "–";
    var marker = L.marker([m.lat, m.lng], {
      icon: L.divIcon({ className: "", html: badge, iconSize: [34, 34], iconAnchor: [17, 17] }),
      title: m.name, keyboard: false,
    });
    if (m.url) marker.on("click", function () { window.location.href = m.url; });
    markers.addLayer(marker);
    points.push([m.lat, m.lng]);
  });
  NX.show(map, NX.config(), points, 16);
})();
