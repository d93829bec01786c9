// Ask the phone for its position once, then reload the list for it. Without permission
// (or over plain http in WeChat) the district picker stays as the way in.
(function () {
  var button = document.getElementById("locate-me");
  if (!button) return;
  var note = document.getElementById("locating");
  function go(pos) {
    var params = new URLSearchParams(window.location.search);
    params.delete("district");
    params.set("lat", pos.coords.latitude.toFixed(6));
    params.set("lng", pos.coords.longitude.toFixed(6));
    window.location.search = params.toString();
  }
  function failed() {
    if (note) note.textContent = note.dataset.failed;
  }
  function locate() {
    if (!navigator.geolocation) return failed();
    navigator.geolocation.getCurrentPosition(go, failed, { timeout: 8000, maximumAge: 60000 });
  }
  button.addEventListener("click", locate);
  if (!new URLSearchParams(window.location.search).get("district")) locate();
})();
