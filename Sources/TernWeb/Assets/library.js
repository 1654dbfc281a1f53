// Prompt and dataset pages: Ctrl/Cmd+Enter submits the playground or item form from a text field.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) { return; }
    var form = event.target && event.target.form;
    if (form && (form.id === "playground-form" || form.id === "item-form" || form.id === "dataset-form")) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  });
  // The "new dataset" choice moves focus to the name field.
  var choice = document.getElementById("dataset-choice");
  var fresh = document.getElementById("dataset-new");
  if (choice && fresh) {
    choice.addEventListener("change", function () { if (choice.value === "") { fresh.focus(); } });
  }
})();
