/// The UI's mustache templates. `{{x}}` escapes HTML; `{{{x}}}` is used only for markup Tern
/// builds itself (SVG charts, whose text is escaped when they are drawn).
enum Templates {
    static let all: [String: String] = [
        "layout": layout, "login": login, "dashboard": dashboard, "traces": traces, "trace": trace, "sessions": sessions,
        "session": session, "users": users, "message": message, "observation": observation,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Tern</title>
        <link rel="stylesheet" href="/ui/static/tern.css">
        <script src="/ui/static/tern.js" defer></script>
        </head>
        <body>
        {{#chrome}}
        <header class="topbar">
          <a class="brand" href="/ui/{{project.slug}}/dashboard">Tern</a>
          <form class="project-switch" method="get" action="/ui/switch">
            <label for="project-select" class="sr-only">Project</label>
            <select id="project-select" name="project">{{#projects}}<option value="{{slug}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/projects}}</select>
            <noscript><button class="secondary">Open</button></noscript>
          </form>
          <nav class="mainnav" aria-label="Sections">
            {{#nav}}{{#enabled}}<a id="nav-{{id}}" href="{{href}}"{{#active}} aria-current="page"{{/active}}>{{label}}</a>{{/enabled}}{{^enabled}}<span id="nav-{{id}}" class="soon" aria-disabled="true" title="{{label}}: not in this release yet">{{label}}</span>{{/enabled}}{{/nav}}
          </nav>
          <div class="user"><span>{{user}}</span>
            <form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button class="link" type="submit">Sign out</button></form>
          </div>
        </header>
        {{/chrome}}
        <main>
        {{#flash}}<div class="flash {{kind}}" role="status">{{message}}</div>{{/flash}}
        {{$content}}{{/content}}
        </main>
        </body>
        </html>
        """

    static let login = """
        {{<layout}}{{$content}}
        <div class="login panel">
          <h1>Sign in to Tern</h1>
          <form method="post" action="/ui/login">
            <input type="hidden" name="next" value="{{next}}">
            <label>E-mail <input id="login-email" name="email" type="email" autocomplete="username" required value="{{email}}" autofocus></label>
            <label>Password <input id="login-password" name="password" type="password" autocomplete="current-password" required></label>
            <button id="login-submit" type="submit">Sign in</button>
          </form>
          <p class="muted">Create a user with <code>tern users create</code>.</p>
        </div>
        {{/content}}{{/layout}}
        """

    static let dashboard = """
        {{<layout}}{{$content}}
        <div id="dashboard">
        <form class="toolbar" method="get" action="/ui/{{project.slug}}/dashboard">
          <h1 style="margin-right:auto">Dashboard</h1>
          <label>Range <select id="range" name="range" data-autosubmit>{{#ranges}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/ranges}}</select></label>
          <label>Bucket <select id="bucket" name="bucket" data-autosubmit>{{#buckets}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/buckets}}</select></label>
          <label>Segment <select id="segment" name="segment" data-autosubmit>{{#segments}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/segments}}</select></label>
          <noscript><button>Apply</button></noscript>
        </form>
        <div class="kpis">
          {{#kpis}}<div class="kpi"><div class="label">{{label}}</div><div class="value" id="kpi-{{id}}">{{value}}</div></div>{{/kpis}}
        </div>
        <div class="grid">
          {{#charts}}<section class="panel"><h2>{{title}}</h2><div class="chart">{{{svg}}}</div>{{#note}}<p class="muted">{{note}}</p>{{/note}}</section>{{/charts}}
        </div>
        <p class="muted">{{from}} – {{to}} (UTC) · {{source}}</p>
        </div>
        {{/content}}{{/layout}}
        """

    static let traces = """
        {{<layout}}{{$content}}
        <h1>Traces</h1>
        <form id="trace-filters" class="toolbar" method="get" action="/ui/{{project.slug}}/traces">
          <label>Search <input name="q" type="search" value="{{filters.q}}" placeholder="input or output  ( / )"></label>
          <label>Model <input name="model" value="{{filters.model}}" size="14"></label>
          <label>Status <select name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
          <label>Name <input name="name" value="{{filters.name}}" size="10"></label>
          <label>User <input name="user_id" value="{{filters.user_id}}" size="10"></label>
          <label>Session <input name="session_id" value="{{filters.session_id}}" size="10"></label>
          <label>Tag <input name="tag" value="{{filters.tag}}" size="8"></label>
          <label>Task <input name="task" value="{{filters.task}}" size="8"></label>
          <label>Language <input name="language" value="{{filters.language}}" size="5"></label>
          <label>Domain <input name="domain" value="{{filters.domain}}" size="8"></label>
          <label>Min ms <input name="min_latency_ms" value="{{filters.min_latency_ms}}" size="6" inputmode="decimal"></label>
          <label>Min $ <input name="min_cost" value="{{filters.min_cost}}" size="6" inputmode="decimal"></label>
          <label>Sort <select name="sort">{{#sorts}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sorts}}</select></label>
          {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
          <button id="filter-submit" type="submit">Filter</button>
          <a class="button secondary" href="/ui/{{project.slug}}/traces">Clear</a>
        </form>
        {{#error}}<div class="flash error" role="alert">{{error}}</div>{{/error}}
        <div class="panel">
        <table id="traces-table">
          <thead><tr><th>Time (UTC)</th><th>Name</th><th>Input</th><th>User</th><th>Model</th>
            <th class="num"><a href="{{sortLatency}}">Latency</a></th><th class="num">Tokens</th><th class="num"><a href="{{sortCost}}">Cost</a></th><th>Status</th><th>Tags</th></tr></thead>
          <tbody>
          {{#rows}}
          <tr data-href="{{href}}">
            <td class="mono"><a class="trace-link" href="{{href}}">{{time}}</a></td>
            <td>{{name}}</td>
            <td class="trace-input" title="{{input}}">{{inputPreview}}</td>
            <td class="nowrap">{{#user}}<a href="{{userHref}}">{{user}}</a>{{/user}}</td>
            <td>{{model}}</td>
            <td class="num">{{latency}}</td>
            <td class="num">{{tokens}}</td>
            <td class="num">{{cost}}</td>
            <td><span class="badge {{statusClass}}">{{status}}</span></td>
            <td>{{#tags}}<span class="chip">{{.}}</span>{{/tags}}</td>
          </tr>
          {{/rows}}
          </tbody>
        </table>
        {{^rows}}<div class="empty">No traces match these filters.</div>{{/rows}}
        <div class="pager">{{#next}}<a id="next-page" class="button secondary" href="{{next}}">Next page →</a>{{/next}}</div>
        </div>
        <p class="muted"><span class="kbd">/</span> search · <span class="kbd">j</span>/<span class="kbd">k</span> move · <span class="kbd">Enter</span> open</p>
        {{/content}}{{/layout}}
        """

    static let message = """
        <div class="msg {{role}}"><div class="role">{{role}}{{#name}} · {{name}}{{/name}}</div>{{#content}}<div class="content">{{content}}</div>{{/content}}{{#toolCalls}}<div class="toolcall"><span class="type">tool call</span><code>{{name}}</code><pre>{{arguments}}</pre></div>{{/toolCalls}}</div>
        """

    static let observation = """
        <details class="tree-node" id="obs-{{id}}"{{#open}} open{{/open}}>
          <summary><span class="type">{{type}}</span><strong>{{name}}</strong> <span class="muted">{{duration}}{{#model}} · {{model}}{{/model}}{{#tokens}} · {{tokens}} tokens{{/tokens}}{{#cost}} · {{cost}}{{/cost}}</span>{{#error}} <span class="badge error">error</span>{{/error}}</summary>
          <dl class="facts">{{#facts}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/facts}}</dl>
          {{#input}}<h2>Input</h2>{{#messages}}{{> message}}{{/messages}}{{#text}}<pre>{{text}}</pre>{{/text}}{{/input}}
          {{#output}}<h2>Output</h2>{{#messages}}{{> message}}{{/messages}}{{#text}}<pre>{{text}}</pre>{{/text}}{{/output}}
          {{#children}}{{> observation}}{{/children}}
        </details>
        """

    static let trace = """
        {{<layout}}{{$content}}
        <div id="trace-detail">
        <h1>{{name}} <span class="muted mono" style="font-size:13px">{{id}}</span></h1>
        <div class="kpis">{{#kpis}}<div class="kpi"><div class="label">{{label}}</div><div class="value">{{value}}</div></div>{{/kpis}}</div>
        <div class="split">
          <div>
            <section class="panel"><h2>Trace</h2><dl class="facts">{{#facts}}<dt>{{label}}</dt><dd>{{#href}}<a href="{{href}}">{{value}}</a>{{/href}}{{^href}}{{value}}{{/href}}</dd>{{/facts}}</dl>
              {{#hasTags}}<p>{{#tags}}<span class="chip">{{.}}</span>{{/tags}}</p>{{/hasTags}}
              {{#metadata}}<h2>Metadata</h2><pre>{{metadata}}</pre>{{/metadata}}
            </section>
            <section class="panel"><h2>Scores</h2>
              <table id="scores-table"><thead><tr><th>Name</th><th>Value</th><th>Source</th><th>Comment</th><th>By</th></tr></thead>
              <tbody>{{#scores}}<tr><td>{{name}}</td><td class="num">{{value}}</td><td>{{source}}</td><td>{{comment}}</td><td>{{author}}</td></tr>{{/scores}}</tbody></table>
              {{^scores}}<p class="muted">No scores yet.</p>{{/scores}}
              <h2 style="margin-top:12px">Add a score</h2>
              <form id="score-form" class="score-form" method="post" action="/ui/{{project.slug}}/traces/{{id}}/scores">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <label class="sr-only" for="score-name">Name</label><input id="score-name" name="name" placeholder="name, e.g. helpfulness" required list="score-names">
                <label class="sr-only" for="score-value">Value</label><input id="score-value" name="value" placeholder="0.8, good, true" required>
                <label class="sr-only" for="score-comment">Comment</label><textarea id="score-comment" name="comment" placeholder="reason (optional)"></textarea>
                <datalist id="score-names">{{#scoreNames}}<option value="{{.}}">{{/scoreNames}}</datalist>
                <button id="score-submit" type="submit">Add score</button>
              </form>
            </section>
            {{#datasetForm}}{{> add-to-dataset}}{{/datasetForm}}
            <section class="panel"><h2>Input</h2>{{#input}}{{#messages}}{{> message}}{{/messages}}{{#text}}<pre id="trace-input">{{text}}</pre>{{/text}}{{/input}}{{^input}}<p class="muted">none</p>{{/input}}</section>
            <section class="panel"><h2>Output</h2>{{#output}}{{#messages}}{{> message}}{{/messages}}{{#text}}<pre id="trace-output">{{text}}</pre>{{/text}}{{/output}}{{^output}}<p class="muted">none</p>{{/output}}</section>
          </div>
          <div>
            <section class="panel"><h2>Timeline</h2>
              <div id="waterfall" class="waterfall">
              {{#waterfall}}<div class="wf-row"><div class="wf-name" style="padding-left:{{indent}}px"><a href="#obs-{{id}}"><span class="type">{{type}}</span>{{name}}</a></div>
                <div class="wf-track" title="{{title}}"><div class="wf-bar {{barClass}}" style="left:{{left}}%;width:{{width}}%"></div></div><div class="num muted">{{duration}}</div></div>{{/waterfall}}
              {{^waterfall}}<p class="muted">No observations.</p>{{/waterfall}}
              </div>
            </section>
            {{#hasCosts}}<section class="panel"><h2>Tokens and cost</h2><table><thead><tr><th>Generation</th><th>Model</th><th class="num">Input</th><th class="num">Output</th><th class="num">Cached</th><th class="num">Cost</th></tr></thead>
              <tbody>{{#costs}}<tr><td>{{name}}</td><td>{{model}}</td><td class="num">{{input}}</td><td class="num">{{output}}</td><td class="num">{{cached}}</td><td class="num">{{cost}}</td></tr>{{/costs}}</tbody></table></section>{{/hasCosts}}
            <section class="panel"><h2>Observations</h2><div id="observation-tree">{{#tree}}{{> observation}}{{/tree}}</div></section>
          </div>
        </div>
        </div>
        {{/content}}{{/layout}}
        """

    static let sessions = """
        {{<layout}}{{$content}}
        <h1>Sessions</h1>
        <form class="toolbar" method="get" action="/ui/{{project.slug}}/sessions">
          <label>Range <select name="range" data-autosubmit>{{#ranges}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/ranges}}</select></label>
          <label>User <input name="user_id" value="{{userID}}" size="12"></label>
          <button type="submit">Filter</button>
        </form>
        <div class="panel"><table id="sessions-table">
          <thead><tr><th>Session</th><th>User</th><th class="num">Traces</th><th>First</th><th>Last</th><th class="num">Tokens</th><th class="num">Cost</th><th class="num">Errors</th></tr></thead>
          <tbody>{{#rows}}<tr data-href="{{href}}"><td class="mono"><a href="{{href}}">{{id}}</a></td><td>{{user}}</td><td class="num">{{traces}}</td><td class="mono">{{first}}</td><td class="mono">{{last}}</td><td class="num">{{tokens}}</td><td class="num">{{cost}}</td><td class="num">{{errors}}</td></tr>{{/rows}}</tbody>
        </table>{{^rows}}<div class="empty">No sessions in this range.</div>{{/rows}}</div>
        {{/content}}{{/layout}}
        """

    static let session = """
        {{<layout}}{{$content}}
        <h1>Session <span class="mono">{{id}}</span></h1>
        <p class="muted">{{count}} traces{{#user}} · user <a href="/ui/{{project.slug}}/traces?user_id={{user}}">{{user}}</a>{{/user}} · {{tokens}} tokens · {{cost}}</p>
        <div id="session-traces">
        {{#turns}}<section class="panel"><h2><a class="trace-link" href="{{href}}">{{time}}</a> · {{name}} <span class="muted">{{latency}} · {{model}}</span> <span class="badge {{statusClass}}">{{status}}</span></h2>
          {{#input}}{{#messages}}{{> message}}{{/messages}}{{#text}}<div class="msg user"><div class="role">input</div><div class="content">{{text}}</div></div>{{/text}}{{/input}}
          {{#output}}{{#messages}}{{> message}}{{/messages}}{{#text}}<div class="msg assistant"><div class="role">output</div><div class="content">{{text}}</div></div>{{/text}}{{/output}}
        </section>{{/turns}}
        {{^turns}}<div class="empty">No traces in this session.</div>{{/turns}}
        </div>
        {{#more}}<p class="muted">Showing the first {{shown}} traces.</p>{{/more}}
        {{/content}}{{/layout}}
        """

    static let users = """
        {{<layout}}{{$content}}
        <h1>Users</h1>
        <form class="toolbar" method="get" action="/ui/{{project.slug}}/users">
          <label>Range <select name="range" data-autosubmit>{{#ranges}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/ranges}}</select></label>
          <noscript><button>Apply</button></noscript>
        </form>
        <div class="panel"><table id="users-table">
          <thead><tr><th>User</th><th class="num">Traces</th><th>Traces per day</th><th class="num">Error rate</th><th class="num">Tokens</th><th class="num">Cost</th><th class="num">p95 latency</th></tr></thead>
          <tbody>{{#rows}}<tr data-href="{{href}}"><td><a href="{{href}}">{{user}}</a></td><td class="num">{{traces}}</td><td class="chart">{{{spark}}}</td><td class="num">{{errorRate}}</td><td class="num">{{tokens}}</td><td class="num">{{cost}}</td><td class="num">{{p95}}</td></tr>{{/rows}}</tbody>
        </table>{{^rows}}<div class="empty">No users in this range.</div>{{/rows}}
        <p class="muted">The {{limit}} most active users; the rest are summed as (other).</p></div>
        {{/content}}{{/layout}}
        """
}
