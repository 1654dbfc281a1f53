import Foundation
import Hummingbird
import TernCore
import TernEval
import TernWeb

/// The Experiments pages: runs list, a run's matrix (paged by item), the comparison of two runs, and
/// the form that starts a run (through the API's own checks and the same `ExperimentService`).
/// Every selection is in the URL (`?cursor=`, `?base=&head=&by=`), so views can be bookmarked.
extension WebController {
    func registerExperiments(on router: RouteCollection<TernRequestContext>, api: ExperimentsController) {
        router.get("ui/{project}/experiments", use: getExperiments)
        router.get("ui/{project}/experiments/compare", use: getExperimentsCompare)
        router.get("ui/{project}/experiments/{id}", use: getExperiment)
        registerRunForm(on: router, api: api)
    }
}

// MARK: - Handlers

extension WebController {
    /// `GET /ui/{project}/experiments`
    @Sendable func getExperiments(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "experiments") { chrome in
            let before = try request.uri.queryParameters.get("cursor").map { try ExperimentsController.runCursor($0) }
            let limit = 50
            let runs = try await store.experiments.list(projectID: chrome.project.id, before: before, limit: limit)
            let next = runs.count == limit ? runs.last.map { "\(Timestamp.micros($0.createdAt)).\($0.id)" } : nil
            return html(renderer.render("experiments", ExperimentViews.list(chrome: chrome, runs: runs, next: next)))
        }
    }

    /// `GET /ui/{project}/experiments/compare`
    @Sendable func getExperimentsCompare(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "experiments") { chrome in
            let parameters = request.uri.queryParameters
            let runs = try await store.experiments.list(projectID: chrome.project.id, before: nil, limit: 200)
            func run(_ name: String) async throws -> ExperimentRun? {
                guard let id = parameters.get(name), !id.isEmpty else { return nil }
                guard let found = try await store.experiments.get(projectID: chrome.project.id, id: id) else {
                    throw TernError.notFound("experiment \(id)", field: name)
                }
                return found
            }
            let base = try await run("base")
            let head = try await run("head")
            let key = parameters.get("by").flatMap { $0.isEmpty ? nil : ComparisonKey(rawValue: $0) }
            var comparison: ExperimentComparison?
            var problem: String?
            if let base, let head {
                do {
                    comparison = try await ExperimentsController.compare(
                        store: store, projectID: chrome.project.id, base: base.id, head: head.id,
                        by: key, limit: 200)
                } catch let error as TernError where error.kind == .invalidInput {
                    problem = error.message
                }
            }
            return html(
                renderer.render(
                    "experiment-compare",
                    ExperimentViews.compare(
                        chrome: chrome, runs: runs, base: base, head: head, key: key, comparison: comparison, error: problem)))
        }
    }

    /// `GET /ui/{project}/experiments/{id}`
    @Sendable func getExperiment(_ request: Request, context: TernRequestContext) async throws -> some ResponseGenerator {
        try await page(request, context, active: "experiments") { chrome in
            let id = try context.parameters.string("id")
            guard let run = try await store.experiments.get(projectID: chrome.project.id, id: id) else { throw TernError.notFound("experiment \(id)") }
            // About 50 items a page: whole rows, since cells come in item order.
            let perItem = max(1, run.prompts.count * run.models.count * run.repeats)
            let limit = perItem * 50
            let after = try request.uri.queryParameters.get("cursor").map { try ExperimentsController.cellCursor($0) }
            let cells = try await store.experiments.cells(projectID: chrome.project.id, experimentID: id, after: after, limit: limit)
            let next = cells.count == limit ? cells.last.map { ExperimentsController.encodeCursor($0.cellKey) } : nil
            let columns = try await store.experiments.columns(projectID: chrome.project.id, experimentID: id)
            let earlier = try await store.experiments.list(projectID: chrome.project.id, before: (run.createdAt, run.id), limit: 50)
            let previous = earlier.first { $0.datasetID == run.datasetID && $0.status.isFinished }
            // The page's dataset items (input and expected output beside the answers): cells and items
            // both come in item id order, so they start after the previous page's last item.
            var itemIDs: [String] = []
            for cell in cells where itemIDs.last != cell.itemID { itemIDs.append(cell.itemID) }
            let previousItem = after.map { String($0.split(separator: "\u{1F}", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }
            let items =
                itemIDs.isEmpty
                ? []
                : (try? await store.datasets.items(
                    projectID: chrome.project.id, dataset: run.datasetName, version: run.datasetVersion, after: previousItem,
                    limit: min(1000, itemIDs.count + 20))) ?? []
            return html(
                renderer.render(
                    "experiment",
                    ExperimentViews.run(
                        chrome: chrome, run: run, columns: columns, cells: cells, next: next,
                        previous: previous, items: Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))))
        }
    }
}
