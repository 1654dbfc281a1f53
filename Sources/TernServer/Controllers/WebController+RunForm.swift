import Foundation
import HTTPTypes
import Hummingbird
import TernCore
import TernWeb

/// Starting and cancelling experiment runs from the web UI. The form becomes the body
/// `POST /api/v1/experiments` takes and goes through `ExperimentsController.prepare` and the same
/// `ExperimentService`, so checks, limits and execution are the API's; the run is the signed-in user's.
extension WebController {
    /// Newest versions of each prompt offered as checkboxes (older ones are named in a text field).
    static let runFormVersions = 12

    func registerRunForm(on router: RouteCollection<TernRequestContext>, api: ExperimentsController) {
        router.get("ui/{project}/experiments/new") { request, context in try await getExperimentsNew(request, context: context, api: api) }
        router.post("ui/{project}/experiments") { request, context in try await postExperiments(request, context: context, api: api) }
        router.post("ui/{project}/experiments/{id}/cancel") { request, context in try await postExperimentCancel(request, context: context, api: api) }
    }

    func runForm(
        _ chrome: Chrome, draft: RunDraft, api: ExperimentsController, errors: [String: String],
        status: HTTPResponse.Status
    ) async throws -> Response {
        let datasets = try await store.datasets.list(projectID: chrome.project.id)
        var prompts: [RunFormPrompt] = []
        for summary in try await store.prompts.list(projectID: chrome.project.id) {
            let history = try await store.prompts.history(projectID: chrome.project.id, name: summary.name)
            prompts.append(
                RunFormPrompt(
                    name: summary.name, versions: Array(history.prefix(Self.runFormVersions)),
                    more: history.count > Self.runFormVersions))
        }
        let registry = api.gateway.registry
        let models = registry.generative.map(\.name).sorted()
        let local = registry.model(BuiltInModels.localEmbeddingModel) != nil ? BuiltInModels.localEmbeddingModel : nil
        return html(
            renderer.render(
                "experiment-new",
                ExperimentViews.newRun(
                    chrome: chrome, draft: draft, datasets: datasets, prompts: prompts, models: models,
                    embeddingModels: registry.all.map(\.name).sorted(), defaultEmbedder: local, errors: errors)), status: status)
    }

    /// The form filled in from the URL (links from a prompt version, "new run like this one"); the
    /// dataset defaults to the first one with items, the models to those the chosen versions name.
    static func runDraft(query: Parameters, chrome: Chrome, store: any TernStore, api: ExperimentsController) async throws -> RunDraft {
        var draft = RunDraft()
        draft.name = query.get("name") ?? ""
        draft.dataset = query.get("dataset") ?? ""
        if draft.dataset.isEmpty {
            draft.dataset = try await store.datasets.list(projectID: chrome.project.id).first { $0.latestVersion > 0 }?.name ?? ""
        }
        draft.datasetVersion = query.get("dataset_version") ?? ""
        var others: [String] = []
        for reference in query.getAll("prompt") where !reference.isEmpty {
            // Versions offered as checkboxes are ticked; anything else goes to the text field.
            if let at = reference.lastIndex(of: "@"), let number = Int(reference[reference.index(after: at)...]),
                let version = try await store.prompts.get(projectID: chrome.project.id, name: String(reference[..<at]), version: number)
            {
                let newest = try await store.prompts.get(projectID: chrome.project.id, name: version.name, label: "latest")?.version ?? number
                if newest - number < runFormVersions { draft.prompts.append(reference) } else { others.append(reference) }
                if query.getAll("model").isEmpty, let model = version.config.model, api.gateway.registry.model(model) != nil,
                    !draft.models.contains(model)
                {
                    draft.models.append(model)
                }
            } else {
                others.append(reference)
            }
        }
        draft.promptRefs = others.joined(separator: ", ")
        draft.models += query.getAll("model").filter { !$0.isEmpty }
        draft.assert = query.get("assert") ?? ""
        draft.grader = query.get("grader") ?? ""
        draft.embedder = query.get("embedder") ?? ""
        draft.threshold = query.get("threshold") ?? ""
        draft.repeats = query.get("repeats") ?? "1"
        draft.concurrency = query.get("max_concurrency") ?? "4"
        return draft
    }

    static func runDraft(_ form: WebForm) -> RunDraft {
        var draft = RunDraft()
        draft.name = form["name"] ?? ""
        draft.dataset = form["dataset"] ?? ""
        draft.datasetVersion = form["dataset_version"] ?? ""
        draft.prompts = form.all("prompt").filter { !$0.isEmpty }
        draft.promptRefs = form["prompt_refs"] ?? ""
        draft.models = form.all("model").filter { !$0.isEmpty }
        draft.assert = form["assert"] ?? ""
        draft.grader = form["grader"] ?? ""
        draft.embedder = form["embedder"] ?? ""
        draft.threshold = form["threshold"] ?? ""
        draft.repeats = form["repeats"] ?? ""
        draft.concurrency = form["max_concurrency"] ?? ""
        return draft
    }

