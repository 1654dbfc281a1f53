import Foundation

/// A per-trace number to compare between segments of traffic (bias and ethics monitoring).
public enum TraceMeasure: Sendable, Equatable {
    /// Openings of refusals (lower-cased, apostrophes straightened): an output that holds one in its first 200
    /// characters is a refusal. The same test in Swift (`isRefusal`) and in SQL (the `refusal_rate` measure).
    public static let refusalPhrases = [
        "i can't", "i cannot", "i can not", "i'm sorry", "i am sorry", "i'm unable", "i am unable", "i won't", "i will not",
        "as an ai", "i'm not able", "i am not able", "sorry, but", "i must decline", "i'm afraid i can't",
    ]

    public static func isRefusal(_ output: String) -> Bool {
        let head = String(output.prefix(200)).lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
        return refusalPhrases.contains { head.contains($0) }
    }

    /// End minus start, in milliseconds (traces with an end).
    case latencyMs
    /// The trace's total cost in USD (traces with a cost).
    case cost
    /// Input plus output tokens.
    case tokens
    /// 1 when the trace has an error observation, else 0: a rate.
    case errorRate
    /// The trace's scores of this name (each score counts; boolean scores are 0 or 1, so their mean is a rate).
    case score(String)
    /// 1 when the trace's output is a refusal (`TraceMeasure.refusalPhrases` in its first 200 characters), else 0:
    /// a rate over the traces with an output.
    case refusalRate

    /// `latency`, `cost`, `tokens`, `error_rate`, or `score:NAME`.
    public init(parsing text: String) throws {
        switch text {
        case "latency", "latency_ms": self = .latencyMs
        case "cost": self = .cost
        case "tokens": self = .tokens
        case "error_rate", "errors": self = .errorRate
        case "refusal_rate", "refusals": self = .refusalRate
        default:
            guard text.hasPrefix("score:"), text.count > 6, text.count <= 106 else {
                throw TernError.invalid("metric", "expected latency, cost, tokens, error_rate, refusal_rate or score:NAME, got \"\(text)\"")
            }
            self = .score(String(text.dropFirst(6)))
        }
    }

    public var name: String {
        switch self {
        case .latencyMs: "latency"
        case .cost: "cost"
        case .tokens: "tokens"
        case .errorRate: "error_rate"
        case .refusalRate: "refusal_rate"
        case .score(let name): "score:\(name)"
        }
    }
}

/// What splits traffic into segments: a trace column, or a metadata key.
public enum TraceSegment: Sendable, Equatable {
    case column(String)
    case metadata(String)
    /// Every trace in one segment (`all`): the measure over the whole traffic.
    case all

    public static let columns = [
        "language", "model", "task", "domain", "environment", "release", "prompt_name", "deployment", "variant", "user_id", "name",
    ]

    /// A column name, or `metadata.KEY`.
    public init(parsing text: String) throws {
        if text.hasPrefix("metadata.") {
            let key = String(text.dropFirst("metadata.".count))
            guard !key.isEmpty, key.count <= 200, !key.contains(where: { $0 == "\"" || $0 == "\\" || $0.isNewline }) else {
                throw TernError.invalid("by", "metadata keys may not be empty or contain quotes, backslashes or line breaks")
            }
            self = .metadata(key)
        } else {
            guard Self.columns.contains(text) else {
                throw TernError.invalid("by", "expected one of \(Self.columns.joined(separator: ", ")) or metadata.KEY, got \"\(text)\"")
            }
            self = .column(text)
        }
    }

    public var name: String {
        switch self {
        case .column(let column): column
        case .metadata(let key): "metadata.\(key)"
        case .all: "all"
        }
    }
}

/// One segment's sums of a measure: enough for its mean, variance, or rate.
public struct SegmentSums: Sendable, Equatable, Codable {
    /// The segment's value; `(none)` for traces without one.
    public var segment: String
    public var count: Int
    public var sum: Double
    public var sumOfSquares: Double

    public init(segment: String, count: Int, sum: Double, sumOfSquares: Double) {
        self.segment = segment
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
    }

    /// The label of traces without a value of the segment.
    public static let none = "(none)"

    enum CodingKeys: String, CodingKey {
        case segment, count, sum
        case sumOfSquares = "sum_of_squares"
    }
}
