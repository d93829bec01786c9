// "全选本页" ticks every station listed on this page of candidates.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll("#join-form input[name=station]").forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();
