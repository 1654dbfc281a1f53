import Foundation
import TernCore
import TernEval
import TernGateway

/// Reading and checking `POST /api/v1/experiments`: every error names the field it is about.
extension ExperimentsController {
    static let bodyKeys: Set<String> = ["name", "dataset", "dataset_version", "prompts", "models", "repeats", "assert", "options"]
    static let optionKeys: Set<String> = ["max_concurrency", "grader", "embedder", "threshold", "cache"]
    /// Types judged by a chat model, and those that need an embedding model.
    static let judgedTypes = Set(
        LLMRubricEvaluator.types + GEvalEvaluator.types + FactualityEvaluator.types + ClosedQAEvaluator.types
            + AnswerRelevanceEvaluator.types + ContextFaithfulnessEvaluator.types + SelectBestEvaluator.types)
    static let embeddingTypes = Set(SimilarEvaluator.types + AnswerRelevanceEvaluator.types)

    func prepare(_ body: JSONValue, projectID: String, principal: Principal) async throws -> ExperimentService.Job {
        let (job, problems) = await prepareCollectingProblems(body, projectID: projectID, principal: principal)
        if let first = problems.first { throw first }
        return job!
    }

    /// The run, or every problem of the request that can be found at once (each part is checked even
    /// when another failed, so a form shows all its errors together); an error that is not about the
    /// request (the database) is thrown.
    func prepareCollectingProblems(
        _ body: JSONValue, projectID: String, principal: Principal
    ) async -> (job: ExperimentService.Job?, problems: [TernError]) {
        var problems: [TernError] = []
        func check<T>(_ part: () async throws -> T) async -> T? {
            do { return try await part() } catch let error as TernError {
                problems.append(error)
            } catch {
                problems.append(TernError.internalError("\(error)"))
            }
            return nil
        }
        let name: String? = await check {
            guard let name = try Self.string(body, "name"), !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200 else {
                throw TernError.invalid("name", "required: a name of 1-200 characters")
            }
            return name
        }
        let found: (dataset: Dataset, version: Int)? = await check {
            guard let datasetName = try Self.string(body, "dataset"), !datasetName.isEmpty else {
                throw TernError.invalid("dataset", "required: the name of a dataset")
            }
            guard let dataset = try await store.datasets.get(projectID: projectID, name: datasetName) else {
                throw TernError.invalid("dataset", "no dataset named \"\(datasetName)\" in this project", code: "invalid_value")
            }
            let version = try Self.int(body, "dataset_version", range: 1...Int.max) ?? dataset.latestVersion
            guard version >= 1, version <= dataset.latestVersion else {
                throw TernError.invalid(
                    "dataset_version",
                    dataset.latestVersion == 0
                        ? "the dataset has no items yet"
                        : "the dataset has versions 1-\(dataset.latestVersion), not \(version)", code: "invalid_value")
            }
            return (dataset, version)
        }
        let prompts = await check { try await resolvePrompts(body, projectID: projectID) }
        let models: [String]? = await check {
            let models = try Self.strings(body, "models")
            guard !models.isEmpty else { throw TernError.invalid("models", "required: a non-empty list of the gateway's model names") }
            for (index, model) in models.enumerated() {
                guard let config = gateway.registry.model(model) else { throw unknownModel(model, field: "models[\(index)]") }
                if gateway.registry.embeddingsOnly(config) {
                    throw TernError.invalid("models[\(index)]", "\(model) serves embeddings only; a run's models answer prompts")
                }
            }
            guard Set(models).count == models.count else { throw TernError.invalid("models", "a model appears twice") }
            return models
        }
        let repeats = await check { try Self.int(body, "repeats", range: 1...20) ?? 1 }

        let options = body["options"] ?? .object([:])
        guard let optionObject = options.object else { return (nil, problems + [TernError.invalid("options", "expected an object")]) }
        if let unknown = optionObject.keys.sorted().first(where: { !Self.optionKeys.contains($0) }) {
            problems.append(
                TernError.invalid(
                    "options.\(unknown)", "unknown option (allowed: \(Self.optionKeys.sorted().joined(separator: ", ")))",
                    code: "unknown_field"))
        }
        let concurrency = await check { try Self.int(options, "max_concurrency", range: 1...64, path: "options.") ?? 4 }
        let grader: String?? = await check {
            let grader = try Self.string(options, "grader", path: "options.")
            if let grader, gateway.registry.model(grader) == nil { throw unknownModel(grader, field: "options.grader") }
            return grader
        }
        let namedEmbedder: String?? = await check {
            let named = try Self.string(options, "embedder", path: "options.")
            if let named, gateway.registry.model(named) == nil { throw unknownModel(named, field: "options.embedder") }
            return named
        }
        // Without options.embedder, similar and answer-relevance use the built-in local model while the gateway serves it.
        let embedder =
            (namedEmbedder ?? nil) ?? (gateway.registry.model(BuiltInModels.localEmbeddingModel) != nil ? BuiltInModels.localEmbeddingModel : nil)
        let cache: Bool? = await check {
            switch options["cache"] {
            case nil, .null?: return true
            case .bool(let value)?: return value
            default: throw TernError.invalid("options.cache", "expected true or false")
            }
        }
        let runThreshold: Double?? = await check {
            let threshold = try FieldReader(body: options, path: "options").double("threshold")
            if let threshold, !(0...1).contains(threshold) { throw TernError.invalid("options.threshold", "expected a number 0-1") }
            return threshold
        }
        let checked = await check { try checkAssertions(body["assert"], grader: grader ?? nil, embedder: embedder) }
        guard problems.isEmpty, let name, let found, let prompts, let models, let repeats, let concurrency,
            let grader, let cache, let runThreshold, let assertions = checked
        else { return (nil, problems) }
        do {
            let job = try await plannedJob(
                name: name, dataset: found.dataset, version: found.version, prompts: prompts, models: models, repeats: repeats, concurrency: concurrency,
                grader: grader, namedEmbedder: namedEmbedder ?? nil, embedder: embedder, cache: cache, runThreshold: runThreshold,
                assertions: assertions, body: body, optionObject: optionObject, projectID: projectID, principal: principal)
            return (job, [])
        } catch let error as TernError {
            return (nil, [error])
        } catch {
            return (nil, [TernError.internalError("\(error)")])
        }
    }

