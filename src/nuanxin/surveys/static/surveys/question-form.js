// Show only the parts of the editor the chosen question type uses (all stay usable
// without this).
(function () {
  "use strict";
  var kind = document.getElementById("id_kind");
  if (!kind) return;
  function sync() {
    document.querySelectorAll(".kind-part").forEach(function (part) {
      part.hidden = part.getAttribute("data-kinds").split(" ").indexOf(kind.value) === -1;
    });
  }
  kind.addEventListener("change", sync);
  sync();
})();
