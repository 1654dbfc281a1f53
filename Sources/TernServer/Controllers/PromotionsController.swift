import Foundation
import Hummingbird
import TernCore
import TernEval
import TernMonitor

/// `/api/v1/prompts/{name}/promote`: the response loop's last step. A version takes a label (`production`)
/// only when a completed experiment run that tested it beside the version holding the label now shows no
/// regression on the dataset's golden items (`PromotionGate`); refusals name the regressed items. Every
/// attempt is recorded: who, when, which run, what it compared.
struct PromotionsController {
    let store: any TernStore
    let maxBody: Int
    let projectID: @Sendable (Request, TernRequestContext) async throws -> String

    var routes: RouteCollection<TernRequestContext> {
        let api = RouteCollection(context: TernRequestContext.self)
        api.post("prompts/{name}/promote", use: postPromote)
        api.get("prompts/{name}/promotions", use: getPromotions)
        return api
    }

    /// The golden item ids of a dataset version.
    func goldenItems(project: String, dataset: String, version: Int) async throws -> Set<String> {
        var golden = Set<String>()
        var after: String?
        while true {
            let page = try await store.datasets.items(projectID: project, dataset: dataset, version: version, after: after, limit: 1000)
            for item in page where item.golden { golden.insert(item.id) }
            guard page.count == 1000, let last = page.last else { return golden }
            after = last.id
        }
    }
}

extension PromotionsController {
    /// `POST /prompts/{name}/promote` `{"version", "experiment", "label"?}`
    @Sendable func postPromote(_ request: Request, context: TernRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        try principal.require(.member, to: "promoting a prompt version")
        let project = try await projectID(request, context)
        let name = try context.parameters.string("name")
        let body = try JSON.decode(
            JSONValue.self, from: try await JSON.collect(request, limit: maxBody), allowedKeys: ["version", "experiment", "label"])
        guard let version = body["version"]?.int, version >= 1 else { throw TernError.invalid("version", "required: the version to promote") }
        guard let runID = body["experiment"]?.string, !runID.isEmpty else {
            throw TernError.invalid("experiment", "required: the id of a completed experiment run that tested the version beside the current one")
        }
        let label = body["label"]?.string ?? "production"
        guard label != "latest", !label.isEmpty, label.count <= 100, label.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw TernError.invalid("label", "expected a label such as production (letters, digits, '-', '_', '.'; not latest)")
        }
        guard try await store.prompts.get(projectID: project, name: name, version: version) != nil else {
            throw TernError.notFound("prompt \(name) version \(version)", field: "version")
        }
        guard let run = try await store.experiments.get(projectID: project, id: runID) else {
            throw TernError.notFound("experiment \(runID)", field: "experiment")
        }
        guard run.status == .completed else {
            throw TernError.invalid("experiment", "the run is \(run.status.rawValue); promote on a completed run")
        }
        let current = try await store.prompts.get(projectID: project, name: name, label: label)?.version
        guard current != version else { throw TernError.invalid("version", "\(name)@\(version) already has the label \(label)") }
        let tested = Set(run.prompts)
        guard tested.contains("\(name)@\(version)") else {
            throw TernError.invalid("experiment", "the run did not test \(name)@\(version) (it ran \(run.prompts.joined(separator: ", ")))")
        }
        if let current, !tested.contains("\(name)@\(current)") {
            throw TernError.invalid(
                "experiment", "the run did not test \(name)@\(current), which has the label \(label) now: run both versions on the golden set")
        }
        let golden = try await goldenItems(project: project, dataset: run.datasetName, version: run.datasetVersion)
        let verdict = PromotionGate.check(
            cells: try await ProbeComparison.cells(store, project: project, run: run.id), prompt: name, candidate: version, baseline: current, golden: golden)
        let regressions: JSONValue = .array(
            verdict.regressions.map { regression in
                [
                    "item_id": .string(regression.itemID), "model": .string(regression.model), "repetition": .number(Double(regression.repetition)),
                    "base_score": regression.baseScore.map(JSONValue.number) ?? .null, "head_score": regression.headScore.map(JSONValue.number) ?? .null,
                    "error": regression.error.map(JSONValue.string) ?? .null,
                ]
            })
        let promotion = PromptPromotion(
            id: TernID.make(), projectID: project, prompt: name, label: label, fromVersion: current, toVersion: version, experimentID: run.id,
            outcome: verdict.allowed ? .promoted : .refused, compared: verdict.compared, regressions: regressions, actor: principal.actor, at: Timestamp.now())
        try await store.promotions.record(promotion)
        let scope = verdict.goldenItems.map { "\($0) golden items" } ?? "every item (the dataset version has no golden item)"
        guard verdict.allowed else {
            let message: String
            if verdict.compared == 0 {
                message = "nothing to compare: the run has no cell of \(name)@\(version)\(current.map { " and \(name)@\($0)" } ?? "") on \(scope)"
            } else {
                let items = verdict.regressions.prefix(20).map { "\($0.itemID) (\($0.model))" }.joined(separator: ", ")
                message =
                    "\(name)@\(version) regresses on \(verdict.regressions.count) of \(verdict.compared) pairs of \(scope) against "
                    + (current.map { "\(name)@\($0)" } ?? "passing every item") + ": \(items)"
            }
            let error: JSONValue = ["code": "regression", "message": .string(message), "field": "version"]
            return try JSON.response(JSONValue.object(["error": error, "regressions": regressions, "promotion": promotion.json]), status: .conflict)
        }
        let move = try await store.prompts.setLabel(projectID: project, name: name, label: label, version: version, author: principal.actor)
        let moveJSON: JSONValue = [
            "label": .string(move.label), "from_version": move.fromVersion.map { .number(Double($0)) } ?? .null,
            "to_version": .number(Double(move.toVersion)), "author": .string(move.author), "moved_at": .string(JSON.formatDate(move.movedAt)),
        ]
        return try JSON.response(
            JSONValue.object([
                "promotion": promotion.json, "move": moveJSON,
                "summary": .string(
                    "\(name)@\(version) took \(label) from \(current.map { "\(name)@\($0)" } ?? "no version"): \(verdict.candidatePassed) of \(verdict.compared) pairs of \(scope) pass, no regression (run \(run.id))"
                ),
            ]))
    }

    /// `GET /prompts/{name}/promotions`: promotions and refusals, newest first.
    @Sendable func getPromotions(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        let project = try await projectID(request, context)
        let name = try context.parameters.string("name")
        return try JSON.response(JSONValue.object(["data": .array(try await store.promotions.list(projectID: project, prompt: name, limit: 100).map(\.json))]))
    }
}
