import Foundation
import TernCore

/// Near-duplicates by meaning: items whose embeddings are at least `threshold` cosine-similar to an
/// earlier item's. Every pair is compared (n² / 2 dot products of unit vectors), so callers bound n.
public struct SemanticDuplicates: Sendable, Codable, Equatable {
    /// The embedding model that made the vectors.
    public var model: String
    public var threshold: Double
    /// Items at least `threshold` similar to an earlier item (exact duplicates included when not excluded).
    public var count: Int
    /// Up to `maxPairs` pairs, most similar first.
    public var pairs: [Pair]

    public struct Pair: Sendable, Codable, Equatable {
        public var a: String
        public var b: String
        public var similarity: Double

        public init(a: String, b: String, similarity: Double) {
            self.a = a
            self.b = b
            self.similarity = similarity
        }
    }

    public static let maxPairs = 20

    public init(model: String, threshold: Double, count: Int, pairs: [Pair]) {
        self.model = model
        self.threshold = threshold
        self.count = count
        self.pairs = pairs
    }

    /// Compares every pair of `vectors` (unit length, all of one size); `skip[i]` leaves item i out
    /// (for example exact duplicates, already counted apart).
    public static func find(ids: [String], vectors: [[Float]], model: String, threshold: Double, skip: [Bool]? = nil) -> SemanticDuplicates {
        precondition(ids.count == vectors.count, "one vector per id")
        let n = vectors.count
        let width = vectors.first?.count ?? 0
        // One flat, padded buffer so the inner loop runs over SIMD lanes without bounds checks.
        let lanes = 8
        let padded = (width + lanes - 1) / lanes * lanes
        var flat = [Float](repeating: 0, count: n * padded)
        for (index, vector) in vectors.enumerated() {
            precondition(vector.count == width, "vectors of different lengths")
            for i in 0..<width { flat[index * padded + i] = vector[i] }
        }
        var near = [Bool](repeating: false, count: n)
        var best: [Pair] = []
        let limit = Float(threshold)
        flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            for later in 0..<n where skip?[later] != true {
                let row = base + later * padded * MemoryLayout<Float>.stride
                for earlier in 0..<later where skip?[earlier] != true {
                    let other = base + earlier * padded * MemoryLayout<Float>.stride
                    var sum = SIMD8<Float>()
                    var offset = 0
                    while offset < padded {
                        let x = row.loadUnaligned(fromByteOffset: offset * 4, as: SIMD8<Float>.self)
                        let y = other.loadUnaligned(fromByteOffset: offset * 4, as: SIMD8<Float>.self)
                        sum += x * y
                        offset += lanes
                    }
                    let similarity = sum.sum()
                    guard similarity >= limit else { continue }
                    near[later] = true
                    let pair = Pair(a: ids[earlier], b: ids[later], similarity: Double(similarity))
                    if best.count < maxPairs || pair.similarity > best[best.count - 1].similarity {
                        let at = best.firstIndex { $0.similarity < pair.similarity } ?? best.count
                        best.insert(pair, at: at)
                        if best.count > maxPairs { best.removeLast() }
                    }
                }
            }
        }
        return SemanticDuplicates(model: model, threshold: threshold, count: near.filter { $0 }.count, pairs: best)
    }
}
