/* 扫一扫: read a station's or cabinet's QR code and open it.

   The camera is read with BarcodeDetector where the browser has it and with the vendored
   jsQR otherwise (loaded only when needed). Where the page may not use the camera (WeChat's
   browser, a refused permission) the rider takes a photo through the file input instead.
   Only this site's check-in (/c/<token>/) and swap (/energy/c/<token>/) addresses are
   opened: a code is text anyone can print, so nothing else is followed. */
(function () {
  "use strict";

  var SHAPES = [/^\/c\/[A-Za-z0-9_.:-]+\/$/, /^\/energy\/c\/[A-Za-z0-9_.:-]+\/$/];
  var SCAN_EVERY_MS = 250;
  var MAX_SIDE = 1280;

  var dialog = document.getElementById("scan-dialog");
  if (!dialog) return;
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var fileInput = document.getElementById("scan-file");
  var canvas = document.createElement("canvas");
  var stream = null;
  var timer = null;
  var detector = null;
  var jsqrLoading = null;

  /* The address to open for a code's text, or null when it is not one of ours. */
  function target(text) {
    var url;
    try {
      url = new URL(String(text).trim(), window.location.href);
    } catch (e) {
      return null;
    }
    if (url.origin !== window.location.origin) return null;
    for (var i = 0; i < SHAPES.length; i++) {
      if (SHAPES[i].test(url.pathname)) return url.pathname;
    }
    return null;
  }

  function say(key, kind) {
    status.textContent = dialog.dataset[key] || "";
    status.className = "notice" + (kind ? " " + kind : "");
    status.hidden = false;
  }

  function stopCamera() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
    video.srcObject = null;
  }

  function found(text) {
    var where = target(text);
    if (!where) {
      say("notOurs", "error");
      return false;
    }
    stopCamera();
    say("opening", "success");
    window.location.assign(where);
    return true;
  }

  function barcodeDetector() {
    if (detector !== null) return Promise.resolve(detector);
    if (!("BarcodeDetector" in window)) return Promise.resolve((detector = false));
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      detector = formats.indexOf("qr_code") >= 0
        ? new window.BarcodeDetector({ formats: ["qr_code"] }) : false;
      return detector;
    }, function () { return (detector = false); });
  }

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsqrLoading) {
      jsqrLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = dialog.dataset.jsqr;
        script.onload = function () { resolve(window.jsQR); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return jsqrLoading;
  }

  /* The text of the first QR code in an image, a video frame or a bitmap; null if none. */
  function decode(source, width, height) {
    return barcodeDetector().then(function (native) {
      if (native) {
        return native.detect(source).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      }
      var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
      var pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
      return loadJsQR().then(function (jsQR) {
        var code = jsQR(pixels.data, pixels.width, pixels.height);
        return code ? code.data : null;
      });
    });
  }

  function scanFrame() {
    if (!stream) return;
    if (video.readyState < 2 || !video.videoWidth) {
      timer = window.setTimeout(scanFrame, SCAN_EVERY_MS);
      return;
    }
    decode(video, video.videoWidth, video.videoHeight).then(function (text) {
      if (!stream) return;
      if (text && found(text)) return;
      timer = window.setTimeout(scanFrame, SCAN_EVERY_MS);
    }, function () {
      timer = window.setTimeout(scanFrame, SCAN_EVERY_MS);
    });
  }

  function startCamera() {
    var media = navigator.mediaDevices;
    if (!media || !media.getUserMedia) {
      say("noCamera");
      return;
    }
    media.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      if (!dialog.open) {
        s.getTracks().forEach(function (track) { track.stop(); });
        return;
      }
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      var playing = video.play();
      if (playing && playing.catch) playing.catch(function () {});
      scanFrame();
    }, function () {
      say("noCamera");
    });
  }

  function open() {
    status.hidden = true;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    startCamera();
  }

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    stopCamera();
    say("reading");
    window.createImageBitmap(file).then(function (bitmap) {
      return decode(bitmap, bitmap.width, bitmap.height);
    }).then(function (text) {
      if (!text) say("noCode", "error");
      else found(text);
    }, function () {
      say("noCode", "error");
    });
  });

  dialog.addEventListener("close", stopCamera);
  document.querySelectorAll("[data-scan]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", open);
  });
})();
