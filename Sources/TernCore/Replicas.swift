public import Foundation

/// Requests and tokens one replica admitted for a key in one minute.
public struct RateUsage: Sendable, Equatable {
    public var requests: Int
    public var tokens: Int

    public init(requests: Int, tokens: Int) {
        self.requests = requests
        self.tokens = tokens
    }
}

/// What Tern replicas sharing one database tell each other (docs/SECURITY.md, "Several replicas"):
/// each publishes its per-key request and token counts per minute and reads the others', so rate limits
/// hold across replicas within one sync interval; revocations are read back so a key revoked through one
/// replica is refused by the others within that interval too.
public protocol ReplicaRepository: Sendable {
    /// Sets this replica's counts for `minute` (absolute values: a repeat changes nothing).
    func publishRateUsage(replica: String, minute: Int64, usage: [String: RateUsage]) async throws
    /// The other replicas' counts of every key from `minute` on, summed per key and minute.
    func rateUsage(since minute: Int64, excludingReplica replica: String) async throws -> [String: [Int64: RateUsage]]
    /// Forgets counts of minutes before `minute`.
    func purgeRateUsage(before minute: Int64) async throws
    /// Ids of keys revoked at or after `since`.
    func revokedKeys(since: Date) async throws -> [String]
}

/// The replicas' SQL, written once for both dialects.
public enum ReplicaSQL {
    public static func publish(replica: String, minute: Int64, usage: [String: RateUsage], dialect: SQLDialect) -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let rows = usage.keys.sorted().map { key -> String in
            let counts = usage[key]!
            return "(\(builder.bind(key)), \(builder.bind(replica)), \(builder.bind(minute)), \(builder.bind(Int64(counts.requests))), "
                + "\(builder.bind(Int64(counts.tokens))))"
        }
        let sql = """
            INSERT INTO rate_usage (key_id, replica, minute, requests, tokens) VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (key_id, replica, minute) DO UPDATE SET requests = excluded.requests, tokens = excluded.tokens
            """
        return (sql, builder.values)
    }

    /// Rows of (key_id, minute, requests, tokens).
    public static func usage(since minute: Int64, excluding replica: String, dialect: SQLDialect) -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let sql = """
            SELECT key_id, minute, CAST(SUM(requests) AS BIGINT), CAST(SUM(tokens) AS BIGINT) FROM rate_usage
            WHERE minute >= \(builder.bind(minute)) AND replica <> \(builder.bind(replica))
            GROUP BY key_id, minute
            """
        return (sql, builder.values)
    }

    public static func purge(before minute: Int64, dialect: SQLDialect) -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        return ("DELETE FROM rate_usage WHERE minute < \(builder.bind(minute))", builder.values)
    }

    public static func revoked(since: Date, dialect: SQLDialect) -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        return ("SELECT id FROM api_keys WHERE revoked_at >= \(builder.bind(Timestamp.micros(since)))", builder.values)
    }

    public static func schema(_ dialect: SQLDialect) -> String {
        let int = dialect == .postgres ? "BIGINT" : "INTEGER"
        return """
            CREATE TABLE rate_usage (
                key_id TEXT NOT NULL,
                replica TEXT NOT NULL,
                minute \(int) NOT NULL,
                requests \(int) NOT NULL,
                tokens \(int) NOT NULL,
                PRIMARY KEY (key_id, replica, minute)
            )
            """
    }
}
