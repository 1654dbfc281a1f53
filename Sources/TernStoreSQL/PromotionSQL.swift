import Foundation
public import TernCore

/// Gated prompt promotions (migration 0017), written once for both backends.
public enum PromotionSQL {
    public typealias Statement = ExperimentColumns.Statement
    public typealias Reader = ExperimentColumns.Reader
    typealias Builder = WatcherSQL.Builder

    public static func schema(_ dialect: SQLDialect) -> [String] {
        SharedMigrations.render(
            dialect,
            [
                """
                CREATE TABLE prompt_promotions (
                    id TEXT {pk},
                    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    prompt TEXT NOT NULL,
                    label TEXT NOT NULL,
                    from_version INTEGER,
                    to_version INTEGER NOT NULL,
                    experiment_id TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('promoted', 'refused')),
                    compared INTEGER NOT NULL,
                    regressions TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    at {big} NOT NULL
                )
                """,
                "CREATE INDEX prompt_promotions_prompt ON prompt_promotions(project_id, prompt, at)",
            ])
    }

    static let columns = "id, project_id, prompt, label, from_version, to_version, experiment_id, outcome, compared, regressions, actor, at"

    public static func insert(_ promotion: PromptPromotion, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let values = [
            b.text(promotion.id), b.text(promotion.projectID), b.text(promotion.prompt), b.text(promotion.label),
            b.int(promotion.fromVersion.map(Int64.init)), b.int(Int64(promotion.toVersion)), b.text(promotion.experimentID),
            b.text(promotion.outcome.rawValue), b.int(Int64(promotion.compared)), b.text(promotion.regressions.jsonString()), b.text(promotion.actor),
            b.date(promotion.at),
        ]
        return b.statement("INSERT INTO prompt_promotions (\(columns)) VALUES (\(values.joined(separator: ", ")))")
    }

    public static func list(projectID: String, prompt: String, limit: Int, _ dialect: SQLDialect) -> Statement {
        var b = Builder(dialect: dialect)
        let sql = """
            SELECT \(columns) FROM prompt_promotions WHERE project_id = \(b.text(projectID)) AND prompt = \(b.text(prompt)) \
            ORDER BY at DESC, id DESC LIMIT \(b.int(Int64(max(1, min(limit, 1000)))))
            """
        return b.statement(sql)
    }

    public static func promotion(_ row: any Reader) throws -> PromptPromotion {
        PromptPromotion(
            id: try row.text("id") ?? "", projectID: try row.text("project_id") ?? "", prompt: try row.text("prompt") ?? "",
            label: try row.text("label") ?? "", fromVersion: try row.int("from_version").map { Int($0) }, toVersion: Int(try row.int("to_version") ?? 0),
            experimentID: try row.text("experiment_id") ?? "",
            outcome: PromptPromotion.Outcome(rawValue: try row.text("outcome") ?? "") ?? .refused, compared: Int(try row.int("compared") ?? 0),
            regressions: (try? JSONValue.parse(Data((try row.text("regressions") ?? "[]").utf8))) ?? .array([]), actor: try row.text("actor") ?? "",
            at: Timestamp.date(try row.int("at") ?? 0))
    }
}
