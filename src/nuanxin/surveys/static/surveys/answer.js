/* Conditional questions: show a question only while an earlier answer calls for it.
   The server applies the same rule, so without this script every question stays visible
   (with a note saying when it applies) and answers to hidden ones are ignored. */
(function () {
  "use strict";
  var form = document.querySelector(".survey-form");
  if (!form) return;
  var conditional = Array.prototype.slice.call(form.querySelectorAll("[data-show-if]"));

  // Typing an "other" text ticks "other".
  form.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.classList.contains("other-text") || !field.value) return;
    var tick = field.parentNode.querySelector('input[value="other"]');
    if (tick && !tick.checked) {
      tick.checked = true;
      update();
    }
  });

  function chosen(questionId) {
    var box = document.getElementById("question-" + questionId);
    if (!box || box.hidden) return [];
    var out = [];
    box.querySelectorAll("input:checked").forEach(function (input) { out.push(input.value); });
    return out;
  }

  function update() {
    // Document order is question order, so a chain of conditions settles in one pass.
    conditional.forEach(function (box) {
      var wanted = (box.getAttribute("data-show-if-options") || "").split(",");
      var picked = chosen(box.getAttribute("data-show-if"));
      var show = picked.some(function (v) { return wanted.indexOf(v) !== -1; });
      box.hidden = !show;
      box.querySelectorAll("input, textarea, select").forEach(function (el) { el.disabled = !show; });
      var note = box.querySelector(".cond");
      if (note) note.hidden = true;
    });
  }

  // A question marked wrong is unmarked as soon as it is answered again; the server checks
  // the whole form anew on the next submit.
  function clearError(event) {
    var box = event.target.closest(".question.has-error");
    if (!box) return;
    box.classList.remove("has-error");
    var note = box.querySelector(".q-error");
    if (note) note.hidden = true;
  }

  form.addEventListener("change", update);
  form.addEventListener("change", clearError);
  form.addEventListener("input", clearError);
  update();
})();
