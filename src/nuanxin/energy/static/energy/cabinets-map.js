// Cabinets on a small map, each marker showing how many batteries the rider could take
// now ("–" while the cabinet is offline). Coordinates arrive already in the tiles' datum.
(function () {
  "use strict";
  if (!window.NX || !NX.placesMap) return;
  NX.placesMap({ zoom: 16, title: true, marker: function (m) {
    var badge = document.createElement("div");
    badge.className = "cab-marker" + (!m.online ? " offline" : m.available ? "" : " none");
    badge.textContent = m.online ? String(m.available) : "–";
    return { node: badge, size: 34, label: m.name, url: m.url };
  } });
})();
