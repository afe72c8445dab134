/* Gradebook keyboard enhancement (the page works without it).
   The score inputs carry a column-wise tabindex, so Tab already walks down a column and on to the
   next one. This adds: Enter moves to the next cell like Tab (instead of submitting the sheet
   half-filled), Shift+Enter and ArrowUp go back, ArrowDown goes on; the last cell's Enter goes
   to the save button; focusing a cell selects its content so typing replaces it. */
(function () {
  "use strict";
  var form = document.querySelector("form.gradebook");
  if (!form) { return; }
  var cells = Array.prototype.slice.call(form.querySelectorAll("input.mark:not([disabled])"));
  cells.sort(function (a, b) { return a.tabIndex - b.tabIndex; });
  var save = form.querySelector("[data-save]");

  function move(from, step) {
    var i = cells.indexOf(from) + step;
    if (i >= 0 && i < cells.length) {
      cells[i].focus();
    } else if (i >= cells.length && save) {
      save.focus();
    }
  }

  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("mark")) { return; }
    if (event.key === "Enter") {
      event.preventDefault();
      move(target, event.shiftKey ? -1 : 1);
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      move(target, 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      move(target, -1);
    }
  });

  form.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("mark") && target.select) {
      target.select();
    }
  });

  var firstError = form.querySelector("input.mark[aria-invalid=true]");
  if (firstError) { firstError.focus(); }
}());
