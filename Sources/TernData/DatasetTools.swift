import Foundation
public import TernCore

/// Which CSV columns become what. Unmapped columns become input variables.
public struct CSVMapping: Sendable, Equatable {
    public var id: String?
    /// The expected output column; `expected_output`, `expected` and promptfoo's `__expected` are found by default.
    public var expected: String?
    /// Columns stored as metadata; `task`, `language` and `domain` are found by default.
    public var metadata: [String]
    public var golden: String?
    /// When set, only these columns are input variables.
    public var input: [String]?

    public init(id: String? = nil, expected: String? = nil, metadata: [String] = [], golden: String? = nil, input: [String]? = nil) {
        self.id = id
        self.expected = expected
        self.metadata = metadata
        self.golden = golden
        self.input = input
    }
}

public enum DatasetImport {
    /// One item per non-empty line; an error names the line and key.
    public static func jsonl(_ text: String, makeID: () -> String = { TernID.makeTimeOrdered() }) throws -> [DatasetItem] {
        var items: [DatasetItem] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(Data(trimmed.utf8)) } catch {
                throw TernError.invalid("line \(index + 1)", "not valid JSON: \(error)")
            }
            items.append(try DatasetItem.definition(value, path: "line \(index + 1)", defaultID: makeID))
        }
        return items
    }

    public static func csv(_ text: String, mapping: CSVMapping = CSVMapping(), makeID: () -> String = { TernID.makeTimeOrdered() }) throws -> [DatasetItem] {
        let rows = try CSV.parse(text)
        guard let header = rows.first else { return [] }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        func column(_ name: String?) throws -> Int? {
            guard let name else { return nil }
            guard let index = columns.firstIndex(of: name) else {
                throw TernError.invalid("mapping", "column \"\(name)\" is not in the header (\(columns.joined(separator: ", ")))")
            }
            return index
        }
        let idColumn = try column(mapping.id) ?? columns.firstIndex(of: "id")
        let expectedColumn = try column(mapping.expected) ?? ["expected_output", "expected", "__expected"].lazy.compactMap { columns.firstIndex(of: $0) }.first
        let goldenColumn = try column(mapping.golden) ?? columns.firstIndex(of: "golden")
        var metadataColumns = try mapping.metadata.map { try column($0)! }
        for name in ["task", "language", "domain"] where !mapping.metadata.contains(name) && mapping.input?.contains(name) != true {
            if let index = columns.firstIndex(of: name) { metadataColumns.append(index) }
        }
        let taken = Set([idColumn, expectedColumn, goldenColumn].compactMap { $0 } + metadataColumns)
        let inputColumns =
            try mapping.input.map { try $0.map { try column($0)! } }
            ?? columns.indices.filter { !taken.contains($0) && !columns[$0].hasPrefix("__") }
        var items: [DatasetItem] = []
        for (offset, row) in rows.dropFirst().enumerated() {
            let line = offset + 2
            guard row.count == columns.count else {
                throw TernError.invalid("line \(line)", "expected \(columns.count) fields like the header, found \(row.count)")
            }
            var input: [String: JSONValue] = [:]
            for index in inputColumns { input[columns[index]] = .string(row[index]) }
            var metadata: [String: JSONValue] = [:]
            for index in metadataColumns where !row[index].isEmpty { metadata[columns[index]] = .string(row[index]) }
            var golden = false
            if let goldenColumn {
                switch row[goldenColumn].lowercased() {
                case "true", "1", "yes", "y": golden = true
                case "false", "0", "no", "n", "": golden = false
                default: throw TernError.invalid("line \(line)", "\(columns[goldenColumn]): expected true or false, got \"\(row[goldenColumn])\"")
                }
            }
            let expected = expectedColumn.map { row[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            let id = idColumn.map { row[$0] }.flatMap { $0.isEmpty ? nil : $0 } ?? makeID()
            items.append(DatasetItem(id: id, input: input, expectedOutput: expected, metadata: metadata, golden: golden))
        }
        return items
    }
}

public enum DatasetExport {
    public static func jsonl(_ items: [DatasetItem]) -> String {
        items.map { $0.jsonObject.jsonString() + "\n" }.joined()
    }

    /// Columns: id, the input variables (sorted), expected_output, task, language, domain, golden.
    public static func csv(_ items: [DatasetItem]) -> String {
        let variables = Array(Set(items.flatMap(\.input.keys))).sorted()
        var lines = [(["id"] + variables + ["expected_output", "task", "language", "domain", "golden"]).map(CSV.escape).joined(separator: ",")]
        for item in items {
            let values =
                [item.id] + variables.map { name in item.input[name].map { $0.string ?? $0.jsonString() } ?? "" }
                + [item.expectedOutput ?? "", item.task ?? "", item.language ?? "", item.domain ?? "", item.golden ? "true" : "false"]
            lines.append(values.map(CSV.escape).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What a dataset holds: size, coverage of segments, input lengths, duplicates, golden share.
public struct DatasetStats: Sendable, Codable, Equatable {
    public var itemCount: Int
    public var goldenCount: Int
    public var goldenShare: Double
    public var byTask: [String: Int]
    public var byLanguage: [String: Int]
    public var byDomain: [String: Int]
    /// Input lengths in characters: bins of `[lower, upper)`.
    public var inputLengths: [LengthBin]
    /// Items whose normalised input equals an earlier item's.
    public var exactDuplicates: Int
    /// Items estimated (MinHash) at least `nearDuplicateThreshold` similar (Jaccard of 5-character
    /// shingles) to an earlier item, exact duplicates excluded.
    public var nearDuplicates: Int
    public var nearDuplicateThreshold: Double
    /// Up to 20 example pairs of near-duplicate item ids.
    public var nearDuplicatePairs: [[String]]
    /// Near-duplicates by meaning (embedding cosine), when asked for (`withSemanticDuplicates`).
    public var semanticDuplicates: SemanticDuplicates?

    public struct LengthBin: Sendable, Codable, Equatable {
        public var lower: Int
        public var upper: Int
        public var count: Int
    }

    public static func compute(_ items: [DatasetItem], threshold: Double = 0.8) -> DatasetStats {
        func count(_ key: (DatasetItem) -> String?) -> [String: Int] {
            var out: [String: Int] = [:]
            for item in items { out[key(item) ?? "(none)", default: 0] += 1 }
            return out
        }
        let texts = items.map { normalise(inputText($0)) }
        // Length histogram over powers of two, so short and long inputs both get bins.
        var bins: [Int: Int] = [:]
        for text in texts {
            let length = text.count
            let bin = length == 0 ? 0 : Int(log2(Double(length)).rounded(.down)) + 1
            bins[bin, default: 0] += 1
        }
        let maxBin = bins.keys.max() ?? 0
        let lengthBins = (0...maxBin).map { bin in
            LengthBin(lower: bin == 0 ? 0 : 1 << (bin - 1), upper: bin == 0 ? 1 : 1 << bin, count: bins[bin] ?? 0)
        }.filter { !items.isEmpty && ($0.count > 0 || $0.lower > 0) }
        // Exact duplicates.
        var seen = Set<String>()
        var exact = 0
        var isExact = [Bool](repeating: false, count: items.count)
        for (index, text) in texts.enumerated() {
            if !seen.insert(text).inserted { exact += 1; isExact[index] = true }
        }
        // Near duplicates: MinHash signatures, banded LSH for candidates, then the signature estimate.
        let signatures = texts.map { MinHash.signature(MinHash.shingles($0)) }
        var buckets: [String: [Int]] = [:]
        for (index, signature) in signatures.enumerated() where !isExact[index] {
            for band in 0..<MinHash.bands {
                let slice = signature[(band * MinHash.rows)..<((band + 1) * MinHash.rows)]
                buckets["\(band):" + slice.map(String.init).joined(separator: ","), default: []].append(index)
            }
        }
        var near = Set<Int>()
        var pairs: [[String]] = []
        var checked = Set<Int64>()
        for members in buckets.values where members.count > 1 {
            for (position, later) in members.enumerated() {
                for earlier in members[..<position] {
                    let pairKey = Int64(earlier) << 32 | Int64(later)
                    guard checked.insert(pairKey).inserted else { continue }
                    if MinHash.similarity(signatures[earlier], signatures[later]) >= threshold {
                        if near.insert(later).inserted, pairs.count < 20 { pairs.append([items[earlier].id, items[later].id]) }
                    }
                }
            }
        }
        let golden = items.filter(\.golden).count
        return DatasetStats(
            itemCount: items.count, goldenCount: golden, goldenShare: items.isEmpty ? 0 : Double(golden) / Double(items.count),
            byTask: count(\.task), byLanguage: count(\.language), byDomain: count(\.domain), inputLengths: lengthBins,
            exactDuplicates: exact, nearDuplicates: near.count, nearDuplicateThreshold: threshold, nearDuplicatePairs: pairs)
    }

    /// Most items `withSemanticDuplicates` compares (every pair is compared).
    public static let maxSemanticItems = 5_000

    /// These statistics plus near-duplicates by meaning: the items' inputs embedded by `embedder`, exact
    /// duplicates left out (counted apart), pairs at least `threshold` cosine-similar.
    public func withSemanticDuplicates(_ items: [DatasetItem], embedder: any Embedder, threshold: Double) async throws -> DatasetStats {
        guard (0...1).contains(threshold) else { throw TernError.invalid("semantic_threshold", "expected a number 0-1") }
        guard items.count <= Self.maxSemanticItems else {
            throw TernError.invalid(
                "semantic_threshold",
                "semantic near-duplicates compare every pair and take at most \(Self.maxSemanticItems) items; this version has \(items.count)")
        }
        let texts = items.map(Self.inputText)
        var seen = Set<String>()
        let skip = texts.map { !seen.insert(Self.normalise($0)).inserted }
        let vectors = try await embedder.embed(texts)
        var stats = self
        stats.semanticDuplicates = SemanticDuplicates.find(ids: items.map(\.id), vectors: vectors, model: embedder.modelName, threshold: threshold, skip: skip)
        return stats
    }

    /// The input as one text: variables in name order.
    public static func inputText(_ item: DatasetItem) -> String {
        item.input.keys.sorted().map { item.input[$0]!.string ?? item.input[$0]!.jsonString() }.joined(separator: "\n")
    }

    static func normalise(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}

/// MinHash over character shingles, for near-duplicate detection without comparing every pair.
public enum MinHash {
    public static let permutations = 64
    /// 16 bands of 4 rows: pairs above about 0.7 Jaccard become candidates with high probability.
    public static let bands = 16
    public static let rows = 4
    static let seeds: [(UInt64, UInt64)] = {
        var state: UInt64 = 0x5EED_1234_ABCD_0001
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<permutations).map { _ in (next() | 1, next()) }
    }()

    /// 5-character shingles (the whole text when shorter), hashed with FNV-1a.
    public static func shingles(_ text: String, size: Int = 5) -> Set<UInt64> {
        let scalars = Array(text.unicodeScalars)
        func hash(_ slice: ArraySlice<Unicode.Scalar>) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for scalar in slice {
                h ^= UInt64(scalar.value)
                h = h &* 0x0000_0100_0000_01B3
            }
            return h
        }
        guard scalars.count > size else { return [hash(scalars[...])] }
        var out = Set<UInt64>()
        for start in 0...(scalars.count - size) { out.insert(hash(scalars[start..<(start + size)])) }
        return out
    }

    public static func signature(_ shingles: Set<UInt64>) -> [UInt64] {
        seeds.map { a, b in shingles.reduce(UInt64.max) { min($0, (a &* $1) &+ b) } }
    }

    /// The share of equal signature positions: an estimate of the Jaccard similarity.
    public static func similarity(_ a: [UInt64], _ b: [UInt64]) -> Double {
        Double(zip(a, b).filter { $0 == $1 }.count) / Double(min(a.count, b.count))
    }
}
