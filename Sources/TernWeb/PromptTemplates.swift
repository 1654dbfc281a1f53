/// Templates of the prompt registry pages (list, prompt, version, diff, playground).
/// `{{{html}}}` is used only for templates highlighted by `Views.highlighted` (escaped there).
enum PromptTemplates {
    static let all: [String: String] = [
        "prompts": prompts, "prompt": prompt, "prompt-version": version, "prompt-diff": diff, "playground": playground,
        "prompt-header": header,
    ]

    static let header = """
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/ui/{{project.slug}}/prompts">Prompts</a> / <a href="{{base}}">{{name}}</a></nav>
        """

    static let prompts = """
        {{<layout}}{{$content}}
        <div class="toolbar"><h1 style="margin-right:auto">Prompts</h1><a class="button" id="new-prompt" href="/ui/{{project.slug}}/prompts/.new">New prompt</a></div>
        <div class="panel">
        <table id="prompts-table">
          <thead><tr><th>Name</th><th>Type</th><th class="num">Latest</th><th>Labels</th><th>Updated (UTC)</th></tr></thead>
          <tbody>{{#rows}}<tr data-href="{{href}}"><td><a class="prompt-link" href="{{href}}">{{name}}</a></td><td>{{kind}}</td>
            <td class="num"><a href="{{latestHref}}">v{{latest}}</a></td>
            <td>{{#labels}}<a class="label-chip {{labelClass}}" href="{{href}}">{{label}} → v{{version}}</a> {{/labels}}</td>
            <td class="mono">{{updated}}</td></tr>{{/rows}}</tbody>
        </table>
        {{^rows}}<div class="empty">No prompts yet. <a href="/ui/{{project.slug}}/prompts/.new">Create one here</a>, push files with <code>tern prompts push prompts/</code>, or <code>POST /api/v1/prompts</code>.</div>{{/rows}}
        </div>
        <p class="muted"><span class="kbd">j</span>/<span class="kbd">k</span> move · <span class="kbd">Enter</span> open</p>
        {{/content}}{{/layout}}
        """

    static let prompt = """
        {{<layout}}{{$content}}
        {{> prompt-header}}
        <div id="prompt-page">
        <h1>{{name}} <span class="muted" style="font-size:13px">{{kind}} · {{versionsCount}}</span></h1>
        <p>{{#labels}}<a class="label-chip {{labelClass}}" href="{{href}}">{{label}} → v{{version}}</a> {{/labels}}{{^labels}}<span class="muted">No labels yet.</span>{{/labels}}
          <a class="button" id="new-version" href="{{base}}/versions/new">New version</a>
          <a class="button secondary" id="open-playground" href="{{base}}/playground">Playground</a></p>
        <div class="split">
          <div>
            <section class="panel"><h2>Labels</h2>
              <form id="label-form" class="inline-form" method="post" action="{{base}}/labels">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <label>Label <input id="label-name" name="label" list="label-names" required placeholder="production" autocomplete="off"></label>
                <datalist id="label-names">{{#labelOptions}}<option value="{{value}}">{{value}} (now {{current}})</option>{{/labelOptions}}</datalist>
                <label>Version <select id="label-version" name="version">{{#versionOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/versionOptions}}</select></label>
                <button id="label-submit" type="submit">Move label</button>
              </form>
              <p class="muted">Clients that ask for a label get the version it points at. Every move is recorded below; rolling back is moving the label back.</p>
            </section>
            <section class="panel"><h2>Label history</h2>
              <table id="label-moves">
                <thead><tr><th>When (UTC)</th><th>Label</th><th>From</th><th>To</th><th>By</th><th></th></tr></thead>
                <tbody>{{#moves}}<tr><td class="mono">{{time}}</td><td><span class="label-chip {{labelClass}}">{{label}}</span></td>
                  <td>{{#fromHref}}<a href="{{fromHref}}">{{from}}</a>{{/fromHref}}{{^fromHref}}{{from}}{{/fromHref}}</td><td><a href="{{toHref}}">{{to}}</a></td><td>{{author}}</td>
                  <td>{{#rollback}}<form class="rollback-form" method="post" action="{{base}}/labels"><input type="hidden" name="csrf" value="{{csrf}}">
                    <input type="hidden" name="label" value="{{label}}"><input type="hidden" name="version" value="{{version}}">
                    <button class="secondary small" type="submit" title="Move {{label}} back to v{{version}}">Roll back to v{{version}}</button></form>{{/rollback}}</td></tr>{{/moves}}</tbody>
              </table>
              {{^moves}}<p class="muted">No label has moved yet.</p>{{/moves}}
            </section>
          </div>
          <div>
            <section class="panel"><h2>Versions</h2>
              <form id="compare-form" class="inline-form" method="get" action="{{base}}/diff">
                <label>Compare v<input name="base" value="{{compareBase}}" size="3" inputmode="numeric"></label>
                <label>with v<input name="head" value="{{compareHead}}" size="3" inputmode="numeric"></label>
                <button class="secondary" type="submit">Diff</button>
              </form>
              <table id="versions-table">
                <thead><tr><th>Version</th><th>Labels</th><th>Commit message</th><th>Model</th><th>Author</th><th>Created (UTC)</th><th></th></tr></thead>
                <tbody>{{#versions}}<tr data-href="{{href}}"><td><a class="version-link" href="{{href}}">v{{version}}</a></td>
                  <td>{{#labels}}<span class="label-chip {{labelClass}}">{{label}}</span> {{/labels}}</td>
                  <td>{{commit}}</td><td>{{model}}</td><td>{{author}}</td><td class="mono">{{created}}</td>
                  <td class="nowrap">{{#diffHref}}<a class="diff-link" href="{{diffHref}}">diff</a> · {{/diffHref}}<a href="{{playgroundHref}}">playground</a></td></tr>{{/versions}}</tbody>
              </table>
            </section>
          </div>
        </div>
        </div>
        {{/content}}{{/layout}}
        """

