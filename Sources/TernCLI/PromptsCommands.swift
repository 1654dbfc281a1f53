import ArgumentParser
import Foundation
import TernCore
import TernServer
import TernPrompts

struct PromptsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompts", abstract: "Versioned prompts: push from files, list, show, diff, label.",
        discussion: """
            Prompts live in git as YAML files (prompts/*.yaml): name, prompt (text) or messages, variables, config
            (model, temperature, max_tokens, response_format), tools, commit_message. 'tern prompts push prompts/'
            stores every file whose content changed as a new version. Roll back with
            'tern prompts label NAME production VERSION'.
            """,
        subcommands: [Push.self, List.self, Show.self, History.self, Diff.self, Label.self, Promote.self])

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Push prompt files (YAML or JSON), or every such file in a directory.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var project: KeysCommand.ProjectOption
        @Argument(help: "Prompt files or directories.") var paths: [String] = ["prompts"]
        @Option(name: .long, help: "Point this label at each pushed version (repeatable).") var label: [String] = []
        @Option(name: .long, help: "Recorded as the author.") var author = "cli"

        func run() async throws {
            let files = try PromptsCommand.files(paths)
            guard !files.isEmpty else { throw TernError.invalid("paths", "no .yaml, .yml or .json prompt files in \(paths.joined(separator: ", "))") }
            let results = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(project.project, store)
                // Read and check every file before storing any, so a bad file changes nothing.
                var versions: [(String, PromptVersion, [String])] = []
                for file in files {
                    let text = try String(contentsOfFile: file, encoding: .utf8)
                    let value = file.hasSuffix(".json") ? try JSONValue.parse(Data(text.utf8)) : try JSONValue.parse(yaml: text, source: file)
                    do {
                        let version = try PromptVersion.definition(value, projectID: project.id, author: author)
                        let labels = (value["labels"]?.array ?? []).compactMap(\.string) + label
                        versions.append((file, version, labels))
                    } catch let error as TernError {
                        throw TernError.invalid(error.field.map { "\(file): \($0)" } ?? file, error.message)
                    }
                }
                var out: [(String, PromptVersion, Bool)] = []
                for (file, version, labels) in versions {
                    let (stored, created) = try await store.prompts.push(version, labels: labels)
                    out.append((file, stored, created))
                }
                return out
            }
            for (file, version, created) in results {
                let labels = version.labels.isEmpty ? "" : " [\(version.labels.joined(separator: ", "))]"
                say("\(file): \(version.name) \(created ? "v\(version.version) created" : "unchanged at v\(version.version)")\(labels)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List prompts with their newest version and labels.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var project: KeysCommand.ProjectOption
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let prompts = try await storage.withStore { store, _ in
                try await store.prompts.list(projectID: try await KeysCommand.project(project.project, store).id)
            }
            if json { return say(try CLIJSON.encode(prompts)) }
            table(
                ["PROMPT", "LATEST", "LABELS", "UPDATED"],
                prompts.map { prompt in
                    [
                        prompt.name, "v\(prompt.latestVersion)",
                        prompt.labels.sorted { $0.key < $1.key }.map { "\($0.key)=v\($0.value)" }.joined(separator: " "),
                        CLIJSON.date(prompt.updatedAt),
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a version (default: the production label, else the newest).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var project: KeysCommand.ProjectOption
        @Argument(help: "Prompt name.") var name: String
        @Option(name: .long, help: "A label.") var label: String?
        @Option(name: .long, help: "A version number.") var version: Int?
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let found = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(project.project, store).id
                return try await PromptsCommand.find(store, project: project, name: name, label: label, version: version)
            }
            if json { return say(try CLIJSON.encode(found)) }
            say(
                "\(found.name) v\(found.version) by \(found.author) at \(CLIJSON.date(found.createdAt))"
                    + (found.labels.isEmpty ? "" : " [\(found.labels.joined(separator: ", "))]") + (found.commitMessage.map { ": \($0)" } ?? ""))
            say(found.diffText)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Versions and label moves of a prompt, newest first.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var project: KeysCommand.ProjectOption
        @Argument(help: "Prompt name.") var name: String

        func run() async throws {
            let (versions, moves) = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(project.project, store).id
                return (try await store.prompts.history(projectID: project, name: name), try await store.prompts.labelMoves(projectID: project, name: name))
            }
            guard !versions.isEmpty else { throw TernError.notFound("prompt \(name)") }
            table(
                ["VERSION", "WHEN", "AUTHOR", "LABELS", "MESSAGE"],
                versions.map {
                    ["v\($0.version)", CLIJSON.date($0.createdAt), $0.author, $0.labels.joined(separator: ","), $0.commitMessage ?? ""]
                })
            if !moves.isEmpty {
                say()
                table(
                    ["LABEL", "FROM", "TO", "BY", "WHEN"],
                    moves.map {
                        [$0.label, $0.fromVersion.map { "v\($0)" } ?? "-", "v\($0.toVersion)", $0.author, CLIJSON.date($0.movedAt)]
                    })
            }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Line diff of two versions (or labels) of a prompt.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var project: KeysCommand.ProjectOption
        @Argument(help: "Prompt name.") var name: String
        @Argument(help: "Old version number or label.") var old: String
        @Argument(help: "New version number or label.") var new: String = "latest"

        func run() async throws {
            let (a, b) = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(project.project, store).id
                func resolve(_ reference: String) async throws -> PromptVersion {
                    let number = Int(reference.hasPrefix("v") ? String(reference.dropFirst()) : reference)
                    return try await PromptsCommand.find(store, project: project, name: name, label: number == nil ? reference : nil, version: number)
                }
                return (try await resolve(old), try await resolve(new))
            }
            say("--- \(a.name) v\(a.version)")
            say("+++ \(b.name) v\(b.version)")
            say(TextDiff.unified(a.diffText, b.diffText))
        }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point a label at a version (promote, or roll back).",
            discussion: "Example: tern prompts label support-bot production 3")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var project: KeysCommand.ProjectOption
        @Argument(help: "Prompt name.") var name: String
        @Argument(help: "Label, e.g. production or staging.") var label: String
        @Argument(help: "Version number.") var version: Int
        @Option(name: .long, help: "Recorded as the author.") var author = "cli"

        func run() async throws {
            let move = try await storage.withStore { store, _ in
                let project = try await KeysCommand.project(project.project, store).id
                return try await store.prompts.setLabel(projectID: project, name: name, label: label, version: version, author: author)
            }
            say("\(name): \(label) -> v\(move.toVersion)" + (move.fromVersion.map { " (was v\($0))" } ?? ""))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a label to a version through a server, only if an experiment run shows no regression on the golden set.",
            discussion: """
                The run (tern experiments run) must have tested the version beside the one holding the label now, on a
                dataset whose golden items count; a golden item that passed before and fails now refuses the promotion
                and is named. Every attempt is recorded (GET /api/v1/prompts/NAME/promotions).
                Example: tern prompts promote support-bot --version 4 --experiment exp_01J...
                """)
        @OptionGroup var server: ServerOptions
        @Argument(help: "Prompt name.") var name: String
        @Option(name: .long, help: "The version to promote.") var version: Int
        @Option(name: .long, help: "The id of the completed experiment run that justifies it.") var experiment: String
        @Option(name: .long, help: "The label to move.") var label = "production"

        func run() async throws {
            let path = "/api/v1/prompts/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name) + "/promote"
            let result = try await server.client().post(
                path, ["version": .number(Double(version)), "experiment": .string(experiment), "label": .string(label)])
            say(result["summary"]?.string ?? "\(name): \(label) -> v\(version)")
        }
    }

    static func find(_ store: any TernStore, project: String, name: String, label: String?, version: Int?) async throws -> PromptVersion {
        if let version {
            guard let found = try await store.prompts.get(projectID: project, name: name, version: version) else {
                throw TernError.notFound("prompt \(name) version \(version)")
            }
            return found
        }
        if let label {
            guard let found = try await store.prompts.get(projectID: project, name: name, label: label) else {
                throw TernError.notFound("prompt \(name) with label \(label)")
            }
            return found
        }
        if let found = try await store.prompts.get(projectID: project, name: name, label: "production") { return found }
        guard let found = try await store.prompts.get(projectID: project, name: name, label: "latest") else { throw TernError.notFound("prompt \(name)") }
        return found
    }

    /// The prompt files among `paths`: files as given, directories' .yaml/.yml/.json files sorted.
    static func files(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw TernError.invalid("paths", "\(path) does not exist")
            }
            if isDirectory.boolValue {
                let entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                out += entries.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
                    .map { (path as NSString).appendingPathComponent($0) }
            } else {
                out.append(path)
            }
        }
        return out
    }
}
