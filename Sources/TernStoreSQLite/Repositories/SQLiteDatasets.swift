import Foundation
import GRDB
import TernCore

struct SQLiteDatasets: DatasetRepository {
    let pool: DatabasePool
    static let itemColumns = "item_id, input, expected_output, metadata, golden, validated_by, validated_at, source_trace_id"

    static func dataset(_ row: Row) -> Dataset {
        Dataset(
            id: row["id"], projectID: row["project_id"], name: row["name"], description: row["description"], createdAt: row.date("created_at"),
            latestVersion: row["latest_version"])
    }

    static func item(_ row: Row) -> DatasetItem {
        DatasetItem(
            id: row["item_id"], input: JSONValue.fromStored(row["input"])?.object ?? [:], expectedOutput: row["expected_output"],
            metadata: JSONValue.fromStored(row["metadata"])?.object ?? [:], golden: (row["golden"] as Int? ?? 0) != 0,
            validatedBy: row["validated_by"], validatedAt: row.optionalDate("validated_at"), sourceTraceID: row["source_trace_id"])
    }

    func create(projectID: String, name: String, description: String?) async throws -> Dataset {
        try Validate.datasetName(name)
        let dataset = Dataset(id: TernID.make(), projectID: projectID, name: name, description: description, createdAt: Timestamp.now(), latestVersion: 0)
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO datasets (id, project_id, name, description, created_at, latest_version) VALUES (?, ?, ?, ?, ?, 0)",
                    arguments: [dataset.id, projectID, name, description, Timestamp.micros(dataset.createdAt)])
            }
        } catch  where isUniqueViolation(error) {
            throw TernError.conflict("a dataset named \"\(name)\" already exists", field: "name")
        }
        return dataset
    }

    func get(projectID: String, name: String) async throws -> Dataset? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE project_id = ? AND name = ?", arguments: [projectID, name]).map(Self.dataset)
        }
    }

    func list(projectID: String) async throws -> [Dataset] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM datasets WHERE project_id = ? ORDER BY name", arguments: [projectID]).map(Self.dataset)
        }
    }

    func apply(
        projectID: String, dataset name: String, upserts: [DatasetItem], removals: [String], author: String,
        message: String?
    ) async throws -> DatasetVersion? {
        try await pool.write { db in
            guard
                let dataset = try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE project_id = ? AND name = ?", arguments: [projectID, name])
                    .map(Self.dataset)
            else { throw TernError.notFound("dataset \(name)") }
            let next = dataset.latestVersion + 1
            var added = 0
            var changed = 0
            var removed = 0
            let current = try db.cachedStatement(sql: "SELECT \(Self.itemColumns) FROM dataset_items WHERE dataset_id = ? AND item_id = ? AND valid_to IS NULL")
            let close = try db.cachedStatement(sql: "UPDATE dataset_items SET valid_to = ? WHERE dataset_id = ? AND item_id = ? AND valid_to IS NULL")
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO dataset_items (dataset_id, valid_from, valid_to, \(Self.itemColumns)) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            var seen = Set<String>()
            for item in upserts {
                guard seen.insert(item.id).inserted else { throw TernError.invalid("items", "item id \(item.id) appears twice in one change") }
                let existing = try Row.fetchOne(current, arguments: [dataset.id, item.id]).map(Self.item)
                if let existing, existing.sameContent(as: item) { continue }
                if existing != nil {
                    try close.execute(arguments: [next, dataset.id, item.id])
                    changed += 1
                } else {
                    added += 1
                }
                try insert.execute(arguments: [
                    dataset.id, next, item.id, JSONValue.object(item.input).jsonString(), item.expectedOutput,
                    item.metadata.isEmpty ? nil : JSONValue.object(item.metadata).jsonString(), item.golden ? 1 : 0, item.validatedBy,
                    item.validatedAt.map(Timestamp.micros), item.sourceTraceID,
                ])
            }
            for id in Set(removals) where !seen.contains(id) {
                try close.execute(arguments: [next, dataset.id, id])
                removed += db.changesCount
            }
            guard added + changed + removed > 0 else { return nil }
            let previous =
                try Int.fetchOne(
                    db, sql: "SELECT item_count FROM dataset_versions WHERE dataset_id = ? AND version = ?",
                    arguments: [dataset.id, dataset.latestVersion]) ?? 0
            let version = DatasetVersion(
                version: next, itemCount: previous + added - removed, added: added, changed: changed, removed: removed,
                author: author, message: message, createdAt: Timestamp.now())
            try db.execute(
                sql: """
                    INSERT INTO dataset_versions (dataset_id, version, item_count, added, changed, removed, author, message, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [dataset.id, next, version.itemCount, added, changed, removed, author, message, Timestamp.micros(version.createdAt)])
            try db.execute(sql: "UPDATE datasets SET latest_version = ? WHERE id = ?", arguments: [next, dataset.id])
            return version
        }
    }

    func items(projectID: String, dataset name: String, version: Int?, after: String?, limit: Int) async throws -> [DatasetItem] {
        try await pool.read { db in
            guard
                let dataset = try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE project_id = ? AND name = ?", arguments: [projectID, name])
                    .map(Self.dataset)
            else { throw TernError.notFound("dataset \(name)") }
            let at = version ?? dataset.latestVersion
            guard at >= 0, at <= dataset.latestVersion else { throw TernError.notFound("dataset \(name) version \(at)", field: "version") }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.itemColumns) FROM dataset_items WHERE dataset_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
                    AND item_id > ? ORDER BY item_id LIMIT ?
                    """, arguments: [dataset.id, at, at, after ?? "", max(1, limit)]
            ).map(Self.item)
        }
    }

    func versions(projectID: String, dataset name: String) async throws -> [DatasetVersion] {
        try await pool.read { db in
            guard let dataset = try Row.fetchOne(db, sql: "SELECT id FROM datasets WHERE project_id = ? AND name = ?", arguments: [projectID, name])
            else { throw TernError.notFound("dataset \(name)") }
            let id: String = dataset["id"]
            return try Row.fetchAll(db, sql: "SELECT * FROM dataset_versions WHERE dataset_id = ? ORDER BY version DESC", arguments: [id]).map { row in
                DatasetVersion(
                    version: row["version"], itemCount: row["item_count"], added: row["added"], changed: row["changed"],
                    removed: row["removed"], author: row["author"], message: row["message"], createdAt: row.date("created_at"))
            }
        }
    }
}
