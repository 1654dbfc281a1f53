/// Templates of the forms that create things: a prompt or a prompt version, and an experiment run.
/// Every value is `{{escaped}}`; a textarea's value follows a line break, which HTML drops, so a value
/// that starts with one keeps it.
enum EditorTemplates {
    static let all: [String: String] = ["prompt-edit": prompt, "experiment-new": experiment, "field-error": fieldError]

    /// The error of one field, shown under it; the section's value is the message.
    static let fieldError = """
        <div class="field-error" role="alert">{{.}}</div>
        """

    static let prompt = """
        {{<layout}}{{$content}}
        {{#isNew}}<nav class="crumbs" aria-label="Breadcrumb"><a href="/ui/{{project.slug}}/prompts">Prompts</a> / new</nav>{{/isNew}}
        {{^isNew}}{{> prompt-header}}{{/isNew}}
        <div id="prompt-editor">
        <h1>{{#isNew}}New prompt{{/isNew}}{{^isNew}}New version of {{name}}{{#baseVersion}} <span class="muted" style="font-size:13px">starting from v{{baseVersion}}</span>{{/baseVersion}}{{/isNew}}</h1>
        {{#hasErrors}}<div class="flash error" role="alert" id="prompt-errors">Nothing was saved: {{errorCount}} fixing (marked below). Everything you typed is still here.</div>{{/hasErrors}}
        {{#notice}}<div class="flash" role="status" id="prompt-notice">{{notice}}</div>{{/notice}}
        {{#olderBase}}<div class="flash" role="status" id="older-base">This form starts from v{{from}}; the newest version is v{{latest}}. Saving makes a new version with what the form holds. <a href="{{latestHref}}">Start from v{{latest}} instead</a>.</div>{{/olderBase}}
        <form id="prompt-form" class="panel stacked-form prompt-form" method="post" action="{{action}}">
          <button type="submit" class="sr-only" tabindex="-1" aria-hidden="true">Save</button>
          <input type="hidden" name="csrf" value="{{csrf}}">
          {{#baseVersion}}<input type="hidden" name="base" value="{{baseVersion}}">{{/baseVersion}}
          {{#isNew}}<label for="prompt-name">Name <span class="muted">(letters, digits, - _ and .)</span></label>
          <input id="prompt-name" name="name" value="{{draft.name}}" required maxlength="200" autocomplete="off" placeholder="support-answer"{{#err.name}} aria-invalid="true"{{/err.name}}>
          {{#err.name}}{{> field-error}}{{/err.name}}{{/isNew}}
          {{^isNew}}<input type="hidden" name="name" value="{{draft.name}}">{{/isNew}}

          <fieldset class="kind-choice"><legend>Type</legend>
            <label class="check"><input type="radio" id="prompt-kind-chat" name="kind" value="chat"{{#isChat}} checked{{/isChat}}> chat: role and content messages</label>
            <label class="check"><input type="radio" id="prompt-kind-text" name="kind" value="text"{{#isText}} checked{{/isText}}> text: one template</label>
          </fieldset>
          {{#err.kind}}{{> field-error}}{{/err.kind}}

          <section id="messages-section" data-kind-section="chat">
            <h2>Messages <span class="muted">use <code>&#123;&#123;variable&#125;&#125;</code> for values filled in later</span></h2>
            {{#err.messages}}{{> field-error}}{{/err.messages}}
            <div id="message-rows">
            {{#messages}}<div class="message-row{{#error}} invalid{{/error}}">
              <label>Role <select class="message-role" name="message.{{index}}.role">{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/roles}}</select></label>
              <label class="grow">Content <textarea class="message-content" name="message.{{index}}.content" rows="4"{{#error}} aria-invalid="true"{{/error}}>
        {{content}}</textarea></label>
              <button type="submit" class="secondary small remove-message" name="remove" value="{{index}}" formnovalidate title="Remove this message">Remove</button>
              {{#error}}{{> field-error}}{{/error}}
            </div>{{/messages}}
            </div>
            <template id="message-template"><div class="message-row">
              <label>Role <select class="message-role" name="message.__INDEX__.role">{{#templateRoles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/templateRoles}}</select></label>
              <label class="grow">Content <textarea class="message-content" name="message.__INDEX__.content" rows="4"></textarea></label>
              <button type="submit" class="secondary small remove-message" name="remove" value="__INDEX__" formnovalidate title="Remove this message">Remove</button>
            </div></template>
            <button type="submit" class="secondary" id="add-message" name="add" value="message" formnovalidate>Add message</button>
          </section>

          <section id="text-section" data-kind-section="text">
            <h2><label for="prompt-text">Text</label></h2>
            <textarea id="prompt-text" name="text" rows="8"{{#err.text}} aria-invalid="true"{{/err.text}}>
        {{draft.text}}</textarea>
            {{#err.text}}{{> field-error}}{{/err.text}}
          </section>

          <label for="prompt-variables">Variables <span class="muted">(names separated by commas; leave empty to declare those the template uses)</span></label>
          <input id="prompt-variables" name="variables" value="{{draft.variables}}" autocomplete="off" placeholder="company, question"{{#err.variables}} aria-invalid="true"{{/err.variables}}>
          {{#err.variables}}{{> field-error}}{{/err.variables}}

          <h2>Model configuration <span class="muted">optional: what a caller gets unless it says otherwise</span></h2>
          <div class="row">
            <label>Logical model <input id="prompt-model" name="model" list="gateway-models" value="{{draft.model}}" autocomplete="off"{{#err.model}} aria-invalid="true"{{/err.model}}></label>
            <label>Temperature <input id="prompt-temperature" name="temperature" value="{{draft.temperature}}" size="6" inputmode="decimal" placeholder="0-2"{{#err.temperature}} aria-invalid="true"{{/err.temperature}}></label>
            <label>Max tokens <input id="prompt-max-tokens" name="max_tokens" value="{{draft.maxTokens}}" size="10" inputmode="numeric"{{#err.max_tokens}} aria-invalid="true"{{/err.max_tokens}}></label>
          </div>
          <datalist id="gateway-models">{{#models}}<option value="{{.}}"></option>{{/models}}</datalist>
          {{#err.model}}{{> field-error}}{{/err.model}}{{#err.temperature}}{{> field-error}}{{/err.temperature}}{{#err.max_tokens}}{{> field-error}}{{/err.max_tokens}}
          <label for="prompt-response-format">Response format <span class="muted">(JSON, as OpenAI's <code>response_format</code>)</span></label>
          <textarea id="prompt-response-format" name="response_format" rows="2" placeholder='{"type": "json_object"}'{{#err.response_format}} aria-invalid="true"{{/err.response_format}}>
        {{draft.responseFormat}}</textarea>
          {{#err.response_format}}{{> field-error}}{{/err.response_format}}
          <label for="prompt-tools">Tools <span class="muted">(JSON list of OpenAI tool definitions)</span></label>
          <textarea id="prompt-tools" name="tools" rows="4" placeholder='[{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}]'{{#err.tools}} aria-invalid="true"{{/err.tools}}>
        {{draft.tools}}</textarea>
          {{#err.tools}}{{> field-error}}{{/err.tools}}

          <h2>Version</h2>
          <label for="prompt-commit">Commit message</label>
          <input id="prompt-commit" name="commit_message" value="{{draft.commitMessage}}" maxlength="500" placeholder="what changed and why"{{#err.commit_message}} aria-invalid="true"{{/err.commit_message}}>
          {{#err.commit_message}}{{> field-error}}{{/err.commit_message}}
          <fieldset class="models"><legend>Labels to point at this version</legend>
            {{#labelChoices}}<label class="check"><input type="checkbox" id="label-{{value}}" name="label" value="{{value}}"{{#checked}} checked{{/checked}}> <span class="label-chip {{labelClass}}">{{value}}</span> <span class="muted">{{current}}</span></label>{{/labelChoices}}
            <label>Other labels <input id="prompt-labels-other" name="labels_other" value="{{draft.otherLabels}}" autocomplete="off" placeholder="canary"{{#err.labels}} aria-invalid="true"{{/err.labels}}></label>
          </fieldset>
          {{#err.labels}}{{> field-error}}{{/err.labels}}
          {{#err.form}}{{> field-error}}{{/err.form}}
          <div class="row"><button id="prompt-save" type="submit">{{#isNew}}Create prompt{{/isNew}}{{^isNew}}Save as a new version{{/isNew}}</button>
            <a class="button secondary" href="{{cancelHref}}">Cancel</a>
            <span class="muted">The author is you. A version whose content equals the one it starts from (or the newest) is not saved again.</span></div>
        </form>
        </div>
        {{/content}}{{/layout}}
        """

