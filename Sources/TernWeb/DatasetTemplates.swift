/// Templates of the dataset pages (list, items, item form, import, statistics) and the trace view's
/// "add to dataset" form. `{{{x}}}` is used only for SVG charts (escaped when drawn).
enum DatasetTemplates {
    static let all: [String: String] = [
        "datasets": datasets, "dataset": dataset, "dataset-item": item, "dataset-import": importPage, "dataset-stats": stats,
        "dataset-header": header, "add-to-dataset": addToDataset,
    ]

    static let header = """
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/ui/{{project.slug}}/datasets">Datasets</a> / <a href="{{base}}">{{name}}</a></nav>
        """

    static let datasets = """
        {{<layout}}{{$content}}
        <h1>Datasets</h1>
        <div class="panel">
        <table id="datasets-table">
          <thead><tr><th>Name</th><th>Description</th><th class="num">Items</th><th class="num">Versions</th><th class="num">Golden</th><th>Created (UTC)</th><th></th></tr></thead>
          <tbody>{{#rows}}<tr data-href="{{href}}"><td><a class="dataset-link" href="{{href}}">{{name}}</a></td><td>{{description}}</td>
            <td class="num">{{items}}</td><td class="num">{{versions}}</td><td class="num">{{golden}}</td><td class="mono">{{created}}</td>
            <td><a href="{{statsHref}}">statistics</a></td></tr>{{/rows}}</tbody>
        </table>
        {{^rows}}<div class="empty">No datasets yet. Create one below, or add traces to one from a trace's page.</div>{{/rows}}
        </div>
        <section class="panel"><h2>New dataset</h2>
          <form id="dataset-create" class="inline-form" method="post" action="/ui/{{project.slug}}/datasets">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Name <input id="dataset-name" name="name" required value="{{newName}}" placeholder="support-golden"></label>
            <label>Description <input name="description" value="{{newDescription}}" size="40"></label>
            <button id="dataset-create-submit" type="submit">Create</button>
          </form>
        </section>
        {{/content}}{{/layout}}
        """