    static let version = """
        {{<layout}}{{$content}}
        {{> prompt-header}}
        <div id="prompt-version">
        <h1>{{name}} v{{version}} {{#labels}}<span class="label-chip {{labelClass}}">{{label}}</span> {{/labels}}{{#isLatest}}<span class="label-chip label-custom">latest</span>{{/isLatest}}</h1>
        <p class="toolbar">
          {{#previousHref}}<a class="button secondary" href="{{previousHref}}" rel="prev">← v{{previousVersion}}</a>{{/previousHref}}
          {{#nextHref}}<a class="button secondary" href="{{nextHref}}" rel="next">newer →</a>{{/nextHref}}
          {{#previousDiff}}<a class="button secondary" id="diff-previous" href="{{previousDiff}}">Diff with previous</a>{{/previousDiff}}
          <a class="button" id="version-edit" href="{{editHref}}">New version from v{{version}}</a>
          <a class="button secondary" id="version-playground" href="{{playgroundHref}}">Open in playground</a>
          <a class="button secondary" id="version-experiment" href="{{experimentHref}}">Run an experiment</a>
        </p>
        <div class="split">
          <div>
            <section class="panel"><h2>Version</h2><dl class="facts">
              <dt>Type</dt><dd>{{kind}}</dd>
              <dt>Commit message</dt><dd id="commit-message">{{#commit}}{{commit}}{{/commit}}{{^commit}}<span class="muted">none</span>{{/commit}}</dd>
              <dt>Author</dt><dd>{{author}}</dd>
              <dt>Created</dt><dd>{{created}} UTC</dd>
              <dt>Variables</dt><dd id="prompt-variables">{{#variables}}<code class="chip">{{.}}</code> {{/variables}}{{^hasVariables}}<span class="muted">none</span>{{/hasVariables}}</dd>
            </dl></section>
            <section class="panel"><h2>Model configuration</h2>{{#hasConfig}}<dl class="facts">{{#config}}<dt>{{label}}</dt><dd><code>{{value}}</code></dd>{{/config}}</dl>{{/hasConfig}}
              {{^hasConfig}}<p class="muted">None: the caller chooses the model and its settings.</p>{{/hasConfig}}</section>
            {{#tools}}<section class="panel"><h2>Tools</h2><pre>{{tools}}</pre></section>{{/tools}}
          </div>
          <div>
            <section class="panel" id="prompt-template"><h2>Template</h2>
              {{#text}}<pre class="template">{{{text}}}</pre>{{/text}}
              {{#messages}}<div class="msg {{role}}"><div class="role">{{role}}</div><div class="content">{{{html}}}</div></div>{{/messages}}
            </section>
          </div>
        </div>
        </div>
        {{/content}}{{/layout}}
        """

    static let diff = """
        {{<layout}}{{$content}}
        {{> prompt-header}}
        <div id="prompt-diff">
        <h1>{{name}}: v{{baseVersion}} → v{{headVersion}} <span class="muted" style="font-size:13px"><span class="diff-stat-add">+{{added}}</span> <span class="diff-stat-del">−{{removed}}</span></span></h1>
        <form class="toolbar" method="get" action="{{base}}/diff">
          <label>Base <select id="diff-base" name="base" data-autosubmit>{{#baseOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>v{{value}}</option>{{/baseOptions}}</select></label>
          <label>Head <select id="diff-head" name="head" data-autosubmit>{{#headOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>v{{value}}</option>{{/headOptions}}</select></label>
          <noscript><button>Compare</button></noscript>
          <a class="button secondary" href="{{swapHref}}">Swap</a>
        </form>
        {{#identical}}<div class="flash ok" role="status">The two versions have the same content.</div>{{/identical}}
        <div class="panel">
        <table id="diff-table" class="diff">
          <thead><tr><th colspan="2">v{{baseVersion}} <span class="muted">{{baseMeta}}</span></th><th colspan="2">v{{headVersion}} <span class="muted">{{headMeta}}</span></th></tr></thead>
          <tbody>{{#rows}}<tr>{{#left}}<td class="ln">{{number}}</td><td class="code {{cls}}">{{text}}</td>{{/left}}{{#right}}<td class="ln">{{number}}</td><td class="code {{cls}}">{{text}}</td>{{/right}}</tr>{{/rows}}</tbody>
        </table>
        </div>
        <p class="muted">Templates, variables, model settings and tools, line by line.</p>
        </div>
        {{/content}}{{/layout}}
        """

