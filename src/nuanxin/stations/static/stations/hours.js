// Optional shortcut; without JavaScript the "copy Monday" button still works on the server.
(function () {
  "use strict";
  document.querySelectorAll("#hours-form [data-fill]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll("#hours-form input[type=text]").forEach(function (input) {
        input.value = button.dataset.fill;
      });
    });
  });
})();