    /// The run of a checked request: its items, plan and judge prompts.
    func plannedJob(
        name: String, dataset: Dataset, version: Int, prompts: [PromptVersion], models: [String], repeats: Int, concurrency: Int,
        grader: String?, namedEmbedder: String?, embedder: String?, cache: Bool, runThreshold: Double?, assertions: CheckedAssertions,
        body: JSONValue, optionObject: [String: JSONValue], projectID: String, principal: Principal
    ) async throws -> ExperimentService.Job {
        let datasetName = dataset.name

        // Items of the version, in id order (pages of 1,000).
        var items: [DatasetItem] = []
        var after: String?
        repeat {
            let page = try await store.datasets.items(projectID: projectID, dataset: datasetName, version: version, after: after, limit: 1000)
            items += page
            after = page.count == 1000 ? page.last?.id : nil
            guard items.count <= Self.maxItems else { throw TernError.invalid("dataset", "at most \(Self.maxItems) items per run") }
        } while after != nil
        guard !items.isEmpty else { throw TernError.invalid("dataset_version", "version \(version) of \(datasetName) has no items") }
        let plan = ExperimentPlan(items: items, prompts: prompts, models: models, repeats: repeats, assertions: assertions.specs, threshold: runThreshold)
        guard plan.cellCount <= Self.maxCells else {
            throw TernError.invalid("repeats", "the run would have \(plan.cellCount) cells (items x prompts x models x repeats); at most \(Self.maxCells)")
        }

        // Judge prompts: a project's own tern-judge-* versions (production, else latest) replace the built-in ones.
        var overrides: [String: PromptVersion] = [:]
        if !assertions.judged.isEmpty {
            for judge in JudgePrompts.names {
                if let version = try await labelled(projectID: projectID, name: judge) { overrides[judge] = version }
            }
        }
        var resolvedOptions = optionObject
        resolvedOptions["max_concurrency"] = .number(Double(concurrency))
        if namedEmbedder == nil, assertions.defaultEmbedded, let embedder { resolvedOptions["embedder"] = .string(embedder) }
        if !overrides.isEmpty {
            resolvedOptions["judge_prompts"] = .object(overrides.mapValues { .string("\($0.name)@\($0.version)") })
        }

        let now = Timestamp.now()
        let run = ExperimentRun(
            id: TernID.makeTimeOrdered(), projectID: projectID, name: name, datasetID: dataset.id, datasetName: dataset.name, datasetVersion: version,
            prompts: prompts.map { "\($0.name)@\($0.version)" }, models: models, repeats: repeats, assertions: body["assert"] ?? .array([]),
            options: .object(resolvedOptions), plannedCells: plan.cellCount, createdAt: now, createdBy: principal.actor)
        return ExperimentService.Job(
            run: run, plan: plan, key: gatewayKey(principal, projectID: projectID), concurrency: concurrency, grader: grader,
            embedder: embedder, judgePrompts: JudgePrompts(overrides: overrides), cache: cache)
    }

