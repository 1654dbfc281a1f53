import Foundation
import TernCore
import TernTestSupport
import Testing

@Suite("Storage contract: prompts")
struct PromptContractTests {
    static func chat(_ project: String, _ system: String, variables: [String] = ["question"], author: String = "ada") -> PromptVersion {
        PromptVersion(
            projectID: project, name: "support-bot", kind: .chat,
            messages: [PromptMessage(role: "system", content: system), PromptMessage(role: "user", content: "{{ question }}")],
            variables: variables, config: PromptModelConfig(model: "bot", temperature: 0.2, maxTokens: 200),
            commitMessage: "tone", author: author, createdAt: Timestamp.now())
    }

    @Test("versions are immutable and numbered; an unchanged push makes none; labels move with a history", arguments: StoreKind.available)
    func versionsAndLabels(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let other = try await test.store.projects.create(slug: "q", name: "Q")
            let prompts = test.store.prompts
            let (v1, created1) = try await prompts.push(Self.chat(project.id, "Be brief."), labels: ["production"])
            #expect(created1 && v1.version == 1 && v1.labels == ["production"])
            let (same, created) = try await prompts.push(Self.chat(project.id, "Be brief."), labels: [])
            #expect(!created && same.version == 1, "pushing the same content again makes no version")
            let (v2, _) = try await prompts.push(Self.chat(project.id, "Be brief and kind."), labels: ["staging"])
            #expect(v2.version == 2)
            #expect(try await prompts.get(projectID: project.id, name: "support-bot", label: "production")?.version == 1)
            #expect(try await prompts.get(projectID: project.id, name: "support-bot", label: "latest")?.version == 2)
            #expect(try await prompts.get(projectID: project.id, name: "support-bot", label: "staging")?.messages[0].content == "Be brief and kind.")
            #expect(try await prompts.get(projectID: other.id, name: "support-bot", label: "latest") == nil, "projects are apart")

            let promote = try await prompts.setLabel(projectID: project.id, name: "support-bot", label: "production", version: 2, author: "bob")
            #expect(promote.fromVersion == 1 && promote.toVersion == 2)
            let rollback = try await prompts.setLabel(projectID: project.id, name: "support-bot", label: "production", version: 1, author: "bob")
            #expect(rollback.fromVersion == 2)
            let moves = try await prompts.labelMoves(projectID: project.id, name: "support-bot")
            #expect(
                moves.map { "\($0.label):\($0.fromVersion.map(String.init) ?? "-")>\($0.toVersion)" } == [
                    "production:2>1", "production:1>2", "staging:->2", "production:->1",
                ])
            let history = try await prompts.history(projectID: project.id, name: "support-bot")
            #expect(history.map(\.version) == [2, 1])
            #expect(history.first { $0.version == 1 }?.labels == ["production"])
            #expect(history.first?.config == PromptModelConfig(model: "bot", temperature: 0.2, maxTokens: 200))
            let list = try await prompts.list(projectID: project.id)
            #expect(list.map(\.name) == ["support-bot"])
            #expect(list.first?.latestVersion == 2)
            #expect(list.first?.labels == ["production": 1, "staging": 2])

            await #expect(throws: TernError.self) {
                _ = try await prompts.setLabel(projectID: project.id, name: "support-bot", label: "production", version: 9, author: "bob")
            }
            await #expect(throws: TernError.self) {
                _ = try await prompts.setLabel(projectID: project.id, name: "support-bot", label: "latest", version: 1, author: "bob")
            }
            // Undeclared variables are refused before anything is stored, naming them.
            do {
                _ = try await prompts.push(Self.chat(project.id, "Hi {{ customer }}", variables: ["question"]), labels: [])
                Issue.record("an undeclared variable was accepted")
            } catch let error as TernError {
                #expect(error.message.contains("customer"))
            }
            #expect(try await prompts.history(projectID: project.id, name: "support-bot").count == 2)
        }
    }

    @Test("concurrent pushes of different content get distinct versions", arguments: StoreKind.available)
    func concurrentPushes(kind: StoreKind) async throws {
        try await withTestStore(kind) { test in
            let project = try await test.store.projects.create(slug: "p", name: "P")
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask { try await test.store.prompts.push(Self.chat(project.id, "Variant \(index)"), labels: []).version.version }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(versions.sorted() == Array(1...8))
        }
    }
}
