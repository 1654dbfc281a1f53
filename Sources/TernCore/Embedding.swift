import Foundation

/// Turns texts into fixed-size vectors. Implemented by the in-process local model (TernLocal,
/// `all-minilm-l6-v2`) and by any embeddings model reached through the gateway; used by the
/// `similar` evaluator, near-duplicate detection, drift detection, the semantic cache and guards.
///
/// Implementations are thread-safe and may be shared by everything in a process.
public protocol Embedder: Sendable {
    /// The model's name as clients give it (for example `all-minilm-l6-v2`).
    var modelName: String { get }
    /// Length of every vector `embed` returns.
    var dimensions: Int { get }
    /// One vector per text, in order. Vectors of normalising models have unit length.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

public enum VectorMath {
    /// Cosine similarity of two vectors of the same length; 0 when either is all zeros.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "vectors of different lengths")
        var dot: Double = 0, na: Double = 0, nb: Double = 0
        for i in 0..<a.count {
            let x = Double(a[i]), y = Double(b[i])
            dot += x * y
            na += x * x
            nb += y * y
        }
        guard na > 0, nb > 0 else { return 0 }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}

/// Remembers vectors by text, so repeated work (a statistics page viewed again, a dataset with one
/// item changed) embeds only what is new. Bounded: the oldest entries go first.
public final class CachingEmbedder: Embedder, @unchecked Sendable {
    let base: any Embedder
    let capacity: Int
    private let lock = NSLock()
    private var vectors: [String: [Float]] = [:]
    private var order: [String] = []
    private var head = 0

    public var modelName: String { base.modelName }
    public var dimensions: Int { base.dimensions }

    public init(_ base: any Embedder, capacity: Int = 20_000) {
        self.base = base
        self.capacity = max(1, capacity)
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var results = [[Float]?](repeating: nil, count: texts.count)
        var missing: [String] = []
        lock.withLock {
            for (index, text) in texts.enumerated() {
                if let known = vectors[text] { results[index] = known } else { missing.append(text) }
            }
        }
        var distinct = Set<String>()
        let unique = missing.filter { distinct.insert($0).inserted }
        if !unique.isEmpty {
            let fresh = try await base.embed(unique)
            lock.withLock {
                for (text, vector) in zip(unique, fresh) where vectors[text] == nil {
                    vectors[text] = vector
                    order.append(text)
                }
                while vectors.count > capacity, head < order.count {
                    vectors[order[head]] = nil
                    head += 1
                }
                if head > capacity { order.removeFirst(head); head = 0 }
            }
            let byText = Dictionary(zip(unique, fresh), uniquingKeysWith: { first, _ in first })
            for index in texts.indices where results[index] == nil { results[index] = byText[texts[index]] }
        }
        return results.map { $0 ?? [] }
    }
}
