// A wet thumb taps twice: after the first tap the button greys out and says what is
// happening. The form's request key makes a second request harmless anyway; this only
// spares the rider the doubt.
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("once")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    // Disable after the browser has collected the form's fields.
    setTimeout(function () {
      button.disabled = true;
      if (button.dataset.busy) button.textContent = button.dataset.busy;
    }, 0);
  });
  // Coming back with the browser's back button shows the page from cache: re-arm it.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form.once").forEach(function (form) {
      delete form.dataset.sent;
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = false;
    });
  });
})();
