public import Foundation

public enum ScoreDataType: String, Sendable, Codable, Equatable, CaseIterable {
    case numeric
    case categorical
    case boolean
}

/// Who produced a score.
public enum ScoreSource: String, Sendable, Codable, Equatable, CaseIterable {
    case human
    /// A model judge (LLM-as-judge, watcher model).
    case model
    /// A deterministic rule or evaluator.
    case rule
    /// Sent through the API by the application.
    case api
    /// A watcher (online evaluator) scoring live traffic.
    case watcher
}

/// A judgement of a trace or one of its observations: a number, a category or a yes/no.
public struct Score: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var traceID: String
    public var observationID: String?
    public var name: String
    public var dataType: ScoreDataType
    /// Numeric scores, and booleans as 0 or 1.
    public var numericValue: Double?
    /// Categorical scores, and booleans as "true" or "false".
    public var stringValue: String?
    public var source: ScoreSource
    /// The reason a judge or a person gave.
    public var comment: String?
    public var author: String?
    public var configID: String?
    public var createdAt: Date

    public init(
        id: String, projectID: String, traceID: String, observationID: String? = nil, name: String, dataType: ScoreDataType,
        numericValue: Double? = nil, stringValue: String? = nil, source: ScoreSource, comment: String? = nil,
        author: String? = nil, configID: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.traceID = traceID
        self.observationID = observationID
        self.name = name
        self.dataType = dataType
        self.numericValue = numericValue
        self.stringValue = stringValue
        self.source = source
        self.comment = comment
        self.author = author
        self.configID = configID
        self.createdAt = createdAt
    }
}

/// What values a named score may take; new scores of that name are checked against it.
public struct ScoreConfig: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    public var dataType: ScoreDataType
    public var minValue: Double?
    public var maxValue: Double?
    /// Allowed categories (categorical scores).
    public var categories: [String]
    public var description: String?
    public var createdAt: Date

    public init(
        id: String, projectID: String, name: String, dataType: ScoreDataType, minValue: Double? = nil, maxValue: Double? = nil,
        categories: [String] = [], description: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.dataType = dataType
        self.minValue = minValue
        self.maxValue = maxValue
        self.categories = categories
        self.description = description
        self.createdAt = createdAt
    }

    /// Checks the config itself.
    public func validateDefinition() throws {
        _ = try Validate.name(name, field: "name", max: 100)
        if let minValue, let maxValue, minValue > maxValue { throw TernError.invalid("min_value", "must not exceed max_value") }
        if dataType == .categorical, categories.isEmpty { throw TernError.invalid("categories", "a categorical score needs at least one category") }
        if dataType != .categorical, !categories.isEmpty { throw TernError.invalid("categories", "only categorical scores have categories") }
        if dataType != .numeric, minValue != nil || maxValue != nil { throw TernError.invalid("min_value", "only numeric scores have a range") }
    }

    /// Checks a score against this config; the error names the offending field.
    public func validate(_ score: Score) throws {
        guard score.dataType == dataType else {
            throw TernError.invalid("data_type", "score \"\(name)\" is \(dataType.rawValue), got \(score.dataType.rawValue)")
        }
        switch dataType {
        case .numeric:
            guard let value = score.numericValue, value.isFinite else { throw TernError.invalid("value", "score \"\(name)\" needs a number") }
            if let minValue, value < minValue { throw TernError.invalid("value", "score \"\(name)\" must be at least \(minValue), got \(value)") }
            if let maxValue, value > maxValue { throw TernError.invalid("value", "score \"\(name)\" must be at most \(maxValue), got \(value)") }
        case .categorical:
            guard let value = score.stringValue, categories.contains(value) else {
                throw TernError.invalid("value", "score \"\(name)\" must be one of \(categories.joined(separator: ", ")), got \"\(score.stringValue ?? "")\"")
            }
        case .boolean:
            guard score.numericValue == 0 || score.numericValue == 1 else { throw TernError.invalid("value", "score \"\(name)\" needs true or false") }
        }
    }
}