    static let dataset = """
        {{<layout}}{{$content}}
        {{> dataset-header}}
        <div id="dataset-page">
        <h1>{{name}} <span class="muted" style="font-size:13px">v{{version}} · {{itemCount}} items</span></h1>
        {{#description}}<p class="muted">{{description}}</p>{{/description}}
        <form class="toolbar" method="get" action="{{base}}">
          <label>Version <select id="dataset-version" name="version" data-autosubmit>{{#versionOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/versionOptions}}</select></label>
          <noscript><button>View</button></noscript>
          {{#isLatest}}<a class="button" id="add-item" href="{{base}}/items/new">Add item</a>
          <a class="button secondary" id="import-link" href="{{base}}/import">Import</a>{{/isLatest}}
          <a class="button secondary" id="export-jsonl" href="{{exportJSONL}}">Export JSONL</a>
          <a class="button secondary" id="export-csv" href="{{exportCSV}}">Export CSV</a>
          <a class="button secondary" id="stats-link" href="{{statsHref}}">Statistics</a>
        </form>
        {{^isLatest}}<div class="flash" role="status">Version {{version}} is an earlier, immutable version. <a href="{{latestHref}}">Go to the latest (v{{latest}})</a> to change items.</div>{{/isLatest}}
        <div class="panel">
        <table id="items-table">
          <thead><tr><th>Item</th><th>Input</th><th>Expected output</th><th>Task</th><th>Language</th><th>Domain</th><th>Golden</th><th>Source</th>{{#isLatest}}<th></th>{{/isLatest}}</tr></thead>
          <tbody>{{#items}}<tr id="{{anchor}}" class="item-row">
            <td class="mono">{{#isLatest}}<a class="item-link" href="{{editHref}}">{{id}}</a>{{/isLatest}}{{^isLatest}}{{id}}{{/isLatest}}</td>
            <td class="item-input">{{#inputs}}<div><code>{{name}}</code> <span title="{{full}}">{{value}}</span></div>{{/inputs}}
              {{#otherMetadata}}<span class="chip">{{key}}={{value}}</span>{{/otherMetadata}}</td>
            <td class="item-expected">{{#expected}}<span title="{{expectedFull}}">{{expected}}</span>{{/expected}}{{^expected}}<span class="muted">–</span>{{/expected}}</td>
            <td>{{task}}</td><td>{{language}}</td><td>{{domain}}</td>
            <td class="item-golden">{{#golden}}<span class="badge ok" title="validated{{#validatedBy}} by {{validatedBy}}{{/validatedBy}}{{#validatedAt}} at {{validatedAt}} UTC{{/validatedAt}}">golden</span>
              <div class="muted small">{{#validatedBy}}{{validatedBy}}{{/validatedBy}}{{#validatedAt}}<br>{{validatedAt}}{{/validatedAt}}</div>{{/golden}}</td>
            <td>{{#traceHref}}<a class="source-trace" href="{{traceHref}}" title="{{traceID}}">trace</a>{{/traceHref}}</td>
            {{#isLatest}}<td class="nowrap"><form class="golden-form" method="post" action="{{editHref}}/golden"><input type="hidden" name="csrf" value="{{csrf}}">
              <input type="hidden" name="golden" value="{{goldenAction}}"><button class="secondary small" type="submit">{{#golden}}Unmark golden{{/golden}}{{^golden}}Mark golden{{/golden}}</button></form></td>{{/isLatest}}
          </tr>{{/items}}</tbody>
        </table>
        {{^hasItems}}<div class="empty">No items in this version.{{#isLatest}} <a href="{{base}}/items/new">Add one</a>, <a href="{{base}}/import">import a file</a>, or add traces from their pages.{{/isLatest}}</div>{{/hasItems}}
        <div class="pager">{{#first}}<a class="button secondary" href="{{first}}">First page</a>{{/first}}{{#next}}<a id="next-page" class="button secondary" href="{{next}}">Next page →</a>{{/next}}</div>
        </div>
        <details class="panel" id="dataset-versions"><summary><strong>Versions</strong> <span class="muted">every change makes a new, immutable version</span></summary>
          <table><thead><tr><th>Version</th><th class="num">Items</th><th class="num">Added</th><th class="num">Changed</th><th class="num">Removed</th><th>Message</th><th>By</th><th>When (UTC)</th></tr></thead>
          <tbody>{{#versions}}<tr{{#current}} class="selected"{{/current}}><td><a href="{{href}}">v{{version}}</a></td><td class="num">{{items}}</td><td class="num">{{added}}</td>
            <td class="num">{{changed}}</td><td class="num">{{removed}}</td><td>{{message}}</td><td>{{author}}</td><td class="mono">{{created}}</td></tr>{{/versions}}</tbody></table>
        </details>
        </div>
        {{/content}}{{/layout}}
        """

    static let item = """
        {{<layout}}{{$content}}
        {{> dataset-header}}
        <div id="dataset-item">
        <h1>{{#isNew}}New item{{/isNew}}{{^isNew}}Item <span class="mono">{{id}}</span>{{/isNew}}</h1>
        {{#error}}<div class="flash error" role="alert" id="item-error">{{error}}</div>{{/error}}
        <form id="item-form" class="panel stacked-form" method="post" action="{{action}}">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <h2>Input variables</h2>
          {{#inputs}}<div class="var-row"><input type="hidden" name="input.{{index}}.name" value="{{name}}">
            <label for="input-{{index}}"><code>{{name}}</code>{{#json}} <span class="muted">(JSON)</span>{{/json}}</label>
            {{#json}}<input type="hidden" name="input.{{index}}.json" value="1">{{/json}}
            <textarea id="input-{{index}}" name="input.{{index}}.value" rows="3">\n{{value}}</textarea>
            {{^isNew}}<label class="check"><input type="checkbox" name="input.{{index}}.remove" value="1"> remove {{name}}</label>{{/isNew}}</div>{{/inputs}}
          <div class="row"><label>New variable <input id="new-variable-name" name="new.name" placeholder="name" autocomplete="off"></label>
            <label class="grow">Value <textarea id="new-variable-value" name="new.value" rows="2"></textarea></label></div>
          <h2>Expected output</h2>
          <label class="sr-only" for="item-expected">Expected output</label>
          <textarea id="item-expected" name="expected" rows="4" placeholder="optional">\n{{expected}}</textarea>
          <h2>Metadata</h2>
          <div class="row"><label>Task <input name="task" value="{{task}}"></label><label>Language <input name="language" value="{{language}}" size="6"></label>
            <label>Domain <input name="domain" value="{{domain}}"></label></div>
          <label>Other metadata (JSON object) <textarea name="metadata" rows="2" placeholder="{}">\n{{metadata}}</textarea></label>
          <label class="check"><input id="item-golden" type="checkbox" name="golden" value="1"{{#golden}} checked{{/golden}}> golden: a person checked this item{{#validated}} <span class="muted">({{validated}})</span>{{/validated}}</label>
          {{#traceHref}}<p class="muted">From <a href="{{traceHref}}">a production trace</a>.</p>{{/traceHref}}
          <label>Change message <input name="message" size="50" placeholder="{{#isNew}}add an item{{/isNew}}{{^isNew}}edit {{id}}{{/isNew}}"></label>
          <div class="row"><button id="item-submit" type="submit">{{#isNew}}Add item{{/isNew}}{{^isNew}}Save as a new version{{/isNew}}</button>
            <a class="button secondary" href="{{base}}">Cancel</a></div>
        </form>
        {{^isNew}}<form id="item-remove" method="post" action="{{action}}/remove" class="panel"><input type="hidden" name="csrf" value="{{csrf}}">
          <button class="secondary" type="submit">Remove this item</button> <span class="muted">Earlier versions keep it.</span></form>{{/isNew}}
        </div>
        {{/content}}{{/layout}}
        """

