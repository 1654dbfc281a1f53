import TernCore

/// The scores' SQL that both stores share.
public enum ScoreSQL {
    /// The data type of the oldest score of a name (index `scores_name_time`).
    public static func dataType(projectID: String, name: String, dialect: SQLDialect) -> (sql: String, values: [SQLValue]) {
        var builder = SQLBuilder(dialect: dialect)
        let sql = """
            SELECT data_type FROM scores WHERE project_id = \(builder.bind(projectID)) AND name = \(builder.bind(name))
            ORDER BY created_at, id LIMIT 1
            """
        return (sql, builder.values)
    }
}
