import Foundation
public import TernCore
public import TernEval

/// Page contexts of the Experiments section: the runs list, a run's matrix, and the comparison.
public enum ExperimentViews {
    static func base(_ chrome: Chrome) -> String { "/ui/\(Views.percent(chrome.project.slug))/experiments" }

    static func statusClass(_ status: ExperimentStatus) -> String {
        switch status {
        case .completed: "ok"
        case .failed: "error"
        case .cancelled, .queued, .running: "warning"
        }
    }

    /// A run in a table: what it ran, how far it got, how well it did.
    public struct RunRow: ViewModel {
        public var id: String
        public var href: String
        public var name: String
        public var status: String
        public var statusClass: String
        public var dataset: String
        public var matrix: String
        public var prompts: String
        public var models: String
        public var cells: String
        public var passRate: String
        public var cost: String
        public var started: String
        public var created: String
    }

    static func runRow(_ run: ExperimentRun, chrome: Chrome) -> RunRow {
        let totals = run.totals
        return RunRow(
            id: run.id, href: "\(base(chrome))/\(Views.percent(run.id))", name: run.name, status: run.status.rawValue,
            statusClass: statusClass(run.status), dataset: "\(run.datasetName)@\(run.datasetVersion)",
            matrix: "\(run.prompts.count) × \(run.models.count)" + (run.repeats > 1 ? " × \(run.repeats)" : ""),
            prompts: run.prompts.joined(separator: ", "), models: run.models.joined(separator: ", "),
            cells: "\(Format.integer(totals.cells)) / \(Format.integer(run.plannedCells))",
            passRate: totals.cells == 0 ? "–" : Format.percent(totals.passRate), cost: Format.cost(totals.cost + totals.gradingCost),
            started: run.startedAt.map(Format.time) ?? "–", created: Format.time(run.createdAt))
    }

    // MARK: Runs list

    public struct ListView: ViewModel {
        public var rows: [RunRow]
        /// The compare form's pickers: the newest run as head, the one before it as base.
        public var baseOptions: [Option]
        public var headOptions: [Option]
        public var compareAction: String
        public var canCompare: Bool
        public var newHref: String
        public var next: String?
    }

    public static func list(chrome: Chrome, runs: [ExperimentRun], next: String?) -> Page<ListView> {
        chrome.page(
            "Experiments",
            ListView(
                rows: runs.map { runRow($0, chrome: chrome) },
                baseOptions: runs.enumerated().map { Option(value: $1.id, label: "\($1.name) · \(Format.time($1.createdAt))", selected: $0 == 1) },
                headOptions: runs.enumerated().map { Option(value: $1.id, label: "\($1.name) · \(Format.time($1.createdAt))", selected: $0 == 0) },
                compareAction: "\(base(chrome))/compare", canCompare: runs.count >= 2, newHref: "\(base(chrome))/new",
                next: next.map { Views.url(base(chrome), [("cursor", $0)]) }))
    }

    // MARK: A run's matrix

    public struct RunView: ViewModel {
        public struct Column: ViewModel {
            public var prompt: String
            public var model: String
            public var passRate: String
            public var counts: String
            public var cost: String
            public var latency: String
        }

        /// A cell of the matrix; `missing` when the run has not produced it (yet).
        public struct Cell: ViewModel {
            public var missing: Bool
            public var verdict: String
            public var `class`: String
            public var score: String
            public var reason: String
            public var output: String
            public var meta: String
            public var traceHref: String?
            /// A failed or errored cell shows its reason, not only in the tooltip.
            public var failed: Bool

            static let none = Cell(missing: true, verdict: "", class: "", score: "", reason: "", output: "", meta: "", traceHref: nil, failed: false)
        }

        public struct Row: ViewModel {
            public var item: String
            public var repetition: String
            /// The item's input variables, one `name: value` line each.
            public var input: String
            public var expected: String?
            public var cells: [Cell]
        }

        public var run: RunRow
        public var error: String?
        public var live: Bool
        public var progress: Int
        public var cancelAction: String
        public var rerunHref: String
        public var compareHref: String?
        public var columns: [Column]
        public var passChart: String
        public var costChart: String
        public var rows: [Row]
        public var next: String?
        public var apiHref: String
    }

