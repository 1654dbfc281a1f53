/// Templates and styles of the Experiments section (registered with the others by `WebRenderer`).
/// `{{x}}` escapes HTML; `{{{x}}}` only holds SVG that `SVGChart` drew (its text escaped).
public enum ExperimentTemplates {
    static let all: [String: String] = ["experiments": list, "experiment": run, "experiment-compare": compare, "experiment-pair": pair]

    static let list = """
        {{<layout}}{{$content}}
        <div id="experiments">
        <div class="toolbar"><h1 style="margin-right:auto">Experiments</h1><a class="button" id="new-run" href="{{newHref}}">New run</a></div>
        {{#canCompare}}<form id="compare-form" class="toolbar" method="get" action="{{compareAction}}">
          <label>Base <select name="base">{{#options}}<option value="{{id}}">{{label}}</option>{{/options}}</select></label>
          <label>Head <select name="head">{{#options}}<option value="{{id}}">{{label}}</option>{{/options}}</select></label>
          <button type="submit">Compare</button>
        </form>{{/canCompare}}
        <div class="panel">
        <table id="experiments-table">
          <thead><tr><th>Run</th><th>Status</th><th>Dataset</th><th>Prompts × models</th><th class="num">Cells</th><th class="num">Pass rate</th><th class="num">Cost</th><th>Started (UTC)</th></tr></thead>
          <tbody>
          {{#rows}}<tr data-href="{{href}}">
            <td><a class="experiment-link" href="{{href}}">{{name}}</a></td>
            <td><span class="badge {{statusClass}}">{{status}}</span></td>
            <td>{{dataset}}</td>
            <td title="{{prompts}} × {{models}}">{{matrix}} <span class="muted">{{prompts}} × {{models}}</span></td>
            <td class="num">{{cells}}</td>
            <td class="num">{{passRate}}</td>
            <td class="num">{{cost}}</td>
            <td class="mono">{{started}}</td>
          </tr>{{/rows}}
          </tbody>
        </table>
        {{^rows}}<div class="empty">No experiments yet. <a href="{{newHref}}">Start one here</a>, with <code>tern experiments run</code> or <code>POST /api/v1/experiments</code>.</div>{{/rows}}
        <div class="pager">{{#next}}<a id="next-page" class="button secondary" href="{{next}}">Older runs →</a>{{/next}}</div>
        </div>
        </div>
        {{/content}}{{/layout}}
        """

    static let run = """
        {{<layout}}{{$content}}
        <div id="experiment"{{#live}} data-refresh-seconds="2"{{/live}}>
        {{#run}}<h1>{{name}} <span class="badge {{statusClass}}" id="experiment-status">{{status}}</span></h1>
        <p class="muted">{{dataset}} · {{prompts}} × {{models}} · {{cells}} cells · pass rate <strong id="experiment-pass-rate">{{passRate}}</strong> · {{cost}} · started {{started}}</p>{{/run}}
        {{#live}}<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{{progress}}" title="{{progress}}% of the cells done"><div style="width:{{progress}}%"></div></div>
        <form class="cancel-form" id="cancel-form" method="post" action="{{cancelAction}}"><input type="hidden" name="csrf" value="{{csrf}}">
          <span class="muted">This page reloads until the run has finished.</span> <button class="secondary small" id="cancel-run" type="submit">Cancel the run</button></form>{{/live}}
        <p class="toolbar"><a class="button secondary" id="rerun" href="{{rerunHref}}">New run like this one</a>
          {{#compareHref}}<a class="button secondary" id="compare-previous" href="{{compareHref}}">Compare with the previous run</a>{{/compareHref}}</p>
        {{#error}}<div class="flash error" role="alert">{{error}}</div>{{/error}}
        <div class="grid">
          <section class="panel"><h2>Pass rate</h2><div class="chart">{{{passChart}}}</div></section>
          <section class="panel"><h2>Cost</h2><div class="chart">{{{costChart}}}</div></section>
        </div>
        <div class="panel matrix-panel">
        <table id="experiment-matrix" class="matrix">
          <thead>
            <tr><th>Item</th>{{#columns}}<th class="column"><div>{{prompt}}</div><div class="muted">{{model}}</div></th>{{/columns}}</tr>
            <tr class="totals"><th>Totals</th>{{#columns}}<td><strong>{{passRate}}</strong><div class="muted">{{counts}}</div><div class="muted">{{cost}} · {{latency}}</div></td>{{/columns}}</tr>
          </thead>
          <tbody>
          {{#rows}}<tr><th class="mono">{{item}} {{repetition}}</th>
            {{#cells}}{{#missing}}<td class="cell missing muted">–</td>{{/missing}}{{^missing}}<td class="cell {{class}}" title="{{reason}}">
              {{#traceHref}}<a class="cell-link" href="{{traceHref}}">{{/traceHref}}<span class="badge {{class}}">{{verdict}}</span> <span class="score">{{score}}</span>{{#traceHref}}</a>{{/traceHref}}
              <div class="cell-output">{{output}}</div><div class="muted cell-meta">{{meta}}</div></td>{{/missing}}{{/cells}}
          </tr>{{/rows}}
          </tbody>
        </table>
        {{^rows}}<div class="empty">No finished cells yet.</div>{{/rows}}
        <div class="pager">{{#next}}<a id="next-page" class="button secondary" href="{{next}}">Next items →</a>{{/next}}</div>
        </div>
        <p class="muted">Every cell links to its gateway trace. JSON: <a href="{{apiHref}}">{{apiHref}}</a></p>
        </div>
        {{/content}}{{/layout}}
        """

