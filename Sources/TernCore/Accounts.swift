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

/// What an API key may be used for. A key's role is its ceiling (`Role.scopes`); its scopes narrow it:
/// an ingest-only key, a gateway-only key. Users signed in with a password have every scope of their role.
public enum KeyScope: String, Sendable, Codable, CaseIterable, Comparable {
    /// Reading a project's traces, metrics, prompts, datasets, experiments and keys.
    case read
    /// Changing a project's content: prompts, datasets, scores, experiments.
    case write
    /// Sending traces: `POST /api/v1/ingest` and OTLP `POST /v1/traces`.
    case ingest
    /// Calling models through the gateway (`/v1/chat/completions`, `/v1/messages`, `/v1/embeddings`, ...): spends money.
    case gateway
    /// Administering the project: its settings and its keys' limits.
    case admin
    /// Administering the instance: users, projects, models. Only `tern keys create --instance-admin`
    /// (run by whoever operates the server) or an instance admin grants it.
    case instance

    public static func < (lhs: KeyScope, rhs: KeyScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses scope names, with an error that lists the allowed values.
    public static func parse(_ names: [String], field: String) throws -> [KeyScope] {
        var out: Set<KeyScope> = []
        for name in names {
            guard let scope = KeyScope(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw TernError.invalid(field, "unknown scope \"\(name)\": expected \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.insert(scope)
        }
        guard !out.isEmpty else { throw TernError.invalid(field, "give at least one scope") }
        return out.sorted()
    }

    /// Stored form: names joined by commas.
    public static func encode(_ scopes: [KeyScope]) -> String { scopes.sorted().map(\.rawValue).joined(separator: ",") }

    /// Reads the stored form; nil or unreadable text gives the role's default scopes.
    public static func decode(_ text: String?, role: Role) -> [KeyScope] {
        guard let text else { return role.defaultScopes }
        let scopes = text.split(separator: ",").compactMap { KeyScope(rawValue: String($0)) }
        return scopes.isEmpty ? role.defaultScopes : scopes.filter(role.allowedScopes.contains).sorted()
    }
}

extension Role {
    /// Scopes of a key of this role created without naming any (and of keys created before scopes existed).
    public var defaultScopes: [KeyScope] {
        switch self {
        case .viewer: [.read]
        case .member: [.read, .write, .ingest, .gateway]
        case .admin: [.read, .write, .ingest, .gateway, .admin]
        }
    }

    /// Scopes a key of this role may have: its defaults, and `instance` for admins.
    public var allowedScopes: Set<KeyScope> {
        self == .admin ? Set(defaultScopes + [.instance]) : Set(defaultScopes)
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
    /// What the key may be used for, within its role (sorted).
    public var scopes: [KeyScope]

    public init(
        id: String, projectID: String, name: String, prefix: String, role: Role, createdAt: Date,
        createdBy: String? = nil, lastUsedAt: Date? = nil, revokedAt: Date? = nil, limits: KeyLimits = KeyLimits(),
        scopes: [KeyScope]? = nil
    ) {
        self.scopes = (scopes ?? role.defaultScopes).filter(role.allowedScopes.contains).sorted()
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

    public func has(_ scope: KeyScope) -> Bool { scopes.contains(scope) }
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
    /// Never traps: a date outside what an `Int64` of microseconds holds (or NaN) is clamped. Input is
    /// range-checked where it enters (`InputBounds.date`), so a clamped value means a bug upstream.
    public static func micros(_ date: Date) -> Int64 {
        Int64.clamping((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// Now, truncated to the microsecond so a value survives a round trip through the store unchanged.
    public static func now() -> Date { date(micros(Date())) }

    /// The hour a time falls in, in microseconds: the rollups' bucket.
    public static func hour(_ micros: Int64) -> Int64 {
        let hour: Int64 = 3_600_000_000
        return micros >= 0 ? micros / hour * hour : ((micros - hour + 1) / hour) * hour
    }
}
