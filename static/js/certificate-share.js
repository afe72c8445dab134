/* "我的证书": copy or share the verification link. Without JavaScript the link stays visible
   as selectable text in a read-only field. No inline script (CSP). */
(function () {
  "use strict";
  var input = document.getElementById("verify-link");
  var actions = document.getElementById("share-actions");
  if (!input || !actions) { return; }
  var copy = document.getElementById("copy-link");
  var share = document.getElementById("share-link");
  var done = document.getElementById("copy-done");
  actions.hidden = false;

  function say(text) { done.textContent = text; }

  function fallbackCopy() {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  copy.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { say("已复制"); },
        function () { say(fallbackCopy() ? "已复制" : "请长按链接手动复制"); });
    } else {
      say(fallbackCopy() ? "已复制" : "请长按链接手动复制");
    }
  });

  if (navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({ title: input.getAttribute("data-share-title"), url: input.value }).catch(function () {});
    });
  }
})();
