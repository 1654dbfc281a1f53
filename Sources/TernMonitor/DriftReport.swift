import Foundation
public import TernCore

/// A drift test, by Evidently's name for it.
public enum DriftStatTest: String, CaseIterable, Sendable, Codable {
    /// Two-sample Kolmogorov-Smirnov (numeric); drift when p < threshold.
    case ks
    /// Pearson's chi-squared (categorical); drift when p < threshold.
    case chisquare
    /// Two-proportion z-test (two values); drift when p < threshold.
    case z
    /// Wasserstein distance normed by the reference's standard deviation (numeric); drift when >= threshold.
    case wasserstein
    /// Jensen-Shannon distance (numeric over bins, or categorical); drift when >= threshold.
    case jensenshannon

    /// Whether the test's score is a p-value (drift below the threshold) rather than a distance (drift at
    /// or above it).
    public var isPValue: Bool { self == .ks || self == .chisquare || self == .z }
    public var defaultThreshold: Double { isPValue ? 0.05 : 0.1 }
    public var numericOnly: Bool { self == .ks || self == .wasserstein }
}

public enum DriftColumnType: String, Sendable, Codable {
    case numeric
    case categorical
}

/// One column's result, in the JSON form of `tern drift --format json`.
public struct DriftColumnReport: Sendable, Codable, Equatable {
    public var column: String
    public var type: DriftColumnType
    public var stattest: DriftStatTest
    /// The test's statistic: Kolmogorov-Smirnov D, chi-squared, z, or the distance.
    public var statistic: Double
    /// The p-value of the tests that have one (ks, chisquare, z); nil for distances.
    public var pValue: Double?
    public var threshold: Double
    public var driftDetected: Bool
    public var referenceCount: Int
    public var currentCount: Int

    /// What the threshold is compared with: the p-value, else the statistic.
    public var score: Double { pValue ?? statistic }

    enum CodingKeys: String, CodingKey {
        case column, type, stattest, statistic, threshold
        case pValue = "p_value"
        case driftDetected = "drift_detected"
        case referenceCount = "reference_count"
        case currentCount = "current_count"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(column, forKey: .column)
        try container.encode(type, forKey: .type)
        try container.encode(stattest, forKey: .stattest)
        try container.encode(statistic.isFinite ? statistic : nil, forKey: .statistic)
        try container.encode(pValue.flatMap { $0.isFinite ? $0 : nil }, forKey: .pValue)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(driftDetected, forKey: .driftDetected)
        try container.encode(referenceCount, forKey: .referenceCount)
        try container.encode(currentCount, forKey: .currentCount)
    }
}

/// A dataset's drift: every column's test, and dataset drift when at least `drift_share` of the columns
/// drift (Evidently's rule, 0.5 by default).
public struct DriftReport: Sendable, Codable, Equatable {
    public var columns: [DriftColumnReport]
    /// Columns left out, with why (present in one table only, or missing in every row of one).
    public var skipped: [Skipped]
    public var numberDrifted: Int
    public var shareDrifted: Double
    public var driftShare: Double
    public var datasetDrift: Bool
    /// Text columns compared through embeddings (`adding(text:)`); in the JSON only when there are some.
    public var text: [TextDriftReport] = []

    public struct Skipped: Sendable, Codable, Equatable {
        public var column: String
        public var reason: String
    }

    public init(
        columns: [DriftColumnReport], skipped: [Skipped], numberDrifted: Int, shareDrifted: Double, driftShare: Double, datasetDrift: Bool
    ) {
        self.columns = columns
        self.skipped = skipped
        self.numberDrifted = numberDrifted
        self.shareDrifted = shareDrifted
        self.driftShare = driftShare
        self.datasetDrift = datasetDrift
    }

    enum CodingKeys: String, CodingKey {
        case columns, skipped
        case numberDrifted = "number_drifted"
        case shareDrifted = "share_drifted"
        case driftShare = "drift_share"
        case datasetDrift = "dataset_drift"
        case text = "text_columns"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        columns = try container.decode([DriftColumnReport].self, forKey: .columns)
        skipped = try container.decode([Skipped].self, forKey: .skipped)
        numberDrifted = try container.decode(Int.self, forKey: .numberDrifted)
        shareDrifted = try container.decode(Double.self, forKey: .shareDrifted)
        driftShare = try container.decode(Double.self, forKey: .driftShare)
        datasetDrift = try container.decode(Bool.self, forKey: .datasetDrift)
        text = try container.decodeIfPresent([TextDriftReport].self, forKey: .text) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(columns, forKey: .columns)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(numberDrifted, forKey: .numberDrifted)
        try container.encode(shareDrifted, forKey: .shareDrifted)
        try container.encode(driftShare, forKey: .driftShare)
        try container.encode(datasetDrift, forKey: .datasetDrift)
        if !text.isEmpty { try container.encode(text, forKey: .text) }
    }
}

