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

    static func runRow(_ run: ExperimentRun, chrome: Chrome) -> [String: Any] {
        let totals = run.totals
        return [
            "id": run.id,
            "href": "\(base(chrome))/\(Views.percent(run.id))",
            "name": run.name,
            "status": run.status.rawValue,
            "statusClass": statusClass(run.status),
            "dataset": "\(run.datasetName)@\(run.datasetVersion)",
            "matrix": "\(run.prompts.count) × \(run.models.count)" + (run.repeats > 1 ? " × \(run.repeats)" : ""),
            "prompts": run.prompts.joined(separator: ", "),
            "models": run.models.joined(separator: ", "),
            "cells": "\(Format.integer(totals.cells)) / \(Format.integer(run.plannedCells))",
            "passRate": totals.cells == 0 ? "–" : Format.percent(totals.passRate),
            "cost": Format.cost(totals.cost + totals.gradingCost),
            "started": run.startedAt.map(Format.time) ?? "–",
            "created": Format.time(run.createdAt),
        ]
    }

    // MARK: Runs list

    public static func list(chrome: Chrome, runs: [ExperimentRun], next: String?) -> [String: Any] {
        var context = chrome.pageContext(title: "Experiments")
        context["rows"] = runs.map { runRow($0, chrome: chrome) }
        context["options"] = runs.map { ["id": $0.id, "label": "\($0.name) · \(Format.time($0.createdAt))"] as [String: Any] }
        context["compareAction"] = "\(base(chrome))/compare"
        context["canCompare"] = runs.count >= 2
        context["newHref"] = "\(base(chrome))/new"
        if let next { context["next"] = Views.url(base(chrome), [("cursor", next)]) }
        return context
    }

    // MARK: A run's matrix

    /// The run's matrix: rows are dataset items, columns prompt version x model; `cells` is one page
    /// of cells in cell-key order (whole items), `next` the cursor of the next page.
    /// `previous` is the run before this one on the same dataset, offered for a comparison.
    public static func run(
        chrome: Chrome, run: ExperimentRun, columns: [ExperimentColumnTotals], cells: [ExperimentCell],
        next: String?, previous: ExperimentRun? = nil
    ) -> [String: Any] {
        var context = chrome.pageContext(title: run.name)
        let slug = Views.percent(chrome.project.slug)
        let href = "\(base(chrome))/\(Views.percent(run.id))"
        context["run"] = runRow(run, chrome: chrome)
        if let error = run.error { context["error"] = error }
        context["live"] = !run.status.isFinished
        context["progress"] = run.plannedCells == 0 ? 0 : min(100, run.totals.cells * 100 / run.plannedCells)
        context["cancelAction"] = "\(href)/cancel"
        context["rerunHref"] = rerunHref(chrome, run)
        context["compareHref"] = previous.map { Views.url("\(base(chrome))/compare", [("base", $0.id), ("head", run.id)]) } ?? false
        // Columns in the run's order: prompts as listed, then models.
        let order = run.prompts.flatMap { prompt in run.models.map { (prompt, $0) } }
        let byKey = Dictionary(columns.map { ("\($0.prompt)\u{1F}\($0.model)", $0) }, uniquingKeysWith: { a, _ in a })
        context["columns"] = order.map { prompt, model -> [String: Any] in
            let totals = byKey["\(prompt)\u{1F}\(model)"]?.totals ?? ExperimentTotals()
            return [
                "prompt": prompt, "model": model,
                "passRate": totals.cells == 0 ? "–" : Format.percent(totals.passRate),
                "counts": "\(totals.passed) passed · \(totals.failed) failed · \(totals.errors) errors",
                "cost": Format.cost(totals.cost),
                "latency": Format.duration(totals.cells == 0 ? nil : totals.latencyMs / Double(totals.cells)),
            ]
        }
        let labels = order.map { "\($0.0) · \($0.1)" }
        let totals = order.map { byKey["\($0.0)\u{1F}\($0.1)"]?.totals ?? ExperimentTotals() }
        context["passChart"] = SVGChart.bars(
            Array(zip(labels, totals.map(\.passRate))).map { (label: $0.0, value: $0.1) }, format: .percent,
            width: 480, label: "Pass rate by prompt and model")
        context["costChart"] = SVGChart.bars(
            Array(zip(labels, totals.map(\.cost))).map { (label: $0.0, value: $0.1) }, format: .usd,
            width: 480, label: "Cost by prompt and model")
        // Rows: one per item (and repetition), cells in column order.
        var rows: [[String: Any]] = []
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
                rows.append([
                    "item": item,
                    "repetition": run.repeats > 1 ? "#\(repetition + 1)" : "",
                    "cells": order.map { prompt, model -> [String: Any] in
                        guard let cell = mine.first(where: { $0.promptLabel == prompt && $0.model == model }) else { return ["missing": true] }
                        return cellContext(cell, slug: slug)
                    },
                ])
            }
        }
        context["rows"] = rows
        if let next { context["next"] = Views.url(href, [("cursor", next)]) }
        context["apiHref"] = "/api/v1/experiments/\(Views.percent(run.id))/results"
        return context
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

    static func cellContext(_ cell: ExperimentCell, slug: String) -> [String: Any] {
        let verdict = cell.error != nil ? "ERROR" : cell.passed ? "PASS" : "FAIL"
        let reason = cell.error ?? ComparedCell(cell).reason ?? (cell.passed ? "all assertions passed" : "")
        var out: [String: Any] = [
            "verdict": verdict,
            "class": cell.error != nil ? "warning" : cell.passed ? "ok" : "error",
            "score": cell.score.map { String(format: "%.2f", $0) } ?? "",
            "reason": reason,
            "output": String(Views.preview(cell.output).prefix(160)),
            "meta": "\(Format.duration(cell.latencyMs)) · \(Format.cost(cell.cost))",
        ]
        if let trace = cell.traceID { out["traceHref"] = "/ui/\(slug)/traces/\(Views.percent(trace))" }
        return out
    }

    // MARK: Comparison

    public static func compare(
        chrome: Chrome, runs: [ExperimentRun], base: ExperimentRun?, head: ExperimentRun?, key: ComparisonKey?,
        comparison: ExperimentComparison?, error: String?
    ) -> [String: Any] {
        var context = chrome.pageContext(title: "Compare experiments")
        let slug = Views.percent(chrome.project.slug)
        context["action"] = "\(ExperimentViews.base(chrome))/compare"
        context["baseOptions"] = runs.map {
            ["id": $0.id, "label": "\($0.name) · \(Format.time($0.createdAt))", "selected": $0.id == base?.id] as [String: Any]
        }
        context["headOptions"] = runs.map {
            ["id": $0.id, "label": "\($0.name) · \(Format.time($0.createdAt))", "selected": $0.id == head?.id] as [String: Any]
        }
        context["keys"] = ([("", "automatic")] + ComparisonKey.allCases.map { ($0.rawValue, $0.rawValue) }).map {
            ["value": $0.0, "label": $0.1, "selected": (key?.rawValue ?? "") == $0.0] as [String: Any]
        }
        if let error { context["error"] = error }
        if let base { context["base"] = runRow(base, chrome: chrome) }
        if let head { context["head"] = runRow(head, chrome: chrome) }
        guard let comparison else { return context }
        func pair(_ p: ComparisonPair) -> [String: Any] {
            func side(_ cell: ComparedCell) -> [String: Any] {
                var out: [String: Any] = [
                    "verdict": cell.error != nil ? "ERROR" : cell.passed ? "PASS" : "FAIL",
                    "class": cell.error != nil ? "warning" : cell.passed ? "ok" : "error",
                    "label": "\(cell.prompt) · \(cell.model)",
                    "output": String(Views.preview(cell.output).prefix(200)),
                    "reason": cell.reason ?? "",
                    "score": cell.score.map { String(format: "%.2f", $0) } ?? "–",
                ]
                if let trace = cell.traceID { out["traceHref"] = "/ui/\(slug)/traces/\(Views.percent(trace))" }
                return out
            }
            return [
                "item": p.itemID + (p.repetition > 0 ? " #\(p.repetition + 1)" : ""),
                "column": p.column,
                "delta": p.scoreDelta.map { String(format: "%+.2f", $0) } ?? "–",
                "base": side(p.base), "head": side(p.head),
            ]
        }
        context["comparison"] =
            [
                "summary": comparison.summary,
                "key": comparison.key.rawValue,
                "pairs": Format.integer(comparison.pairs),
                "basePassRate": Format.percent(comparison.basePassRate),
                "headPassRate": Format.percent(comparison.headPassRate),
                "regressionCount": comparison.regressionCount,
                "improvementCount": comparison.improvementCount,
                "meanDelta": comparison.meanScoreDelta.map { String(format: "%+.3f", $0) } ?? "–",
                "pValue": String(format: "%.4g", comparison.mcnemar.pValue),
                "method": comparison.mcnemar.method,
                "unmatched": comparison.unmatchedBase + comparison.unmatchedHead > 0
                    ? "\(comparison.unmatchedBase) cells of the base run and \(comparison.unmatchedHead) of the head run have no partner." : "",
                "regressions": comparison.regressions.map(pair),
                "improvements": comparison.improvements.map(pair),
                "scoreChanges": comparison.scoreChanges.map(pair),
                "significant": comparison.significant,
            ] as [String: Any]
        return context
    }
}
