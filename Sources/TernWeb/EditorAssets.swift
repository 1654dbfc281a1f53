/// Styles and script of the prompt form and the experiment run form, served after the others.
/// Without the script every form still works: "Add message" and "Remove" then post the form back
/// with a row more or less, and both types' fields are shown.
public enum EditorAssets {
    public static let css = """
        .field-error { color: var(--err); font-size: 12.5px; margin-top: -4px; }
        input[aria-invalid=true], select[aria-invalid=true] { border-color: var(--err); }
        .prompt-form fieldset, #run-form fieldset { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 0; }
        .prompt-form legend, #run-form legend { font-size: 12px; color: var(--muted); padding: 0 4px; }
        .kind-choice { display: flex; gap: 16px; flex-wrap: wrap; }
        .message-row { display: grid; grid-template-columns: 150px 1fr auto; gap: 8px; align-items: start; border-left: 2px solid var(--line);
                       padding: 4px 0 4px 8px; margin-bottom: 6px; }
        .message-row.invalid { border-left-color: var(--err); }
        .message-row .field-error { grid-column: 1 / -1; margin-top: 0; }
        .message-row button { margin-top: 18px; }
        .choice-list { display: flex; flex-direction: column; gap: 6px; max-height: 320px; overflow: auto; border: 1px solid var(--line);
                       border-radius: 6px; padding: 6px 10px; }
        .choice-group { display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: center; }
        .choice-group strong { min-width: 160px; }
        .progress { height: 6px; background: var(--code); border-radius: 3px; overflow: hidden; margin: 4px 0 10px; }
        .progress > div { height: 100%; background: var(--accent); }
        .cancel-form { display: inline; margin: 0; }
        #experiment > .grid { margin-bottom: 14px; }
        """

    public static let js = """
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
        """
}