public struct DriftOptions: Sendable {
    /// Columns to compare; empty: every column both tables have.
    public var columns: [String] = []
    /// Columns to treat as numeric or categorical whatever their values look like.
    public var numeric: Set<String> = []
    public var categorical: Set<String> = []
    /// One test for every column instead of the default choice.
    public var stattest: DriftStatTest?
    /// The test's threshold instead of its default (0.05 for p-values, 0.1 for distances).
    public var threshold: Double?
    /// The share of drifting columns that makes dataset drift.
    public var driftShare = 0.5
    /// Columns never compared as numbers or categories (the text columns compared through embeddings).
    public var excluded: Set<String> = []
    public init() {}
}

/// Column-by-column drift between a reference table and a current one, with Evidently's defaults
/// (0.7.23, `DataDriftPreset`): the column's type from its values, the test from its type, the reference's
/// size and the number of distinct values, and its threshold.
public enum DriftAnalysis {
    /// `report` for the columns that are not `text`, and the `text` columns through embeddings
    /// (`TextDrift.compare`, `embedder` called only when there are some), in one report. With only text
    /// columns (named, or the only ones both tables have), the report holds only them.
    public static func report(
        reference: DriftTable, current: DriftTable, options: DriftOptions, text: [String], textOptions: TextDriftOptions = TextDriftOptions(),
        embedder: @Sendable () async throws -> any Embedder
    ) async throws -> DriftReport {
        guard !text.isEmpty else { return try report(reference: reference, current: current, options: options) }
        var tabular = options
        tabular.excluded.formUnion(text)
        tabular.columns = options.columns.filter { !text.contains($0) }
        let inCurrent = Set(current.columns)
        let anyTabular =
            options.columns.isEmpty ? reference.columns.contains { inCurrent.contains($0) && !tabular.excluded.contains($0) } : !tabular.columns.isEmpty
        var result =
            anyTabular
            ? try report(reference: reference, current: current, options: tabular)
            : DriftReport(columns: [], skipped: [], numberDrifted: 0, shareDrifted: 0, driftShare: options.driftShare, datasetDrift: false)
        func texts(_ table: DriftTable, _ column: String) throws -> [String] {
            guard let values = table.values[column] else {
                throw TernError.invalid(
                    column, "no text column \"\(column)\" in \(table.source) (its columns: \(table.columns.prefix(20).joined(separator: ", ")))")
            }
            return values.compactMap {
                switch $0 {
                case .missing: nil
                case .string(let text): text
                case .number(let number): String(number)
                case .bool(let flag): String(flag)
                }
            }
        }
        var reports: [TextDriftReport] = []
        for column in text {
            let r = try texts(reference, column), c = try texts(current, column)
            reports.append(try await TextDrift.compare(column: column, reference: r, current: c, embedder: try await embedder(), options: textOptions))
        }
        result = result.adding(text: reports)
        return result
    }

