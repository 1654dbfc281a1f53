/// The UI's one stylesheet and one small script, served from memory (`/ui/static/...`).
public enum WebAssets {
    public static let css = """
        :root {
          --bg: #f7f7f8; --panel: #ffffff; --text: #1c1d21; --muted: #5f6370; --line: #e2e4e9; --accent: #2f6fde;
          --accent-text: #ffffff; --ok: #1f8a4c; --warn: #b26a00; --err: #c4312b; --code: #f1f2f5; --hover: #eef3fd;
          --font: system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif;
          --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
          color-scheme: light dark;
        }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #111214; --panel: #1a1b1f; --text: #e6e7ea; --muted: #9a9eab; --line: #2c2e35; --accent: #6b9cff;
                  --accent-text: #0b0c0e; --ok: #4cc784; --warn: #e0a341; --err: #ff6b61; --code: #22242a; --hover: #222838; }
        }
        * { box-sizing: border-box; }
        html, body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 var(--font); }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, tr:focus-visible, summary:focus-visible {
          outline: 2px solid var(--accent); outline-offset: 2px; }
        .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        .topbar { display: flex; align-items: center; gap: 16px; padding: 8px 16px; background: var(--panel); border-bottom: 1px solid var(--line);
                  position: sticky; top: 0; z-index: 5; }
        .brand { font-weight: 700; font-size: 16px; color: var(--text); letter-spacing: .02em; }
        .mainnav { display: flex; gap: 2px; flex-wrap: wrap; flex: 1; }
        .mainnav a, .mainnav span { padding: 5px 10px; border-radius: 6px; color: var(--muted); }
        .mainnav a[aria-current=page] { background: var(--hover); color: var(--text); font-weight: 600; }
        .mainnav a:hover { background: var(--hover); text-decoration: none; }
        .mainnav .soon { opacity: .45; cursor: default; }
        .user { display: flex; gap: 8px; align-items: center; color: var(--muted); }
        .user form { margin: 0; }
        main { padding: 16px; max-width: 1500px; margin: 0 auto; }
        h1 { font-size: 20px; margin: 4px 0 12px; }
        h2 { font-size: 15px; margin: 0 0 8px; }
        .muted { color: var(--muted); }
        .mono, code, pre { font-family: var(--mono); font-size: 12.5px; }
        pre { background: var(--code); padding: 8px 10px; border-radius: 6px; overflow: auto; max-height: 420px; margin: 4px 0;
              white-space: pre-wrap; word-break: break-word; }
        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin-bottom: 14px; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 14px; }
        .grid .panel { margin-bottom: 0; }
        .kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-bottom: 14px; }
        .kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
        .kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
        .kpi .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
        .toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
        .toolbar label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
        input, select, textarea, button { font: inherit; color: var(--text); background: var(--panel); border: 1px solid var(--line);
                                          border-radius: 6px; padding: 5px 8px; }
        input[type=search], input[name=q] { min-width: 220px; }
        button, .button { background: var(--accent); color: var(--accent-text); border: 1px solid var(--accent); cursor: pointer; font-weight: 600;
                          border-radius: 6px; padding: 5px 10px; display: inline-block; }
        .button:hover { text-decoration: none; }
        button.link { background: none; border: none; color: var(--accent); padding: 0; font-weight: normal; }
        .button.secondary, button.secondary { background: var(--panel); color: var(--text); border-color: var(--line); }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; }
        th a { color: var(--muted); }
        td.num, th.num { text-align: right; white-space: nowrap; }
        td.mono, td.nowrap { white-space: nowrap; }
        tbody tr:hover, tbody tr.selected { background: var(--hover); }
        .trace-input { max-width: 460px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 11.5px; font-weight: 600; border: 1px solid var(--line); }
        .badge.ok { color: var(--ok); } .badge.error { color: var(--err); border-color: var(--err); } .badge.warning { color: var(--warn); }
        .chip { display: inline-block; padding: 0 6px; border-radius: 4px; background: var(--code); font-size: 12px; margin-right: 3px; }
        .flash { padding: 8px 12px; border-radius: 6px; margin-bottom: 12px; border: 1px solid var(--line); background: var(--panel); }
        .flash.error { border-color: var(--err); color: var(--err); }
        .flash.ok { border-color: var(--ok); color: var(--ok); }
        .pager { display: flex; gap: 10px; justify-content: flex-end; margin-top: 10px; }
        .chart svg { width: 100%; height: auto; display: block; }
        .login { max-width: 360px; margin: 10vh auto; }
        .login form { display: flex; flex-direction: column; gap: 10px; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
        .facts dt { color: var(--muted); } .facts dd { margin: 0; }
        .split { display: grid; grid-template-columns: minmax(320px, 5fr) 7fr; gap: 14px; align-items: start; }
        @media (max-width: 1000px) { .split { grid-template-columns: 1fr; } }
        .waterfall { width: 100%; }
        .wf-row { display: grid; grid-template-columns: minmax(200px, 34%) 1fr 80px; gap: 8px; align-items: center; padding: 2px 0;
                  border-bottom: 1px dashed var(--line); font-size: 12.5px; }
        .wf-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .wf-track { position: relative; height: 14px; background: var(--code); border-radius: 3px; }
        .wf-bar { position: absolute; top: 2px; height: 10px; border-radius: 2px; background: var(--accent); min-width: 2px; }
        .wf-bar.generation { background: var(--chart-2, #8e44ad); } .wf-bar.error { background: var(--err); }
        .wf-bar.tool, .wf-bar.retrieval { background: var(--chart-3, #16a085); }
        .tree-node { border-left: 2px solid var(--line); margin: 6px 0 6px 0; padding-left: 10px; }
        .tree-node > summary { cursor: pointer; list-style: none; }
        .tree-node > summary::before { content: "▸ "; color: var(--muted); }
        .tree-node[open] > summary::before { content: "▾ "; }
        .type { font-size: 11px; text-transform: uppercase; color: var(--muted); letter-spacing: .04em; margin-right: 4px; }
        .msg { border: 1px solid var(--line); border-radius: 8px; padding: 6px 10px; margin: 6px 0; background: var(--panel); }
        .msg .role { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 700; }
        .msg.user { border-left: 3px solid var(--accent); } .msg.assistant { border-left: 3px solid var(--ok); }
        .msg.system { border-left: 3px solid var(--warn); } .msg.tool { border-left: 3px solid var(--chart-3, #16a085); }
        .msg .content { white-space: pre-wrap; word-break: break-word; }
        .toolcall { margin-top: 4px; }
        .score-form { display: grid; grid-template-columns: 1fr 100px; gap: 6px; }
        .score-form textarea { grid-column: 1 / -1; min-height: 48px; }
        .score-form button { grid-column: 1 / -1; justify-self: start; }
        .kbd { font-family: var(--mono); font-size: 11px; border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; }
        .empty { padding: 24px; text-align: center; color: var(--muted); }
        """

    public static let js = """
        // Tern UI: progressive enhancement only; every page works without it.
        (function () {
          "use strict";
          // Selects and inputs marked data-autosubmit submit their form on change.
          document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
            el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
          });
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
        """
}
