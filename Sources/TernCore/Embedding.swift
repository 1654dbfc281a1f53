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