    public static func report(reference: DriftTable, current: DriftTable, options: DriftOptions = DriftOptions()) throws -> DriftReport {
        if let both = options.numeric.intersection(options.categorical).first {
            throw TernError.invalid("categorical", "\(both) is named both numeric and categorical")
        }
        if let threshold = options.threshold, !(threshold.isFinite && threshold >= 0) {
            throw TernError.invalid("threshold", "the threshold must be a number >= 0, got \(threshold)")
        }
        guard options.driftShare > 0, options.driftShare <= 1 else {
            throw TernError.invalid("drift_share", "the drift share must be in (0, 1], got \(options.driftShare)")
        }
        guard reference.rowCount > 0 else { throw TernError.invalid(reference.source, "no rows") }
        guard current.rowCount > 0 else { throw TernError.invalid(current.source, "no rows") }
        let explicit = !options.columns.isEmpty
        var names = options.columns
        var skipped: [DriftReport.Skipped] = []
        if explicit {
            for name in names {
                for table in [reference, current] where table.values[name] == nil {
                    throw TernError.invalid(
                        name, "no column \"\(name)\" in \(table.source) (its columns: \(table.columns.prefix(20).joined(separator: ", ")))")
                }
            }
        } else {
            let inCurrent = Set(current.columns)
            names = reference.columns.filter { inCurrent.contains($0) && !options.excluded.contains($0) }
            let inReference = Set(reference.columns)
            skipped += reference.columns.filter { !inCurrent.contains($0) && !options.excluded.contains($0) }.map {
                .init(column: $0, reason: "not in \(current.source)")
            }
            skipped += current.columns.filter { !inReference.contains($0) && !options.excluded.contains($0) }.map {
                .init(column: $0, reason: "not in \(reference.source)")
            }
        }
        var results: [DriftColumnReport] = []
        for name in names {
            let referenceValues = reference.values[name]!, currentValues = current.values[name]!
            let emptyIn = [(reference, referenceValues), (current, currentValues)].first { _, values in
                !values.contains { $0 != .missing }
            }
            if let (table, _) = emptyIn {
                if explicit { throw TernError.invalid(name, "the column \"\(name)\" has no values in \(table.source)") }
                skipped.append(.init(column: name, reason: "no values in \(table.source)"))
                continue
            }
            results.append(try column(name, referenceValues, currentValues, reference: reference, current: current, options: options))
        }
        guard !results.isEmpty else {
            throw TernError.invalid("column", "no column to compare: \(reference.source) and \(current.source) share no column with values")
        }
        let drifted = results.filter(\.driftDetected).count
        let share = Double(drifted) / Double(results.count)
        return DriftReport(
            columns: results, skipped: skipped, numberDrifted: drifted, shareDrifted: share, driftShare: options.driftShare,
            datasetDrift: share >= options.driftShare)
    }

    enum Kind: String {
        case number, bool, text
    }

    /// The kind of a column's present values in one table, or an error naming a row of each kind.
    static func kind(_ name: String, _ values: [DriftTable.Value], source: String) throws -> Kind {
        var first: [Kind: Int] = [:]
        for (row, value) in values.enumerated() {
            let kind: Kind
            switch value {
            case .missing: continue
            case .number: kind = .number
            case .bool: kind = .bool
            case .string: kind = .text
            }
            if first[kind] == nil { first[kind] = row }
        }
        guard first.count == 1, let only = first.first?.key else {
            let kinds = first.sorted { $0.value < $1.value }.map { "\($0.key.rawValue) in row \($0.value + 1)" }
            throw TernError.invalid(
                name,
                "the column \"\(name)\" mixes types in \(source): \(kinds.joined(separator: ", ")); name it with --categorical to compare its values as text")
        }
        return only
    }

