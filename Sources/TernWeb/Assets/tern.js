// Tern UI: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Selects and inputs marked data-autosubmit submit their form on change.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
  });
  // The trace list's time range: a preset applies at once; "Custom" shows the from and to fields.
  var range = document.getElementById("trace-range");
  if (range) {
    range.addEventListener("change", function () {
      var custom = range.value === "custom";
      document.querySelectorAll(".range-custom").forEach(function (el) { el.hidden = !custom; });
      if (!custom && range.form) { range.form.submit(); }
    });
  }
  // The project switcher navigates at once.
  var project = document.getElementById("project-select");
  if (project) {
    project.addEventListener("change", function () {
      window.location.href = "/ui/" + encodeURIComponent(project.value) + "/dashboard";
    });
  }
  // Rows with data-href open on Enter or click; j/k move between them.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var current = -1;
  function select(index) {
    if (!rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("selected"); }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("selected");
    rows[current].focus();
  }
  rows.forEach(function (row, index) {
    row.tabIndex = 0;
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, button, input, select, textarea")) { return; }
      window.location.href = row.getAttribute("data-href");
    });
    row.addEventListener("focus", function () { current = index; });
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (event.key === "Escape" && typing) { target.blur(); return; }
    if (typing || event.metaKey || event.ctrlKey || event.altKey) { return; }
    if (event.key === "/") {
      var search = document.querySelector("input[name=q]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "j") { select(current + 1); }
    else if (event.key === "k") { select(current - 1); }
    else if (event.key === "Enter" && current >= 0 && rows[current]) { window.location.href = rows[current].getAttribute("data-href"); }
    else if (event.key === "g") {
      var dashboard = document.getElementById("nav-dashboard");
      if (dashboard) { window.location.href = dashboard.getAttribute("href"); }
    }
  });
})();
