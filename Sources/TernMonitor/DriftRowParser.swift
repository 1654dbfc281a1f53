import Foundation
import TernCore

/// Reads one JSON object (a JSONL line) straight into a drift row, without building a `JSONValue` tree: the same
/// row `DriftTable.flatten` makes of the parsed object (keys in sorted order at each level, nested objects as
/// dotted columns, null as missing, arrays as their JSON text with sorted keys, the last of duplicate keys).
struct DriftRowParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    struct NotAnObject: Error {}

    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
        self.bytes = bytes
        self.index = start
        self.end = end
    }

    /// The row of the object filling the range (whitespace around it allowed).
    static func row(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) throws -> [(String, DriftTable.Value)] {
        var parser = DriftRowParser(bytes, from: start, to: end)
        parser.skipWhitespace()
        guard parser.index < end, bytes[parser.index] == UInt8(ascii: "{") else {
            // Not an object: not JSON at all, or JSON of another kind.
            _ = try JSONValue.parse(bytes: UnsafeBufferPointer(rebasing: bytes[start..<end]))
            throw NotAnObject()
        }
        var row: [(String, DriftTable.Value)] = []
        try parser.object(prefix: "", depth: 0, into: &row)
        parser.skipWhitespace()
        guard parser.index == end else { throw Failure(message: "unexpected text after the object at byte \(parser.index - start)") }
        return row
    }

    mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func failure(_ message: String) -> Failure { Failure(message: message) }

    mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        guard index < end, bytes[index] == byte else {
            throw failure("expected '\(Character(UnicodeScalar(byte)))' at byte \(index)")
        }
        index += 1
    }

    /// An object at `index` (its `{`), its members flattened under `prefix` into `row`.
    mutating func object(prefix: String, depth: Int, into row: inout [(String, DriftTable.Value)]) throws {
        guard depth < 64 else { throw failure("nested too deeply") }
        try expect(UInt8(ascii: "{"))
        // Members as read; sorted (stably, the last duplicate winning) before they are flattened.
        var members: [(key: String, start: Int, end: Int)] = []
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key at byte \(index)") }
            let key = try string()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let start = index
            try skipValue(depth: depth + 1)
            members.append((key, start, index))
            skipWhitespace()
            guard index < end else { throw failure("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                break
            }
            throw failure("expected ',' or '}' at byte \(index)")
        }
        var order = Array(members.indices)
        order.sort { members[$0].key != members[$1].key ? members[$0].key < members[$1].key : $0 < $1 }
        let after = index
        for (position, m) in order.enumerated() {
            if position + 1 < order.count, members[order[position + 1]].key == members[m].key { continue }  // the last one wins
            let member = members[m]
            let name = prefix.isEmpty ? member.key : prefix + member.key
            var value = DriftRowParser(bytes, from: member.start, to: member.end)
            try value.value(name: name, depth: depth + 1, into: &row)
        }
        index = after
    }

    /// The value filling this parser's range, as the row's column `name` (objects flattened).
    mutating func value(name: String, depth: Int, into row: inout [(String, DriftTable.Value)]) throws {
        switch bytes[index] {
        case UInt8(ascii: "{"): try object(prefix: name + ".", depth: depth, into: &row)
        case UInt8(ascii: "\""): row.append((name, .string(try string())))
        case UInt8(ascii: "t"): row.append((name, .bool(true)))
        case UInt8(ascii: "f"): row.append((name, .bool(false)))
        case UInt8(ascii: "n"): row.append((name, .missing))
        case UInt8(ascii: "["):
            let parsed = try JSONValue.parse(bytes: UnsafeBufferPointer(rebasing: bytes[index..<end]))
            row.append((name, .string(String(decoding: parsed.bytes(sortedKeys: true), as: UTF8.self))))
        default:
            let number = try self.number()
            row.append((name, number.isFinite ? .number(number) : .missing))
        }
    }

    /// Moves past one value, checking its syntax.
    mutating func skipValue(depth: Int) throws {
        guard depth < 64 else { throw failure("nested too deeply") }
        guard index < end else { throw failure("expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            index += 1
            skipWhitespace()
            if index < end, bytes[index] == close {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if isObject {
                    guard index < end, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key at byte \(index)") }
                    try skipString()
                    try expect(UInt8(ascii: ":"))
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard index < end else { throw failure("unterminated value") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == close {
                    index += 1
                    return
                }
                throw failure("expected ',' at byte \(index)")
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard end - index >= count, memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else {
            throw failure("unexpected text at byte \(index)")
        }
        index += count
    }

    /// A JSON number, by strtod on its bytes (checked against JSON's grammar first).
    mutating func number() throws -> Double {
        let start = index
        if index < end, bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits() -> Int {
            let from = index
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - from
        }
        guard digits() > 0 else { throw failure("unexpected text at byte \(start)") }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw failure("a number needs digits after its point at byte \(index)") }
        }
        if index < end, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw failure("a number needs digits in its exponent at byte \(index)") }
        }
        let length = index - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for i in 0..<length { buffer[i] = CChar(bitPattern: bytes[start + i]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    mutating func skipString() throws {
        index += 1
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return
            }
            index += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        throw failure("unterminated string")
    }

    /// A string at `index` (its opening quote), unescaped.
    mutating func string() throws -> String {
        let start = index + 1
        var position = start
        while position < end, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") { position += 1 }
        guard position < end else { throw failure("unterminated string") }
        if bytes[position] == UInt8(ascii: "\"") {
            index = position + 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }
        // Escapes: let the full parser read it.
        index = start - 1
        let from = index
        try skipString()
        guard case .string(let text) = try JSONValue.parse(bytes: UnsafeBufferPointer(rebasing: bytes[from..<index])) else {
            throw failure("bad string at byte \(from)")
        }
        return text
    }
}
