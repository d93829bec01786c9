// Asks before an action that cannot be undone: a form whose submit button (or the form
// itself) has data-confirm="question" opens the console's <dialog id="confirm-dialog">
// first and submits, with the same button, only after 确定. Inline onclick="confirm()" is
// what this replaces; the Content-Security-Policy forbids it.
(function () {
  "use strict";
  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var pending = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || null;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!question) return;
    if (form.hasAttribute("data-confirmed")) { form.removeAttribute("data-confirmed"); return; }
    event.preventDefault();
    pending = { form: form, button: button };
    document.getElementById("confirm-question").textContent = question;
    dialog.returnValue = "";
    dialog.showModal();
  });
  // A list that refreshes itself (htmx polling, as the cabinet's slot grid does) would
  // replace the form being asked about: no refresh while the question is open.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (dialog.open) event.preventDefault();
  });
  dialog.addEventListener("close", function () {
    var chosen = pending;
    pending = null;
    if (!chosen || dialog.returnValue !== "ok") return;
    chosen.form.setAttribute("data-confirmed", "");
    if (chosen.button && typeof chosen.form.requestSubmit === "function") chosen.form.requestSubmit(chosen.button);
    else chosen.form.submit();
  });
})();
