// A small map of the listed stations: a dot each, green while open. Coordinates arrive
// already in the tile layer's datum (GCJ-02 for Chinese tiles).
(function () {
  "use strict";
  if (!window.NX || !NX.placesMap) return;
  NX.placesMap({ zoom: 15, marker: function (m) {
    var dot = document.createElement("span");
    dot.className = "station-dot" + (m.open ? "" : " closed");
    return { node: dot, size: 20, label: m.name, url: "/stations/" + m.id + "/" };
  } });
})();