    /// The body of `POST /api/v1/experiments` the form describes. What only a form can get wrong
    /// (a number that is not one, JSON that does not parse) is reported for every field at once; the
    /// body holds the rest, so the API's checks can report theirs too.
    static func runBody(_ draft: RunDraft) -> (body: JSONValue, errors: [String: String]) {
        var errors: [String: String] = [:]
        let prompts = draft.allPrompts
        var body: [String: JSONValue] = [
            "dataset": .string(draft.dataset.trimmingCharacters(in: .whitespaces)),
            "prompts": .array(prompts.map(JSONValue.string)),
            "models": .array(draft.models.map(JSONValue.string)),
        ]
        let name = draft.name.nonBlank ?? "\(prompts.joined(separator: ", ")) × \(draft.models.joined(separator: ", ")) on \(draft.dataset)"
        body["name"] = .string(name.count > 200 ? String(name.prefix(199)) + "…" : name)
        func whole(_ text: String, _ field: String, _ key: String, into target: inout [String: JSONValue]) {
            guard let text = text.nonBlank else { return }
            if let number = Int(text) { target[key] = .number(Double(number)) } else { errors[field] = "expected a whole number, got \"\(text)\"" }
        }
        whole(draft.datasetVersion, "dataset_version", "dataset_version", into: &body)
        whole(draft.repeats, "repeats", "repeats", into: &body)
        var options: [String: JSONValue] = [:]
        whole(draft.concurrency, "max_concurrency", "max_concurrency", into: &options)
        if let grader = draft.grader.nonBlank { options["grader"] = .string(grader) }
        if let embedder = draft.embedder.nonBlank { options["embedder"] = .string(embedder) }
        if let text = draft.threshold.nonBlank {
            if let number = Double(text) {
                options["threshold"] = .number(number)
            } else {
                errors["threshold"] = "expected a number from 0 to 1, got \"\(text)\""
            }
        }
        if !options.isEmpty { body["options"] = .object(options) }
        if let text = draft.assert.nonBlank {
            if let value = try? JSONValue.parse(Data(text.utf8)) {
                body["assert"] = value
            } else {
                errors["assert"] = "not valid JSON; expected a list of assertions, [{\"type\": \"contains\", \"value\": \"...\"}]"
            }
        }
        return (.object(body), errors)
    }

    /// The form field an API error names (`prompts[1]` is the prompts field, `options.grader` the judge).
    static func runField(_ field: String?) -> String {
        guard let field else { return "form" }
        let root = String(field.prefix { $0 != "[" && $0 != "." })
        if root == "options" {
            let option = String(field.dropFirst("options.".count).prefix { $0 != "[" && $0 != "." })
            return ["max_concurrency", "grader", "embedder", "threshold"].contains(option) ? option : "form"
        }
        return ["name", "dataset", "dataset_version", "prompts", "models", "repeats", "assert"].contains(root) ? root : "form"
    }
}

// MARK: - Handlers

extension WebController {
    /// `GET /ui/{project}/experiments/new`
    @Sendable func getExperimentsNew(_ request: Request, context: TernRequestContext, api: ExperimentsController) async throws -> some ResponseGenerator {
        try await page(request, context, active: "experiments") { chrome in
            let draft = try await Self.runDraft(query: request.uri.queryParameters, chrome: chrome, store: store, api: api)
            return try await runForm(chrome, draft: draft, api: api, errors: [:], status: .ok)
        }
    }

    /// `POST /ui/{project}/experiments`
    @Sendable func postExperiments(_ request: Request, context: TernRequestContext, api: ExperimentsController) async throws -> some ResponseGenerator {
        try await page(request, context, active: "experiments", form: true) { chrome in
            let form = try await WebForm.read(request, limit: maxBody)
            let user = try await editor(request, form, to: "starting an experiment")
            let draft = Self.runDraft(form)
            let (body, formErrors) = Self.runBody(draft)
            var errors = formErrors
            let session = await viewer(request)?.2 ?? ""
            let (prepared, problems) = await api.prepareCollectingProblems(body, projectID: chrome.project.id, principal: .user(user, sessionID: session))
            if let failure = problems.first(where: { $0.kind != .invalidInput }) { throw failure }
            guard let job = prepared, problems.isEmpty, errors.isEmpty else {
                // Every field's first error at once: the form's own, then the API's.
                for error in problems {
                    let field = Self.runField(error.field)
                    if errors[field] == nil { errors[field] = error.field.map { $0 == field ? error.message : "\($0): \(error.message)" } ?? error.message }
                }
                return try await runForm(chrome, draft: draft, api: api, errors: errors, status: .badRequest)
            }
            _ = try await store.experiments.create(job.run)
            api.service.launch(job)
            return Self.redirect("/ui/\(Views.percent(chrome.project.slug))/experiments/\(Views.percent(job.run.id))")
        }
    }

    /// `POST /ui/{project}/experiments/{id}/cancel`
    @Sendable func postExperimentCancel(_ request: Request, context: TernRequestContext, api: ExperimentsController) async throws -> some ResponseGenerator {
        try await page(request, context, active: "experiments", form: true) { chrome in
            let id = try context.parameters.string("id")
            let form = try await WebForm.read(request, limit: maxBody)
            let user = try await editor(request, form, to: "cancelling an experiment")
            guard try await api.service.cancel(projectID: chrome.project.id, id: id, by: "user:\(user.id)") != nil else {
                throw TernError.notFound("experiment \(id)")
            }
            return Self.redirect("/ui/\(Views.percent(chrome.project.slug))/experiments/\(Views.percent(id))")
        }
    }
}