extension Score {
    /// A score from a JSON value: numbers are numeric, strings categorical, booleans boolean, unless
    /// `dataType` says otherwise.
    public static func value(_ value: JSONValue, dataType: ScoreDataType?) throws -> (ScoreDataType, Double?, String?) {
        switch (value, dataType) {
        case (.bool(let flag), nil), (.bool(let flag), .boolean?):
            return (.boolean, flag ? 1 : 0, flag ? "true" : "false")
        case (.number(let number), .boolean?):
            guard number == 0 || number == 1 else { throw TernError.invalid("value", "a boolean score is true, false, 0 or 1") }
            return (.boolean, number, number == 1 ? "true" : "false")
        case (.number(let number), nil), (.number(let number), .numeric?):
            guard number.isFinite, abs(number) <= InputBounds.maxScore else {
                throw TernError.invalid("value", "must be a finite number from -1e12 to 1e12")
            }
            return (.numeric, number, nil)
        case (.string(let text), nil), (.string(let text), .categorical?):
            return (.categorical, nil, text)
        case (.string(let text), .boolean?):
            guard text == "true" || text == "false" else { throw TernError.invalid("value", "a boolean score is true or false") }
            return (.boolean, text == "true" ? 1 : 0, text)
        default:
            throw TernError.invalid("value", "expected a number, a string or a boolean\(dataType.map { " for a \($0.rawValue) score" } ?? "")")
        }
    }
}

/// Types new scores of one project: a score config decides a name's type; without one, the first
/// score of a name fixes it (a later "good" under a name that holds numbers is refused, not stored
/// beside them). Names are looked up once per instance, so a batch's first score of a new name
/// fixes it for the rest of the batch.
public struct ScoreTyping: Sendable {
    public struct Typed: Sendable {
        public var config: ScoreConfig?
        public var dataType: ScoreDataType
        public var numericValue: Double?
        public var stringValue: String?
    }

    let projectID: String
    let configs: any ScoreConfigRepository
    let scores: any ScoreRepository
    private var known: [String: (config: ScoreConfig?, dataType: ScoreDataType?)] = [:]

    public init(projectID: String, configs: any ScoreConfigRepository, scores: any ScoreRepository) {
        self.projectID = projectID
        self.configs = configs
        self.scores = scores
    }

    /// The type and value of a new score; errors name `data_type` or `value`.
    public mutating func type(_ value: JSONValue, name: String, declared: ScoreDataType?) async throws -> Typed {
        let entry: (config: ScoreConfig?, dataType: ScoreDataType?)
        if let cached = known[name] {
            entry = cached
        } else {
            let config = try await configs.get(projectID: projectID, name: name)
            entry = (config, config == nil ? try await scores.dataType(projectID: projectID, name: name) : nil)
        }
        let typed: Typed
        if let config = entry.config {
            let (dataType, number, text) = try Score.value(value, dataType: declared ?? config.dataType)
            typed = Typed(config: config, dataType: dataType, numericValue: number, stringValue: text)
        } else if let held = entry.dataType {
            let fixed = "score \"\(name)\" holds \(held.rawValue) values: the first score of a name fixes its type (a score config declares it)"
            if let declared, declared != held { throw TernError.invalid("data_type", "\(fixed), got \(declared.rawValue)") }
            let parsed: (ScoreDataType, Double?, String?)
            do {
                parsed = try Score.value(value, dataType: held)
            } catch let error as TernError {
                // A number out of range under a numeric name keeps its own message.
                if case .number = value, held == .numeric { throw error }
                throw TernError.invalid("value", "\(fixed), got \(value.jsonString())")
            }
            let (dataType, number, text) = parsed
            typed = Typed(dataType: dataType, numericValue: number, stringValue: text)
        } else {
            let (dataType, number, text) = try Score.value(value, dataType: declared)
            typed = Typed(dataType: dataType, numericValue: number, stringValue: text)
        }
        known[name] = (entry.config, entry.config == nil ? typed.dataType : nil)
        return typed
    }
}