    static let experiment = """
        {{<layout}}{{$content}}
        <nav class="crumbs" aria-label="Breadcrumb"><a href="{{listHref}}">Experiments</a> / new run</nav>
        <div id="experiment-new">
        <h1>New experiment run</h1>
        {{#hasErrors}}<div class="flash error" role="alert" id="run-errors">The run was not started: {{errorCount}} fixing (marked below). Everything you chose is still here.</div>{{/hasErrors}}
        <form id="run-form" class="panel stacked-form" method="post" action="{{listHref}}">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label for="run-name">Name <span class="muted">(empty: prompts × models on the dataset)</span></label>
          <input id="run-name" name="name" value="{{form.name}}" maxlength="200" autocomplete="off"{{#err.name}} aria-invalid="true"{{/err.name}}>
          {{#err.name}}{{> field-error}}{{/err.name}}

          <h2>Dataset</h2>
          <div class="row">
            <label>Dataset <select id="run-dataset" name="dataset"{{#err.dataset}} aria-invalid="true"{{/err.dataset}}>{{#datasets}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/datasets}}</select></label>
            <label>Version <input id="run-dataset-version" name="dataset_version" value="{{form.datasetVersion}}" size="6" inputmode="numeric" placeholder="latest"{{#err.dataset_version}} aria-invalid="true"{{/err.dataset_version}}></label>
          </div>
          {{^hasDatasets}}<p class="muted">No datasets yet: <a href="/ui/{{project.slug}}/datasets">create one</a> first.</p>{{/hasDatasets}}
          {{#err.dataset}}{{> field-error}}{{/err.dataset}}{{#err.dataset_version}}{{> field-error}}{{/err.dataset_version}}

          <h2>Prompt versions <span class="muted">each is a column of the matrix, once per model</span></h2>
          <div id="run-prompts" class="choice-list">{{#prompts}}<div class="choice-group"><strong>{{name}}</strong>
            {{#versions}}<label class="check"><input type="checkbox" name="prompt" value="{{value}}" id="{{id}}"{{#checked}} checked{{/checked}}> v{{version}} {{#labels}}<span class="label-chip {{labelClass}}">{{label}}</span> {{/labels}}<span class="muted">{{commit}}</span></label>{{/versions}}
            {{#more}}<span class="muted">older versions: name them below</span>{{/more}}</div>{{/prompts}}</div>
          {{^hasPrompts}}<p class="muted">No prompts yet: <a href="/ui/{{project.slug}}/prompts/.new">create one</a> first.</p>{{/hasPrompts}}
          <label for="run-prompt-refs">Other references <span class="muted">(name@version or name:label, separated by commas)</span></label>
          <input id="run-prompt-refs" name="prompt_refs" value="{{form.promptRefs}}" autocomplete="off" placeholder="qa:staging">
          {{#err.prompts}}{{> field-error}}{{/err.prompts}}

          <h2>Models</h2>
          <fieldset class="models" id="run-models">{{#models}}<label class="check"><input type="checkbox" name="model" value="{{name}}" id="{{id}}"{{#checked}} checked{{/checked}}> {{name}}</label>{{/models}}</fieldset>
          {{^hasModels}}<p class="muted">No models are configured in the gateway (tern.yaml <code>models:</code>).</p>{{/hasModels}}
          {{#err.models}}{{> field-error}}{{/err.models}}

          <h2>Evaluators</h2>
          <label for="run-assert">Assertions <span class="muted">(a JSON list, as promptfoo and <code>POST /api/v1/experiments</code> take them; values may use the item's <code>&#123;&#123;variables&#125;&#125;</code>; a comparison without a value uses the item's expected output)</span></label>
          <textarea id="run-assert" name="assert" rows="5" placeholder='[{"type": "icontains", "value": "refund"}, {"type": "llm-rubric", "value": "is polite"}]'{{#err.assert}} aria-invalid="true"{{/err.assert}}>
        {{form.assert}}</textarea>
          {{#err.assert}}{{> field-error}}{{/err.assert}}
          <div class="row">
            <label>Judge model <select id="run-grader" name="grader">{{#graders}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/graders}}</select></label>
            <label>Embedding model <select id="run-embedder" name="embedder">{{#embedders}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/embedders}}</select></label>
            <label>Pass threshold <input id="run-threshold" name="threshold" value="{{form.threshold}}" size="6" inputmode="decimal" placeholder="0-1"{{#err.threshold}} aria-invalid="true"{{/err.threshold}}></label>
          </div>
          {{#err.grader}}{{> field-error}}{{/err.grader}}{{#err.embedder}}{{> field-error}}{{/err.embedder}}{{#err.threshold}}{{> field-error}}{{/err.threshold}}

          <h2>Execution</h2>
          <div class="row">
            <label>Repeats <input id="run-repeats" name="repeats" value="{{form.repeats}}" size="4" inputmode="numeric"{{#err.repeats}} aria-invalid="true"{{/err.repeats}}></label>
            <label>Concurrency <input id="run-concurrency" name="max_concurrency" value="{{form.concurrency}}" size="4" inputmode="numeric"{{#err.max_concurrency}} aria-invalid="true"{{/err.max_concurrency}}></label>
          </div>
          {{#err.repeats}}{{> field-error}}{{/err.repeats}}{{#err.max_concurrency}}{{> field-error}}{{/err.max_concurrency}}
          {{#err.form}}{{> field-error}}{{/err.form}}
          <div class="row"><button id="run-submit" type="submit">Start run</button> <a class="button secondary" href="{{listHref}}">Cancel</a>
            <span class="muted">Runs on the server through the gateway, as you (no key limits); every cell is a traced, costed call.</span></div>
        </form>
        </div>
        {{/content}}{{/layout}}
        """
}