    static func column(
        _ name: String, _ referenceValues: [DriftTable.Value], _ currentValues: [DriftTable.Value],
        reference: DriftTable, current: DriftTable, options: DriftOptions
    ) throws -> DriftColumnReport {
        let type: DriftColumnType
        if options.categorical.contains(name) {
            type = .categorical
        } else {
            let referenceKind = try kind(name, referenceValues, source: reference.source)
            let currentKind = try kind(name, currentValues, source: current.source)
            guard referenceKind == currentKind else {
                throw TernError.invalid(
                    name,
                    "the column \"\(name)\" holds \(referenceKind.rawValue) values in \(reference.source) and \(currentKind.rawValue) in \(current.source)")
            }
            if options.numeric.contains(name) {
                guard referenceKind == .number else {
                    throw TernError.invalid(name, "the column \"\(name)\" is named numeric but holds \(referenceKind.rawValue) values")
                }
                type = .numeric
            } else if referenceKind == .number {
                // Evidently types every number column as numeric (whole numbers with few values too: the test
                // choice then treats them as categories).
                type = .numeric
            } else {
                type = .categorical
            }
        }
        let referenceCount = referenceValues.lazy.filter { $0 != .missing }.count
        let currentCount = currentValues.lazy.filter { $0 != .missing }.count
        switch type {
        case .numeric:
            let ref = referenceValues.compactMap(number), cur = currentValues.compactMap(number)
            let distinct = Set(ref).union(cur).count
            let test = try options.stattest ?? defaultTest(type: .numeric, referenceCount: ref.count, distinct: distinct)
            let threshold = options.threshold ?? test.defaultThreshold
            let (statistic, pValue): (Double, Double?)
            switch test {
            case .ks:
                let result = kolmogorovSmirnov(ref, cur)
                (statistic, pValue) = (result.statistic, result.pValue)
            case .wasserstein: (statistic, pValue) = (DriftStatistics.wassersteinNormed(reference: ref, current: cur), nil)
            case .jensenshannon: (statistic, pValue) = (DriftStatistics.jensenShannon(reference: ref, current: cur), nil)
            case .chisquare, .z:
                let labels = (ref.map(label), cur.map(label))
                let result =
                    test == .z
                    ? try zTest(name, labels.0, labels.1) : DriftStatistics.chiSquare(reference: labels.0, current: labels.1)
                (statistic, pValue) = (result.statistic, result.pValue)
            }
            return DriftColumnReport(
                column: name, type: type, stattest: test, statistic: statistic, pValue: pValue, threshold: threshold,
                driftDetected: drifted(test, statistic: statistic, pValue: pValue, threshold: threshold),
                referenceCount: referenceCount, currentCount: currentCount)
        case .categorical:
            let ref = referenceValues.compactMap(text), cur = currentValues.compactMap(text)
            let distinct = Set(ref).union(cur).count
            let test = try options.stattest ?? defaultTest(type: .categorical, referenceCount: ref.count, distinct: distinct)
            if test.numericOnly {
                throw TernError.invalid(name, "\(test.rawValue) needs a numeric column; \"\(name)\" is categorical")
            }
            let threshold = options.threshold ?? test.defaultThreshold
            let (statistic, pValue): (Double, Double?)
            switch test {
            case .chisquare:
                let result = DriftStatistics.chiSquare(reference: ref, current: cur)
                (statistic, pValue) = (result.statistic, result.pValue)
            case .z:
                let result = try zTest(name, ref, cur)
                (statistic, pValue) = (result.statistic, result.pValue)
            default: (statistic, pValue) = (DriftStatistics.jensenShannon(reference: ref, current: cur), nil)
            }
            return DriftColumnReport(
                column: name, type: type, stattest: test, statistic: statistic, pValue: pValue, threshold: threshold,
                driftDetected: drifted(test, statistic: statistic, pValue: pValue, threshold: threshold),
                referenceCount: referenceCount, currentCount: currentCount)
        }
    }

    /// Evidently's default: up to 1,000 reference values, Kolmogorov-Smirnov for numbers with more than 5
    /// distinct values, chi-squared for more than 2 categories, else the z-test; above 1,000, the normed
    /// Wasserstein distance for numbers with more than 5 distinct values, else Jensen-Shannon.
    public static func defaultTest(type: DriftColumnType, referenceCount: Int, distinct: Int) throws -> DriftStatTest {
        if referenceCount <= 1000 {
            if type == .numeric, distinct > 5 { return .ks }
            return distinct > 2 ? .chisquare : .z
        }
        return type == .numeric && distinct > 5 ? .wasserstein : .jensenshannon
    }

    static func drifted(_ test: DriftStatTest, statistic: Double, pValue: Double?, threshold: Double) -> Bool {
        if let pValue { return pValue < threshold }
        return statistic >= threshold
    }

    static func zTest(_ name: String, _ reference: [String], _ current: [String]) throws -> (statistic: Double, pValue: Double) {
        let distinct = Set(reference).union(current).count
        guard distinct <= 2 else {
            throw TernError.invalid(name, "the z-test compares two values; \"\(name)\" has \(distinct)")
        }
        return DriftStatistics.zTest(reference: reference, current: current)
    }

    static func kolmogorovSmirnov(_ reference: [Double], _ current: [Double]) -> (statistic: Double, pValue: Double) {
        DriftStatistics.kolmogorovSmirnov(reference: reference, current: current)
    }

    static func number(_ value: DriftTable.Value) -> Double? {
        if case .number(let number) = value { return number }
        return nil
    }

    /// A value as a category: whole numbers without a decimal point (as in the file), booleans as
    /// true/false.
    static func text(_ value: DriftTable.Value) -> String? {
        switch value {
        case .missing: return nil
        case .number(let number): return label(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .string(let string): return string
        }
    }

    static func label(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}
