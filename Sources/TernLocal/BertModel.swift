import Foundation

/// The BERT encoder of a sentence-transformers model (all-MiniLM-L6-v2: 6 layers, hidden size 384,
/// 12 heads, GELU, LayerNorm ε 1e-12), inference only, with mean pooling.
///
/// A batch is run *packed*: the tokens of all its texts are stacked into one matrix with no padding, so
/// every dense layer is one matrix product over all the tokens of the batch, and attention is computed
/// per text over that text's own tokens. That is exactly what the reference computes for a padded batch
/// with an attention mask (masked keys get weight exp(-inf) = 0, padded rows are dropped by the pooling),
/// without spending time on padding; a text's vector does not depend on the other texts of its batch.
struct BertModel: Sendable {
    struct Config: Sendable {
        var hiddenSize: Int
        var layers: Int
        var heads: Int
        var intermediateSize: Int
        var maxPositions: Int
        var layerNormEpsilon: Float
        var vocabularySize: Int

        init(json: [String: Any]) throws {
            func int(_ key: String) throws -> Int {
                guard let value = (json[key] as? NSNumber)?.intValue else { throw LocalModelError.invalid("config.json", "\(key) is missing") }
                return value
            }
            hiddenSize = try int("hidden_size")
            layers = try int("num_hidden_layers")
            heads = try int("num_attention_heads")
            intermediateSize = try int("intermediate_size")
            maxPositions = try int("max_position_embeddings")
            vocabularySize = try int("vocab_size")
            layerNormEpsilon = (json["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-12
            let activation = json["hidden_act"] as? String ?? "gelu"
            guard activation == "gelu" else { throw LocalModelError.invalid("config.json", "hidden_act \(activation) is not supported (only gelu)") }
            guard hiddenSize % heads == 0 else { throw LocalModelError.invalid("config.json", "hidden_size is not a multiple of num_attention_heads") }
        }
    }

    struct Layer: Sendable {
        /// Query, key and value stacked: one product gives [tokens, 3 × hidden].
        let qkv: Linear
        let attentionOutput: Linear
        let attentionNorm: LayerNorm
        let intermediate: Linear
        let output: Linear
        let outputNorm: LayerNorm
    }

    let config: Config
    let weights: SafeTensors
    let wordEmbeddings: SafeTensors.Tensor
    let positionEmbeddings: [Float]
    let tokenTypeEmbedding: [Float]
    let embeddingNorm: LayerNorm
    let layers: [Layer]

    init(config: Config, weights: SafeTensors) throws {
        _ = try BLAS.library()
        let h = config.hiddenSize, i = config.intermediateSize
        // Checkpoints exported from BertModel have no prefix; from BertForX, a "bert." one.
        let prefix = weights.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func linear(_ name: String, _ inFeatures: Int, _ outFeatures: Int) throws -> Linear {
            Linear(
                weight: try weights.floats(prefix + name + ".weight", shape: [outFeatures, inFeatures]),
                bias: try weights.floats(prefix + name + ".bias", shape: [outFeatures]),
                inFeatures: inFeatures, outFeatures: outFeatures)
        }
        func norm(_ name: String) throws -> LayerNorm {
            LayerNorm(
                gamma: try weights.floats(prefix + name + ".weight", shape: [h]),
                beta: try weights.floats(prefix + name + ".bias", shape: [h]), epsilon: config.layerNormEpsilon)
        }
        wordEmbeddings = try weights.tensor(prefix + "embeddings.word_embeddings.weight")
        guard wordEmbeddings.shape == [config.vocabularySize, h] else {
            throw LocalModelError.invalid(weights.path, "word embeddings have shape \(wordEmbeddings.shape)")
        }
        positionEmbeddings = try weights.floats(prefix + "embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        tokenTypeEmbedding = Array(try weights.floats(prefix + "embeddings.token_type_embeddings.weight")[0..<h])
        embeddingNorm = try norm("embeddings.LayerNorm")
        layers = try (0..<config.layers).map { index in
            let p = "encoder.layer.\(index)."
            return Layer(
                qkv: Linear(stacking: [
                    try linear(p + "attention.self.query", h, h), try linear(p + "attention.self.key", h, h),
                    try linear(p + "attention.self.value", h, h),
                ]),
                attentionOutput: try linear(p + "attention.output.dense", h, h),
                attentionNorm: try norm(p + "attention.output.LayerNorm"),
                intermediate: try linear(p + "intermediate.dense", h, i),
                output: try linear(p + "output.dense", i, h),
                outputNorm: try norm(p + "output.LayerNorm"))
        }
        self.config = config
        self.weights = weights
    }

    /// Mean-pooled last hidden states, one row of `hiddenSize` per sequence (not normalised).
    /// Every sequence has at least one token and at most `maxPositions`; ids are below the vocabulary size.
    func meanPooled(_ sequences: [[Int32]]) -> [[Float]] {
        let h = config.hiddenSize
        var starts: [Int] = []
        var total = 0
        for sequence in sequences {
            precondition(!sequence.isEmpty && sequence.count <= config.maxPositions, "sequence length out of range")
            starts.append(total)
            total += sequence.count
        }
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: total * h)
        let wide = UnsafeMutablePointer<Float>.allocate(capacity: total * max(config.intermediateSize, 3 * h))
        let context = UnsafeMutablePointer<Float>.allocate(capacity: total * h)
        let projected = UnsafeMutablePointer<Float>.allocate(capacity: total * h)
        defer { hidden.deallocate(); wide.deallocate(); context.deallocate(); projected.deallocate() }

        embed(sequences, starts: starts, into: hidden)
        for layer in layers {
            layer.qkv.apply(hidden, rows: total, into: wide)
            attention(wide, sequences: sequences, starts: starts, into: context)
            layer.attentionOutput.apply(context, rows: total, into: projected)
            layer.attentionNorm.apply(hidden, adding: projected, rows: total)
            layer.intermediate.apply(hidden, rows: total, into: wide)
            Activation.gelu(wide, count: total * config.intermediateSize)
            layer.output.apply(wide, rows: total, into: projected)
            layer.outputNorm.apply(hidden, adding: projected, rows: total)
        }
        return sequences.indices.map { index in
            var pooled = [Float](repeating: 0, count: h)
            let count = sequences[index].count
            for token in starts[index]..<(starts[index] + count) {
                let row = hidden + token * h
                for i in 0..<h { pooled[i] += row[i] }
            }
            let scale = 1 / Float(count)
            for i in 0..<h { pooled[i] *= scale }
            return pooled
        }
    }

    /// Word + position + token type 0 embeddings, then LayerNorm. Word rows are read from the mapped file.
    private func embed(_ sequences: [[Int32]], starts: [Int], into hidden: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize
        positionEmbeddings.withUnsafeBufferPointer { positions in
            for (index, sequence) in sequences.enumerated() {
                for (position, id) in sequence.enumerated() {
                    let row = hidden + (starts[index] + position) * h
                    weights.row(wordEmbeddings, Int(id), into: row)
                    let positionRow = positions.baseAddress! + position * h
                    for i in 0..<h { row[i] += positionRow[i] + tokenTypeEmbedding[i] }
                }
            }
        }
        embeddingNorm.apply(hidden, adding: nil, rows: starts.last.map { $0 + sequences.last!.count } ?? 0)
    }

    /// Scaled dot-product attention per sequence and head over `qkv` ([tokens, 3 × hidden]: queries,
    /// keys, values), written to `context` ([tokens, hidden]). Each (sequence, head) is two small products.
    private func attention(_ qkv: UnsafeMutablePointer<Float>, sequences: [[Int32]], starts: [Int], into context: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize, heads = config.heads, d = h / heads
        let stride = 3 * h
        let scale = 1 / Float(d).squareRoot()
        Compute.parallelFor(sequences.count * heads) { item in
            let sequence = item / heads, head = item % heads
            let length = sequences[sequence].count
            let base = qkv + starts[sequence] * 3 * h + head * d
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: length * length)
            defer { scores.deallocate() }
            // scores = scale · Q Kᵀ
            BLAS.sgemm(transB: true, length, length, d, alpha: scale, base, lda: stride, base + h, ldb: stride, beta: 0, scores, ldc: length)
            for row in 0..<length {
                let s = scores + row * length
                var maximum = -Float.infinity
                for j in 0..<length { maximum = max(maximum, s[j]) }
                var sum: Float = 0
                for j in 0..<length { let e = expf(s[j] - maximum); s[j] = e; sum += e }
                let inverse = 1 / sum
                for j in 0..<length { s[j] *= inverse }
            }
            // context = softmax(scores) V
            BLAS.sgemm(
                transB: false, length, d, length, alpha: 1, scores, lda: length, base + 2 * h, ldb: stride,
                beta: 0, context + starts[sequence] * h + head * d, ldc: h)
        }
    }
}
