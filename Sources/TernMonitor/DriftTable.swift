import Foundation
import TernCore

/// A table of rows to compare for drift, read from a JSONL file (one object per line; nested objects
/// flattened with dots: `metadata.language`) or a CSV file with a header row. Each column keeps one value
/// per row, `.missing` where the row has none (absent key, null, empty cell, `NaN`).
public struct DriftTable: Sendable {
    public enum Value: Sendable, Equatable {
        case missing
        case number(Double)
        case bool(Bool)
        case string(String)
    }

    /// Columns in order of first appearance.
    public private(set) var columns: [String] = []
    /// Each column's values, in the order of `columns`.
    private var storage: [[Value]] = []
    private var position: [String: Int] = [:]
    public private(set) var rowCount = 0
    /// Where the table came from (a file name), for messages.
    public var source: String

    public init(source: String) { self.source = source }

    /// Each column's values by name.
    public var values: [String: [Value]] { Dictionary(uniqueKeysWithValues: zip(columns, storage)) }

    /// Adds a row (column name -> value); columns first seen now are missing in the rows before. A column named
    /// twice keeps its first value.
    public mutating func append(_ row: [(String, Value)]) {
        for (column, value) in row {
            let index: Int
            if let known = position[column] {
                index = known
            } else {
                index = columns.count
                position[column] = index
                columns.append(column)
                storage.append(Array(repeating: .missing, count: rowCount))
            }
            if storage[index].count == rowCount { storage[index].append(value) }
        }
        for index in storage.indices where storage[index].count == rowCount { storage[index].append(.missing) }
        rowCount += 1
    }

    /// Reads a file by its extension: `.jsonl`/`.ndjson` (one object per line), `.json` (an array of
    /// objects), `.csv`.
    public static func read(path: String) throws -> DriftTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TernError.invalid(path, "cannot read the file")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TernError.invalid(path, "not UTF-8 text")
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": return try parseCSV(text, source: path)
        case "json": return try parseJSONArray(text, source: path)
        case "jsonl", "ndjson": return try parseJSONL(text, source: path)
        default:
            throw TernError.invalid(path, "expected a .jsonl, .json or .csv file")
        }
    }

    /// One JSON object per line; blank lines are skipped. Each line is read straight into a row (`DriftRowParser`).
    public static func parseJSONL(_ text: String, source: String) throws -> DriftTable {
        var text = text
        return try text.withUTF8 { bytes in
            var table = DriftTable(source: source)
            var start = 0, line = 0
            while start < bytes.count {
                line += 1
                var end = start
                if let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) {
                    end = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = bytes.count
                }
                var first = start
                while first < end, bytes[first] == 0x20 || bytes[first] == 0x09 || bytes[first] == 0x0D { first += 1 }
                if first < end {
                    do {
                        table.append(try DriftRowParser.row(bytes, from: first, to: end))
                    } catch is DriftRowParser.NotAnObject {
                        throw TernError.invalid(source, "line \(line): expected a JSON object per line")
                    } catch {
                        throw TernError.invalid(source, "line \(line): not JSON (\(error))")
                    }
                }
                start = end + 1
            }
            return table
        }
    }

    public static func parseJSONArray(_ text: String, source: String) throws -> DriftTable {
        let value: JSONValue
        do {
            value = try JSONValue.parse(Data(text.utf8))
        } catch {
            throw TernError.invalid(source, "not JSON (\(error))")
        }
        guard case .array(let items) = value else {
            throw TernError.invalid(source, "expected an array of objects")
        }
        var table = DriftTable(source: source)
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else {
                throw TernError.invalid(source, "item \(index): expected an object")
            }
            table.append(flatten(object))
        }
        return table
    }

    /// A CSV file with a header row. Cells are read as pandas reads them: empty, `NA`, `NaN`, `null`, `None`
    /// and `N/A` are missing; a column whose cells all read as numbers is numeric, one whose cells are all
    /// true/false is boolean, any other is text.
    public static func parseCSV(_ text: String, source: String) throws -> DriftTable {
        let rows: [[String]]
        do {
            rows = try CSV.parse(text)
        } catch {
            throw TernError.invalid(source, "not CSV (\(error))")
        }
        guard let header = rows.first else { return DriftTable(source: source) }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces) }
        if let duplicate = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw TernError.invalid(source, "the column \"\(duplicate)\" appears twice in the header")
        }
        let body = rows.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }
        var cells = Array(repeating: [String?](), count: names.count)
        for (index, row) in body.enumerated() {
            guard row.count == names.count else {
                throw TernError.invalid(source, "row \(index + 2): \(row.count) cells where the header has \(names.count)")
            }
            for (column, cell) in row.enumerated() { cells[column].append(missingMarkers.contains(cell) ? nil : cell) }
        }
        var columns: [[Value]] = []
        for column in cells {
            let present = column.compactMap { $0 }
            if !present.isEmpty, present.allSatisfy({ Double($0.trimmingCharacters(in: .whitespaces)) != nil }) {
                columns.append(column.map { $0.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.map(Value.number) ?? .missing })
            } else if !present.isEmpty, present.allSatisfy({ booleanMarkers[$0] != nil }) {
                columns.append(column.map { $0.flatMap { booleanMarkers[$0] }.map(Value.bool) ?? .missing })
            } else {
                columns.append(column.map { $0.map(Value.string) ?? .missing })
            }
        }
        var table = DriftTable(source: source)
        for row in 0..<body.count {
            table.append(names.indices.map { (names[$0], columns[$0][row]) })
        }
        return table
    }

    static let missingMarkers: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A", "<NA>", "n/a"]
    static let booleanMarkers: [String: Bool] = ["true": true, "True": true, "TRUE": true, "false": false, "False": false, "FALSE": false]

    static func flatten(_ object: [String: JSONValue], prefix: String = "") -> [(String, Value)] {
        var row: [(String, Value)] = []
        for key in object.keys.sorted() {
            let name = prefix + key
            switch object[key]! {
            case .null: row.append((name, .missing))
            case .bool(let value): row.append((name, .bool(value)))
            case .number(let value): row.append((name, value.isFinite ? .number(value) : .missing))
            case .string(let value): row.append((name, .string(value)))
            case .object(let nested): row += flatten(nested, prefix: name + ".")
            case .array(let items):
                let encoded = (try? JSONEncoder.sortedKeys.encode(JSONValue.array(items))).map { String(decoding: $0, as: UTF8.self) }
                row.append((name, .string(encoded ?? "[]")))
            }
        }
        return row
    }
}

extension JSONEncoder {
    fileprivate static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
