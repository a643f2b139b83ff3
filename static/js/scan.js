// Scan a member code or a coupon's QR with the phone's camera, where the browser can
// (the BarcodeDetector API: Chrome on Android). Elsewhere the field is typed into, or a
// barcode scanner types into it; nothing here is needed for that.
(function () {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  document.querySelectorAll("[data-scan]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary scan";
    button.textContent = input.dataset.scan;
    input.after(button);
    button.addEventListener("click", function () { scanInto(input); });
  });

  function scanInto(input) {
    var detector = new BarcodeDetector({ formats: ["qr_code", "code_128"] });
    var video = document.createElement("video");
    video.className = "scanner";
    video.setAttribute("playsinline", "");
    input.form.after(video);
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (stream) {
        video.srcObject = stream;
        video.play();
        function stop() { stream.getTracks().forEach(function (t) { t.stop(); }); video.remove(); }
        function look() {
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              stop();
              input.value = codes[0].rawValue;
              input.form.requestSubmit();
            } else {
              requestAnimationFrame(look);
            }
          }).catch(stop);
        }
        look();
      })
      .catch(function () { video.remove(); });
  }
})();
