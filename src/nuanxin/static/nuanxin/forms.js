// Behaviour that used to sit in inline handlers (onchange=, onclick=), which the
// Content-Security-Policy forbids: a control marked data-autosubmit submits its form when
// changed; a button marked data-print prints the page.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.form && field.hasAttribute("data-autosubmit")) field.form.submit();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
