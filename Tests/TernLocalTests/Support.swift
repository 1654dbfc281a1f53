import Foundation
import TernCore
import TernLocal
import Testing

/// The real all-MiniLM-L6-v2, when installed in the models directory (scripts/test pulls it and sets
/// TERN_TEST_REQUIRE_MODEL=1, which turns its absence into a failure instead of a skip).
enum RealModel {
    static var directory: URL? {
        LocalModels.isInstalled(.allMiniLML6V2) ? LocalModels.directory(of: LocalModelSpec.allMiniLML6V2.name) : nil
    }

    static var required: Bool { ProcessInfo.processInfo.environment["TERN_TEST_REQUIRE_MODEL"] == "1" }

    /// Run the test when the model is installed, or when it is required (then it fails on its absence).
    static var enabled: Bool { directory != nil || required }

    static func embedder() async throws -> LocalEmbedder {
        try #require(directory != nil, "TERN_TEST_REQUIRE_MODEL=1 but all-minilm-l6-v2 is not installed: run tern models pull all-minilm-l6-v2")
        return try await LocalEmbedder.shared()
    }
}

/// The reference fixture written by scripts/embedding-reference.py.
struct ReferenceFixture: Decodable {
    struct Sentence: Decodable {
        var category: String
        var text: String
        var ids: [Int32]
        var embedding: [Float]
    }

    var model: String
    var versions: [String: String]
    var max_seq_length: Int
    var sentences: [Sentence]

    static let shared: ReferenceFixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/minilm-reference.json")
        return try! JSONDecoder().decode(ReferenceFixture.self, from: Data(contentsOf: url))
    }()
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tern-local-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