    static let pair = """
        <tr><th class="mono">{{item}}<div class="muted">{{column}}</div></th>
          {{#base}}<td class="cell {{class}}" title="{{reason}}">{{#traceHref}}<a href="{{traceHref}}">{{/traceHref}}<span class="badge {{class}}">{{verdict}}</span> {{score}}{{#traceHref}}</a>{{/traceHref}}<div class="muted">{{label}}</div><div class="cell-output">{{output}}</div></td>{{/base}}
          {{#head}}<td class="cell {{class}}" title="{{reason}}">{{#traceHref}}<a href="{{traceHref}}">{{/traceHref}}<span class="badge {{class}}">{{verdict}}</span> {{score}}{{#traceHref}}</a>{{/traceHref}}<div class="muted">{{label}}</div><div class="cell-output">{{output}}</div></td>{{/head}}
          <td class="num">{{delta}}</td></tr>
        """

    static let compare = """
        {{<layout}}{{$content}}
        <div id="experiment-compare">
        <h1>Compare experiments</h1>
        <form class="toolbar" method="get" action="{{action}}">
          <label>Base <select name="base">{{#baseOptions}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/baseOptions}}</select></label>
          <label>Head <select name="head">{{#headOptions}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/headOptions}}</select></label>
          <label>Pair by <select name="by">{{#keys}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/keys}}</select></label>
          <button type="submit">Compare</button>
        </form>
        {{#error}}<div class="flash error" role="alert">{{error}}</div>{{/error}}
        {{#comparison}}
        <p id="significance" class="panel">{{summary}}</p>
        <div class="kpis">
          <div class="kpi"><div class="label">Base pass rate</div><div class="value">{{basePassRate}}</div></div>
          <div class="kpi"><div class="label">Head pass rate</div><div class="value">{{headPassRate}}</div></div>
          <div class="kpi"><div class="label">Regressions</div><div class="value" id="regression-count">{{regressionCount}}</div></div>
          <div class="kpi"><div class="label">Improvements</div><div class="value" id="improvement-count">{{improvementCount}}</div></div>
          <div class="kpi"><div class="label">Mean score Δ</div><div class="value">{{meanDelta}}</div></div>
          <div class="kpi"><div class="label">McNemar p ({{method}})</div><div class="value">{{pValue}}</div></div>
        </div>
        <p class="muted">{{pairs}} paired cells, matched on item, repetition and {{key}}. {{unmatched}}</p>
        <section class="panel"><h2>Regressions: passed in the base run, not in the head run</h2>
          <table id="regressions" class="matrix"><thead><tr><th>Item</th><th>Base</th><th>Head</th><th class="num">Score Δ</th></tr></thead>
          <tbody>{{#regressions}}{{> experiment-pair}}{{/regressions}}</tbody></table>{{^regressions}}<div class="empty">No regressions.</div>{{/regressions}}
        </section>
        <section class="panel"><h2>Improvements</h2>
          <table id="improvements" class="matrix"><thead><tr><th>Item</th><th>Base</th><th>Head</th><th class="num">Score Δ</th></tr></thead>
          <tbody>{{#improvements}}{{> experiment-pair}}{{/improvements}}</tbody></table>{{^improvements}}<div class="empty">No improvements.</div>{{/improvements}}
        </section>
        <section class="panel"><h2>Same verdict, different score</h2>
          <table id="score-changes" class="matrix"><thead><tr><th>Item</th><th>Base</th><th>Head</th><th class="num">Score Δ</th></tr></thead>
          <tbody>{{#scoreChanges}}{{> experiment-pair}}{{/scoreChanges}}</tbody></table>{{^scoreChanges}}<div class="empty">No score changes.</div>{{/scoreChanges}}
        </section>
        {{/comparison}}
        </div>
        {{/content}}{{/layout}}
        """

    public static let css = """
        .matrix-panel { overflow-x: auto; }
        table.matrix th.column { min-width: 150px; }
        table.matrix tr.totals td, table.matrix tr.totals th { background: var(--code); font-size: 12px; }
        table.matrix td.cell { font-size: 12.5px; max-width: 280px; }
        table.matrix td.cell.error { background: color-mix(in srgb, var(--err) 7%, transparent); }
        table.matrix td.cell.ok { background: color-mix(in srgb, var(--ok) 6%, transparent); }
        .cell-output { white-space: pre-wrap; word-break: break-word; max-height: 4.5em; overflow: hidden; }
        .cell-meta { font-size: 11px; }
        .cell-link { text-decoration: none; }
        #significance { font-size: 15px; }
        """
}