    static let importPage = """
        {{<layout}}{{$content}}
        {{> dataset-header}}
        <div id="dataset-import">
        <h1>Import into {{name}}</h1>
        {{#error}}<div class="flash error" role="alert" id="import-error">{{error}}</div>{{/error}}
        {{^preview}}
        <form id="import-form" class="panel stacked-form" method="post" action="{{base}}/import" enctype="multipart/form-data">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>File (JSONL or CSV) <input id="import-file" type="file" name="file" accept=".jsonl,.json,.ndjson,.csv,text/csv,application/json"></label>
          <label>… or paste it <textarea id="import-text" name="text" rows="8" placeholder='{"input": {"question": "…"}, "expected_output": "…", "metadata": {"task": "qa"}}'></textarea></label>
          <div class="row"><label>Format <select name="format"><option value="auto">from the file name or content</option><option value="jsonl">JSONL</option><option value="csv">CSV</option></select></label>
            <label class="grow">Change message <input name="message" placeholder="import"></label></div>
          <button id="import-preview" type="submit">Preview</button>
          <p class="muted">JSONL: one object a line with <code>input</code> (object or string), <code>expected_output</code>, <code>metadata</code>, <code>golden</code>, <code>id</code>. CSV: a header row; you map its columns in the next step. Items with a known id replace that item.</p>
        </form>
        {{/preview}}
        {{#preview}}
        <form id="import-confirm" class="panel stacked-form" method="post" action="{{base}}/import/confirm">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <input type="hidden" name="format" value="{{format}}">
          <input type="hidden" name="message" value="{{message}}">
          <textarea name="data" hidden aria-hidden="true">\n{{data}}</textarea>
          {{#isCSV}}<h2>Column mapping</h2>
          <table id="import-mapping"><thead><tr><th>Column</th><th>Becomes</th></tr></thead>
            <tbody>{{#columns}}<tr><td><code>{{name}}</code><input type="hidden" name="column.{{index}}" value="{{name}}"></td>
              <td><select name="role.{{index}}" aria-label="role of {{name}}">{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/roles}}</select></td></tr>{{/columns}}</tbody></table>
          <button class="secondary" type="submit" name="step" value="preview">Update preview</button>{{/isCSV}}
          <h2>Preview <span class="muted">{{total}} items</span></h2>
          <table id="import-preview-table"><thead><tr><th>Id</th><th>Input</th><th>Expected</th><th>Metadata</th><th>Golden</th></tr></thead>
            <tbody>{{#items}}<tr><td class="mono">{{id}}</td><td>{{#inputs}}<div><code>{{name}}</code> {{value}}</div>{{/inputs}}</td><td>{{expected}}</td><td>{{metadata}}</td><td>{{#golden}}yes{{/golden}}</td></tr>{{/items}}</tbody></table>
          <div class="row"><button id="import-submit" type="submit" name="step" value="import">Import {{total}} items as a new version</button>
            <a class="button secondary" href="{{base}}/import">Start over</a></div>
        </form>
        {{/preview}}
        </div>
        {{/content}}{{/layout}}
        """

