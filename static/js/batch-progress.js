/* Progress bar of a certificate print job: polls the JSON status endpoint and updates the page.
   Without JavaScript the page shows a "刷新进度" button instead. No inline script (CSP). */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var label = document.getElementById("job-label");
  var download = document.getElementById("job-download");
  var refresh = document.getElementById("job-refresh");
  if (refresh) { refresh.hidden = true; }
  var finished = { done: true, failed: true };

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    count.textContent = state.done + " / " + state.total;
    label.textContent = state.label;
    if (state.status === "done" && state.download_url) {
      download.href = state.download_url;
      download.hidden = false;
      label.className = "tag tag-ok";
    }
    if (state.status === "failed" || state.stale) { window.location.reload(); }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (state) {
        show(state);
        if (!finished[state.status] && !state.stale) { window.setTimeout(poll, 1500); }
      })
      .catch(function () {
        if (refresh) { refresh.hidden = false; }
        window.setTimeout(poll, 5000);
      });
  }

  if (!finished[box.getAttribute("data-status")]) { poll(); }
})();
