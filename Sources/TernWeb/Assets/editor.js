// The prompt form (message rows, type switch) and live pages (a run in progress reloads itself).
(function () {
  "use strict";
  var form = document.getElementById("prompt-form");
  if (form) {
    var rows = document.getElementById("message-rows");
    var template = document.getElementById("message-template");
    var add = document.getElementById("add-message");
    var next = 0;
    form.querySelectorAll("[name^='message.']").forEach(function (field) {
      var index = parseInt(field.name.split(".")[1], 10);
      if (!isNaN(index) && index >= next) { next = index + 1; }
    });
    function wireRemove(button) {
      button.type = "button";
      button.addEventListener("click", function () {
        var row = button.closest(".message-row");
        var focus = row && (row.nextElementSibling || row.previousElementSibling);
        if (row) { row.remove(); }
        var target = focus ? focus.querySelector("textarea") : add;
        if (target) { target.focus(); }
      });
    }
    form.querySelectorAll(".remove-message").forEach(wireRemove);
    if (add && rows && template) {
      add.type = "button";
      add.addEventListener("click", function () {
        var index = String(next++);
        var fragment = template.content.cloneNode(true);
        fragment.querySelectorAll("[name], [value]").forEach(function (el) {
          if (el.name) { el.name = el.name.replace("__INDEX__", index); }
          if (el.getAttribute("value") === "__INDEX__") { el.setAttribute("value", index); }
        });
        var row = fragment.querySelector(".message-row");
        rows.appendChild(fragment);
        wireRemove(row.querySelector(".remove-message"));
        row.querySelector("textarea").focus();
      });
    }
    // Only the chosen type's fields are shown (both are kept and sent, so switching loses nothing).
    var kinds = form.querySelectorAll("input[name=kind]");
    function showKind() {
      var chosen = form.querySelector("input[name=kind]:checked");
      form.querySelectorAll("[data-kind-section]").forEach(function (section) {
        section.hidden = !!chosen && section.getAttribute("data-kind-section") !== chosen.value;
      });
    }
    kinds.forEach(function (radio) { radio.addEventListener("change", showKind); });
    showKind();
  }
  // Ctrl/Cmd+Enter saves the prompt form or starts the run.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) { return; }
    var owner = event.target && event.target.form;
    if (owner && (owner.id === "prompt-form" || owner.id === "run-form")) {
      event.preventDefault();
      var save = document.getElementById(owner.id === "prompt-form" ? "prompt-save" : "run-submit");
      if (owner.requestSubmit) { owner.requestSubmit(save); } else { owner.submit(); }
    }
  });
  // A page showing work in progress (a queued or running experiment) reloads until it is done.
  var live = document.querySelector("[data-refresh-seconds]");
  if (live) {
    var seconds = parseFloat(live.getAttribute("data-refresh-seconds")) || 2;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
