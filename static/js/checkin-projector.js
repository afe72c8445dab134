/* Projector page of a class session: fetch the next frame (QR code, 6-digit code, live count)
   when the code rotates, without reloading the page. The page works without this file: a
   <noscript> meta refresh reloads it instead. No inline script, no framework. */
(function () {
  "use strict";
  var root = document.querySelector("[data-projector]");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-state-url");
  var timer = null;
  var POLL_SECONDS = 5; // the count refreshes at least this often

  function schedule(secondsLeft) {
    var wait = Math.max(1, Math.min(Number(secondsLeft) || POLL_SECONDS, POLL_SECONDS));
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, wait * 1000 + 250);
  }

  function setText(name, value) {
    var nodes = root.querySelectorAll('[data-field="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = value; }
  }

  function apply(frame) {
    root.setAttribute("data-state", frame.state);
    var qr = root.querySelector('[data-field="qr"]');
    if (qr) { qr.innerHTML = frame.svg; } // server-made SVG (segno) of our own check-in URL
    setText("code", frame.code);
    setText("checked_in", frame.checked_in);
    setText("enrolled", frame.enrolled);
    setText("message", frame.message);
    setText("server_time", frame.server_time);
  }

  function refresh() {
    window.fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (frame) { apply(frame); schedule(frame.seconds_left); })
      .catch(function () { schedule(POLL_SECONDS); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
  schedule(root.getAttribute("data-seconds-left"));
})();
