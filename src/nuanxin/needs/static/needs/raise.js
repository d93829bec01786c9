// "用我的位置": ask the phone once, put the point in the form and post it back with
// find=location, so the page offers the nearest community and keeps what was typed.
(function () {
  var button = document.getElementById("use-location");
  var form = document.getElementById("raise-form");
  if (!button || !form || !navigator.geolocation) return;
  var note = document.getElementById("locate-note");
  button.hidden = false;
  button.addEventListener("click", function () {
    note.textContent = note.dataset.busy;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("lng").value = pos.coords.longitude.toFixed(6);
      var find = document.createElement("input");
      find.type = "hidden";
      find.name = "find";
      find.value = "location";
      form.appendChild(find);
      form.submit();
    }, function () {
      note.textContent = note.dataset.failed;
    }, { timeout: 8000, maximumAge: 60000 });
  });
})();
