import Foundation

/// Input rules shared by the REST API and the CLI, so both reject the same things with the same words.
public enum Validate {
    /// Slugs: 1-64 characters, lower-case letters, digits and `-`, starting with a letter or digit.
    public static func slug(_ value: String, field: String) throws -> String {
        let allowed = value.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "-")
        }
        guard !value.isEmpty, value.utf8.count <= 64, allowed, value.first != "-" else {
            throw TernError.invalid(
                field, "expected 1-64 characters of a-z, 0-9 and '-', not starting with '-', got \"\(value)\"")
        }
        return value
    }

    /// A display name: non-empty after trimming, at most `max` characters.
    public static func name(_ value: String, field: String, max: Int = 200) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw TernError.invalid(field, "must not be empty") }
        guard trimmed.count <= max else { throw TernError.invalid(field, "must be at most \(max) characters") }
        return trimmed
    }

    /// A plausible e-mail address, normalised to lower case.
    public static func email(_ value: String, field: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), trimmed.count <= 254, !trimmed.contains(where: { $0.isWhitespace })
        else {
            throw TernError.invalid(field, "expected an e-mail address like name@example.com, got \"\(value)\"")
        }
        return trimmed
    }

    /// Passwords: at least 8 characters, at most 1,024 bytes.
    public static func password(_ value: String, field: String) throws -> String {
        guard value.count >= 8 else { throw TernError.invalid(field, "must be at least 8 characters") }
        guard value.utf8.count <= 1024 else { throw TernError.invalid(field, "must be at most 1024 bytes") }
        return value
    }
}
