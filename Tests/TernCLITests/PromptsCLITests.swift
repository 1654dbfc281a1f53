import Foundation
import TernCore
import TernTestSupport
import Testing

@Suite("CLI: prompts")
struct PromptsCLITests {
    @Test("push a prompts/ directory, list, show, diff, label and roll back; a bad file stores nothing", arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        try await withTestStore(kind, migrate: false) { test in
            let flags = storageFlags(test)
            let folder = URL(fileURLWithPath: test.directory).appendingPathComponent("prompts-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent("support.yaml")
            func write(_ system: String) throws {
                try """
                name: support-bot
                messages:
                  - role: system
                    content: \(system)
                  - role: user
                    content: "{{ question }}"
                config:
                  model: bot
                  temperature: 0.2
                commit_message: tone
                labels: [staging]
                """.write(to: file, atomically: true, encoding: .utf8)
            }
            try write("Be brief.")
            try "name: summary\nprompt: 'Summarise in {{ words }} words: {{ text }}'\n".write(
                to: folder.appendingPathComponent("summary.yml"), atomically: true, encoding: .utf8)
            let first = try await tern(["prompts", "push", folder.path, "--label", "production"] + flags)
            #expect(first.contains("support-bot v1 created"), "\(first)")
            #expect(first.contains("summary v1 created"))
            #expect(try await tern(["prompts", "push", folder.path] + flags).contains("unchanged at v1"))
            try write("Be brief and kind.")
            #expect(try await tern(["prompts", "push", file.path] + flags).contains("support-bot v2 created"))

            let list = try await tern(["prompts", "list"] + flags)
            #expect(list.contains("support-bot") && list.contains("production=v1") && list.contains("staging=v2"), "\(list)")
            let shown = try await tern(["prompts", "show", "support-bot"] + flags)
            #expect(shown.contains("v1") && shown.contains("Be brief.") && !shown.contains("kind"), "production by default: \(shown)")
            let diff = try await tern(["prompts", "diff", "support-bot", "1", "2"] + flags)
            #expect(diff.contains("- Be brief.") && diff.contains("+ Be brief and kind."), "\(diff)")
            #expect(try await tern(["prompts", "label", "support-bot", "production", "2"] + flags).contains("production -> v2 (was v1)"))
            #expect(try await tern(["prompts", "label", "support-bot", "production", "1"] + flags).contains("(was v2)"))
            let history = try await tern(["prompts", "history", "support-bot"] + flags)
            #expect(history.contains("v2") && history.contains("production"))

            // A file with an undeclared variable names the file and the key, and nothing is pushed.
            try "name: broken\nprompt: 'Hi {{ who }}'\nvariables: [name]\n".write(
                to: folder.appendingPathComponent("zz-broken.yaml"), atomically: true, encoding: .utf8)
            try write("A third version.")
            await #expect(throws: TernError.self) { _ = try await tern(["prompts", "push", folder.path] + flags) }
            let store = try #require(test.store as (any TernStore)?)
            let project = try #require(try await store.projects.get(slug: "default"))
            #expect(try await store.prompts.history(projectID: project.id, name: "support-bot").count == 2, "the good file was not pushed either")
            #expect(try await store.prompts.get(projectID: project.id, name: "broken", label: "latest") == nil)
        }
    }
}
