// A small Leaflet map of the listed stations. Coordinates arrive already in the tile
// layer's datum (GCJ-02 for Chinese tiles). With no tile address configured, or no
// network, the markers still show on a plain background.
(function () {
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || !window.L) return;
  var data = JSON.parse(dataEl.textContent);
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var map = L.map(el, { zoomControl: true, attributionControl: false });
  if (config.tiles) {
    L.tileLayer(config.tiles, { subdomains: "1234", maxZoom: 18 }).addTo(map);
  }
  var points = [];
  if (data.me) {
    L.circleMarker(data.me, { radius: 8, color: "#0b57d0", fillOpacity: 0.9 }).addTo(map);
    points.push(data.me);
  }
  data.markers.forEach(function (m) {
    var marker = L.circleMarker([m.lat, m.lng], {
      radius: 9, color: m.open ? "#1a7f37" : "#b35900", fillOpacity: 0.8,
    }).addTo(map);
    marker.bindTooltip(m.name);
    marker.on("click", function () { window.location.href = "/stations/" + m.id + "/"; });
    points.push([m.lat, m.lng]);
  });
  if (points.length === 1) map.setView(points[0], 15);
  else if (points.length) map.fitBounds(points, { padding: [20, 20], maxZoom: 16 });
  else el.style.display = "none";
})();
