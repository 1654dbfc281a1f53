import Foundation
import TernCore
import TernLocal
import TernTestSupport
import Testing

/// The installed all-MiniLM-L6-v2 (`InstalledModel` gates the tests that need it).
enum RealModel {
    static var directory: URL? { InstalledModel.installed ? LocalModels.directory(of: LocalModelSpec.allMiniLML6V2.name) : nil }
    static var enabled: Bool { InstalledModel.enabled }

    static func embedder() async throws -> LocalEmbedder {
        try InstalledModel.requireInstalled()
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
