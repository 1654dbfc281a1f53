import Foundation
import TernCore
import TernTestSupport
import Testing

/// The README's tour, run as written: every block of README.md marked `<!-- tour: run -->` is run by
/// bash in a fresh folder, in order, against the real `tern` executable; `<!-- tour: file PATH -->`
/// blocks are written to PATH. A line `scripts/serve ARGS` (re)starts `tern serve ARGS` there (the
/// script builds a release binary first, which a test does not need), on a free port that replaces
/// 7777 in every command, and `.build/release/tern` is the built binary. `curl` fails on an HTTP
/// error except in blocks marked `errors expected`. Nothing else is changed: a command the README
/// shows that does not work fails this test.
@Suite("README tour (real process)", .timeLimit(.minutes(10)))
struct ReadmeTourTests {
    enum Step: Equatable {
        case run(String, errorsExpected: Bool)
        case file(String, String)
    }

    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md")

    /// The marked blocks of a Markdown text, in order.
    static func steps(_ markdown: String) throws -> [Step] {
        var steps: [Step] = []
        let lines = markdown.components(separatedBy: "\n")
        var index = 0
        while index < lines.count {
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            index += 1
            guard line.hasPrefix("<!-- tour:"), line.hasSuffix("-->") else { continue }
            let marker = line.dropFirst("<!-- tour:".count).dropLast(3).trimmingCharacters(in: .whitespaces)
            while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces).isEmpty { index += 1 }
            guard index < lines.count, lines[index].hasPrefix("```") else {
                throw TernError.invalid("README.md:\(index)", "a tour marker must be followed by a code block")
            }
            index += 1
            var body: [String] = []
            while index < lines.count, !lines[index].hasPrefix("```") {
                body.append(lines[index])
                index += 1
            }
            index += 1
            let text = body.joined(separator: "\n") + "\n"
            if marker.hasPrefix("file ") {
                steps.append(.file(String(marker.dropFirst(5)).trimmingCharacters(in: .whitespaces), text))
            } else if marker == "run" || marker == "run, errors expected" {
                steps.append(.run(text, errorsExpected: marker != "run"))
            } else {
                throw TernError.invalid("README.md", "unknown tour marker \"\(marker)\"")
            }
        }
        return steps
    }

    /// Splits a block at its `scripts/serve` lines: shell text, or the arguments of a (re)start.
    static func chunks(_ block: String) -> [Either] {
        var out: [Either] = []
        var shell: [String] = []
        for line in block.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "scripts/serve" || trimmed.hasPrefix("scripts/serve ") {
                if !shell.isEmpty { out.append(.shell(shell.joined(separator: "\n"))) }
                shell = []
                let words = trimmed.split(separator: "#")[0].split(separator: " ").dropFirst().map(String.init)
                out.append(.serve(words))
            } else {
                shell.append(line)
            }
        }
        if shell.contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }) {
            out.append(.shell(shell.joined(separator: "\n")))
        }
        return out
    }

    enum Either {
        case shell(String)
        case serve([String])
    }

    @Test("the markers are read: blocks to run, files to write, server starts")
    func markers() throws {
        let steps = try Self.steps(
            """
            text
            <!-- tour: run -->
            ```sh
            scripts/serve
            # output
            ```
            <!-- tour: file a/b.yaml -->

            ```yaml
            x: 1
            ```
            ```sh
            not marked
            ```
            <!-- tour: run, errors expected -->
            ```sh
            curl -s x
            scripts/serve --config tern.yaml   # again
            echo done
            ```
            """)
        #expect(
            steps == [
                .run("scripts/serve\n# output\n", errorsExpected: false), .file("a/b.yaml", "x: 1\n"),
                .run("curl -s x\nscripts/serve --config tern.yaml   # again\necho done\n", errorsExpected: true),
            ])
        guard case .run(let text, _) = steps[2] else { return }
        let parts = Self.chunks(text)
        #expect(parts.count == 3)
        if case .serve(let arguments) = parts[1] { #expect(arguments == ["--config", "tern.yaml"]) } else { Issue.record("no serve chunk") }
        #expect(throws: TernError.self) { try Self.steps("<!-- tour: walk -->\n```sh\nx\n```\n") }
    }

    @Test("README.md's tour runs as written on a fresh folder with no provider key")
    func tour() async throws {
        let binary = ServeProcessTests.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the tern executable first: \(binary.path)")
        let markdown = try String(contentsOf: Self.readme, encoding: .utf8)
        let steps = try Self.steps(markdown)
        #expect(steps.count >= 8, "the README marks its tour")
        let folder = try TempDirectory.make()
        defer { TempDirectory.remove(folder) }

        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TERN_") }
        environment["HOME"] = folder
        var server: RunningProcess?
        var port: Int?
        var transcript = ""
        // What the commands printed (the transcript also holds the commands and their comments).
        var printed = ""
        // Variables and aliases the blocks set, carried from one block to the next.
        let state = (folder as NSString).appendingPathComponent(".tour-state")
        let assignment = try NSRegularExpression(pattern: #"(?m)^(?:export +)?([A-Z_][A-Z0-9_]*)="#)
        let names = Set(
            assignment.matches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown)).compactMap { match in
                Range(match.range(at: 1), in: markdown).map { String(markdown[$0]) }
            } + ["TERN_SERVER", "TERN_API_KEY"])

        func restart(_ arguments: [String]) async throws {
            if let running = server {
                running.signal(SIGTERM)
                #expect(try await running.waitForExit() == 0, "the server stops cleanly: \(running.output.suffix(500))")
            }
            let started = try RunningProcess(binary, ["serve", "--port", String(port ?? 0)] + arguments, directory: folder)
            let line = try await started.waitForLine(containing: "listening on http://")
            let url = try #require(line.split(separator: " ").last.map(String.init))
            port = Int(url.split(separator: ":").last ?? "")
            server = started
            transcript += "$ tern serve \(arguments.joined(separator: " "))\n\(started.output)\n"
        }

        try await withCleanup {
            for step in steps {
                switch step {
                case .file(let path, let text):
                    let url = URL(fileURLWithPath: folder).appendingPathComponent(path)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try text.write(to: url, atomically: true, encoding: .utf8)
                case .run(let block, let errorsExpected):
                    for chunk in Self.chunks(block) {
                        switch chunk {
                        case .serve(let arguments):
                            try await restart(arguments)
                        case .shell(let text):
                            let port = try #require(port, "the tour starts the server before its first command")
                            let script = text.replacingOccurrences(of: ".build/release/tern", with: binary.path)
                                .replacingOccurrences(of: "7777", with: String(port))
                            let wrapper = """
                                set -eo pipefail
                                shopt -s expand_aliases
                                [ -f \(state) ] && source \(state)
                                \(errorsExpected ? "" : "curl() { command curl --fail-with-body \"$@\"; }")
                                \(script)
                                { alias -p; for name in \(names.sorted().joined(separator: " ")); do declare -p "$name" 2>/dev/null || true; done; } > \(state)
                                """
                            let (status, output) = try await ChildProcess.run(["/bin/bash", "-c", wrapper], environment: environment, directory: folder)
                            let text = output
                            transcript += "$ \(script)\n\(text)\n"
                            printed += text + "\n"
                            try #require(status == 0, "a tour command failed (status \(status)):\n\(script)\n---\n\(text)")
                        }
                    }
                }
            }

            // What the tour claims, checked in what it printed and in the server.
            for shown in [
                #"{"status":"ok"}"#, #""code":"missing_credentials""#, #""code":"unknown_field""#, "x-tern-trace-id:", "x-tern-deployment:",
                "support-bot is now version 3 (rollback to version 1).", "Comparing ",
            ] {
                #expect(printed.contains(shown), "the tour shows \(shown): \(transcript)")
            }
            let port = try #require(port)
            let check = """
                source \(state)
                curl -s --fail-with-body -H "Authorization: Bearer $KEY" http://127.0.0.1:\(port)/api/v1/experiments
                """
            let (status, output) = try await ChildProcess.run(["/bin/bash", "-c", check], environment: environment, directory: folder)
            #expect(status == 0)
            let runs = try JSONValue.parse(Data(output.utf8))["data"]?.array ?? []
            #expect(runs.count == 2)
            #expect(runs.allSatisfy { $0["status"]?.string == "completed" && $0["summary"]?["errors"]?.int == 0 }, "\(runs)")
            #expect(runs.first?["summary"]?["cells"]?.int == 4, "2 items x 2 prompt versions x 1 model")
        } cleanup: {
            if let server {
                server.signal(SIGTERM)
                _ = try? await server.waitForExit()
            }
        }
    }
}
