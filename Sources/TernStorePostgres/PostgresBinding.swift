import Foundation
import Logging
import PostgresNIO
import TernCore
import TernStoreSQL

/// Builds a statement with numbered parameters, for multi-row inserts.
extension PostgresQuery {
    /// A statement built by `SQLBuilder` (numbered parameters) with its values.
    init(sql: String, values: [SQLValue]) {
        var bindings = PostgresBindings()
        for value in values {
            switch value {
            case .text(let text): bindings.append(PostgresText.storable(text))
            case .int(let number): bindings.append(number)
            case .double(let number): bindings.append(number)
            }
        }
        self.init(unsafeSQL: sql, binds: bindings)
    }
}

/// PostgreSQL's text cannot hold U+0000 (SQLSTATE 22021), which SQLite and JSON can: every text bound goes
/// through `storable`, which puts U+FFFD in its place, so such input is stored (not refused with a 500)
/// and reads back the same on both backends but for that one character.
enum PostgresText {
    static func storable(_ text: String) -> String {
        text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }
}

extension PostgresQuery.StringInterpolation {
    /// Texts interpolated into a query are bound (as PostgresNIO does) after `PostgresText.storable`.
    mutating func appendInterpolation(_ value: String) {
        bind(PostgresText.storable(value))
    }

    mutating func appendInterpolation(_ value: String?) {
        bindOptional(value.map(PostgresText.storable))
    }

    /// PostgresNIO's own interpolations (generic, so not the overloads above).
    private mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) {
        appendInterpolation(value)
    }

    private mutating func bindOptional<Value: PostgresDynamicTypeEncodable>(_ value: Value?) {
        appendInterpolation(value)
    }
}

struct Binder {
    var bindings = PostgresBindings()
    var count = 0

    mutating func add<T: PostgresDynamicTypeEncodable>(_ value: T?) -> String {
        if let text = value as? String {
            bindings.append(PostgresText.storable(text))
        } else {
            bindings.append(value)
        }
        count += 1
        return "$\(count)"
    }
}

extension JSONValue {
    static func fromStored(_ text: String?) -> JSONValue? {
        guard let text, let value = try? JSONValue.parse(Data(text.utf8)) else { return nil }
        return value
    }
}

func storedTags(_ text: String) -> [String] { JSONValue.fromStored(text)?.array?.compactMap(\.string) ?? [] }
func tagsText(_ tags: [String]) -> String { JSONValue.array(tags.map { .string($0) }).jsonString() }
