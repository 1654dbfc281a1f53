public import Foundation
public import TernCore

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