    /// The run's matrix: rows are dataset items, columns prompt version x model; `cells` is one page
    /// of cells in cell-key order (whole items), `next` the cursor of the next page.
    /// `previous` is the run before this one on the same dataset, offered for a comparison.
    public static func run(
        chrome: Chrome, run: ExperimentRun, columns: [ExperimentColumnTotals], cells: [ExperimentCell],
        next: String?, previous: ExperimentRun? = nil, items: [String: DatasetItem] = [:]
    ) -> Page<RunView> {
        let slug = Views.percent(chrome.project.slug)
        let href = "\(base(chrome))/\(Views.percent(run.id))"
        // Columns in the run's order: prompts as listed, then models.
        let order = run.prompts.flatMap { prompt in run.models.map { (prompt, $0) } }
        let byKey = Dictionary(columns.map { ("\($0.prompt)\u{1F}\($0.model)", $0) }, uniquingKeysWith: { a, _ in a })
        let columnViews = order.map { prompt, model -> RunView.Column in
            let totals = byKey["\(prompt)\u{1F}\(model)"]?.totals ?? ExperimentTotals()
            return RunView.Column(
                prompt: prompt, model: model, passRate: totals.cells == 0 ? "–" : Format.percent(totals.passRate),
                counts: "\(totals.passed) passed · \(totals.failed) failed · \(Format.count(totals.errors, "error"))", cost: Format.cost(totals.cost),
                latency: Format.duration(totals.cells == 0 ? nil : totals.latencyMs / Double(totals.cells)))
        }
        let totals = order.map { byKey["\($0.0)\u{1F}\($0.1)"]?.totals ?? ExperimentTotals() }
        // While the run goes on, a column's bar is marked as running with its share of cells done.
        let perColumn = order.isEmpty ? 0 : run.plannedCells / order.count
        let labels = zip(order, totals).map { column, totals in
            let label = "\(column.0) · \(column.1)"
            guard !run.status.isFinished, totals.cells < perColumn else { return label }
            return "\(label) (running, \(totals.cells)/\(perColumn))"
        }
        // Rows: one per item (and repetition), cells in column order.
        var rows: [RunView.Row] = []
        var index = 0
        while index < cells.count {
            let item = cells[index].itemID
            var group: [ExperimentCell] = []
            while index < cells.count, cells[index].itemID == item {
                group.append(cells[index])
                index += 1
            }
            for repetition in Set(group.map(\.repetition)).sorted() {
                let mine = group.filter { $0.repetition == repetition }
                let datasetItem = items[item]
                rows.append(
                    RunView.Row(
                        item: item, repetition: run.repeats > 1 ? "#\(repetition + 1)" : "",
                        input: datasetItem.map { inputLines($0.input) } ?? "",
                        expected: datasetItem?.expectedOutput.map { String($0.prefix(400)) },
                        cells: order.map { prompt, model in
                            guard let cell = mine.first(where: { $0.promptLabel == prompt && $0.model == model }) else { return .none }
                            return cellView(cell, slug: slug)
                        }))
            }
        }
        return chrome.page(
            run.name,
            RunView(
                run: runRow(run, chrome: chrome), error: run.error, live: !run.status.isFinished,
                progress: run.plannedCells == 0 ? 0 : min(100, run.totals.cells * 100 / run.plannedCells), cancelAction: "\(href)/cancel",
                rerunHref: rerunHref(chrome, run),
                compareHref: previous.map { Views.url("\(base(chrome))/compare", [("base", $0.id), ("head", run.id)]) }, columns: columnViews,
                passChart: SVGChart.bars(
                    Array(zip(labels, totals.map(\.passRate))).map { (label: $0.0, value: $0.1) }, format: .percent,
                    label: "Pass rate by prompt and model"),
                costChart: SVGChart.bars(
                    Array(zip(labels, totals.map { $0.cost + $0.gradingCost })).map { (label: $0.0, value: $0.1) }, format: .usd,
                    label: "Cost by prompt and model, answers and grading"),
                rows: rows, next: next.map { Views.url(href, [("cursor", $0)]) }, apiHref: "/api/v1/experiments/\(Views.percent(run.id))/results"))
    }

    /// The run form filled in like `run`: dataset and version, prompt versions, models, assertions, options.
    static func rerunHref(_ chrome: Chrome, _ run: ExperimentRun) -> String {
        var query: [(String, String)] = [("dataset", run.datasetName), ("dataset_version", String(run.datasetVersion))]
        query += run.prompts.map { ("prompt", $0) }
        query += run.models.map { ("model", $0) }
        query.append(("repeats", String(run.repeats)))
        if let concurrency = run.options["max_concurrency"]?.int { query.append(("max_concurrency", String(concurrency))) }
        for key in ["grader", "embedder"] { if let value = run.options[key]?.string { query.append((key, value)) } }
        if let threshold = run.options["threshold"]?.double { query.append(("threshold", String(threshold))) }
        if let list = run.assertions.array, !list.isEmpty { query.append(("assert", Views.pretty(run.assertions.jsonString()))) }
        return Views.url("\(base(chrome))/new", query)
    }

    /// An item's input variables as `name: value` lines (values shortened).
    static func inputLines(_ input: [String: JSONValue]) -> String {
        input.keys.sorted().map { key in
            let value = input[key]!
            let text = value.string ?? value.jsonString()
            return input.count == 1 ? String(text.prefix(400)) : "\(key): \(text.prefix(200))"
        }.joined(separator: "\n")
    }

