/* The region picker's cascade: each select offers only what lies in the choice above it.
   Without this script every choice in scope is listed, grouped, and the server checks
   that the three fit together. Names are added as text, never as HTML. */
(function () {
  "use strict";

  function options(select) {
    return Array.prototype.slice.call(select.querySelectorAll("option"))
      .filter(function (o) { return o.value; })
      .map(function (o) { return { value: o.value, text: o.textContent }; });
  }

  function fill(select, items, under) {
    var keep = select.value;
    while (select.options.length > 1) select.remove(1);
    items.forEach(function (item) {
      if (under && item.value.indexOf(under) !== 0) return;
      var option = document.createElement("option");
      option.value = item.value;
      option.textContent = item.text;
      select.appendChild(option);
    });
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  document.querySelectorAll("[data-region-picker]").forEach(function (box) {
    var district = box.querySelector('[data-level="district"]');
    var street = box.querySelector('[data-level="street"]');
    var community = box.querySelector('[data-level="community"]');
    if (!district || !street || !community) return;
    var streets = options(street);
    var communities = options(community);

    function loadCommunities(code) {
      if (!code || communities.some(function (c) { return c.value.indexOf(code) === 0; })) {
        return;
      }
      fetch("/api/v1/regions/" + encodeURIComponent(code), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { children: [] }; })
        .then(function (body) {
          (body.children || []).forEach(function (c) {
            communities.push({ value: c.code, text: c.name });
          });
          if (street.value === code) fill(community, communities, code);
        })
        .catch(function () { /* the server still accepts a street on its own */ });
    }

    district.addEventListener("change", function () {
      fill(street, streets, district.value);
      fill(community, communities, street.value || district.value);
    });
    street.addEventListener("change", function () {
      fill(community, communities, street.value || district.value);
      loadCommunities(street.value);
    });
    fill(street, streets, district.value);
    fill(community, communities, street.value || district.value);
  });
})();
