public import Foundation

/// Roles, from most to least privileged. Users carry one instance-wide role;
/// API keys carry one role inside their project.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case admin
    case member
    case viewer

    var rank: Int {
        switch self {
        case .admin: 3
        case .member: 2
        case .viewer: 1
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// Parses a role name, with an error that lists the allowed values.
    public static func parse(_ text: String, field: String) throws -> Role {
        guard let role = Role(rawValue: text.lowercased()) else {
            throw TernError.invalid(field, "expected one of admin, member, viewer, got \"\(text)\"")
        }
        return role
    }
}

public struct Project: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    /// URL- and CLI-friendly unique name, e.g. `default`.
    public var slug: String
    public var name: String
    public var createdAt: Date
    /// Days traces are kept; nil keeps them forever.
    public var retentionDays: Int?

    public init(id: String, slug: String, name: String, createdAt: Date, retentionDays: Int? = nil) {
        self.id = id
        self.slug = slug
        self.name = name
        self.createdAt = createdAt
        self.retentionDays = retentionDays
    }
}

public struct User: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var email: String
    public var name: String
    public var role: Role
    public var createdAt: Date
    public var disabledAt: Date?

    public init(id: String, email: String, name: String, role: Role, createdAt: Date, disabledAt: Date? = nil) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }
}

/// An API key as stored: never the key itself, only its hash and a display prefix.
public struct APIKey: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    public var name: String
    /// The first characters of the key (`tern_AbCd1234`), enough to recognise it in a list.
    public var prefix: String
    public var role: Role
    public var createdAt: Date
    public var createdBy: String?
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    /// Gateway limits: requests and tokens per minute, spend budget.
    public var limits: KeyLimits

    public init(
        id: String, projectID: String, name: String, prefix: String, role: Role, createdAt: Date,
        createdBy: String? = nil, lastUsedAt: Date? = nil, revokedAt: Date? = nil, limits: KeyLimits = KeyLimits()
    ) {
        self.id = id
        self.projectID = projectID
        self.name = name
        self.prefix = prefix
        self.role = role
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.limits = limits
    }

    public var isRevoked: Bool { revokedAt != nil }
}

/// A web session of a signed-in user. The token is stored hashed, like API keys.
public struct WebSession: Sendable, Codable, Equatable, Identifiable {
    public var id: String
    public var userID: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(id: String, userID: String, createdAt: Date, expiresAt: Date) {
        self.id = id
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Fresh identifiers: lower-case UUIDs, the same text on every backend.
public enum TernID {
    public static func make() -> String { UUID().uuidString.lowercased() }

    /// A UUID version 7: 48 bits of Unix milliseconds, then random bits. Ids made later sort later, so
    /// rows keyed by them are appended to the end of their index instead of splitting pages at random
    /// (several times cheaper to insert at high rates).
    public static func makeTimeOrdered(at date: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return makeTimeOrdered(millis: UInt64(max(0, date.timeIntervalSince1970 * 1000)), using: &generator)
    }

    /// The same, with the random bits from `generator` (a seeded one gives reproducible ids).
    public static func makeTimeOrdered<G: RandomNumberGenerator>(millis: UInt64, using generator: inout G) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index))) }
        let random = generator.next() as UInt64
        let random2 = generator.next() as UInt64
        for index in 6..<16 {
            bytes[index] = UInt8(truncatingIfNeeded: index < 14 ? random >> (8 * (index - 6)) : random2 >> (8 * (index - 14)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Timestamps are stored as integer microseconds since the Unix epoch on every backend,
/// so both give identical, index-friendly values.
public enum Timestamp {
    public static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// Now, truncated to the microsecond so a value survives a round trip through the store unchanged.
    public static func now() -> Date { date(micros(Date())) }
}