    static let playground = """
        {{<layout}}{{$content}}
        {{> prompt-header}}
        <div id="playground">
        <h1>Playground · {{name}} v{{version}}</h1>
        <form class="toolbar" method="get" action="{{base}}/playground">
          <label>Version or label <select id="playground-ref" name="ref" data-autosubmit>{{#references}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/references}}</select></label>
          <noscript><button>Load</button></noscript>
          <a class="button secondary" href="{{base}}/versions/{{version}}">View v{{version}}</a>
          <a class="button secondary" id="playground-edit" href="{{base}}/versions/new?from={{version}}">New version from v{{version}}</a>
        </form>
        {{#error}}<div class="flash error" role="alert" id="playground-error">{{error}}</div>{{/error}}
        <div class="split">
          <div>
            <form id="playground-form" class="panel stacked-form" method="post" action="{{base}}/playground">
              <input type="hidden" name="csrf" value="{{csrf}}">
              <input type="hidden" name="ref" value="{{reference}}">
              <h2>Variables</h2>
              {{#variables}}<label for="var-{{name}}"><code>{{name}}</code>{{#missing}} <span class="badge error">required</span>{{/missing}}</label>
                <textarea id="var-{{name}}" name="var.{{name}}" rows="2"{{#missing}} aria-invalid="true"{{/missing}}>\n{{value}}</textarea>{{/variables}}
              {{^hasVariables}}<p class="muted">This version has no variables.</p>{{/hasVariables}}
              <h2>Models</h2>
              <fieldset class="models">{{#models}}<label class="check"><input type="checkbox" name="model" value="{{name}}" id="{{id}}"{{#checked}} checked{{/checked}}> {{name}}</label>{{/models}}</fieldset>
              {{^hasModels}}<p class="muted">No models are configured in the gateway (tern.yaml <code>models:</code>).</p>{{/hasModels}}
              <div class="row">
                <label>Temperature <input name="temperature" value="{{temperature}}" size="6" inputmode="decimal" placeholder="{{defaultTemperature}}"></label>
                <label>Max tokens <input name="max_tokens" value="{{maxTokens}}" size="12" inputmode="numeric" placeholder="{{defaultMaxTokens}}"></label>
              </div>
              <div class="row"><button id="playground-run" type="submit">Run</button> <span class="muted">or Ctrl+Enter in a field; each model runs at once, through the gateway</span></div>
            </form>
            <section class="panel"><h2>Template</h2>
              {{#template}}{{#html}}<pre class="template">{{{html}}}</pre>{{/html}}{{/template}}
              {{#messages}}<div class="msg {{role}}"><div class="role">{{role}}</div><div class="content">{{{html}}}</div></div>{{/messages}}
            </section>
          </div>
          <div>
            {{#hasResults}}<div id="playground-results" class="results">
            {{#results}}<section class="panel result{{^ok}} failed{{/ok}}"><h2>{{model}}{{#deployment}} <span class="muted">via {{deployment}}</span>{{/deployment}}</h2>
              <dl class="facts result-facts"><dt>Tokens</dt><dd class="result-tokens">{{tokens}}</dd><dt>Cost</dt><dd class="result-cost">{{cost}}</dd>
                <dt>Latency</dt><dd class="result-latency">{{latency}}</dd><dt>Trace</dt><dd>{{#traceHref}}<a class="result-trace" href="{{traceHref}}">open trace</a>{{/traceHref}}{{^traceHref}}–{{/traceHref}}</dd></dl>
              {{#ok}}<pre class="result-output">{{output}}</pre>{{/ok}}
              {{^ok}}<div class="flash error result-error">{{error}}</div>{{/ok}}
            </section>{{/results}}
            </div>{{/hasResults}}
            {{^hasResults}}<div class="panel empty">Fill in the variables, choose models and run: outputs appear here side by side, each with its trace.</div>{{/hasResults}}
          </div>
        </div>
        </div>
        {{/content}}{{/layout}}
        """
}
