// Cabinets on a small Leaflet map, each marker showing how many batteries the rider could
// take now. Coordinates arrive already in the tile layer's datum (GCJ-02 for Chinese
// tiles). With no tile address configured, or no network, the markers still show.
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
    var tone = !m.online ? " offline" : m.available ? "" : " none";
    var icon = L.divIcon({
      className: "",
      html: '<div class="cab-marker' + tone + '" style="width:34px;height:34px">' +
        (m.online ? m.available : "–") + "</div>",
      iconSize: [34, 34], iconAnchor: [17, 17],
    });
    var marker = L.marker([m.lat, m.lng], { icon: icon, title: m.name, keyboard: false }).addTo(map);
    if (m.url) marker.on("click", function () { window.location.href = m.url; });
    points.push([m.lat, m.lng]);
  });
  if (points.length === 1) map.setView(points[0], 16);
  else if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
  else el.style.display = "none";
})();