    /// The key the run's gateway calls are made with: the caller's API key (its limits and budget
    /// apply), or for a signed-in user a key that exists for this run only, without limits.
    func gatewayKey(_ principal: Principal, projectID: String) -> APIKey {
        switch principal {
        case .apiKey(let key): key
        case .user(let user, _):
            APIKey(id: "user:\(user.id)", projectID: projectID, name: "experiments of \(user.email)", prefix: "", role: user.role, createdAt: Date())
        }
    }

    func unknownModel(_ model: String, field: String) -> TernError {
        let known = gateway.registry.all.map(\.name).sorted().joined(separator: ", ")
        return TernError.invalid(field, "the gateway has no model \"\(model)\" (models: \(known.isEmpty ? "none configured" : known))", code: "invalid_value")
    }

    /// `name@version`, `name:label`, or `name` (the `production` label, else the newest version).
    func resolvePrompts(_ body: JSONValue, projectID: String) async throws -> [PromptVersion] {
        let references = try Self.strings(body, "prompts")
        guard !references.isEmpty else { throw TernError.invalid("prompts", "required: a non-empty list of \"name@version\" or \"name:label\"") }
        var prompts: [PromptVersion] = []
        for (index, reference) in references.enumerated() {
            let field = "prompts[\(index)]"
            let found: PromptVersion?
            if let at = reference.lastIndex(of: "@") {
                guard let number = Int(reference[reference.index(after: at)...]), number >= 1 else {
                    throw TernError.invalid(field, "expected name@version with a version number, got \"\(reference)\"")
                }
                found = try await store.prompts.get(projectID: projectID, name: String(reference[..<at]), version: number)
            } else if let colon = reference.lastIndex(of: ":") {
                found = try await store.prompts.get(
                    projectID: projectID, name: String(reference[..<colon]), label: String(reference[reference.index(after: colon)...]))
            } else {
                found = try await labelled(projectID: projectID, name: reference)
            }
            guard let found else { throw TernError.invalid(field, "no prompt version \"\(reference)\" in this project", code: "invalid_value") }
            guard !prompts.contains(where: { $0.name == found.name && $0.version == found.version }) else {
                throw TernError.invalid(field, "\(found.name)@\(found.version) appears twice")
            }
            prompts.append(found)
        }
        return prompts
    }

    /// The version labelled `production`, else the newest.
    func labelled(projectID: String, name: String) async throws -> PromptVersion? {
        if let production = try await store.prompts.get(projectID: projectID, name: name, label: "production") { return production }
        return try await store.prompts.get(projectID: projectID, name: name, label: "latest")
    }

    struct CheckedAssertions {
        var specs: [AssertionSpec]
        /// Paths of the model-graded assertions.
        var judged: [String]
        /// Whether an assertion uses the run's default embedding model.
        var defaultEmbedded = false
    }

