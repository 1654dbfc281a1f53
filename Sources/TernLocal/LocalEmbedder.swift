import Dispatch
public import Foundation
public import TernCore

/// A sentence-transformers model (BERT encoder, mean pooling, optional L2 normalisation) run in process.
///
/// Thread-safe: forward passes run one at a time on a private serial queue (off Swift's cooperative
/// pool, which they would otherwise block), each using every core. Load it once per process with
/// `LocalEmbedder.shared(...)`.
public final class LocalEmbedder: Embedder, @unchecked Sendable {
    public let modelName: String
    public var dimensions: Int { model.config.hiddenSize }
    public let directory: URL
    public let tokenizer: WordPieceTokenizer
    /// Whether vectors are L2-normalised (the model lists a Normalize module).
    public let normalizes: Bool
    let model: BertModel
    private let queue = DispatchQueue(label: "tern.local.embedder", qos: .userInitiated)
    /// Most tokens per forward pass: bounds the activations' memory (about 25 kB a token).
    static let tokensPerPass = 8192

    /// Loads a model folder laid out as sentence-transformers saves it (config.json, model.safetensors,
    /// vocab.txt, sentence_bert_config.json, 1_Pooling/config.json, modules.json).
    public init(directory: URL, name: String? = nil) throws {
        func json(_ path: String, required: Bool = true) throws -> [String: Any] {
            let url = directory.appendingPathComponent(path)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                if required { throw LocalModelError.unreadable(url.path, "missing") }
                return [:]
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw LocalModelError.invalid(url.path, "not a JSON object")
            }
            return object
        }
        let config = try BertModel.Config(json: try json("config.json"))
        let weights = try SafeTensors(path: directory.appendingPathComponent("model.safetensors").path)
        let model = try BertModel(config: config, weights: weights)

        var options = WordPieceTokenizer.Options()
        let tokenizerConfig = try json("tokenizer_config.json", required: false)
        options.lowercase = tokenizerConfig["do_lower_case"] as? Bool ?? true
        options.stripAccents = tokenizerConfig["strip_accents"] as? Bool
        options.tokenizeChineseChars = tokenizerConfig["tokenize_chinese_chars"] as? Bool ?? true
        let sentenceConfig = try json("sentence_bert_config.json", required: false)
        options.maxLength = min((sentenceConfig["max_seq_length"] as? NSNumber)?.intValue ?? 512, config.maxPositions)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"), options: options)
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw LocalModelError.invalid(
                directory.appendingPathComponent("vocab.txt").path,
                "\(tokenizer.vocabularySize) tokens, config.json says \(config.vocabularySize)")
        }

        let pooling = try json("1_Pooling/config.json", required: false)
        if let mean = pooling["pooling_mode_mean_tokens"] as? Bool, !mean {
            throw LocalModelError.invalid(directory.appendingPathComponent("1_Pooling/config.json").path, "only mean pooling is supported")
        }
        let modules = (try? JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("modules.json")))) as? [[String: Any]]
        self.normalizes = modules?.contains { ($0["type"] as? String)?.hasSuffix(".Normalize") == true } ?? true
        self.modelName = name ?? directory.lastPathComponent
        self.directory = directory
        self.tokenizer = tokenizer
        self.model = model
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await embedCountingTokens(texts).vectors
    }

    /// `embed`, and the number of word pieces the model read (with `[CLS]`/`[SEP]`, after truncation):
    /// the usage the gateway reports, counted from the same tokenisation.
    public func embedCountingTokens(_ texts: [String]) async throws -> (vectors: [[Float]], tokens: Int) {
        if texts.isEmpty { return ([], 0) }
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.embedNow(tokenized: texts.map(self.tokenizer.encode))) }
        }
    }

    /// `embed` on the calling thread (benchmarks and tools; async callers should use `embed`).
    public func embedNow(_ texts: [String]) -> [[Float]] {
        embedNow(tokenized: texts.map(tokenizer.encode)).vectors
    }

    func embedNow(tokenized sequences: [[Int32]]) -> (vectors: [[Float]], tokens: Int) {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(sequences.count)
        var start = 0
        while start < sequences.count {
            var end = start, tokens = 0
            while end < sequences.count, end == start || tokens + sequences[end].count <= Self.tokensPerPass {
                tokens += sequences[end].count
                end += 1
            }
            vectors += model.meanPooled(Array(sequences[start..<end]))
            start = end
        }
        return (normalizes ? vectors.map(Self.normalized) : vectors, sequences.reduce(0) { $0 + $1.count })
    }

    /// The OpenBLAS kernel family in use (for example "SkylakeX" or "Haswell"), for benchmark reports.
    public static var linearAlgebraBackend: String { "\(Compute.backend), GELU \(Activation.instructionSet)" }

    /// `v / max(‖v‖, 1e-12)`, as torch.nn.functional.normalize.
    static func normalized(_ vector: [Float]) -> [Float] {
        var squares: Double = 0
        for x in vector { squares += Double(x) * Double(x) }
        let scale = Float(1 / max(squares.squareRoot(), 1e-12))
        return vector.map { $0 * scale }
    }
}

extension LocalEmbedder {
    /// The process-wide instance of model `name` in `modelsDirectory` (the default directory when nil),
    /// loaded on first use. Throws the `model_not_installed` error (naming `tern models pull NAME`) when
    /// the model is absent; call `LocalModels.ensureInstalled` first to pull it instead.
    public static func shared(_ name: String = LocalModels.defaultModel, modelsDirectory: URL? = nil) async throws -> LocalEmbedder {
        let folder = try LocalModels.requireInstalled(name, in: modelsDirectory)
        return try await LoadedModels.instance.embedder(name: try LocalModels.spec(named: name).name, directory: folder)
    }
}

/// One loaded embedder per model folder, for the whole process.
actor LoadedModels {
    static let instance = LoadedModels()
    private var loading: [String: Task<LocalEmbedder, any Error>] = [:]

    func embedder(name: String, directory: URL) async throws -> LocalEmbedder {
        let key = directory.standardizedFileURL.path
        if let task = loading[key] { return try await task.value }
        let task = Task.detached(priority: .userInitiated) { try LocalEmbedder(directory: directory, name: name) }
        loading[key] = task
        do {
            return try await task.value
        } catch {
            loading[key] = nil
            throw error
        }
    }
}

/// The process-wide local model behind the `Embedder` protocol, loaded on its first `embed` (a
/// missing model is reported when the value is made, with the command that installs it).
public struct SharedLocalEmbedder: Embedder {
    public let modelName: String
    public let dimensions: Int
    let modelsDirectory: URL?

    public init(_ name: String = LocalModels.defaultModel, modelsDirectory: URL? = nil) throws {
        let spec = try LocalModels.spec(named: name)
        _ = try LocalModels.requireInstalled(spec.name, in: modelsDirectory)
        self.modelName = spec.name
        self.dimensions = spec.dimensions
        self.modelsDirectory = modelsDirectory
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try await LocalEmbedder.shared(modelName, modelsDirectory: modelsDirectory).embed(texts)
    }
}
