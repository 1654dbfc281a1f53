/// Styles and script of the prompt and dataset pages, served after `WebAssets` in the same files.
public enum LibraryAssets {
    public static let css = """
        .crumbs { font-size: 12.5px; color: var(--muted); margin-bottom: 2px; }
        .label-chip { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid var(--line);
                      background: var(--code); color: var(--text); }
        a.label-chip:hover { text-decoration: none; border-color: var(--accent); }
        .label-chip.label-production { color: var(--ok); border-color: var(--ok); }
        .label-chip.label-staging { color: var(--warn); border-color: var(--warn); }
        .inline-form { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 8px; }
        .inline-form label, .stacked-form label, .row label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
        .stacked-form { display: flex; flex-direction: column; gap: 8px; }
        .stacked-form textarea { width: 100%; font-family: var(--mono); font-size: 12.5px; }
        .stacked-form h2 { margin: 6px 0 0; }
        .row { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; }
        .row .grow { flex: 1; }
        label.check { flex-direction: row !important; align-items: center; gap: 6px !important; color: var(--text) !important; font-size: 13.5px !important; }
        fieldset.models { border: 1px solid var(--line); border-radius: 6px; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 6px 10px; margin: 0; }
        button.small, .button.small { padding: 2px 8px; font-size: 12px; }
        .small { font-size: 11.5px; }
        .rollback-form, .golden-form { margin: 0; }
        mark.var { background: color-mix(in srgb, var(--accent) 22%, transparent); color: inherit; border-radius: 3px; padding: 0 1px; }
        pre.template { max-height: none; }
        table.diff { table-layout: fixed; font-family: var(--mono); font-size: 12.5px; }
        table.diff td { padding: 1px 6px; border-bottom: none; white-space: pre-wrap; word-break: break-word; }
        table.diff td.ln { width: 3.2em; text-align: right; color: var(--muted); user-select: none; border-right: 1px solid var(--line); }
        table.diff td.code.del { background: color-mix(in srgb, var(--err) 16%, transparent); }
        table.diff td.code.add { background: color-mix(in srgb, var(--ok) 16%, transparent); }
        table.diff td.code.empty { background: var(--code); }
        .diff-stat-add { color: var(--ok); } .diff-stat-del { color: var(--err); }
        .results { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 14px; }
        .results .panel { margin-bottom: 0; }
        .result.failed { border-color: var(--err); }
        .result pre { max-height: 520px; }
        .item-input { max-width: 420px; }
        .item-input div, .item-expected { overflow: hidden; text-overflow: ellipsis; }
        .var-row { border-left: 2px solid var(--line); padding-left: 8px; display: flex; flex-direction: column; gap: 4px; }
        textarea[aria-invalid=true] { border-color: var(--err); }
        details.panel > summary { cursor: pointer; }
        .stacked-form > button, .row > button { align-self: flex-start; }
        .rollback-form button, .golden-form button { white-space: nowrap; }
        #dataset-stats .grid { margin-bottom: 14px; }
        /* Chat messages of the user role are blocks (the top bar's .user box is a flex row). */
        .msg.user { display: block; }
        details.panel[open] > summary { margin-bottom: 8px; }
        """

    public static let js = """
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
        """
}