    static func cellView(_ cell: ExperimentCell, slug: String) -> RunView.Cell {
        RunView.Cell(
            missing: false, verdict: cell.error != nil ? "ERROR" : cell.passed ? "PASS" : "FAIL",
            class: cell.error != nil ? "warning" : cell.passed ? "ok" : "error", score: cell.score.map { String(format: "%.2f", $0) } ?? "",
            reason: cell.error ?? ComparedCell(cell).reason ?? (cell.passed ? "all assertions passed" : ""),
            output: String(Views.preview(cell.output).prefix(160)), meta: "\(Format.duration(cell.latencyMs)) · \(Format.cost(cell.cost))",
            traceHref: cell.traceID.map { "/ui/\(slug)/traces/\(Views.percent($0))" }, failed: cell.error != nil || !cell.passed)
    }

    // MARK: Comparison

    public struct CompareView: ViewModel {
        public struct Side: ViewModel {
            public var verdict: String
            public var `class`: String
            public var label: String
            public var output: String
            public var reason: String
            public var score: String
            public var traceHref: String?
        }

        public struct Pair: ViewModel {
            public var item: String
            public var column: String
            public var delta: String
            public var base: Side
            public var head: Side
        }

        public struct Comparison: ViewModel {
            public var summary: String
            public var key: String
            public var pairs: String
            public var basePassRate: String
            public var headPassRate: String
            public var regressionCount: Int
            public var improvementCount: Int
            public var meanDelta: String
            public var pValue: String
            public var method: String
            public var unmatched: String
            public var regressions: [Pair]
            public var improvements: [Pair]
            public var scoreChanges: [Pair]
            public var significant: Bool
        }

        public var action: String
        public var baseOptions: [Option]
        public var headOptions: [Option]
        public var keys: [Option]
        public var error: String?
        public var base: RunRow?
        public var head: RunRow?
        public var comparison: Comparison?
    }

    public static func compare(
        chrome: Chrome, runs: [ExperimentRun], base: ExperimentRun?, head: ExperimentRun?, key: ComparisonKey?,
        comparison: ExperimentComparison?, error: String?
    ) -> Page<CompareView> {
        let slug = Views.percent(chrome.project.slug)
        // Without a choice the pickers offer the newest run as head and the one before it as base, never one run twice.
        let chosenHead = head?.id ?? runs.first?.id
        let chosenBase = base?.id ?? runs.first { $0.id != chosenHead }?.id
        func pair(_ p: ComparisonPair) -> CompareView.Pair {
            func side(_ cell: ComparedCell) -> CompareView.Side {
                CompareView.Side(
                    verdict: cell.error != nil ? "ERROR" : cell.passed ? "PASS" : "FAIL", class: cell.error != nil ? "warning" : cell.passed ? "ok" : "error",
                    label: "\(cell.prompt) · \(cell.model)", output: String(Views.preview(cell.output).prefix(200)), reason: cell.reason ?? "",
                    score: cell.score.map { String(format: "%.2f", $0) } ?? "–", traceHref: cell.traceID.map { "/ui/\(slug)/traces/\(Views.percent($0))" })
            }
            return CompareView.Pair(
                item: p.itemID + (p.repetition > 0 ? " #\(p.repetition + 1)" : ""), column: p.column,
                delta: p.scoreDelta.map { String(format: "%+.2f", $0) } ?? "–", base: side(p.base), head: side(p.head))
        }
        let shown = comparison.map { comparison in
            CompareView.Comparison(
                summary: comparison.summary, key: comparison.key.rawValue, pairs: Format.integer(comparison.pairs),
                basePassRate: Format.percent(comparison.basePassRate), headPassRate: Format.percent(comparison.headPassRate),
                regressionCount: comparison.regressionCount, improvementCount: comparison.improvementCount,
                meanDelta: comparison.meanScoreDelta.map { String(format: "%+.3f", $0) } ?? "–", pValue: String(format: "%.4g", comparison.mcnemar.pValue),
                method: comparison.mcnemar.method,
                unmatched: comparison.unmatchedBase + comparison.unmatchedHead > 0
                    ? "\(Format.count(comparison.unmatchedBase, "cell")) of the base run and \(comparison.unmatchedHead) of the head run have no partner." : "",
                regressions: comparison.regressions.map(pair), improvements: comparison.improvements.map(pair),
                scoreChanges: comparison.scoreChanges.map(pair), significant: comparison.significant)
        }
        return chrome.page(
            "Compare experiments",
            CompareView(
                action: "\(ExperimentViews.base(chrome))/compare",
                baseOptions: runs.map { Option(value: $0.id, label: "\($0.name) · \(Format.time($0.createdAt))", selected: $0.id == chosenBase) },
                headOptions: runs.map { Option(value: $0.id, label: "\($0.name) · \(Format.time($0.createdAt))", selected: $0.id == chosenHead) },
                keys: ([("", "automatic")] + ComparisonKey.allCases.map { ($0.rawValue, $0.rawValue) }).map {
                    Option(value: $0.0, label: $0.1, selected: (key?.rawValue ?? "") == $0.0)
                },
                error: error, base: base.map { runRow($0, chrome: chrome) }, head: head.map { runRow($0, chrome: chrome) }, comparison: shown))
    }
}
