import ArgumentParser
import Foundation
import TernCore
import TernEval

// `tern eval list` and `tern eval show`: the run history every `tern eval` keeps in .tern/evals.

enum EvalRunsOption {
    static let defaultDirectory = ".tern/evals"

    /// A path relative to the working directory when it lies under it.
    static func shown(_ path: String) -> String {
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }

    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}

struct EvalListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The runs kept in the run history, newest first.")

    /// `--runs-dir` is `tern eval`'s option (it may come before or after `list` / `show`).
    @ParentCommand var eval: EvalCommand

    @Option(name: .long, help: ArgumentHelp("At most this many runs.", valueName: "n"))
    var limit = 20

    func validate() throws {
        guard limit >= 1 else { throw TernError.invalid("--limit", "expected 1 or more") }
    }

    func run() throws {
        let runsDir = eval.runsDir
        let runs = EvalRunStore(directory: URL(fileURLWithPath: runsDir)).list()
        guard !runs.isEmpty else {
            say("No runs in \(runsDir) (tern eval keeps every run there unless --no-write).")
            return
        }
        table(
            ["ID", "STARTED", "PASS RATE", "PASSED", "FAILED", "ERRORS", "COST", "CONFIG"],
            runs.prefix(limit).map { run in
                [
                    run.id, EvalRunsOption.date(run.startedAt), EvalReport.percent(run.passRate), String(run.passed), String(run.failed), String(run.errors),
                    "$" + String(format: "%.6f", run.cost + run.gradingCost), EvalRunsOption.shown(run.config),
                ]
            })
        if runs.count > limit { say("(\(runs.count - limit) older; --limit N shows more)") }
    }
}

struct EvalShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "A stored run: its matrix and summary.")

    @Argument(help: ArgumentHelp("A run id (or a unique prefix of one), or latest.", valueName: "id"))
    var id: String

    /// `--runs-dir` is `tern eval`'s option (it may come before or after `list` / `show`).
    @ParentCommand var eval: EvalCommand

    func run() throws {
        let store = EvalRunStore(directory: URL(fileURLWithPath: eval.runsDir))
        guard let run = try store.find(id.hasPrefix("eval-") || id == "latest" ? id : "eval-" + id, source: "tern eval show") else {
            throw TernError.notFound("run \(id)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: store.resultsPath(run.id)))
        } catch {
            throw TernError.notFound("the results of run \(run.id) (\(store.resultsPath(run.id)))")
        }
        let outcome = try EvalOutcome(resultsJSON: try JSONValue.parse(data))
        say("Run \(run.id), \(EvalRunsOption.date(run.startedAt)), \(EvalRunsOption.shown(run.config))" + (run.description.map { ": \($0)" } ?? ""))
        say()
        for line in EvalReport.matrix(outcome) { say(line) }
        say()
        for line in EvalReport.summary(outcome) { say(line) }
        say("Results: \(store.resultsPath(run.id))")
    }
}