    /// Decodes `assert` and checks every type (inside `assert-set`s too), and that model-graded
    /// types have a judge (and an embedding model where they need one) and name gateway models.
    func checkAssertions(_ value: JSONValue?, grader: String?, embedder: String?) throws -> CheckedAssertions {
        guard let value, !value.isNull else { return CheckedAssertions(specs: [], judged: []) }
        guard let list = value.array else { throw TernError.invalid("assert", "expected a list of assertions") }
        var registry = EvaluatorRegistry.deterministic()
        registry.registerModelGraded(graders: StaticGraderProvider(client: nil))
        let known = Set(registry.knownTypes)
        var judged: [String] = []
        var defaultEmbedded = false
        func check(_ values: [JSONValue], path: String) throws -> [AssertionSpec] {
            try values.enumerated().map { index, value in
                let here = "\(path)[\(index)]"
                guard value.object != nil else { throw TernError.invalid(here, "expected an assertion object with a type") }
                guard let type = value["type"]?.string else { throw TernError.invalid("\(here).type", "required") }
                let spec: AssertionSpec
                do {
                    spec = try JSONDecoder().decode(AssertionSpec.self, from: value.data())
                } catch {
                    throw TernError.invalid(here, "not an assertion: \(JSON.describe(error))")
                }
                if spec.baseType == "assert-set" {
                    guard let inner = value["assert"]?.array, !inner.isEmpty else {
                        throw TernError.invalid("\(here).assert", "an assert-set needs assertions")
                    }
                    _ = try check(inner, path: "\(here).assert")
                    return spec
                }
                guard known.contains(spec.baseType) else {
                    throw TernError.invalid(
                        "\(here).type", "unknown assertion type \"\(type)\" (known: \(known.sorted().joined(separator: ", ")))",
                        code: "invalid_value")
                }
                let provider = spec.provider
                if let id = provider?.string ?? provider?["id"]?.string, gateway.registry.model(id) == nil {
                    throw unknownModel(id, field: "\(here).provider")
                }
                if Self.judgedTypes.contains(spec.baseType) {
                    judged.append(here)
                    let needsJudge = spec.baseType != "similar"
                    if needsJudge, spec.providerID == nil, provider?["text"] == nil, grader == nil {
                        throw TernError.invalid(
                            "options.grader", "\(here) (\(spec.type)) needs a judge model: set options.grader, or provider on the assertion")
                    }
                }
                if Self.embeddingTypes.contains(spec.baseType) {
                    let named = spec.baseType == "similar" ? spec.providerID : provider?["embedding"]?.string
                    if named == nil, embedder == nil {
                        throw TernError.invalid(
                            "options.embedder", "\(here) (\(spec.type)) needs an embedding model: set options.embedder, or provider on the assertion")
                    }
                    if named == nil { defaultEmbedded = true }
                }
                return spec
            }
        }
        let specs = try check(list, path: "assert")
        return CheckedAssertions(specs: specs, judged: judged, defaultEmbedded: defaultEmbedded)
    }

    // MARK: - Fields

    static func string(_ body: JSONValue, _ name: String, path: String = "") throws -> String? {
        guard let value = body[name], !value.isNull else { return nil }
        guard let text = value.string else { throw TernError.invalid(path + name, "expected a string", code: "invalid_type") }
        return text
    }

    static func strings(_ body: JSONValue, _ name: String) throws -> [String] {
        guard let value = body[name], !value.isNull else { return [] }
        guard let list = value.array else { throw TernError.invalid(name, "expected a list of strings", code: "invalid_type") }
        return try list.enumerated().map { index, item in
            guard let text = item.string, !text.isEmpty else {
                throw TernError.invalid("\(name)[\(index)]", "expected a non-empty string", code: "invalid_type")
            }
            return text
        }
    }

    static func int(_ body: JSONValue, _ name: String, range: ClosedRange<Int>, path: String = "") throws -> Int? {
        guard let value = body[name], !value.isNull else { return nil }
        guard let number = value.int, range.contains(number) else {
            let upper = range.upperBound == Int.max ? "" : "-\(range.upperBound)"
            throw TernError.invalid(path + name, "expected a whole number \(range.lowerBound)\(upper)", code: "invalid_type")
        }
        return number
    }
}
