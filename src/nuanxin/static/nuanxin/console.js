/* The console menu is a <details>, closed so a phone's first screen shows the page itself;
   wider screens have room for it, so it opens there. */
(function () {
  "use strict";
  var menu = document.getElementById("console-nav");
  if (menu && window.matchMedia("(min-width: 641px)").matches) menu.open = true;
})();