    static let stats = """
        {{<layout}}{{$content}}
        {{> dataset-header}}
        <div id="dataset-stats">
        <h1>{{name}} v{{version}}: statistics</h1>
        <p><a href="{{versionHref}}">← items of v{{version}}</a></p>
        <div class="kpis">{{#kpis}}<div class="kpi"><div class="label">{{label}}</div><div class="value" id="stat-{{id}}">{{value}}</div></div>{{/kpis}}</div>
        <div class="grid">
          {{#charts}}<section class="panel"><h2>{{title}}</h2><div class="chart">{{{svg}}}</div></section>{{/charts}}
          <section class="panel"><h2>Input length</h2><div class="chart">{{{lengths}}}</div><p class="muted">Characters of the input variables together; bins double in width.</p></section>
        </div>
        <section class="panel" id="near-duplicates"><h2>Near duplicates</h2>
          <p class="muted">Pairs whose inputs share at least {{threshold}} of their 5-character shingles (MinHash estimate); exact duplicates are counted apart.</p>
          {{#hasPairs}}<table><thead><tr><th>Item</th><th>Input</th><th>Similar item</th><th>Input</th></tr></thead>
          <tbody>{{#pairs}}<tr><td class="mono"><a href="{{aHref}}">{{a}}</a></td><td>{{aText}}</td><td class="mono"><a href="{{bHref}}">{{b}}</a></td><td>{{bText}}</td></tr>{{/pairs}}</tbody></table>{{/hasPairs}}
          {{^hasPairs}}<p class="muted">None found.</p>{{/hasPairs}}
        </section>
        <section class="panel" id="semantic-duplicates"><h2>Near duplicates by meaning</h2>
          <form class="toolbar" id="semantic-form" method="get" action="{{statsAction}}">
            {{#versionParam}}<input type="hidden" name="version" value="{{versionParam}}">{{/versionParam}}
            <input type="hidden" name="semantic" value="true">
            <label>Cosine at least <input id="semantic-threshold" name="semantic_threshold" type="number" min="0" max="1" step="0.01" value="{{semanticThreshold}}"></label>
            <button id="semantic-submit" type="submit">Find</button>
          </form>
          <p class="muted">Inputs embedded with the local model all-minilm-l6-v2 (in process, nothing leaves the server), every pair compared; exact duplicates are counted apart. Paraphrases that share few characters show up here and not above. At most {{semanticMax}} items.</p>
          {{#semanticError}}<div class="flash error" role="alert" id="semantic-error">{{semanticError}}</div>{{/semanticError}}
          {{#semantic}}<p id="semantic-summary"><strong id="semantic-count">{{count}}</strong> items are at least {{threshold}} similar to an earlier item ({{model}}).</p>
          {{#hasPairs}}<table id="semantic-pairs"><thead><tr><th>Item</th><th>Input</th><th>Similar item</th><th>Input</th><th class="num">Cosine</th></tr></thead>
          <tbody>{{#pairs}}<tr><td class="mono"><a href="{{aHref}}">{{a}}</a></td><td>{{aText}}</td><td class="mono"><a href="{{bHref}}">{{b}}</a></td><td>{{bText}}</td><td class="num">{{similarity}}</td></tr>{{/pairs}}</tbody></table>{{/hasPairs}}
          {{/semantic}}
        </section>
        </div>
        {{/content}}{{/layout}}
        """

    /// Included by the trace view.
    static let addToDataset = """
        <section class="panel" id="add-to-dataset"><h2>Add to dataset</h2>
          {{#added}}<div class="flash ok" role="status" id="added-to-dataset">Added to <a href="{{href}}">{{dataset}}</a> (version {{version}}).</div>{{/added}}
          <form id="dataset-form" class="stacked-form" method="post" action="{{action}}">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <div class="row">{{#hasDatasets}}<label>Dataset <select id="dataset-choice" name="dataset">{{#datasets}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/datasets}}<option value="">new dataset…</option></select></label>{{/hasDatasets}}
              <label class="grow">{{#hasDatasets}}or a new one{{/hasDatasets}}{{^hasDatasets}}New dataset{{/hasDatasets}} <input id="dataset-new" name="new_dataset" placeholder="name" autocomplete="off"></label></div>
            <label>Expected output <span class="muted">(optional; the trace's answer, to review)</span>
              <textarea id="dataset-expected" name="expected" rows="3">\n{{expected}}</textarea></label>
            <button id="dataset-submit" type="submit">Add to dataset</button>
          </form>
          <p class="muted">The item keeps the trace's input, its task, language and domain, and a link back here.</p>
        </section>
        """
}
