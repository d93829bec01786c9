// What every Leaflet map of the project shares: the district outlines as a base layer
// (shipped with the project, so the map means something with no tiles), tiles only when
// they load, clustered markers and fitting the view. Needs safe.js and Leaflet first.
(function () {
  "use strict";
  var NX = window.NX = window.NX || {};
  var FAILED_KEY = "nx-tiles-failed";
  // Phones drop in and out of coverage: try the tile server again after this long.
  var RETRY_MS = 10 * 60 * 1000;

  function failedRecently(url) {
    try {
      var seen = JSON.parse(window.sessionStorage.getItem(FAILED_KEY) || "null");
      return !!seen && seen.url === url && Date.now() - seen.at < RETRY_MS;
    } catch (e) {
      return false;
    }
  }

  function rememberFailure(url) {
    try {
      window.sessionStorage.setItem(FAILED_KEY, JSON.stringify({ url: url, at: Date.now() }));
    } catch (e) { /* private mode: the probe simply runs again on the next page */ }
  }

  // With no network (or the tile host blocked) every tile fails and the browser logs each
  // failure, page after page. One probe tile decides: the layer is added only if it loads.
  function addTiles(map, config) {
    var container = map.getContainer();
    if (!config.tiles || failedRecently(config.tiles)) {
      container.classList.add("no-tiles");
      return;
    }
    var zoom = map.getZoom();
    var tile = map.project(map.getCenter(), zoom).divideBy(256).floor();
    var src;
    try {
      src = L.Util.template(config.tiles, { s: "1", x: tile.x, y: tile.y, z: zoom, r: "" });
    } catch (e) {
      src = null; // a template with placeholders of its own: let Leaflet try it directly
    }
    var layer = L.tileLayer(config.tiles, { subdomains: "1234", maxZoom: 18 });
    if (!src) { layer.addTo(map); return; }
    var probe = new Image();
    probe.onload = function () { layer.addTo(map); };
    probe.onerror = function () {
      rememberFailure(config.tiles);
      container.classList.add("no-tiles");
    };
    probe.src = src;
  }

  var MAX_SPAN_DEG = 7.9;

  function drawOutlines(map, config) {
    if (!config.outlines || !window.fetch) return;
    var group = L.featureGroup().addTo(map);
    var covered = null;
    function load() {
      var view = map.getBounds();
      if (covered && covered.contains(view)) return;
      // A margin around the view so small pans need no new request, but never more than
      // the server draws in one answer (8 degrees a side: a province).
      var span = Math.max(view.getNorth() - view.getSouth(), view.getEast() - view.getWest());
      var want = view.pad(Math.max(0, Math.min(1, (MAX_SPAN_DEG / span - 1) / 2)));
      var query = new URLSearchParams({
        south: want.getSouth().toFixed(4), west: want.getWest().toFixed(4),
        north: want.getNorth().toFixed(4), east: want.getEast().toFixed(4),
        crs: config.crs || "wgs84",
      });
      fetch(config.outlines + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return;
          covered = want;
          group.clearLayers();
          L.geoJSON(data, {
            interactive: false,
            style: { color: "#7d8896", weight: 1.5, fillColor: "#fbfaf7", fillOpacity: 0.85 },
          }).addTo(group);
          data.features.forEach(function (f) {
            var at = f.properties.label;
            if (!at) return;
            L.tooltip({ permanent: true, direction: "center", className: "district-label",
                        interactive: false })
              .setLatLng(at).setContent(NX.text(f.properties.name)).addTo(group);
          });
          group.bringToBack();
        })
        .catch(function () { /* outlines are a backdrop: the markers stand without them */ });
    }
    map.on("moveend", load);
    load();
  }

  NX.map = function (el) {
    el.classList.add("nx-map");
    return L.map(el, { zoomControl: true, attributionControl: false, maxZoom: 18 });
  };

  // Markers close together merge into one numbered circle until zoomed in.
  NX.cluster = function (map) {
    var group = L.markerClusterGroup
      ? L.markerClusterGroup({ maxClusterRadius: 40, disableClusteringAtZoom: 16,
                               showCoverageOnHover: false })
      : L.featureGroup();
    return group.addTo(map);
  };

  // Fit the view to the points, then lay the backdrop under it.
  NX.show = function (map, config, points, singleZoom) {
    var el = map.getContainer();
    if (!points.length) { el.style.display = "none"; return; }
    if (points.length === 1) map.setView(points[0], singleZoom || 15);
    else map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    drawOutlines(map, config);
    addTiles(map, config);
  };

  // The small map under a list of places: the rider's own position (data.me) and one marker
  // per place (data.markers), clustered, each drawn by options.marker(m), which returns
  // {node, size, url, label}: a DOM node (never HTML text), its size in px, where a tap
  // goes, and a name shown as a tooltip or, with options.title, as the marker's title.
  NX.placesMap = function (options) {
    var el = document.getElementById("map");
    var dataEl = document.getElementById("map-data");
    if (!el || !dataEl || !window.L) return;
    var data = JSON.parse(dataEl.textContent);
    var map = NX.map(el);
    var points = [];
    if (data.me) {
      L.circleMarker(data.me, { radius: 8, color: "#0b57d0", fillOpacity: 0.9 }).addTo(map);
      points.push(data.me);
    }
    var markers = NX.cluster(map);
    data.markers.forEach(function (m) {
      var drawn = options.marker(m);
      var half = drawn.size / 2;
      var marker = L.marker([m.lat, m.lng], {
        icon: L.divIcon({ className: "", html: drawn.node, iconSize: [drawn.size, drawn.size],
                          iconAnchor: [half, half] }),
        title: options.title ? drawn.label : "", keyboard: false,
      });
      if (!options.title && drawn.label) NX.tooltip(marker, drawn.label);
      if (drawn.url) marker.on("click", function () { window.location.href = drawn.url; });
      markers.addLayer(marker);
      points.push([m.lat, m.lng]);
    });
    NX.show(map, NX.config(), points, options.zoom);
  };

  NX.tooltip = function (layer, text) {
    layer.bindTooltip(NX.text(text));
  };

  NX.config = function (id) {
    var el = document.getElementById(id || "map-config");
    return el ? JSON.parse(el.textContent) : {};
  };
})();
