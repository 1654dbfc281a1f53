import Foundation
import TernCore
import TernEval
import TernPrompts

// What `tern eval` reads from a Tern server besides datasets (`--server`): experiments as
// baselines, and the project's judge prompts.

/// `--baseline ID` against the experiments of a Tern server: the run (`GET /api/v1/experiments/{id}`)
/// and all its cells (`GET /api/v1/experiments/{id}/results`, every page).
struct EvalServerExperiments: EvalRunHistory {
    let client: TernAPIClient

    func baseline(_ reference: String) async throws -> EvalBaseline? {
        guard reference != "latest", !reference.hasPrefix("eval-") else { return nil }
        let path = "/api/v1/experiments/" + (reference.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? reference)
        let run: JSONValue
        do {
            run = try await client.get(path)
        } catch let error as TernError where error.kind == .notFound {
            return nil
        }
        let status = run["status"]?.string ?? ""
        guard ["completed", "failed", "cancelled"].contains(status) else {
            throw ConfigError(
                source: "--baseline", path: nil, line: nil, message: "experiment \(reference) on \(client.base) is \(status): wait until it finishes")
        }
        // Prompts are `name@version`; columns match on the name.
        let prompts = (run["prompts"]?.array ?? []).compactMap(\.string).map { text in
            text.lastIndex(of: "@").map { String(text[..<$0]) } ?? text
        }
        let models = (run["models"]?.array ?? []).compactMap(\.string)
        var cells: [EvalBaseline.ExperimentCellStatus] = []
        var cursor: String?
        repeat {
            var query = "?limit=1000"
            if let cursor { query += "&cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor) }
            let page = try await client.get(path + "/results" + query)
            for cell in page["data"]?.array ?? [] {
                guard let item = cell["item_id"]?.string, let prompt = cell["prompt_name"]?.string, let model = cell["model"]?.string else {
                    throw ConfigError(
                        source: "--baseline", path: nil, line: nil, message: "\(client.base) sent an experiment cell without item_id, prompt_name or model")
                }
                let verdict: EvalOutcome.Status = (cell["error"]?.string != nil) ? .error : cell["passed"]?.bool == true ? .pass : .fail
                cells.append(EvalBaseline.ExperimentCellStatus(itemID: item, promptName: prompt, model: model, status: verdict))
            }
            cursor = page["next_cursor"]?.string
        } while cursor != nil
        let name = run["name"]?.string.map { " \"\($0)\"" } ?? ""
        return EvalBaseline.experiment(
            source: "experiment \(reference)\(name) on \(client.base)",
            shape: EvalBaseline.ExperimentShape(prompts: prompts, models: models), cells: cells)
    }
}

/// The project's judge prompts (`tern-judge-*`, label `production`) on a Tern server, so edits made
/// in the web UI grade CI runs too. A prompt without a `production` version keeps the built-in text.
enum EvalServerJudgePrompts {
    static func fetch(client: TernAPIClient) async throws -> [String: PromptVersion] {
        try await withThrowingTaskGroup(of: (String, PromptVersion?).self) { group in
            for name in JudgePrompts.names {
                group.addTask { (name, try await version(name, client: client)) }
            }
            var out: [String: PromptVersion] = [:]
            for try await (name, version) in group { if let version { out[name] = version } }
            return out
        }
    }

    static func version(_ name: String, client: TernAPIClient) async throws -> PromptVersion? {
        let json: JSONValue
        do {
            json = try await client.get("/api/v1/prompts/\(name)?label=production")
        } catch let error as TernError where error.kind == .notFound {
            return nil
        } catch let error as TernError {
            throw ConfigError(source: "--server", path: nil, line: nil, message: "the judge prompt \(name) from \(client.base): \(error.message)")
        }
        // The stored version, read back through the same checks as a pushed definition.
        var definition: [String: JSONValue] = ["name": .string(name), "type": json["kind"] ?? "text"]
        if let text = json["text"], !text.isNull { definition["prompt"] = text }
        if let messages = json["messages"]?.array, !messages.isEmpty { definition["messages"] = .array(messages) }
        if let tools = json["tools"], !tools.isNull { definition["tools"] = tools }
        if let config = json["config"]?.object { definition["config"] = .object(config.filter { !$0.value.isNull }) }
        do {
            var version = try PromptVersion.definition(.object(definition), projectID: json["project_id"]?.string ?? "", author: json["author"]?.string ?? "")
            version.version = json["version"]?.int ?? 0
            version.labels = (json["labels"]?.array ?? []).compactMap(\.string)
            return version
        } catch let error as TernError {
            throw ConfigError(
                source: "--server", path: nil, line: nil,
                message: "the judge prompt \(name) from \(client.base) cannot be used: \(error.field.map { "\($0): " } ?? "")\(error.message)")
        }
    }
}
