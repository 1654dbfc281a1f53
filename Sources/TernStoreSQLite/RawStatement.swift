import GRDB
import GRDBSQLite

/// Positional binding and stepping of a prepared statement straight through SQLite's C API, for the
/// ingest write path: there GRDB's `StatementArguments` (an array of boxed values per row, converted
/// again to `DatabaseValue`) cost the one writer thread about a fifth of its time. The statement is
/// still prepared and cached by GRDB; only the per-row binding skips it. Not for statements whose
/// execution GRDB must observe (this package registers no transaction or region observers).
struct RawStatement {
    private let statement: Statement
    private let handle: SQLiteStatement
    private var position: Int32 = 0

    /// SQLite copies bound text before the call returns (the Swift string is only borrowed).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Resets `statement` and clears its bindings; bind every parameter in order, then `run`.
    init(_ statement: Statement) {
        self.statement = statement
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    mutating func bind(_ value: String?) {
        position += 1
        guard var value else { sqlite3_bind_null(handle, position); return }
        _ = value.withUTF8 { bytes in
            // A zero-length buffer may have no address; SQLite needs a non-null pointer for an empty text.
            if let base = bytes.baseAddress {
                sqlite3_bind_text(handle, position, base, Int32(bytes.count), Self.transient)
            } else {
                sqlite3_bind_text(handle, position, "", 0, Self.transient)
            }
        }
    }

    mutating func bind(_ value: Int64?) {
        position += 1
        if let value { sqlite3_bind_int64(handle, position, value) } else { sqlite3_bind_null(handle, position) }
    }

    mutating func bind(_ value: Int?) { bind(value.map(Int64.init)) }

    mutating func bind(_ value: Bool) { bind(Int64(value ? 1 : 0)) }

    mutating func bind(_ value: Double?) {
        position += 1
        if let value { sqlite3_bind_double(handle, position, value) } else { sqlite3_bind_null(handle, position) }
    }

    /// Runs the statement to completion; returns the first column of its first row (RETURNING), if any.
    @discardableResult
    func run(_ db: Database) throws -> Int64? {
        precondition(Int(position) == Int(sqlite3_bind_parameter_count(handle)), "every parameter is bound")
        var first: Int64?
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(handle)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
            }
            if first == nil, sqlite3_column_type(handle, 0) != SQLITE_NULL { first = sqlite3_column_int64(handle, 0) }
        }
        sqlite3_reset(handle)
        return first
    }
}
